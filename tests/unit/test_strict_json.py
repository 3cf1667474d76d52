"""Query JSON as the parsers accept it: no NaN/Infinity, bounded nesting, errors naming the place."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.query import serial, strict_json
from phta.query.circe.importer import CirceImportError, import_expression
from phta.query.ir import IRError
from phta.query.simple_cohort import build_cohort

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=150)
@given(JSON_VALUES)
def test_finite_json_parses_as_the_standard_library_parses_it(value):
    text = json.dumps(value)
    assert strict_json.loads(text) == json.loads(text)


@settings(max_examples=150)
@given(JSON_VALUES, st.integers(min_value=0, max_value=6))
def test_measured_depth_matches_the_structure_whatever_the_strings_hold(value, limit):
    # brackets inside strings ("[[[", escaped quotes) must not count
    text = json.dumps(value)
    assert strict_json.too_deep(text, limit) == (_depth(value) > limit)


def test_a_hundred_thousand_levels_are_refused_before_parsing():
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(strict_json.JsonInputError, match="nested more than 100 levels"):
            strict_json.loads(text)
    assert strict_json.loads("[" * 100 + "]" * 100)  # the limit itself is allowed


@pytest.mark.parametrize(("text", "path", "word"), [
    ('{"a": [1, NaN]}', "$.a[1]", "NaN"),
    ('{"a": {"b": Infinity}}', "$.a.b", "Infinity"),
    ('[-Infinity]', "$[0]", "-Infinity"),
    ('{"x": 1e400}', "$.x", "1e400"),
])
def test_not_finite_numbers_are_refused_naming_their_path(text, path, word):
    with pytest.raises(strict_json.JsonInputError) as e:
        strict_json.loads(text)
    assert e.value.path == path and word in e.value.message


def test_a_number_of_thousands_of_digits_is_a_clear_error():
    with pytest.raises(strict_json.JsonInputError, match="not valid JSON"):
        strict_json.loads("[" + "9" * 5000 + "]")


def _phta(concept_id: str) -> str:
    return serial.to_json(build_cohort(2001000002)).replace("2001000002", concept_id)


@pytest.mark.parametrize(("concept_id", "message"), [
    ("NaN", "NaN is not a finite number"),
    (str(2**70), "out of range"),
    ("-5", "positive"),
    ('"12"', "expected int"),
])
def test_phta_queries_name_the_bad_concept_id(concept_id, message):
    with pytest.raises(IRError) as e:
        serial.from_json(_phta(concept_id))
    assert message in str(e.value) and "$.query.index_date.frame.concepts.items[0]" in str(e.value)


def test_phta_query_of_largest_64_bit_id_is_well_formed():
    assert serial.from_json(_phta(str(2**63 - 1)))  # control: the bound itself is allowed


ATLAS = json.dumps({
    "ConceptSets": [{"id": 0, "name": "x", "expression": {"items": [{"concept": {"CONCEPT_ID": 201826}}]}}],
    "PrimaryCriteria": {"CriteriaList": [{"ConditionOccurrence": {"CodesetId": 0}}]},
    "InclusionRules": [{"name": "adult", "expression": {"Type": "ALL", "CriteriaList": [], "Groups": [],
                                                         "DemographicCriteriaList": [{"Age": {"Value": 18, "Op": "gte"}}]}}],
})


@pytest.mark.parametrize(("old", "new", "path", "message"), [
    ("201826", "NaN", "$.ConceptSets[0].expression.items[0].concept.CONCEPT_ID", "NaN is not a finite number"),
    ("201826", str(2**70), "$.ConceptSets[0].expression.items[0].concept.CONCEPT_ID", "out of range"),
    ("201826", "-3", "$.ConceptSets[0].expression.items[0].concept.CONCEPT_ID", "not negative"),
    ('"Value": 18', '"Value": Infinity', "$.InclusionRules[0].expression.DemographicCriteriaList[0].Age.Value",
     "Infinity is not a finite number"),
])
def test_atlas_definitions_name_the_bad_number(old, new, path, message):
    with pytest.raises(CirceImportError) as e:
        import_expression(ATLAS.replace(old, new))
    assert e.value.path == path and message in str(e.value)


def test_atlas_definition_given_as_data_with_nan_is_refused_too():
    doc = json.loads(ATLAS)
    doc["ConceptSets"][0]["expression"]["items"][0]["concept"]["CONCEPT_ID"] = float("nan")
    with pytest.raises(CirceImportError, match="expected an integer"):
        import_expression(doc)
    assert import_expression(ATLAS)  # control


def test_atlas_values_of_the_wrong_json_type_name_their_place():
    # found by the fuzz tests: these raised AttributeError/TypeError (a 500 on the web)
    with pytest.raises(CirceImportError) as e:
        import_expression(ATLAS.replace('"Op": "gte"', '"Op": []'))
    assert e.value.path == "$.InclusionRules[0].expression.DemographicCriteriaList[0].Age.Op"
    doc = json.loads(ATLAS)
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["OccurrenceStartDate"] = {
        "Op": "bt", "Value": ["2020-01-01"], "Extent": 7}
    with pytest.raises(CirceImportError, match=r"\$\.PrimaryCriteria\.CriteriaList\[0\]"):
        import_expression(doc)
