"""SQLGlot trees for Circe criteria, windows, groups and demographics (the building blocks of a cohort).

Every tree is built node by node (:mod:`phta.query.circe.trees`), never parsed from SQL text: table
and column names come from :mod:`phta.query.circe.domains`; every value from the expression
(concept ids, dates, numbers, days, texts) is a named placeholder bound in :attr:`Params.values`;
date arithmetic and day differences are the shared :class:`~phta.query.dialects.Dialect`'s, so
the same trees render for DuckDB and Spark. :mod:`phta.query.circe.compiler` assembles them.

An event source (the events a criteria group is evaluated on) is a function of the alias it is
read under, returning a new node each time: a CTE name (a correlated criterion's events are
CTEs of their own, :attr:`CriteriaCompiler.ctes`), or a subquery copied for each use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot.expressions as exp

from phta.query import ir_circe as c
from phta.query.circe import trees as t
from phta.query.circe.domains import CRITERIA, CUSTOM_ERA_TABLE, count_token
from phta.query.dialects import Dialect, UnsupportedFeature, cast, get_dialect

# Attributes Circe formats as decimals (4 places); every other numeric range is cut to an integer.
DECIMAL_ATTRIBUTES = {"Quantity", "ValueAsNumber", "RangeLow", "RangeHigh", "RangeLowRatio", "RangeHighRatio",
                      "DoseValue", "EffectiveDrugDose"}
_OPS = {"lt": "<", "lte": "<=", "eq": "=", "!eq": "<>", "gt": ">", "gte": ">="}
ABNORMAL_VALUE_CONCEPTS = (4155142, 4155143)

Source = Callable[[str], exp.Expression]  # alias -> a new FROM/JOIN source node read under that alias


@dataclass
class Params:
    """Bound values of one compiled statement set, and the dialect's date arithmetic."""

    dialect: Dialect = field(default_factory=lambda: get_dialect("duckdb"))
    values: dict[str, object] = field(default_factory=dict)

    def __call__(self, value, sql_type: str | None = None) -> exp.Expression:
        name = f"p{len(self.values) + 1}"
        self.values[name] = value
        placeholder = exp.Placeholder(this=name)
        return cast(placeholder, self.type(sql_type)) if sql_type else placeholder

    def type(self, sql_type: str) -> str:
        return self.dialect.types["str"] if sql_type == "VARCHAR" else sql_type

    def ids(self, ids) -> list[exp.Expression]:
        return [self(int(i), "BIGINT") for i in ids]

    def date(self, iso: str) -> exp.Expression:
        return self(iso, "DATE")

    def days(self, n: int) -> exp.Expression:
        return self(int(n), "INTEGER")

    def add_days(self, date: exp.Expression, days: exp.Expression) -> exp.Expression:
        return t.paren(self.dialect.add_days(date, days))

    def days_between(self, start: exp.Expression, end: exp.Expression) -> exp.Expression:
        return self.dialect.days_between(start, end)

    def cast(self, expression: exp.Expression, sql_type: str) -> exp.Expression:
        return cast(expression, self.type(sql_type))


def cte(name: str) -> Source:
    return lambda alias: t.table(name, alias)


def subquery(query: exp.Expression) -> Source:
    """A query read as a table under each alias asked for (a copy each time)."""
    return lambda alias: t.sub(query.copy(), alias)


