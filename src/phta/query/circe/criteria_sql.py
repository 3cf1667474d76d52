"""SQL for Circe criteria, windows, groups and demographics (the building blocks of a cohort).

Fragments are fixed SQL text over OMOP table and column names from :mod:`phta.query.circe.domains`;
every value from the expression (concept ids, dates, numbers, days, texts) is a named placeholder
bound in :attr:`Params.values`. :mod:`phta.query.circe.compiler` assembles the fragments and parses
the result into a SQLGlot tree, so the statement that runs is a syntax tree with bound values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phta.query import ir_circe as c
from phta.query.circe.domains import CRITERIA, CUSTOM_ERA_TABLE, count_token
from phta.query.dialects import UnsupportedFeature

# Attributes Circe formats as decimals (4 places); every other numeric range is cut to an integer.
DECIMAL_ATTRIBUTES = {"Quantity", "ValueAsNumber", "RangeLow", "RangeHigh", "RangeLowRatio", "RangeHighRatio",
                      "DoseValue", "EffectiveDrugDose"}
_OPS = {"lt": "<", "lte": "<=", "eq": "=", "!eq": "<>", "gt": ">", "gte": ">="}
ABNORMAL_VALUE_CONCEPTS = (4155142, 4155143)


@dataclass
class Params:
    values: dict[str, object] = field(default_factory=dict)

    def __call__(self, value, sql_type: str | None = None) -> str:
        name = f"p{len(self.values) + 1}"
        self.values[name] = value
        return f"CAST(${name} AS {sql_type})" if sql_type else f"${name}"

    def ids(self, ids) -> str:
        return ", ".join(self(int(i), "BIGINT") for i in ids)

    def date(self, iso: str) -> str:
        return self(iso, "DATE")

    def days(self, n: int) -> str:
        return self(int(n), "INTEGER")


def add_days(date_sql: str, days_sql: str) -> str:
    return f"(({date_sql}) + CAST({days_sql} AS INTEGER))"


def era_sql(source: str, start: str, end: str, pad_sql: str, unpad_sql: str, *, extra_end: str = "") -> str:
    """Circe's era constructor: rows whose (padded) spans overlap join one era; the pad is removed."""
    return (f"SELECT person_id, MIN(start_date) AS start_date, {add_days('MAX(end_date)', '-' + unpad_sql)} AS end_date "
            "FROM (SELECT person_id, start_date, end_date, SUM(is_start) OVER (PARTITION BY person_id ORDER BY "
            "start_date, is_start DESC ROWS UNBOUNDED PRECEDING) AS group_idx FROM (SELECT person_id, start_date, "
            "end_date, CASE WHEN MAX(end_date) OVER (PARTITION BY person_id ORDER BY start_date ROWS BETWEEN "
            "UNBOUNDED PRECEDING AND 1 PRECEDING) >= start_date THEN 0 ELSE 1 END AS is_start FROM ("
            f"SELECT person_id, {start} AS start_date, {add_days(end + extra_end, pad_sql)} AS end_date FROM {source}"
            ") CR) ST) GR GROUP BY person_id, group_idx")


def codeset_in(column: str, codeset_id: int | None, exclude: bool, p: Params) -> str:
    if codeset_id is None:
        return f"{column} IS {'' if exclude else 'NOT '}NULL"
    return (f"{column} {'NOT ' if exclude else ''}IN (SELECT concept_id FROM codesets "
            f"WHERE codeset_id = {p(codeset_id, 'INTEGER')})")


def _column(spec_col: str) -> str:
    derived = {
        "start_date": "C.start_date", "end_date": "C.end_date",
        "@age": "(YEAR(C.start_date) - P.year_of_birth)", "@age_end": "(YEAR(C.end_date) - P.year_of_birth)",
        "@gender": "P.gender_concept_id", "@visit_type": "V.visit_concept_id", "@specialty": "PR.specialty_concept_id",
        "@place_of_service": "CS.place_of_service_concept_id", "@duration": "DATE_DIFF('day', C.start_date, C.end_date)",
        "@low_ratio": "(C.value_as_number / NULLIF(C.range_low, 0))",
        "@high_ratio": "(C.value_as_number / NULLIF(C.range_high, 0))",
    }
    return derived.get(spec_col, f"C.{spec_col}")


