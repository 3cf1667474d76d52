"""The reference engine for Circe cohorts: plain Python over in-memory OMOP tables.

Written from Circe's documented semantics (docs/circe-compatibility.md), not from the SQL, so it
can serve as an oracle for :mod:`phta.query.circe.compiler` in tests. Tables are
``{table: [row dict, ...]}`` with OMOP column names. Not for production data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from phta.query import ir_circe as c
from phta.query.circe.criteria_sql import ABNORMAL_VALUE_CONCEPTS, DECIMAL_ATTRIBUTES
from phta.query.circe.domains import CRITERIA, CUSTOM_ERA_TABLE, count_token

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ReferenceResult:
    rows: list[tuple[int, dt.date, dt.date]]
    masks_by_event: list[tuple[int, int]]
    masks_by_person: list[tuple[int, int]]


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=int(n))


def _cmp(value, op: str, a, b=None) -> bool:
    if value is None:
        return False
    if op.endswith("bt"):
        inside = a <= value <= b
        return not inside if op.startswith("!") else inside
    return {"lt": value < a, "lte": value <= a, "eq": value == a, "!eq": value != a, "gt": value > a,
            "gte": value >= a}[op]


class CirceReference:
    def __init__(self, tables: dict[str, list[dict]], cohort: c.CirceCohort):
        self.t, self.cohort = tables, cohort
        self.persons = {p["person_id"]: p for p in tables.get("person", [])}
        self.visits = {v["visit_occurrence_id"]: v for v in tables.get("visit_occurrence", [])}
        self.providers = {p["provider_id"]: p for p in tables.get("provider", [])}
        self.care_sites = {s["care_site_id"]: s for s in tables.get("care_site", [])}
        self.ops = defaultdict(list)
        for op in tables.get("observation_period", []):
            self.ops[op["person_id"]].append(op)
        self.codesets = {cs.id: self._concepts(cs) for cs in cohort.concept_sets}

    # --- concept sets ---------------------------------------------------------------------------
    def _expand(self, items) -> set[int]:
        concepts = {r["concept_id"]: r for r in self.t.get("concept", [])}
        ids = {i.concept_id for i in items}
        out = {i for i in ids if i in concepts}
        anc = {i.concept_id for i in items if i.descendants}
        out |= {r["descendant_concept_id"] for r in self.t.get("concept_ancestor", [])
                if r["ancestor_concept_id"] in anc and r["descendant_concept_id"] in concepts
                and concepts[r["descendant_concept_id"]].get("invalid_reason") is None}
        mapped = [i for i in items if i.mapped]
        if mapped:
            base = self._expand([c.CirceConceptItem(i.concept_id, i.descendants) for i in mapped])
            out |= {r["concept_id_1"] for r in self.t.get("concept_relationship", [])
                    if r["concept_id_2"] in base and r["relationship_id"] == "Maps to" and r.get("invalid_reason") is None}
        return out

    def _concepts(self, cs: c.CirceConceptSet) -> set[int]:
        return self._expand([i for i in cs.items if not i.excluded]) - self._expand([i for i in cs.items if i.excluded])

    def _in(self, value, codeset_id, exclude=False) -> bool:
        if codeset_id is None:
            return (value is None) if exclude else (value is not None)
        if value is None:
            return False
        return (value in self.codesets.get(codeset_id, set())) != exclude

    # --- criteria -------------------------------------------------------------------------------
    def _op_of(self, person_id, date):
        for op in self.ops[person_id]:
            if op["observation_period_start_date"] <= date <= op["observation_period_end_date"]:
                return op
        return None

    def events(self, cr: c.DomainCriterion) -> list[dict]:
        spec = CRITERIA[cr.kind]
        rows = [r for r in self._rows(cr, spec.table)
                if cr.codeset_id is None or self._in(r.get(spec.concept), cr.codeset_id)]
        early = [f for f in cr.filters if spec.attributes[f.attribute].before_first]
        for f in early:
            rows = [r for r in rows if self._in(r.get(spec.attributes[f.attribute].column), f.codeset_id)]
        if cr.first:
            best = {}
            for r in sorted(rows, key=lambda r: (r[spec.start], r[spec.id])):
                best.setdefault(r["person_id"], r)
            rows = list(best.values())
        out = []
        for r in rows:
            start = r[spec.start]
            if spec.end_default == "days_supply":
                end = r.get(spec.end) or (start + _days(r["days_supply"]) if r.get("days_supply") is not None
                                          else start + DAY)
            elif spec.end_default == "start+1":
                end = (r.get(spec.end) if spec.end else None) or start + DAY
            else:
                end = r.get(spec.end)
            if cr.date_adjustment is not None:
                da = cr.date_adjustment
                s = (start if da.start_with == "START_DATE" else end)
                e = (start if da.end_with == "START_DATE" else end)
                start = None if s is None else s + _days(da.start_offset)
                end = None if e is None else e + _days(da.end_offset)
                if start is None or end is None or end < start:
                    continue
            ev = {"person_id": r["person_id"], "event_id": r[spec.id], "start": start, "end": end,
                  "visit": r.get(spec.visit) if spec.visit else None,
                  "concept": r.get(spec.concept) if spec.concept else None, "row": r}
            if all(self._keep(f, spec, ev) for f in cr.filters if f not in early):
                out.append(ev)
        if cr.correlated is not None:
            index = [e | self._op_dates(e) for e in out if self._op_of(e["person_id"], e["start"])]
            keep = self.group(cr.correlated, index)
            out = [e for e in out if (e["person_id"], e["event_id"]) in keep]
        return out

    def _rows(self, cr: c.DomainCriterion, table: str) -> list[dict]:
        """A criterion's source rows: its OMOP table, or for a CustomEra the eras of its members'
        events: overlapping or touching events join (Circe's GapDays has no effect, see
        docs/circe-compatibility.md); eras numbered by person, start, end."""
        if table != CUSTOM_ERA_TABLE:
            return self.t.get(table, [])
        events = [(e["person_id"], e["start"], e["end"]) for m in cr.members for e in self.events(m)]
        eras = sorted(_merge_touching(events),
                      key=lambda x: (x[0], x[1], x[2] is None, x[2] or dt.date.min))
        return [{"person_id": p, "era_id": i, "era_start_date": s, "era_end_date": e}
                for i, (p, s, e) in enumerate(eras, start=1)]

    def _op_dates(self, e):
        op = self._op_of(e["person_id"], e["start"])
        return {"op_start": op["observation_period_start_date"], "op_end": op["observation_period_end_date"]}

    def _value(self, column: str, ev: dict):
        r, person = ev["row"], self.persons.get(ev["person_id"], {})
        if column == "start_date":
            return ev["start"]
        if column == "end_date":
            return ev["end"]
        if column in ("@age", "@age_end"):
            d = ev["start"] if column == "@age" else ev["end"]
            return None if d is None or person.get("year_of_birth") is None else d.year - person["year_of_birth"]
        if column == "@gender":
            return person.get("gender_concept_id")
        if column == "@visit_type":
            return self.visits.get(r.get("visit_occurrence_id"), {}).get("visit_concept_id")
        if column == "@specialty":
            return self.providers.get(r.get("provider_id"), {}).get("specialty_concept_id")
        if column == "@place_of_service":
            return self.care_sites.get(r.get("care_site_id"), {}).get("place_of_service_concept_id")
        if column == "@duration":
            return None if ev["end"] is None else (ev["end"] - ev["start"]).days
        if column in ("@low_ratio", "@high_ratio"):
            v, base = r.get("value_as_number"), r.get("range_low" if column == "@low_ratio" else "range_high")
            return None if v is None or not base else v / base
        return r.get(column)

    def _keep(self, f: c.CriterionFilter, spec, ev) -> bool:
        if isinstance(f, c.PeriodFilter):
            for iso in (f.start, f.end):
                if iso is not None and not (ev["start"] <= dt.date.fromisoformat(iso) <= ev["end"]):
                    return False
            ev["start"] = dt.date.fromisoformat(f.start) if f.start else ev["start"]
            ev["end"] = dt.date.fromisoformat(f.end) if f.end else ev["end"]
            return True
        if isinstance(f, c.FlagFilter):
            r = ev["row"]
            v, lo, hi = r.get("value_as_number"), r.get("range_low"), r.get("range_high")
            return ((v is not None and lo is not None and v < lo) or (v is not None and hi is not None and v > hi)
                    or r.get("value_as_concept_id") in ABNORMAL_VALUE_CONCEPTS)
        return self._filter(f, self._value(spec.attributes[f.attribute].column, ev))

    def _filter(self, f, value) -> bool:
        if isinstance(f, c.DateFilter):
            ext = dt.date.fromisoformat(f.extent) if f.extent else None
            return _cmp(value, f.op, dt.date.fromisoformat(f.value), ext)
        if isinstance(f, c.NumberFilter):
            conv = (lambda x: round(float(x), 4)) if f.attribute in DECIMAL_ATTRIBUTES else int
            return _cmp(value, f.op, conv(f.value), None if f.extent is None else conv(f.extent))
        if isinstance(f, c.ConceptFilter):
            return value is not None and ((value in f.concept_ids) != f.exclude)
        if isinstance(f, c.CodesetFilter):
            return self._in(value, f.codeset_id, f.exclude)
        if isinstance(f, c.TextFilter):
            if value is None:
                return False
            t = f.text
            hit = {"startsWith": value.startswith(t), "endsWith": value.endswith(t),
                   "contains": t in value}[f.op.lstrip("!")]
            return hit != f.op.startswith("!")
        raise NotImplementedError(type(f).__name__)

    # --- groups ---------------------------------------------------------------------------------
    def group(self, g: c.CriteriaGroup, index: list[dict]) -> set[tuple[int, int]]:
        if g.is_empty():
            return {(e["person_id"], e["event_id"]) for e in index}
        hits: dict[tuple[int, int], int] = defaultdict(int)
        children = 0
        for cc in g.criteria:
            for key in self.correlated(cc, index):
                hits[key] += 1
            children += 1
        for d in g.demographics:
            for e in index:
                if self._demographic(d, e):
                    hits[(e["person_id"], e["event_id"])] += 1
            children += 1
        for sub in g.groups:
            for key in self.group(sub, index):
                hits[key] += 1
            children += 1
        out = set()
        for e in index:
            n = hits.get((e["person_id"], e["event_id"]), 0)
            ok = {"ALL": n == children, "ANY": n > 0, "AT_LEAST": n >= (g.count or 0),
                  "AT_MOST": n <= (g.count or 0)}[g.group_type]
            if ok:
                out.add((e["person_id"], e["event_id"]))
        return out

    def correlated(self, cc: c.CorrelatedCriterion, index: list[dict]) -> set[tuple[int, int]]:
        events = defaultdict(list)
        for a in self.events(cc.criterion):
            events[a["person_id"]].append(a)
        check_op = not cc.ignore_observation_period
        occ, out = cc.occurrence, set()
        read = count_token(cc.criterion, occ.count_column) if occ.distinct else None
        for p in index:
            matched = []
            for a in events[p["person_id"]]:
                if check_op and not (p["op_start"] <= a["start"] <= p["op_end"]):
                    continue
                if not all(self._window(w, p, a, check_op) for w in (cc.start_window, cc.end_window) if w):
                    continue
                if cc.restrict_visit and (a["visit"] is None or a["visit"] != p.get("visit")):
                    continue
                matched.append(a)
            if occ.distinct:
                n = len({_count_value(read, a) for a in matched} - {None})
            else:
                n = len(matched)
            if {0: n == occ.count, 1: n <= occ.count, 2: n >= occ.count}[occ.occurrence_type]:
                out.add((p["person_id"], p["event_id"]))
        return out

    @staticmethod
    def _window(w: c.Window, p, a, check_op) -> bool:
        anchor = p["end"] if w.use_index_end else p["start"]
        value = a["end"] if w.use_event_end else a["start"]
        for ep, is_low in ((w.start, True), (w.end, False)):
            if ep.days is not None:
                if anchor is None:  # an index without an end (e.g. an open episode): SQL's null bound
                    return False
                bound = anchor + _days(ep.coeff * ep.days)
            elif check_op:
                bound = p["op_start"] if ep.coeff == -1 else p["op_end"]
            else:
                continue
            if value is None or (value < bound if is_low else value > bound):
                return False
        return True

    def _demographic(self, d: c.DemographicCriterion, e) -> bool:
        person = self.persons.get(e["person_id"], {})
        values = {"Age": None if person.get("year_of_birth") is None else e["start"].year - person["year_of_birth"],
                  "Gender": person.get("gender_concept_id"), "GenderCS": person.get("gender_concept_id"),
                  "Race": person.get("race_concept_id"), "RaceCS": person.get("race_concept_id"),
                  "Ethnicity": person.get("ethnicity_concept_id"), "EthnicityCS": person.get("ethnicity_concept_id"),
                  "OccurrenceStartDate": e["start"], "OccurrenceEndDate": e["end"]}
        return all(self._filter(f, values[f.attribute]) for f in d.filters)

    # --- the pipeline ---------------------------------------------------------------------------
    def run(self) -> ReferenceResult:
        co = self.cohort
        entries = []
        for cr in co.primary:
            for e in self.events(cr):
                op = self._op_of(e["person_id"], e["start"])
                if op is None:
                    continue  # entry events outside every observation period are dropped
                s, t = op["observation_period_start_date"], op["observation_period_end_date"]
                if s + _days(co.prior_days) <= e["start"] and e["start"] + _days(co.post_days) <= t:
                    entries.append(e | {"op_start": s, "op_end": t})
        primary = []
        for events in _by_person(entries).values():
            desc = co.primary_limit == "Last"
            ordered = sorted(events, key=lambda e: e["event_id"])
            ordered = sorted(ordered, key=lambda e: e["start"], reverse=desc)
            for k, e in enumerate(ordered, start=1):
                if co.primary_limit == "All" or k == 1:
                    primary.append(e | {"event_id": k, "index_end": e["end"]})
        primary = [e | {"end": e["end"]} for e in primary]
        qualified = primary
        if co.additional is not None:
            keep = self.group(co.additional, primary)
            qualified = [e for e in primary if (e["person_id"], e["event_id"]) in keep]
            if co.qualified_limit != "All":
                qualified = _limit(qualified, co.qualified_limit)
        rule_hits = [self.group(r.group, qualified) for r in co.inclusion_rules]

        def mask(e) -> int:
            return sum(1 << i for i, hits in enumerate(rule_hits) if (e["person_id"], e["event_id"]) in hits)

        full = (1 << len(rule_hits)) - 1
        included = [e for e in qualified if mask(e) == full]
        if co.expression_limit != "All":
            included = _limit(included, co.expression_limit)
        rows = []
        strategy = co.end_strategy
        eras = self._drug_eras(strategy, included) if isinstance(strategy, c.ContinuousExposureEnd) else {}
        censors = [self.events(cr) for cr in co.censoring]
        for e in included:
            ends = []
            if not isinstance(strategy, c.DateOffsetEnd):
                ends.append(e["op_end"])
            if isinstance(strategy, c.DateOffsetEnd):
                base = e["end"] if strategy.date_field == "EndDate" else e["start"]
                if base is not None:
                    ends.append(min(base + _days(strategy.offset), e["op_end"]))
            elif isinstance(strategy, c.ContinuousExposureEnd):
                ends += [end for start, end in eras.get(e["person_id"], []) if start <= e["start"] <= end]
            for events in censors:
                starts = [a["start"] for a in events if a["person_id"] == e["person_id"]
                          and e["start"] <= a["start"] <= e["op_end"]]
                if starts:
                    ends.append(min(starts))
            ends = [d for d in ends if d >= e["start"]]
            if ends:
                rows.append((e["person_id"], e["start"], min(ends)))
        final = _collapse(rows, co.era_pad, co.era_pad)
        out = []
        for p, s, t in final:
            if co.censor_start:
                s = max(s, dt.date.fromisoformat(co.censor_start))
            if co.censor_end:
                t = min(t, dt.date.fromisoformat(co.censor_end))
            if s <= t:
                out.append((p, s, t))
        by_event = _count(mask(e) for e in qualified)
        best = []
        for events in _by_person(qualified).values():
            def rank(e):
                m = mask(e)
                met = [i for i in range(len(rule_hits)) if m >> i & 1]
                return (-len(met), met[0] if met else 0, e["start"], e["event_id"])
            best.append(min(events, key=rank))
        by_person = _count(mask(e) for e in best)
        return ReferenceResult(sorted(out), by_event, by_person)

    def _drug_eras(self, s: c.ContinuousExposureEnd, included) -> dict[int, list]:
        persons = {e["person_id"] for e in included}
        concepts = self.codesets.get(s.drug_codeset_id, set())
        rows = []
        for r in self.t.get("drug_exposure", []):
            if r["person_id"] not in persons:
                continue
            start = r["drug_exposure_start_date"]
            if s.days_supply_override is not None:
                end = start + _days(s.days_supply_override)
            else:
                end = r.get("drug_exposure_end_date") or (
                    start + _days(r["days_supply"]) if r.get("days_supply") is not None else start + DAY)
            for col in ("drug_concept_id", "drug_source_concept_id"):
                if r.get(col) in concepts:
                    rows.append((r["person_id"], start, end))
        eras = defaultdict(list)
        for p, start, end in _collapse(rows, s.gap_days + s.offset, s.gap_days):
            eras[p].append((start, end))
        return eras


def _count_value(read: str, a: dict):
    """What a distinct count reads (``read``: a ``CriterionSpec.count_columns`` entry)."""
    duration = None if a["end"] is None or a["start"] is None else (a["end"] - a["start"]).days
    fixed = {"start_date": a["start"], "end_date": a["end"], "@visit": a["visit"], "@one": 1, "@duration": duration}
    if read in fixed:
        return fixed[read]
    if read.startswith("@or0:"):
        value = a["row"].get(read[5:])
        return 0 if value is None else value
    return a["row"].get(read)


def _by_person(events):
    out = defaultdict(list)
    for e in events:
        out[e["person_id"]].append(e)
    return out


def _limit(events, limit):
    out = []
    for evs in _by_person(events).values():
        ordered = sorted(sorted(evs, key=lambda e: e["event_id"]), key=lambda e: e["start"], reverse=limit == "Last")
        out.append(ordered[0])
    return out


def _collapse(rows, pad_add: int, pad_sub: int):
    """Circe's era constructor: spans (end + pad) overlapping or touching earlier ones join an era."""
    out = []
    for p, spans in sorted(_group_rows(rows).items()):
        current = None
        for start, end in sorted(spans):
            end = end + _days(pad_add)
            if current and current[1] >= start:
                current[1] = max(current[1], end)
            else:
                if current:
                    out.append((p, current[0], current[1] - _days(pad_sub)))
                current = [start, end]
        if current:
            out.append((p, current[0], current[1] - _days(pad_sub)))
    return out


def _merge_touching(rows):
    """Merge each person's overlapping or touching spans (no pad), where an end may be null as in SQL:
    a null end extends nothing, and a span whose ends are all null ends null."""
    out = []
    for p, spans in sorted(_group_rows(rows).items()):
        current, reach = None, None  # [start, max end or None]; furthest end so far
        for start, end in sorted(spans, key=lambda x: x[0]):
            if current is not None and reach is not None and reach >= start:
                current[1] = end if current[1] is None else max(current[1], end or current[1])
            else:
                if current is not None:
                    out.append((p, *current))
                current = [start, end]
            if end is not None:
                reach = end if reach is None else max(reach, end)
        if current is not None:
            out.append((p, *current))
    return out


def _group_rows(rows):
    out = defaultdict(list)
    for p, s, e in rows:
        out[p].append((s, e))
    return out


def _count(masks) -> list[tuple[int, int]]:
    out: dict[int, int] = defaultdict(int)
    for m in masks:
        out[m] += 1
    return sorted(out.items())
