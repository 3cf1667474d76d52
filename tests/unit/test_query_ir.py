"""IR nodes validate on construction; JSON round-trips; the content hash is stable."""

import datetime as dt
import json

import pytest
from hypothesis import given, settings

from phta.query import ir, serial
from tests.integration.query_strategies import any_series, cohorts

T2DM = ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(201826, True),)))


def test_type_errors_name_the_node_and_field():
    with pytest.raises(ir.IRError, match=r"Compare\.right: cannot compare a date with a int"):
        ir.Compare("lt", ir.FirstDate(T2DM), ir.Literal("int", 3))
    with pytest.raises(ir.IRError, match=r"And\.args: expected a bool series, got int \(Count\)"):
        ir.And((ir.Exists(T2DM), ir.Count(T2DM)))
    with pytest.raises(ir.IRError, match=r"AgeAt\.date: expected a date series"):
        ir.AgeAt(ir.Literal("int", 2020))


def test_impossible_windows_and_ranges_are_rejected():
    with pytest.raises(ir.IRError, match=r"WhereDate\.start_days: impossible window"):
        ir.WhereDate(T2DM, ir.IndexDate(), 10, -10)
    with pytest.raises(ir.IRError, match=r"WhereValue\.low: impossible range"):
        ir.WhereValue(ir.Events("measurement"), 5, 1)
    with pytest.raises(ir.IRError, match=r"WhereValue\.source: domain 'condition' has no numeric values"):
        ir.WhereValue(T2DM, 1, 5)


def test_bad_concepts_and_domains():
    with pytest.raises(ir.IRError, match=r"ConceptItem\.concept_id"):
        ir.ConceptItem(-1)
    with pytest.raises(ir.IRError, match=r"ConceptSet\.items: a concept set needs at least one included"):
        ir.ConceptSet((ir.ConceptItem(1, excluded=True),))
    with pytest.raises(ir.IRError, match=r"Events\.domain_name: unknown domain 'diagnoses'"):
        ir.Events("diagnoses")


def test_cohort_validation():
    with pytest.raises(ir.IRError, match=r"Cohort\.index_date: the index date cannot be defined in terms of itself"):
        ir.Cohort(ir.AddDays(ir.IndexDate(), ir.Literal("int", 1)))
    rule = ir.Rule("a", ir.Exists(T2DM))
    with pytest.raises(ir.IRError, match=r"Cohort\.rules: two rules are named 'a'"):
        ir.Cohort(ir.FirstDate(T2DM), (rule, rule))
    with pytest.raises(ir.IRError, match=r"Cohort\.strata: unknown stratum 'religion'"):
        ir.Cohort(ir.FirstDate(T2DM), strata=("religion",))
    with pytest.raises(ir.IRError, match=r"Cohort\.strata: stratum 'sex' is listed twice"):
        ir.Cohort(ir.FirstDate(T2DM), strata=("sex", "age_band", "sex"))


def test_nodes_are_frozen():
    with pytest.raises(AttributeError):
        T2DM.source = ir.Events("drug")  # type: ignore[misc]


def test_canonical_json_and_hash():
    cohort = ir.Cohort(ir.FirstDate(T2DM), (ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),))
    text = serial.to_json(cohort)
    doc = json.loads(text)
    assert doc["phta_query"] == serial.FORMAT_VERSION and doc["query"]["type"] == "Cohort"
    assert text == json.dumps(doc, sort_keys=True, separators=(",", ":"))
    assert serial.from_json(text) == cohort
    # key order and whitespace in the input do not change the parsed query or its hash
    reordered = json.dumps(json.loads(text), indent=2)
    assert serial.content_hash(serial.from_json(reordered)) == serial.content_hash(cohort)
    assert len(serial.content_hash(cohort)) == 64


def test_dates_round_trip():
    node = ir.Compare("lt", ir.FirstDate(T2DM), ir.Literal("date", dt.date(2020, 2, 29)))
    assert '"2020-02-29"' in serial.to_json(node)
    assert serial.from_json(serial.to_json(node)) == node


def test_json_errors_give_the_path():
    doc = json.loads(serial.to_json(ir.Exists(ir.WhereDate(T2DM, ir.Literal("date", dt.date(2020, 1, 1)), 0, 5))))
    doc["query"]["frame"]["start_days"] = 9
    with pytest.raises(ir.IRError, match=r"WhereDate\.start_days at \$\.query\.frame: impossible window"):
        serial.from_json(doc)
    doc["query"]["frame"]["source"]["type"] = "Nope"
    with pytest.raises(ir.IRError, match=r"unknown node type 'Nope'"):
        serial.from_json(doc)
    with pytest.raises(ir.IRError, match=r"unsupported format version"):
        serial.from_json({"phta_query": 99, "query": {}})
    with pytest.raises(ir.IRError, match=r"not valid JSON"):
        serial.from_json("{")
    with pytest.raises(ir.IRError, match=r"Literal\.value at \$\.query: not an ISO date"):
        serial.from_json({"phta_query": 1, "query": {"type": "Literal", "value_type": "date", "value": "2020-13-01"}})
    with pytest.raises(ir.IRError, match=r"Exists\.bogus at \$\.query: unknown field"):
        serial.from_json({"phta_query": 1, "query": {"type": "Exists", "frame": {}, "bogus": 1}})


@settings(max_examples=100, deadline=None)
@given(query=any_series())
def test_any_series_round_trips(query):
    assert serial.from_json(serial.to_json(query)) == query
    assert serial.content_hash(serial.from_json(serial.to_json(query))) == serial.content_hash(query)


@settings(max_examples=50, deadline=None)
@given(query=cohorts())
def test_any_cohort_round_trips(query):
    assert serial.from_json(serial.to_json(query)) == query