def range_clause(expr: str, op: str, value: str, extent: str | None) -> str:
    if op.endswith("bt"):
        return f"{'NOT ' if op.startswith('!') else ''}({expr} >= {value} AND {expr} <= {extent})"
    return f"{expr} {_OPS[op]} {value}"


def filter_sql(f: c.CriterionFilter, column: str, p: Params) -> str:
    if isinstance(f, c.DateFilter):
        return range_clause(column, f.op, p.date(f.value), p.date(f.extent) if f.extent else None)
    if isinstance(f, c.NumberFilter):
        if f.attribute in DECIMAL_ATTRIBUTES:
            def num(x):
                return p(round(float(x), 4), "DOUBLE")
        else:
            def num(x):
                return p(int(x), "BIGINT")  # Circe's intValue(): truncates toward zero
        return range_clause(column, f.op, num(f.value), num(f.extent) if f.extent is not None else None)
    if isinstance(f, c.ConceptFilter):
        return f"{column} {'NOT ' if f.exclude else ''}IN ({p.ids(f.concept_ids)})"
    if isinstance(f, c.CodesetFilter):
        return codeset_in(column, f.codeset_id, f.exclude, p)
    if isinstance(f, c.TextFilter):
        neg = "NOT " if f.op.startswith("!") else ""
        pre = "%" if f.op.endswith(("endsWith", "contains")) else ""
        post = "%" if f.op.endswith(("startsWith", "contains")) else ""
        return f"{column} {neg}LIKE {p(pre + f.text + post, 'VARCHAR')}"
    if isinstance(f, c.FlagFilter):  # Measurement.Abnormal
        return ("(C.value_as_number < C.range_low OR C.value_as_number > C.range_high OR "
                f"C.value_as_concept_id IN ({p.ids(ABNORMAL_VALUE_CONCEPTS)}))")
    raise UnsupportedFeature(f"{type(f).__name__} has no SQL translation")  # pragma: no cover


def count_value_sql(token: str, start: str, end: str, visit: str) -> str:
    """The value a distinct occurrence count reads (a ``count_columns`` entry of the criterion's spec)."""
    fixed = {"start_date": start, "end_date": end, "@visit": visit, "@one": "1",
             "@duration": f"DATE_DIFF('day', {start}, {end})"}
    if token in fixed:
        return fixed[token]
    if token.startswith("@or0:"):
        return f"COALESCE(C.{token[5:]}, 0)"
    return f"C.{token}"