def era_sql(source: exp.Expression, pad: exp.Expression, unpad: exp.Expression, p: Params) -> exp.Select:
    """Circe's era constructor over ``source`` (person_id, start_date, end_date): rows whose
    (padded) spans overlap join one era; the pad is removed from the era's end."""
    def c_(name):
        return t.col(name)

    padded = t.select([c_("person_id"), c_("start_date"), t.alias(p.add_days(c_("end_date"), pad), "end_date")],
                      source)
    previous_end = t.window(exp.Max(this=c_("end_date")), [c_("person_id")], [t.ordered(c_("start_date"))],
                            exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                                           end=t.num(1), end_side="PRECEDING"))
    is_start = t.case([(t.cmp(">=", previous_end, c_("start_date")), t.num(0))], t.num(1))
    starts = t.select([c_("person_id"), c_("start_date"), c_("end_date"), t.alias(is_start, "is_start")],
                      t.sub(padded, "CR"))
    group_idx = t.window(exp.Sum(this=c_("is_start")), [c_("person_id")],
                         [t.ordered(c_("start_date")), t.ordered(c_("is_start"), desc=True)],
                         exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING"))
    groups = t.select([c_("person_id"), c_("start_date"), c_("end_date"), t.alias(group_idx, "group_idx")],
                      t.sub(starts, "ST"))
    return t.select([c_("person_id"), t.alias(exp.Min(this=c_("start_date")), "start_date"),
                     t.alias(p.add_days(exp.Max(this=c_("end_date")), exp.Neg(this=unpad)), "end_date")],
                    t.sub(groups, "GR"), group=[c_("person_id"), c_("group_idx")])


def codeset_in(column: exp.Expression, codeset_id: int | None, exclude: bool, p: Params) -> exp.Expression:
    if codeset_id is None:
        return t.is_null(column, negate=not exclude)
    members = t.select([t.col("concept_id")], t.table("codesets"),
                       where=t.eq(t.col("codeset_id"), p(codeset_id, "INTEGER")))
    return t.in_query(column, members, negate=exclude)


def _column(spec_col: str, p: Params) -> exp.Expression:
    """A new node reading an attribute's column (a ``domains`` column name or derived value)."""
    derived: dict[str, Callable[[], exp.Expression]] = {
        "@age": lambda: t.paren(exp.Sub(this=exp.Year(this=t.col("start_date", "C")),
                                        expression=t.col("year_of_birth", "P"))),
        "@age_end": lambda: t.paren(exp.Sub(this=exp.Year(this=t.col("end_date", "C")),
                                            expression=t.col("year_of_birth", "P"))),
        "@gender": lambda: t.col("gender_concept_id", "P"),
        "@visit_type": lambda: t.col("visit_concept_id", "V"),
        "@specialty": lambda: t.col("specialty_concept_id", "PR"),
        "@place_of_service": lambda: t.col("place_of_service_concept_id", "CS"),
        "@duration": lambda: p.days_between(t.col("start_date", "C"), t.col("end_date", "C")),
        "@low_ratio": lambda: _ratio("range_low"),
        "@high_ratio": lambda: _ratio("range_high"),
    }
    make = derived.get(spec_col)
    return make() if make else t.col(spec_col, "C")


def _ratio(bound: str) -> exp.Expression:
    return t.paren(exp.Div(this=t.col("value_as_number", "C"),
                           expression=exp.Nullif(this=t.col(bound, "C"), expression=t.num(0)),
                           typed=False, safe=False))


def range_clause(expr: exp.Expression, op: str, value: exp.Expression, extent: exp.Expression | None
                 ) -> exp.Expression:
    if op.endswith("bt"):
        between = t.paren(exp.And(this=t.cmp(">=", expr, value), expression=t.cmp("<=", expr.copy(), extent)))
        return t.not_(between) if op.startswith("!") else between
    return t.cmp(_OPS[op], expr, value)


def filter_sql(f: c.CriterionFilter, column: exp.Expression, p: Params) -> exp.Expression:
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
        return t.in_list(column, p.ids(f.concept_ids), negate=f.exclude)
    if isinstance(f, c.CodesetFilter):
        return codeset_in(column, f.codeset_id, f.exclude, p)
    if isinstance(f, c.TextFilter):
        pre = "%" if f.op.endswith(("endsWith", "contains")) else ""
        post = "%" if f.op.endswith(("startsWith", "contains")) else ""
        like = exp.Like(this=column, expression=p(pre + f.text + post, "VARCHAR"))
        return t.not_(like) if f.op.startswith("!") else like
    if isinstance(f, c.FlagFilter):  # Measurement.Abnormal
        return t.or_([t.cmp("<", t.col("value_as_number", "C"), t.col("range_low", "C")),
                      t.cmp(">", t.col("value_as_number", "C"), t.col("range_high", "C")),
                      t.in_list(t.col("value_as_concept_id", "C"), p.ids(ABNORMAL_VALUE_CONCEPTS))])
    raise UnsupportedFeature(f"{type(f).__name__} has no SQL translation")  # pragma: no cover


def count_value_sql(token: str, start: exp.Expression, end: exp.Expression, visit: exp.Expression,
                    p: Params) -> exp.Expression:
    """The value a distinct occurrence count reads (a ``count_columns`` entry of the criterion's spec)."""
    fixed = {"start_date": lambda: start, "end_date": lambda: end, "@visit": lambda: visit,
             "@one": lambda: t.num(1), "@duration": lambda: p.days_between(start, end)}
    if token in fixed:
        return fixed[token]()
    if token.startswith("@or0:"):
        return exp.Coalesce(this=t.col(token[5:], "C"), expressions=[t.num(0)])
    return t.col(token, "C")


@dataclass
class CriteriaCompiler:
    p: Params
    # Named queries the criteria read (a correlated criterion's events), in the order made: each
    # reads only OMOP tables, ``codesets`` and earlier ones, so they go right after ``codesets``.
    ctes: list[tuple[str, exp.Expression]] = field(default_factory=list)

    def cte(self, stem: str, query: exp.Expression) -> str:
        name = f"{stem}_{len(self.ctes) + 1}"
        self.ctes.append((name, query))
        return name

    def _event_end(self, spec) -> exp.Expression:
        """The event's end date after Circe's defaults (a new node)."""
        p = self.p

        def start():
            return t.col(spec.start, "t")

        if spec.end_default == "days_supply":
            return exp.Coalesce(this=t.col(spec.end, "t"), expressions=[
                p.add_days(start(), t.col("days_supply", "t")), p.add_days(start(), t.num(1))])
        if spec.end_default == "start+1" and spec.end is not None:
            return exp.Coalesce(this=t.col(spec.end, "t"), expressions=[p.add_days(start(), t.num(1))])
        if spec.end_default == "start+1":
            return p.add_days(start(), t.num(1))
        return t.col(spec.end, "t")

    # --- one criterion: person_id, event_id, start_date, end_date, visit_occurrence_id, sort_date, ...
    def criterion(self, cr: c.DomainCriterion, count: str | None = None) -> exp.Select:
        """``count``: a ``count_columns`` token, output as ``count_value`` (for distinct counts)."""
        p = self.p
        spec = CRITERIA[cr.kind]
        if cr.date_adjustment is not None:
            da = cr.date_adjustment

            def pick(which):
                return t.col(spec.start, "t") if which == "START_DATE" else self._event_end(spec)

            start_sel = p.add_days(pick(da.start_with), p.days(da.start_offset))
            end_sel = p.add_days(pick(da.end_with), p.days(da.end_offset))
        else:
            start_sel, end_sel = t.col(spec.start, "t"), self._event_end(spec)
        inner_where: list[exp.Expression] = []
        if cr.codeset_id is not None:
            inner_where.append(codeset_in(t.col(spec.concept, "t"), cr.codeset_id, False, p))
        outer_where: list[exp.Expression] = []
        joins: set[str] = set()
        out_start: exp.Expression = t.col("start_date", "C")
        out_end: exp.Expression = t.col("end_date", "C")
        for f in cr.filters:
            attr = spec.attributes[f.attribute]
            if isinstance(f, c.PeriodFilter):  # the period must cover the dates, which become its dates
                for iso in (f.start, f.end):
                    if iso is not None:
                        d = p.date(iso)
                        outer_where.append(exp.And(this=t.cmp("<=", t.col("start_date", "C"), d),
                                                   expression=t.cmp(">=", t.col("end_date", "C"), d.copy())))
                out_start = p.date(f.start) if f.start else out_start
                out_end = p.date(f.end) if f.end else out_end
                continue
            if attr.before_first:  # Circe joins these with the codeset, before ranking First
                inner_where.append(codeset_in(t.col(attr.column, "t"), f.codeset_id, False, p))
                continue
            outer_where.append(filter_sql(f, _column(attr.column, p), p))
            joins.add(attr.column)
        inner_columns = [t.star("t"), t.alias(p.cast(start_sel, "DATE"), "start_date"),
                         t.alias(p.cast(end_sel, "DATE"), "end_date")]
        if cr.first:
            inner_columns.append(t.alias(t.row_number(
                [t.col("person_id", "t")], [t.ordered(t.col(spec.start, "t")), t.ordered(t.col(spec.id, "t"))]),
                "ordinal"))
            outer_where.append(t.eq(t.col("ordinal", "C"), t.num(1)))
        if cr.date_adjustment is not None:
            outer_where.append(t.cmp(">=", t.col("end_date", "C"), t.col("start_date", "C")))
        join_nodes = []
        if joins & {"@age", "@age_end", "@gender"}:
            join_nodes.append(t.join(t.table("person", "P"), t.eq(t.col("person_id", "C"), t.col("person_id", "P"))))
        if "@visit_type" in joins:
            join_nodes.append(t.join(t.table("visit_occurrence", "V"), exp.And(
                this=t.eq(t.col("visit_occurrence_id", "C"), t.col("visit_occurrence_id", "V")),
                expression=t.eq(t.col("person_id", "C"), t.col("person_id", "V")))))
        if "@specialty" in joins:
            join_nodes.append(t.join(t.table("provider", "PR"),
                                     t.eq(t.col("provider_id", "C"), t.col("provider_id", "PR")), "LEFT"))
        if "@place_of_service" in joins:
            join_nodes.append(t.join(t.table("care_site", "CS"),
                                     t.eq(t.col("care_site_id", "C"), t.col("care_site_id", "CS"))))

        def visit():
            return p.cast(t.col(spec.visit, "C") if spec.visit else exp.Null(), "BIGINT")

        columns = [t.col("person_id", "C"), t.alias(t.col(spec.id, "C"), "event_id"),
                   t.alias(out_start, "start_date"), t.alias(out_end, "end_date"),
                   t.alias(visit(), "visit_occurrence_id"), t.alias(t.col("start_date", "C"), "sort_date")]
        if count:
            columns.append(t.alias(count_value_sql(count, out_start.copy(), out_end.copy(), visit(), p),
                                   "count_value"))
        inner = t.select(inner_columns, self.source(cr, spec.table), where=t.and_(inner_where))
        query = t.select(columns, t.sub(inner, "C"), joins=join_nodes, where=t.and_(outer_where))
        if cr.correlated is not None:
            # The criterion's events and the events with their observation period are CTEs of
            # their own (see ``ctes``): the group reads them once per correlated criterion.
            events_cte = self.cte("criterion", query)
            op = (t.col("observation_period_start_date", "OP"), t.col("observation_period_end_date", "OP"))
            events = t.select(
                [t.col("person_id", "Q"), t.col("event_id", "Q"), t.col("start_date", "Q"), t.col("end_date", "Q"),
                 t.col("visit_occurrence_id", "Q"), t.alias(op[0], "op_start_date"), t.alias(op[1], "op_end_date")],
                t.table(events_cte, "Q"),
                joins=[t.join(t.table("observation_period", "OP"), t.and_([
                    t.eq(t.col("person_id", "Q"), t.col("person_id", "OP")),
                    t.cmp("<=", op[0].copy(), t.col("start_date", "Q")),
                    t.cmp(">=", op[1].copy(), t.col("start_date", "Q"))]))])
            group = self.group(cr.correlated, cte(self.cte("criterion_periods", events)), 0)
            query = t.select([t.star("PE")], t.table(events_cte, "PE"),
                             joins=[t.join(t.sub(group, "AC"), _same_event("AC", "PE"))])
        return query

    def source(self, cr: c.DomainCriterion, table: str) -> exp.Expression:
        """The rows a criterion reads (as ``t``): its OMOP table, or for a CustomEra the eras of its
        members' events, numbered by person, start and end. Circe's customEra.sql pads each end by
        GapDays, but its window tests the *unpadded* end (the select list's ``max(end_date)`` reads
        the input column, not the padded alias) and the pad is taken off again, so only overlapping
        or touching events join and GapDays changes nothing: kept, for identical results."""
        if table != CUSTOM_ERA_TABLE:
            return t.table(table, "t")
        events = t.union_all([t.select([t.col("person_id", "M"), t.col("start_date", "M"), t.col("end_date", "M")],
                                       t.sub(self.criterion(m), "M")) for m in cr.members])
        gap = self.p.days(0)  # see above: Circe's GapDays has no effect
        eras = era_sql(t.sub(events, "D"), gap, gap.copy(), self.p)
        numbered = t.select([t.col("person_id"), t.alias(t.row_number([], [t.ordered(t.col(n)) for n in (
            "person_id", "start_date", "end_date")]), "era_id"), t.alias(t.col("start_date"), "era_start_date"),
            t.alias(t.col("end_date"), "era_end_date")], t.sub(eras, "E"))
        return t.sub(numbered, "t")

    # --- groups ---------------------------------------------------------------------------------
    def group(self, g: c.CriteriaGroup, events: Source, index_id: int) -> exp.Select:
        index = t.alias(t.num(index_id), "index_id")
        if g.is_empty():
            return t.select([index, t.col("person_id"), t.col("event_id")], events("EV"))
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
        side = None
        if g.group_type == "ALL":
            op, bound = "=", t.num(i)
        elif g.group_type == "ANY":
            op, bound = ">", t.num(0)
        elif g.group_type == "AT_LEAST":
            op, bound = ">=", self.p(g.count, "BIGINT")
        else:
            op, bound = "<=", self.p(g.count, "BIGINT")
            side = "LEFT"
        if g.group_type.startswith("AT_") and g.count == 0:
            side = "LEFT"
        matched = t.select(
            [t.col("person_id", "E"), t.col("event_id", "E")], events("E"),
            joins=[t.join(t.sub(t.union_all(parts), "CQ"), _same_event("E", "CQ"), side)],
            group=[t.col("person_id", "E"), t.col("event_id", "E")],
            having=t.cmp(op, t.count(t.col("index_id", "CQ")), bound))
        return t.select([index, t.col("person_id"), t.col("event_id")], t.sub(matched, "G"))

    def correlated(self, cc: c.CorrelatedCriterion, events: Source, index_id: int) -> exp.Select:
        p = self.p
        occ = cc.occurrence
        token = None
        columns = [t.col("person_id", "P"), t.col("event_id", "P")]
        counted = "event_id"
        if occ.distinct:
            token = count_token(cc.criterion, occ.count_column)
            columns.append(t.alias(t.col("count_value", "A"), "cc_value"))
            counted = "cc_value"
        clauses = [t.eq(t.col("person_id", "A"), t.col("person_id", "P"))]
        check_op = not cc.ignore_observation_period
        if check_op:
            clauses += [t.cmp(">=", t.col("start_date", "A"), t.col("op_start_date", "P")),
                        t.cmp("<=", t.col("start_date", "A"), t.col("op_end_date", "P"))]

        def point(ep: c.Endpoint, index_column: str) -> exp.Expression | None:
            if ep.days is not None:
                return p.add_days(t.col(index_column, "P"), p.days(ep.coeff * ep.days))
            if check_op:
                return t.col("op_start_date" if ep.coeff == -1 else "op_end_date", "P")
            return None

        for w in (cc.start_window, cc.end_window):
            if w is None:
                continue
            index = "end_date" if w.use_index_end else "start_date"
            event = "end_date" if w.use_event_end else "start_date"
            for ep, op in ((w.start, ">="), (w.end, "<=")):
                bound = point(ep, index)
                if bound is not None:
                    clauses.append(t.cmp(op, t.col(event, "A"), bound))
        if cc.restrict_visit:
            clauses.append(t.eq(t.col("visit_occurrence_id", "A"), t.col("visit_occurrence_id", "P")))
        windowed = t.select(columns, events("P"),
                            joins=[t.join(t.sub(self.criterion(cc.criterion, token), "A"), t.and_(clauses))])
        op = {0: "=", 1: "<=", 2: ">="}[occ.occurrence_type]
        having = t.cmp(op, t.count(t.col(counted, "cc"), distinct=occ.distinct), p(occ.count, "BIGINT"))
        index = t.alias(t.num(index_id), "index_id")
        if occ.occurrence_type == 1 or occ.count == 0:
            return t.select([index, t.col("person_id", "p"), t.col("event_id", "p")], events("p"),
                            joins=[t.join(t.sub(windowed, "cc"), _same_event("p", "cc"), "LEFT")],
                            group=[t.col("person_id", "p"), t.col("event_id", "p")], having=having)
        return t.select([index, t.col("person_id", "cc"), t.col("event_id", "cc")], t.sub(windowed, "cc"),
                        group=[t.col("person_id", "cc"), t.col("event_id", "cc")], having=having)

    def demographic(self, d: c.DemographicCriterion, events: Source, index_id: int) -> exp.Select:
        columns = {"Age": lambda: t.paren(exp.Sub(this=exp.Year(this=t.col("start_date", "E")),
                                                  expression=t.col("year_of_birth", "P"))),
                   "Gender": lambda: t.col("gender_concept_id", "P"),
                   "GenderCS": lambda: t.col("gender_concept_id", "P"),
                   "Race": lambda: t.col("race_concept_id", "P"), "RaceCS": lambda: t.col("race_concept_id", "P"),
                   "Ethnicity": lambda: t.col("ethnicity_concept_id", "P"),
                   "EthnicityCS": lambda: t.col("ethnicity_concept_id", "P"),
                   "OccurrenceStartDate": lambda: t.col("start_date", "E"),
                   "OccurrenceEndDate": lambda: t.col("end_date", "E")}
        where = t.and_(filter_sql(f, columns[f.attribute](), self.p) for f in d.filters)
        return t.select([t.alias(t.num(index_id), "index_id"), t.col("person_id", "E"), t.col("event_id", "E")],
                        events("E"), joins=[t.join(t.table("person", "P"),
                                                   t.eq(t.col("person_id", "P"), t.col("person_id", "E")))],
                        where=where, group=[t.col("person_id", "E"), t.col("event_id", "E")])


def _same_event(a: str, b: str) -> exp.Expression:
    """``a.person_id = b.person_id AND a.event_id = b.event_id``."""
    return exp.And(this=t.eq(t.col("person_id", a), t.col("person_id", b)),
                   expression=t.eq(t.col("event_id", a), t.col("event_id", b)))
