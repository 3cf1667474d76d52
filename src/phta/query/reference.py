"""The reference engine: evaluates the IR over in-memory tables, one patient at a time.

Deliberately plain Python, written from the language's definition rather than from the SQL, so
that it can serve as the oracle in spec and differential tests. Not for production data.
Tables are ``{table_name: [row_dict, ...]}`` with OMOP column names.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import singledispatchmethod

from phta.cdm import uk
from phta.query import ir
from phta.query.variants import VARIANT_TABLE, missing_variant_table

Tables = dict[str, list[dict]]


@dataclass(frozen=True)
class CohortRows:
    """What an engine returns for a cohort: the same shapes for DuckDB and the reference engine."""

    membership: list[tuple]  # (person_id, start_date, end_date), ordered by person_id
    attrition: list[int]  # n_0 (with an index date), then the count left after each rule
    strata: list[tuple]  # (stratum, value as str or None, n); age_band values are exact ages


class ReferenceEngine:
    def __init__(self, tables: Tables):
        self.tables = tables
        self.persons = sorted(tables.get("person", []), key=lambda r: r["person_id"])
        self._by_person: dict[str, dict[int, list[dict]]] = {}
        descendants: dict[int, set[int]] = defaultdict(set)
        for row in tables.get("concept_ancestor", []):
            descendants[row["ancestor_concept_id"]].add(row["descendant_concept_id"])
        self.descendants = descendants

    def rows_of(self, table: str, person_id: int) -> list[dict]:
        if table not in self._by_person:
            index: dict[int, list[dict]] = defaultdict(list)
            for row in self.tables.get(table, []):
                index[row["person_id"]].append(row)
            self._by_person[table] = index
        return self._by_person[table].get(person_id, [])

    # --- entry points -----------------------------------------------------------------------
    def series_table(self, columns: dict[str, ir.Series]) -> list[tuple]:
        out = []
        for p in self.persons:
            out.append((p["person_id"], *(self.series(s, p) for s in columns.values())))
        return out

    def cohort(self, cohort: ir.Cohort) -> CohortRows:
        n = len(cohort.rules)
        attrition = [0] * (n + 1)
        members, strata = [], defaultdict(int)
        for person in self.persons:
            if cohort.universe is not None and self.series(cohort.universe, person) is not True:
                continue
            index = self.series(cohort.index_date, person)
            if index is None:
                continue
            row = {**person, "index_date": index}
            attrition[0] += 1
            met = True
            for k, rule in enumerate(cohort.rules, start=1):
                met = met and self.series(rule.condition, row) is True
                attrition[k] += met
            if not met:
                continue
            end = self.series(cohort.end_date, row) if cohort.end_date is not None else None
            members.append((person["person_id"], index, end))
            for name in cohort.strata:
                value = self.series(_STRATA[name], row)
                strata[(name, None if value is None else str(value))] += 1
        return CohortRows(members, attrition, [(s, v, c) for (s, v), c in strata.items()])

    # --- series -----------------------------------------------------------------------------
    @singledispatchmethod
    def series(self, node: ir.Series, p: dict):
        raise NotImplementedError(type(node).__name__)

    @series.register
    def _(self, node: ir.Literal, p):
        return node.value

    @series.register
    def _(self, node: ir.Exists, p):
        return bool(self.events(node.frame, p))

    @series.register
    def _(self, node: ir.Count, p):
        return len(self.events(node.frame, p))

    @series.register
    def _(self, node: ir.FirstDate, p):
        return _agg(min, [e[node.frame.domain.start] for e in self.events(node.frame, p)])

    @series.register
    def _(self, node: ir.LastDate, p):
        return _agg(max, [e[node.frame.domain.start] for e in self.events(node.frame, p)])

    @series.register
    def _(self, node: ir.MinValue, p):
        return _agg(min, [e.get(node.frame.domain.value) for e in self.events(node.frame, p)])

    @series.register
    def _(self, node: ir.MaxValue, p):
        return _agg(max, [e.get(node.frame.domain.value) for e in self.events(node.frame, p)])

    @series.register
    def _(self, node: ir.Sex, p):
        return uk.SEX_OF_GENDER.get(p.get("gender_concept_id"), "unknown")

    @series.register
    def _(self, node: ir.DateOfBirth, p):
        return _dob(p)

    @series.register
    def _(self, node: ir.EthnicCategory, p):
        code = p.get("race_source_value")
        return code if code in uk.NHS_ETHNIC_CATEGORIES else None

    @series.register
    def _(self, node: ir.EthnicGroup, p):
        return uk.ETHNIC_GROUP_OF.get(p.get("race_source_value"), "Unknown")

    @series.register
    def _(self, node: ir.ImdQuintile, p):
        rows = [r for r in self.rows_of("observation", p["person_id"])
                if r["observation_concept_id"] == uk.IMD_QUINTILE_CONCEPT_ID and r.get("value_as_number") is not None]
        if not rows:
            return None
        best = max(rows, key=lambda r: (r["observation_date"], r["value_as_number"]))
        return int(best["value_as_number"])

    @series.register
    def _(self, node: ir.Site, p):
        codes = [c.get("care_site_source_value") for c in self.tables.get("care_site", [])
                 if p.get("care_site_id") is not None and c["care_site_id"] == p.get("care_site_id")]
        return _agg(max, codes)

    @series.register
    def _(self, node: ir.IndexDate, p):
        if "index_date" not in p:
            raise ir.IRError("IndexDate", None, "the index date is only defined inside a Cohort")
        return p["index_date"]

    @series.register
    def _(self, node: ir.PersonIn, p):
        return p["person_id"] in node.person_ids

    @series.register
    def _(self, node: ir.AgeAt, p):
        # From the parts of the date of birth, as the SQL compilers do (same value for every real date).
        date = self.series(node.date, p)
        if date is None or p.get("year_of_birth") is None:
            return None
        birthday = tuple(1 if p.get(part) is None else p[part] for part in ("month_of_birth", "day_of_birth"))
        return date.year - p["year_of_birth"] - ((date.month, date.day) < birthday)

    @series.register
    def _(self, node: ir.YearAgeAt, p):
        date = self.series(node.date, p)
        if date is None or p.get("year_of_birth") is None:
            return None
        return date.year - p["year_of_birth"]

    @series.register
    def _(self, node: ir.ObservationPeriodStart, p):
        return _agg(min, [o["observation_period_start_date"] for o in self._periods_containing(node.date, p)])

    @series.register
    def _(self, node: ir.ObservationPeriodEnd, p):
        return _agg(max, [o["observation_period_end_date"] for o in self._periods_containing(node.date, p)])

    def _periods_containing(self, date_node: ir.Series, p: dict) -> list[dict]:
        date = self.series(date_node, p)
        if date is None:
            return []
        return [o for o in self.rows_of("observation_period", p["person_id"])
                if o["observation_period_start_date"] <= date <= o["observation_period_end_date"]]

    @series.register
    def _(self, node: ir.AddDays, p):
        date, days = self.series(node.date, p), self.series(node.days, p)
        return None if date is None or days is None else date + dt.timedelta(days=days)

    @series.register
    def _(self, node: ir.DaysBetween, p):
        start, end = self.series(node.start, p), self.series(node.end, p)
        return None if start is None or end is None else (end - start).days

    @series.register
    def _(self, node: ir.Compare, p):
        left, right = self.series(node.left, p), self.series(node.right, p)
        if left is None or right is None:
            return None
        return {"eq": left == right, "ne": left != right, "lt": left < right, "le": left <= right,
                "gt": left > right, "ge": left >= right}[node.op]

    @series.register
    def _(self, node: ir.IsMissing, p):
        return self.series(node.series, p) is None

    @series.register
    def _(self, node: ir.And, p):
        values = [self.series(a, p) for a in node.args]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True

    @series.register
    def _(self, node: ir.Or, p):
        values = [self.series(a, p) for a in node.args]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False

    @series.register
    def _(self, node: ir.Not, p):
        v = self.series(node.arg, p)
        return None if v is None else not v

    @series.register
    def _(self, node: ir.HasVariant, p):
        if VARIANT_TABLE not in self.tables:
            raise missing_variant_table()
        return any(_variant_matches(node, row) for row in self.rows_of(VARIANT_TABLE, p["person_id"]))

    # --- frames -----------------------------------------------------------------------------
    def events(self, frame: ir.Frame, p: dict) -> list[dict]:
        return [e for e in self.rows_of(frame.domain.table, p["person_id"]) if self.keep(frame, e, p)]

    @singledispatchmethod
    def keep(self, node: ir.Frame, event: dict, p: dict) -> bool:
        raise NotImplementedError(type(node).__name__)

    @keep.register
    def _(self, node: ir.Events, event, p):
        return True

    @keep.register
    def _(self, node: ir.WhereConcepts, event, p):
        if not self.keep(node.source, event, p):
            return False
        concept = event[node.domain.concept]
        included = any(self._matches(concept, i) for i in node.concepts.items if not i.excluded)
        excluded = any(self._matches(concept, i) for i in node.concepts.items if i.excluded)
        return included and not excluded

    def _matches(self, concept: int, item: ir.ConceptItem) -> bool:
        # A concept is its own descendant whether or not concept_ancestor holds the self row.
        return concept == item.concept_id or (item.descendants and concept in self.descendants[item.concept_id])

    @keep.register
    def _(self, node: ir.WhereValue, event, p):
        if not self.keep(node.source, event, p):
            return False
        value = event.get(node.domain.value)
        if value is None:
            return False
        if node.low is not None and value < node.low:
            return False
        if node.high is not None and value > node.high:
            return False
        return not node.unit_concept_ids or event.get(node.domain.unit) in node.unit_concept_ids

    @keep.register
    def _(self, node: ir.WhereDate, event, p):
        if not self.keep(node.source, event, p):
            return False
        column = node.domain.start if node.event_date == "start" else node.domain.end
        if column is None:
            raise ir.IRError("WhereDate", "event_date", f"domain {node.domain.name!r} has no end date")
        date, anchor = event.get(column), self.series(node.anchor, p)
        if date is None or anchor is None:
            return False
        if node.start_days is not None and date < anchor + dt.timedelta(days=node.start_days):
            return False
        return not (node.end_days is not None and date > anchor + dt.timedelta(days=node.end_days))


_STRATA = {"sex": ir.Sex(), "ethnic_group": ir.EthnicGroup(), "imd_quintile": ir.ImdQuintile(),
           "site": ir.Site(), "age_band": ir.AgeAt(ir.IndexDate())}


def _variant_matches(node: ir.HasVariant, row: dict) -> bool:
    """One variant row against every criterion of the node (all on this row)."""
    if node.genes and row.get("gene") not in node.genes:
        return False
    r = node.region
    if r is not None:
        if row.get("chrom") != r.chrom:
            return False
        first = row["pos"]
        last = first + len(row["ref"]) - 1
        for value, low, high in ((first, r.first_min, r.first_max), (last, r.last_min, r.last_max)):
            if (low is not None and value < low) or (high is not None and value > high):
                return False
    if node.clinical_significance and row.get("clinical_significance") not in node.clinical_significance:
        return False
    if node.zygosity and row.get("zygosity") not in node.zygosity:
        return False
    a = node.allele
    if a is not None and (row.get("chrom"), row.get("pos"), row.get("ref"), row.get("alt")) != (a.chrom, a.pos, a.ref, a.alt):
        return False
    hgvs = row.get("hgvs")
    return node.hgvs is None or (hgvs is not None and (hgvs == node.hgvs or hgvs.startswith(node.hgvs + " ")))


def _agg(fn, values):
    values = [v for v in values if v is not None]
    return fn(values) if values else None


def _dob(p: dict) -> dt.date | None:
    if p.get("year_of_birth") is None:
        return None
    return dt.date(p["year_of_birth"], p.get("month_of_birth") or 1, p.get("day_of_birth") or 1)