@dataclass
class CriteriaCompiler:
    p: Params

    # --- one criterion: person_id, event_id, start_date, end_date, visit_occurrence_id, sort_date, ...
    def criterion(self, cr: c.DomainCriterion, count: str | None = None) -> str:
        """``count``: a ``count_columns`` token, output as ``count_value`` (for distinct counts)."""
        spec = CRITERIA[cr.kind]
        start = f"t.{spec.start}"
        if spec.end_default == "days_supply":
            end = f"COALESCE(t.{spec.end}, {add_days(start, 't.days_supply')}, {add_days(start, '1')})"
        elif spec.end_default == "start+1" and spec.end is not None:
            end = f"COALESCE(t.{spec.end}, {add_days(start, '1')})"
        elif spec.end_default == "start+1":
            end = add_days(start, "1")
        else:
            end = f"t.{spec.end}"
        if cr.date_adjustment is not None:
            da = cr.date_adjustment
            s_col = start if da.start_with == "START_DATE" else end
            e_col = start if da.end_with == "START_DATE" else end
            start_sel = add_days(s_col, self.p.days(da.start_offset))
            end_sel = add_days(e_col, self.p.days(da.end_offset))
        else:
            start_sel, end_sel = start, end
        inner_where = []
        if cr.codeset_id is not None:
            inner_where.append(codeset_in(f"t.{spec.concept}", cr.codeset_id, False, self.p))
        outer_where, joins = [], []
        out_start, out_end = "C.start_date", "C.end_date"
        for f in cr.filters:
            attr = spec.attributes[f.attribute]
            if isinstance(f, c.PeriodFilter):  # the period must cover the dates, which become its dates
                for iso in (f.start, f.end):
                    if iso is not None:
                        d = self.p.date(iso)
                        outer_where.append(f"C.start_date <= {d} AND C.end_date >= {d}")
                out_start = self.p.date(f.start) if f.start else out_start
                out_end = self.p.date(f.end) if f.end else out_end
                continue
            if attr.before_first:  # Circe joins these with the codeset, before ranking First
                inner_where.append(codeset_in(f"t.{attr.column}", f.codeset_id, False, self.p))
                continue
            outer_where.append(filter_sql(f, _column(attr.column), self.p))
            joins.append(attr.column)
        ordinal = ""
        if cr.first:
            ordinal = (f", row_number() OVER (PARTITION BY t.person_id ORDER BY t.{spec.start}, t.{spec.id}) "
                       "AS ordinal")
            outer_where.append("C.ordinal = 1")
        if cr.date_adjustment is not None:
            outer_where.append("C.end_date >= C.start_date")
        join_sql = []
        if any(j in ("@age", "@age_end", "@gender") for j in joins):
            join_sql.append("JOIN person P ON C.person_id = P.person_id")
        if "@visit_type" in joins:
            join_sql.append("JOIN visit_occurrence V ON C.visit_occurrence_id = V.visit_occurrence_id "
                            "AND C.person_id = V.person_id")
        if "@specialty" in joins:
            join_sql.append("LEFT JOIN provider PR ON C.provider_id = PR.provider_id")
        if "@place_of_service" in joins:
            join_sql.append("JOIN care_site CS ON C.care_site_id = CS.care_site_id")
        visit = f"CAST({f'C.{spec.visit}' if spec.visit else 'NULL'} AS BIGINT)"
        value = f", {count_value_sql(count, out_start, out_end, visit)} AS count_value" if count else ""
        query = (
            f"SELECT C.person_id, C.{spec.id} AS event_id, {out_start} AS start_date, {out_end} AS end_date, "
            f"{visit} AS visit_occurrence_id, C.start_date AS sort_date{value} "
            f"FROM (SELECT t.*, CAST({start_sel} AS DATE) AS start_date, CAST({end_sel} AS DATE) AS end_date{ordinal} "
            f"FROM {self.source(cr, spec.table)} t{' WHERE ' + ' AND '.join(inner_where) if inner_where else ''}) C "
            + " ".join(join_sql)
            + (" WHERE " + " AND ".join(outer_where) if outer_where else "")
        )
        if cr.correlated is not None:
            events = (f"(SELECT Q.person_id, Q.event_id, Q.start_date, Q.end_date, Q.visit_occurrence_id, "
                      "OP.observation_period_start_date AS op_start_date, OP.observation_period_end_date AS op_end_date "
                      f"FROM ({query}) Q JOIN observation_period OP ON Q.person_id = OP.person_id "
                      "AND OP.observation_period_start_date <= Q.start_date AND OP.observation_period_end_date >= Q.start_date)")
            group = self.group(cr.correlated, events, 0)
            query = (f"SELECT PE.* FROM ({query}) PE JOIN ({group}) AC "
                     "ON AC.person_id = PE.person_id AND AC.event_id = PE.event_id")
        return query

    def source(self, cr: c.DomainCriterion, table: str) -> str:
        """The rows a criterion reads: its OMOP table, or for a CustomEra the eras of its members'
        events, numbered by person, start and end. Circe's customEra.sql pads each end by GapDays,
        but its window tests the *unpadded* end (the select list's ``max(end_date)`` reads the input
        column, not the padded alias) and the pad is taken off again, so only overlapping or touching
        events join and GapDays changes nothing: kept, for identical results."""
        if table != CUSTOM_ERA_TABLE:
            return table
        events = " UNION ALL ".join(f"(SELECT M.person_id, M.start_date, M.end_date FROM ({self.criterion(m)}) M)"
                                    for m in cr.members)
        gap = self.p.days(0)  # see above: Circe's GapDays has no effect
        return ("(SELECT person_id, row_number() OVER (ORDER BY person_id, start_date, end_date) AS era_id, "
                "start_date AS era_start_date, end_date AS era_end_date "
                f"FROM ({era_sql(f'({events}) D', 'start_date', 'end_date', gap, gap)}) E)")

    # --- groups ---------------------------------------------------------------------------------
    def group(self, g: c.CriteriaGroup, events: str, index_id: int) -> str:
        if g.is_empty():
            return f"SELECT {index_id} AS index_id, person_id, event_id FROM {events} EV"
        parts, i = [], 0
        for cc in g.criteria:
            parts.append(self.correlated(cc, events, i))
            i += 1
        for d in g.demographics:
            parts.append(self.demographic(d, events, i))
            i += 1
        for sub in g.groups:
            parts.append(self.group(sub, events, i))
            i += 1
        join = "INNER"
        if g.group_type == "ALL":
            having = f"= {i}"
        elif g.group_type == "ANY":
            having = "> 0"
        elif g.group_type == "AT_LEAST":
            having = f">= {self.p(g.count, 'BIGINT')}"
        else:
            having = f"<= {self.p(g.count, 'BIGINT')}"
            join = "LEFT"
        if g.group_type.startswith("AT_") and g.count == 0:
            join = "LEFT"
        union = " UNION ALL ".join(f"({q})" for q in parts)
        return (f"SELECT {index_id} AS index_id, person_id, event_id FROM ("
                f"SELECT E.person_id, E.event_id FROM {events} E {join} JOIN ({union}) CQ "
                "ON E.person_id = CQ.person_id AND E.event_id = CQ.event_id "
                f"GROUP BY E.person_id, E.event_id HAVING COUNT(CQ.index_id) {having}) G")

    def correlated(self, cc: c.CorrelatedCriterion, events: str, index_id: int) -> str:
        occ = cc.occurrence
        extra, count, token = "", "cc.event_id", None
        if occ.distinct:
            token = count_token(cc.criterion, occ.count_column)
            extra, count = ", A.count_value AS cc_value", "cc.cc_value"
        clauses = []
        check_op = not cc.ignore_observation_period
        if check_op:
            clauses.append("A.start_date >= P.op_start_date AND A.start_date <= P.op_end_date")

        def point(ep: c.Endpoint, index_expr: str) -> str | None:
            if ep.days is not None:
                return add_days(index_expr, self.p.days(ep.coeff * ep.days))
            if check_op:
                return "P.op_start_date" if ep.coeff == -1 else "P.op_end_date"
            return None

        for w in (cc.start_window, cc.end_window):
            if w is None:
                continue
            index = "P.end_date" if w.use_index_end else "P.start_date"
            event = "A.end_date" if w.use_event_end else "A.start_date"
            for ep, op in ((w.start, ">="), (w.end, "<=")):
                bound = point(ep, index)
                if bound is not None:
                    clauses.append(f"{event} {op} {bound}")
        if cc.restrict_visit:
            clauses.append("A.visit_occurrence_id = P.visit_occurrence_id")
        windowed = (f"SELECT P.person_id, P.event_id{extra} FROM {events} P JOIN ({self.criterion(cc.criterion, token)}) A "
                    f"ON A.person_id = P.person_id{' AND ' + ' AND '.join(clauses) if clauses else ''}")
        op = {0: "=", 1: "<=", 2: ">="}[occ.occurrence_type]
        having = f"HAVING COUNT({'DISTINCT ' if occ.distinct else ''}{count}) {op} {self.p(occ.count, 'BIGINT')}"
        if occ.occurrence_type == 1 or occ.count == 0:
            return (f"SELECT {index_id} AS index_id, p.person_id, p.event_id FROM {events} p "
                    f"LEFT JOIN ({windowed}) cc ON p.person_id = cc.person_id AND p.event_id = cc.event_id "
                    f"GROUP BY p.person_id, p.event_id {having}")
        return (f"SELECT {index_id} AS index_id, cc.person_id, cc.event_id FROM ({windowed}) cc "
                f"GROUP BY cc.person_id, cc.event_id {having}")

    def demographic(self, d: c.DemographicCriterion, events: str, index_id: int) -> str:
        columns = {"Age": "(YEAR(E.start_date) - P.year_of_birth)", "Gender": "P.gender_concept_id",
                   "GenderCS": "P.gender_concept_id", "Race": "P.race_concept_id", "RaceCS": "P.race_concept_id",
                   "Ethnicity": "P.ethnicity_concept_id", "EthnicityCS": "P.ethnicity_concept_id",
                   "OccurrenceStartDate": "E.start_date", "OccurrenceEndDate": "E.end_date"}
        where = [filter_sql(f, columns[f.attribute], self.p) for f in d.filters]
        return (f"SELECT {index_id} AS index_id, E.person_id, E.event_id FROM {events} E "
                "JOIN person P ON P.person_id = E.person_id"
                + (" WHERE " + " AND ".join(where) if where else "")
                + " GROUP BY E.person_id, E.event_id")
