"""The purpose's vocabulary at every governed entry point: refused at validation (before anything
is compiled, audited as refused, no budget spent), through the PHTA path and the ATLAS path,
for every (standing purpose, feature) pair of the table; and a Hypothesis property: any query the
vocabulary refuses is refused at validation whatever front-end it came from, and any query it
allows gets past validation.

Compiling is replaced by a sentinel: reaching it means validation let the query through, and
nothing is run either way (the tests stay fast; what runs is tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.audit import entries
from phta.execution import budget
from phta.execution.admission import VOCABULARY_REFUSED_ACTION
from phta.execution.governed import run_governed, run_governed_circe
from phta.execution.network import network_feasibility, region_stores
from phta.execution.network_atlas import atlas_network_feasibility
from phta.execution.path import RecordLevelPredicate
from phta.governance.principal import Principal
from phta.query import ir, serial
from phta.query.circe.importer import import_expression
from phta.query.purpose_vocabulary import FEATURES, VOCABULARY
from phta.query.vocabulary_check import VocabularyRefused, first_refused
from phta.store import open_database
from tests import vocabulary_samples as samples
from tests.integration.query_strategies import research_cohorts

RESEARCHER = Principal(1, "r@test.example", "Ravi", frozenset({"researcher"}))
# the standing purposes a test can use without setting up custodians or grants, and who may use them
STANDING = {"network_feasibility": RESEARCHER, "public_statistics": None, "public_beacon": None}
PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Compiled(Exception):
    """Raised in place of compiling: the query got past validation."""


@pytest.fixture
def no_compile(monkeypatch):
    def sentinel(*args, **kwargs):
        raise Compiled

    monkeypatch.setattr("phta.execution.path.compiled_cohort", sentinel)
    monkeypatch.setattr("phta.execution.circe.compile_circe", sentinel)


@pytest.fixture
def node(region_settings):
    return region_stores(region_settings)[0]


def _run(settings, purpose: str, query, store):
    database = open_database(settings)
    runner = run_governed if isinstance(query, ir.Cohort) else run_governed_circe
    return runner(settings, database, STANDING[purpose], purpose, query, store)


def _outcome(settings, purpose: str, query, store) -> str:
    try:
        _run(settings, purpose, query, store)
    except (VocabularyRefused, RecordLevelPredicate):  # person ids: the path's own older check, first
        return "refused"
    except Compiled:
        return "compiled"
    raise AssertionError("neither refused nor compiled")


CASES = [(purpose, feature, front_end) for purpose in STANDING for feature in FEATURES
         for front_end in ("phta", "atlas") if feature in (samples.PHTA if front_end == "phta" else samples.ATLAS)]


@pytest.mark.parametrize(("purpose", "feature", "front_end"), CASES)
def test_each_governed_path_refuses_or_admits_as_the_table_says(region_settings, node, no_compile,
                                                                purpose, feature, front_end):
    query = serial.from_json(serial.to_json(samples.PHTA[feature])) if front_end == "phta" \
        else samples.atlas(feature)
    expected = "compiled" if feature in VOCABULARY[purpose] else "refused"
    assert _outcome(region_settings, purpose, query, node.path) == expected
    runs = [e for e in entries(open_database(region_settings)) if e.action == "query.run"]
    assert [e.details["outcome"] for e in runs] == (["refused"] if expected == "refused" else [])
    if expected == "refused":
        assert runs[0].details["purpose"] == purpose


def test_a_refusal_names_the_query_node_the_purpose_and_the_data_node(region_settings, node, no_compile):
    with pytest.raises(VocabularyRefused) as refused:
        _run(region_settings, "network_feasibility", samples.atlas("exact_date"), node.path)
    node_name = str(refused.value.data_node)
    assert node_name and f"(node {node_name})" in str(refused.value)
    assert str(refused.value).startswith("DateFilter at primary[0].filters[0]: exact calendar dates")


@pytest.mark.parametrize("front_end", ["phta", "atlas"])
def test_a_network_request_is_refused_before_any_node_runs_audited_and_costs_nothing(
        region_settings, no_compile, front_end):
    database = open_database(region_settings)
    run = network_feasibility if front_end == "phta" else atlas_network_feasibility
    query = samples.PHTA["date_of_birth"] if front_end == "phta" else samples.atlas("free_text")
    with pytest.raises(VocabularyRefused):
        run(region_settings, database, RESEARCHER, query)
    log = entries(database)
    assert not [e for e in log if e.action == "query.run"]  # no node was asked
    (event,) = [e for e in log if e.action == VOCABULARY_REFUSED_ACTION]
    assert event.actor == RESEARCHER.actor and event.details["purpose"] == "network_feasibility"
    assert event.details["feature"] in ("date_of_birth", "free_text") and event.details["path"]
    (status,) = budget.budget_status(region_settings, database, RESEARCHER, ["network_feasibility"])
    assert status.used == 0


# --- the property, through both front-ends ---------------------------------------------------------

def _identifying(query: ir.Node) -> bool:
    """An independent witness: these nodes are refused under every standing purpose wherever
    they appear (the checker's subtler date rules are tested on their own)."""
    return any(isinstance(n, ir.DateOfBirth | ir.EthnicCategory | ir.PersonIn) for n in query.walk())


@PROPERTY
@given(query=research_cohorts(), purpose=st.sampled_from(sorted(STANDING)))
def test_phta_queries_the_vocabulary_refuses_are_refused_at_validation(region_settings, node, no_compile,
                                                                       query, purpose):
    sent = serial.from_json(serial.to_json(query))  # the JSON front-end
    outcome = _outcome(region_settings, purpose, sent, node.path)
    assert outcome == ("refused" if first_refused(sent, purpose) is not None else "compiled")
    if _identifying(sent):
        assert outcome == "refused"


_DAYS = st.dates(dt.date(2015, 1, 1), dt.date(2021, 12, 31))


@st.composite
def atlas_definitions(draw) -> dict:
    """ATLAS JSON: the hypertension example with random date ranges, ages, races and text filters
    on its entry event and in an inclusion rule."""
    doc = samples.atlas_base()
    entry = doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]
    for attribute in draw(st.lists(st.sampled_from(["OccurrenceStartDate", "OccurrenceEndDate"]), unique=True)):
        op = draw(st.sampled_from(["lt", "lte", "eq", "!eq", "gt", "gte", "bt", "!bt"]))
        first, second = sorted((draw(_DAYS), draw(_DAYS)))
        if draw(st.booleans()):  # often on month boundaries, so allowed ranges are drawn too
            first, second = first.replace(day=1), (second.replace(day=28) + dt.timedelta(days=4)).replace(day=1) \
                - dt.timedelta(days=1)
        entry[attribute] = {"Value": first.isoformat(), "Op": op,
                            **({"Extent": second.isoformat()} if op.endswith("bt") else {})}
    if draw(st.booleans()):
        entry["StopReason"] = {"Text": "moved", "Op": "contains"}
    demographics = []
    if draw(st.booleans()):
        demographics.append({"Age": {"Value": draw(st.integers(0, 90)), "Op": "gte"}})
    if draw(st.booleans()):
        demographics.append({"Race": [{"CONCEPT_ID": 2000000101}]})
    if demographics:
        doc["InclusionRules"] = [{"name": "rule", "expression": {
            "Type": "ALL", "CriteriaList": [], "Groups": [], "DemographicCriteriaList": demographics}}]
    if draw(st.booleans()):
        start = draw(_DAYS)
        doc["CensorWindow"] = {"StartDate": start.isoformat(),
                               "EndDate": (start + dt.timedelta(days=draw(st.integers(0, 800)))).isoformat()}
    return doc


@PROPERTY
@given(doc=atlas_definitions(), purpose=st.sampled_from(sorted(STANDING)))
def test_atlas_definitions_the_vocabulary_refuses_are_refused_at_validation(region_settings, node, no_compile,
                                                                            doc, purpose):
    query = import_expression(json.dumps(doc))  # the ATLAS front-end
    outcome = _outcome(region_settings, purpose, query, node.path)
    assert outcome == ("refused" if first_refused(query, purpose) is not None else "compiled")
    entry = doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]
    rule = json.dumps(doc["InclusionRules"])
    if "StopReason" in entry or "Race" in rule or any(
            entry.get(a, {}).get("Op") in ("eq", "!eq") for a in ("OccurrenceStartDate", "OccurrenceEndDate")):
        assert outcome == "refused"
