"""Hypothesis strategies: well-typed cohort-language IR and small random OMOP stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

from hypothesis import strategies as st

from phta.cdm import uk
from phta.cdm.extensions import ensure_extension_tables
from phta.cdm.store import Store
from phta.query import ir
from phta.query.variants import VARIANT_TABLE, ZYGOSITIES

CONCEPTS = (1, 2, 3, 4)
DOMAINS = ("condition", "drug", "measurement", "observation")
VALUE_DOMAINS = ("measurement", "observation")
BASE = dt.date(2019, 1, 1)

dates = st.integers(0, 1000).map(lambda n: BASE + dt.timedelta(days=n))


# --- stores ---------------------------------------------------------------------------------

@st.composite
def tables(draw):
    n = draw(st.integers(1, 6))
    persons = []
    for pid in range(1, n + 1):
        born = draw(st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)))
        persons.append({
            "person_id": pid, "year_of_birth": born.year, "month_of_birth": born.month, "day_of_birth": born.day,
            "gender_concept_id": draw(st.sampled_from([uk.GENDER_MALE, uk.GENDER_FEMALE, uk.GENDER_UNKNOWN, 0])),
            "race_concept_id": 0, "ethnicity_concept_id": 0,
            "race_source_value": draw(st.sampled_from(["A", "H", "M", "Z", None, "X"])),
            "care_site_id": draw(st.sampled_from([None, 1, 2])),
        })
    pids = st.integers(1, n)
    out = {"person": persons,
           "care_site": [{"care_site_id": 1, "care_site_source_value": "RRK"},
                         {"care_site_id": 2, "care_site_source_value": "RQ3"}],
           "concept": [{"concept_id": c, "concept_name": f"c{c}", "domain_id": "x", "vocabulary_id": "x",
                        "concept_class_id": "x", "concept_code": str(c), "valid_start_date": BASE,
                        "valid_end_date": BASE} for c in CONCEPTS],
           "concept_ancestor": [{"ancestor_concept_id": a, "descendant_concept_id": b,
                                 "min_levels_of_separation": 1, "max_levels_of_separation": 1}
                                for a, b in draw(st.lists(st.tuples(st.sampled_from(CONCEPTS),
                                                                    st.sampled_from(CONCEPTS)), max_size=4, unique=True))]}
    events = st.fixed_dictionaries({"person_id": pids, "concept": st.sampled_from(CONCEPTS), "start": dates,
                                    "end": st.one_of(st.none(), dates),
                                    "value": st.one_of(st.none(), st.integers(0, 10).map(float)),
                                    "unit": st.sampled_from([None, 1, 2])})
    rows = {d: draw(st.lists(events, max_size=8)) for d in DOMAINS}
    periods = draw(st.lists(st.tuples(pids, dates, st.integers(0, 600)), max_size=6))
    out["observation_period"] = [
        {"observation_period_id": i, "person_id": p, "observation_period_start_date": start,
         "observation_period_end_date": start + dt.timedelta(days=length), "period_type_concept_id": 0}
        for i, (p, start, length) in enumerate(periods, 1)]
    out["condition_occurrence"] = [
        {"condition_occurrence_id": i, "person_id": e["person_id"], "condition_concept_id": e["concept"],
         "condition_start_date": e["start"], "condition_end_date": e["end"], "condition_type_concept_id": 0}
        for i, e in enumerate(rows["condition"], 1)]
    out["drug_exposure"] = [
        {"drug_exposure_id": i, "person_id": e["person_id"], "drug_concept_id": e["concept"],
         "drug_exposure_start_date": e["start"], "drug_exposure_end_date": e["end"] or e["start"],
         "drug_type_concept_id": 0}
        for i, e in enumerate(rows["drug"], 1)]
    out["measurement"] = [
        {"measurement_id": i, "person_id": e["person_id"], "measurement_concept_id": e["concept"],
         "measurement_date": e["start"], "value_as_number": e["value"], "unit_concept_id": e["unit"],
         "measurement_type_concept_id": 0}
        for i, e in enumerate(rows["measurement"], 1)]
    imd = st.fixed_dictionaries({"person_id": pids, "start": dates, "value": st.integers(1, 5).map(float)})
    observations = [{"person_id": e["person_id"], "concept": e["concept"], "start": e["start"],
                     "value": e["value"], "unit": e["unit"]} for e in rows["observation"]]
    observations += [{"person_id": e["person_id"], "concept": uk.IMD_QUINTILE_CONCEPT_ID, "start": e["start"],
                      "value": e["value"], "unit": None} for e in draw(st.lists(imd, max_size=4))]
    out["observation"] = [
        {"observation_id": i, "person_id": e["person_id"], "observation_concept_id": e["concept"],
         "observation_date": e["start"], "value_as_number": e["value"], "unit_concept_id": e["unit"],
         "observation_type_concept_id": 0}
        for i, e in enumerate(observations, 1)]
    out["variant"] = draw(st.lists(variant_rows(pids), max_size=5))
    return out


# Few values on purpose, so that queries and rows meet: a gene in two cases, a missing
# classification, an HGVS with and without the protein change, two alleles.
GENES = ("BRCA1", "BRCA2", "MLH1")
SIGNIFICANCES = ("Pathogenic", "Likely pathogenic", "Benign")
ALLELES = (("17", 43124027, "ACT", "A"), ("13", 32340300, "GT", "G"))
HGVS = ("NM_007294.4:c.68_69del", "NM_007294.4:c.68_69del (p.Glu23fs)", "NM_007294.4:c.68_69delA")


def variant_rows(pids):
    return st.builds(
        lambda pid, gene, sig, zyg, allele, hgvs: {
            "person_id": pid, "gene": gene, "clinical_significance": sig, "zygosity": zyg,
            "chrom": allele[0], "pos": allele[1], "ref": allele[2], "alt": allele[3], "hgvs": hgvs},
        pids, st.sampled_from((*GENES, "brca1", None)), st.sampled_from((*SIGNIFICANCES, None)),
        st.sampled_from(ZYGOSITIES), st.sampled_from(ALLELES), st.sampled_from((*HGVS, None)))


@st.composite
def has_variant(draw):
    def some(values, min_size=0):
        return tuple(draw(st.lists(st.sampled_from(values), min_size=min_size, max_size=2, unique=True)))

    allele = draw(st.one_of(st.none(), st.sampled_from(ALLELES).map(lambda a: ir.VariantAllele(*a))))
    return ir.HasVariant(some(GENES, 1), some(SIGNIFICANCES), some(ZYGOSITIES), allele,
                         draw(st.one_of(st.none(), st.sampled_from(HGVS[:1] + HGVS[2:]))))


# --- queries --------------------------------------------------------------------------------

@st.composite
def concept_sets(draw):
    included = draw(st.lists(st.tuples(st.sampled_from(CONCEPTS), st.booleans()), min_size=1, max_size=2))
    excluded = draw(st.lists(st.tuples(st.sampled_from(CONCEPTS), st.booleans()), max_size=1))
    return ir.ConceptSet(tuple(ir.ConceptItem(c, d) for c, d in included)
                         + tuple(ir.ConceptItem(c, d, True) for c, d in excluded))


@st.composite
def frames(draw, depth: int, in_cohort: bool, value_domain: bool = False):
    frame: ir.Frame = ir.Events(draw(st.sampled_from(VALUE_DOMAINS if value_domain else DOMAINS)))
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["concepts", "value", "date"]))
        if kind == "concepts":
            frame = ir.WhereConcepts(frame, draw(concept_sets()))
        elif kind == "value" and frame.domain.value is not None:
            low = draw(st.one_of(st.none(), st.integers(0, 10)))
            high = draw(st.one_of(st.none(), st.integers(0, 10)))
            units = tuple(draw(st.lists(st.sampled_from([1, 2]), max_size=1)))
            if low is not None and high is not None and low > high:
                low, high = high, low
            if low is None and high is None and not units:
                low = 3
            frame = ir.WhereValue(frame, low, high, units)
        elif kind == "date" and depth > 0:
            start = draw(st.one_of(st.none(), st.integers(-400, 400)))
            end = draw(st.one_of(st.none(), st.integers(-400, 400)))
            if start is None and end is None:
                end = 0
            if start is not None and end is not None and start > end:
                start, end = end, start
            on = "end" if frame.domain.end is not None and draw(st.booleans()) else "start"
            frame = ir.WhereDate(frame, draw(series("date", depth - 1, in_cohort)), start, end, on)
    return frame


def series(t: str, depth: int, in_cohort: bool = False):
    return _SERIES[t](depth, in_cohort)


@st.composite
def _dates(draw, depth, in_cohort):
    options = ["literal", "dob"] + (["index"] if in_cohort else [])
    if depth > 0:
        options += ["first", "last", "add", "op_start", "op_end"]
    kind = draw(st.sampled_from(options))
    if kind == "literal":
        return ir.Literal("date", draw(dates))
    if kind == "dob":
        return ir.DateOfBirth()
    if kind == "index":
        return ir.IndexDate()
    if kind in ("op_start", "op_end"):
        inner = draw(series("date", depth - 1, in_cohort))
        return ir.ObservationPeriodStart(inner) if kind == "op_start" else ir.ObservationPeriodEnd(inner)
    if kind == "add":
        return ir.AddDays(draw(series("date", depth - 1, in_cohort)), ir.Literal("int", draw(st.integers(-500, 500))))
    frame = draw(frames(depth - 1, in_cohort))
    return ir.FirstDate(frame) if kind == "first" else ir.LastDate(frame)


@st.composite
def _ints(draw, depth, in_cohort):
    options = ["literal", "imd"] + (["count", "age", "yearage", "between"] if depth > 0 else [])
    kind = draw(st.sampled_from(options))
    if kind == "literal":
        return ir.Literal("int", draw(st.integers(-5, 100)))
    if kind == "imd":
        return ir.ImdQuintile()
    if kind == "count":
        return ir.Count(draw(frames(depth - 1, in_cohort)))
    if kind == "age":
        return ir.AgeAt(draw(series("date", depth - 1, in_cohort)))
    if kind == "yearage":
        return ir.YearAgeAt(draw(series("date", depth - 1, in_cohort)))
    return ir.DaysBetween(draw(series("date", depth - 1, in_cohort)), draw(series("date", depth - 1, in_cohort)))


@st.composite
def _floats(draw, depth, in_cohort):
    if depth == 0 or draw(st.booleans()):
        return ir.Literal("float", float(draw(st.integers(0, 10))))
    frame = draw(frames(depth - 1, in_cohort, value_domain=True))
    return ir.MinValue(frame) if draw(st.booleans()) else ir.MaxValue(frame)


@st.composite
def _strs(draw, depth, in_cohort):
    kind = draw(st.sampled_from(["sex", "cat", "group", "site", "literal"]))
    if kind == "literal":
        return ir.Literal("str", draw(st.sampled_from(["male", "female", "unknown", "A", "White", "RRK", "Unknown"])))
    return {"sex": ir.Sex(), "cat": ir.EthnicCategory(), "group": ir.EthnicGroup(), "site": ir.Site()}[kind]


@st.composite
def _bools(draw, depth, in_cohort):
    options = ["literal", "person_in", "variant"] + (["exists", "compare", "and", "or", "not", "missing"] if depth > 0 else [])
    kind = draw(st.sampled_from(options))
    if kind == "literal":
        return ir.Literal("bool", draw(st.booleans()))
    if kind == "variant":
        return draw(has_variant())
    if kind == "person_in":
        return ir.PersonIn(tuple(draw(st.lists(st.integers(1, 6), max_size=3))))
    if kind == "exists":
        return ir.Exists(draw(frames(depth - 1, in_cohort)))
    if kind == "compare":
        t = draw(st.sampled_from(["int", "float", "date", "str", "bool"]))
        left = draw(series(t, depth - 1, in_cohort))
        right_t = draw(st.sampled_from(["int", "float"])) if t in ("int", "float") else t
        ops = ("eq", "ne") if t == "bool" else ir.COMPARISONS
        return ir.Compare(draw(st.sampled_from(ops)), left, draw(series(right_t, depth - 1, in_cohort)))
    if kind in ("and", "or"):
        args = tuple(draw(st.lists(series("bool", depth - 1, in_cohort), min_size=2, max_size=3)))
        return ir.And(args) if kind == "and" else ir.Or(args)
    if kind == "not":
        return ir.Not(draw(series("bool", depth - 1, in_cohort)))
    t = draw(st.sampled_from(["int", "date", "str", "float"]))
    return ir.IsMissing(draw(series(t, depth - 1, in_cohort)))


_SERIES = {"date": _dates, "int": _ints, "float": _floats, "str": _strs, "bool": _bools}


@st.composite
def any_series(draw, depth: int = 3):
    return draw(series(draw(st.sampled_from(list(_SERIES))), depth))


def without_person_ids(node):
    """The same query with every ``PersonIn`` replaced by a constant: research queries may not name
    persons (the execution path refuses them), only its own governance rewrites may."""
    if isinstance(node, ir.PersonIn):
        return ir.Literal("bool", bool(node.person_ids))
    if isinstance(node, ir.Node):
        return dataclasses.replace(node, **{f.name: without_person_ids(getattr(node, f.name))
                                            for f in dataclasses.fields(node) if f.init})
    if isinstance(node, tuple):
        return tuple(without_person_ids(x) for x in node)
    return node


def research_cohorts():
    """Cohorts as a researcher may submit them: no person-id predicates."""
    return cohorts().map(without_person_ids)


@st.composite
def cohorts(draw):
    index = draw(series("date", 2))
    rules = tuple(ir.Rule(f"rule {i}", draw(series("bool", 2, in_cohort=True)))
                  for i in range(draw(st.integers(0, 3))))
    end = draw(st.one_of(st.none(), series("date", 2, in_cohort=True)))
    universe = draw(st.one_of(st.none(), st.just(ir.Not(ir.PersonIn((2,))))))
    return ir.Cohort(index, rules, end, ir.STRATA, universe=universe)


def store_from_template(template: Path, path: Path, data: dict) -> Store:
    """A store at ``path``: a copy of an empty store file ``template`` with ``data``'s rows
    (table -> list of row dicts) inserted. Copying a template is much faster than creating the
    whole OMOP schema for every Hypothesis example."""
    path.mkdir()
    shutil.copy(template, path / template.name)
    con = Store.open(path).connect()
    try:
        if VARIANT_TABLE in data:  # the extension table, as the synthetic region's stores have it
            ensure_extension_tables(con)
        for name, rows in data.items():
            for row in rows:
                cols = list(row)
                con.execute(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                            [row[c] for c in cols])
    finally:
        con.close()
    return Store.open(path)
