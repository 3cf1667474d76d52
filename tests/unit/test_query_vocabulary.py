"""The query vocabulary of each purpose: tests generated from the table (every purpose x every
feature, through the PHTA JSON and the ATLAS JSON front-ends), the date-precision rules, and the
docs table checked against the data."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.query import ir, serial
from phta.query.circe.importer import import_expression
from phta.query.purpose_vocabulary import (
    FEATURES,
    STRICTEST,
    VOCABULARY,
    allowed_features,
    markdown_table,
)
from phta.query.vocabulary_check import (
    VocabularyRefused,
    check_vocabulary,
    features_used,
    first_refused,
)
from tests import vocabulary_samples as samples

REPO = Path(__file__).resolve().parents[2]
PURPOSE_CODES = {name: ("project:7" if name == "project" else name) for name in VOCABULARY}
CASES = [(purpose, feature, front_end)
         for purpose in VOCABULARY for feature in FEATURES for front_end in ("phta", "atlas")
         if feature in (samples.PHTA if front_end == "phta" else samples.ATLAS)]


def _through_front_end(feature: str, front_end: str) -> ir.Node:
    if front_end == "phta":  # as the JSON API receives it
        return serial.from_json(serial.to_json(samples.PHTA[feature]))
    return samples.atlas(feature)  # ATLAS JSON through the importer


def test_every_feature_has_a_sample_in_some_front_end():
    assert set(samples.PHTA) | set(samples.ATLAS) == set(FEATURES)


@pytest.mark.parametrize(("feature", "front_end"), sorted({(f, e) for _, f, e in CASES}))
def test_each_sample_uses_its_feature_and_nothing_a_purpose_may_refuse(feature, front_end):
    used = {u.feature for u in features_used(_through_front_end(feature, front_end))}
    assert feature in used and used <= STRICTEST | {feature}


@pytest.mark.parametrize(("purpose", "feature", "front_end"), CASES)
def test_the_table_decides_every_purpose_and_feature(purpose, feature, front_end):
    code = PURPOSE_CODES[purpose]
    query = _through_front_end(feature, front_end)
    if feature in VOCABULARY[purpose]:
        check_vocabulary(query, code)  # allowed: no error
        return
    with pytest.raises(VocabularyRefused) as refused:
        check_vocabulary(query, code, data_node="XG001")
    error = refused.value
    assert error.use.feature == feature and error.purpose == code and error.data_node == "XG001"
    assert repr(code) in str(error) and "XG001" in str(error) and error.path in str(error)
    assert FEATURES[feature].title in str(error)


def test_person_ids_are_refused_under_every_purpose_and_identifying_detail_under_every_standing_one():
    assert all("person_ids" not in allowed for allowed in VOCABULARY.values())
    for purpose in ("network_feasibility", "public_statistics", "public_beacon"):
        assert not {"date_of_birth", "exact_date", "ethnic_category", "free_text"} & VOCABULARY[purpose]
        assert {"age_in_years", "calendar_month", "relative_window"} <= VOCABULARY[purpose]


def test_a_purpose_the_table_does_not_name_gets_the_strictest_vocabulary():
    assert allowed_features("something_new") == STRICTEST
    assert allowed_features("project:12") == VOCABULARY["project"]
    with pytest.raises(VocabularyRefused):
        check_vocabulary(samples.PHTA["site"], "something_new")


# --- the reviewer's attack, and its harmless control ---------------------------------------------

def _dob_and_sex(condition: int) -> ir.Cohort:
    index = ir.FirstDate(ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(condition, True),))))
    return ir.Cohort(index, (
        ir.Rule("born on the target's birthday",
                ir.Compare("eq", ir.DateOfBirth(), ir.Literal("date", dt.date(1961, 7, 23)))),
        ir.Rule("target's sex", ir.Compare("eq", ir.Sex(), ir.Literal("str", "female")))))


def test_the_date_of_birth_attack_is_refused_naming_the_node_and_purpose():
    with pytest.raises(VocabularyRefused) as refused:
        check_vocabulary(_dob_and_sex(samples.HYPERTENSION), "network_feasibility")
    error = refused.value
    assert error.node == "DateOfBirth" and error.path == "rules[0].condition.left"
    assert str(error).startswith("DateOfBirth at rules[0].condition.left: exact date of birth")
    assert "'network_feasibility'" in str(error) and "age in years" in str(error)


def test_the_age_band_version_of_the_question_is_in_the_vocabulary():
    control = ir.Cohort(samples.INDEX, (
        ir.Rule("aged 60-64", ir.And((ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 60)),
                                      ir.Compare("lt", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 65))))),
        ir.Rule("female", ir.Compare("eq", ir.Sex(), ir.Literal("str", "female")))), strata=("age_band", "sex"))
    check_vocabulary(control, "network_feasibility")


def test_the_atlas_form_of_the_attack_exact_first_diagnosis_date_and_gender_is_refused():
    doc = samples.atlas_base()
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"].update(
        {"First": True, "OccurrenceStartDate": {"Value": "2018-05-09", "Op": "eq"},
         "Gender": [{"CONCEPT_ID": 8532}]})
    with pytest.raises(VocabularyRefused) as refused:
        check_vocabulary(import_expression(doc), "network_feasibility")
    assert refused.value.node == "DateFilter" and refused.value.path == "primary[0].filters[0]"
    assert "OccurrenceStartDate eq 2018-05-09" in str(refused.value)


# --- dates: what tells apart whole months, and what tells apart days ------------------------------

def _on(op: str, day: str, left: ir.Series = samples.INDEX) -> ir.Cohort:
    return samples.cohort(ir.Compare(op, left, ir.Literal("date", dt.date.fromisoformat(day))))


@pytest.mark.parametrize(("op", "day", "feature"), [
    ("lt", "2020-03-01", "calendar_month"), ("ge", "2020-03-01", "calendar_month"),
    ("le", "2020-03-31", "calendar_month"), ("gt", "2020-02-29", "calendar_month"),
    ("lt", "2020-03-02", "exact_date"), ("le", "2020-03-01", "exact_date"), ("gt", "2020-03-01", "exact_date"),
    ("eq", "2020-03-01", "exact_date"), ("ne", "2020-03-01", "exact_date"),
])
def test_a_bound_on_a_fixed_date_must_fall_between_months(op, day, feature):
    (use,) = [u for u in features_used(_on(op, day)) if u.feature in ("calendar_month", "exact_date")]
    assert use.feature == feature
    flipped = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}[op]
    swapped = samples.cohort(ir.Compare(flipped, ir.Literal("date", dt.date.fromisoformat(day)), samples.INDEX))
    assert [u.feature for u in features_used(swapped) if u.feature in ("calendar_month", "exact_date")] == [feature]


def test_a_census_date_is_a_fixed_date_and_windows_on_it_must_cover_whole_months():
    census = ir.Cohort(ir.Literal("date", dt.date(2024, 4, 1)))
    assert first_refused(census, "network_feasibility") is None
    mid_month = dataclasses.replace(census, index_date=ir.Literal("date", dt.date(2024, 4, 15)))
    assert first_refused(mid_month, "network_feasibility").feature == "exact_date"
    whole_year_before = ir.Exists(ir.WhereDate(ir.Events("condition"), ir.IndexDate(), -366, -1))  # 2023 (leap year)
    assert first_refused(dataclasses.replace(census, rules=(ir.Rule("r", whole_year_before),)),
                         "network_feasibility") is None
    one_day = ir.Exists(ir.WhereDate(ir.Events("condition"), ir.IndexDate(), -20, -20))
    refused = first_refused(dataclasses.replace(census, rules=(ir.Rule("r", one_day),)), "network_feasibility")
    assert refused.feature == "exact_date" and refused.node == "WhereDate" and "2024-03-12" in refused.detail
    # the same window on an event date is relative, and allowed
    assert first_refused(samples.cohort(one_day), "network_feasibility") is None


@pytest.mark.parametrize(("series", "refused"), [
    (ir.AgeAt(ir.Literal("date", dt.date(2020, 3, 1))), False),
    (ir.AgeAt(ir.Literal("date", dt.date(2020, 3, 14))), True),  # bisects a birthday to the day
    (ir.YearAgeAt(ir.Literal("date", dt.date(2020, 3, 14))), False),  # reads the year only
    (ir.AgeAt(ir.AddDays(ir.Literal("date", dt.date(2020, 3, 1)), ir.Literal("int", 13))), True),
    (ir.DaysBetween(ir.Literal("date", dt.date(2020, 3, 1)), samples.INDEX), True),
    (ir.DaysBetween(ir.FirstDate(ir.Events("drug")), samples.INDEX), False),
    (ir.DaysBetween(ir.AddDays(ir.Literal("date", dt.date(2020, 3, 1)), ir.Count(ir.Events("drug"))),
                    samples.INDEX), True),
])
def test_ages_and_day_counts_on_fixed_dates(series, refused):
    query = samples.cohort(ir.Compare("ge", series, ir.Literal("int", 1)))
    assert (first_refused(query, "network_feasibility") is not None) is refused


@pytest.mark.parametrize(("filter_", "refused"), [
    ({"Value": "2019-01-01", "Extent": "2019-12-31", "Op": "bt"}, False),
    ({"Value": "2019-01-01", "Extent": "2019-12-30", "Op": "bt"}, True),
    ({"Value": "2019-01-02", "Extent": "2019-12-31", "Op": "!bt"}, True),
    ({"Value": "2019-06-30", "Op": "lte"}, False),
    ({"Value": "2019-06-30", "Op": "gt"}, False),
    ({"Value": "2019-06-30", "Op": "lt"}, True),
    ({"Value": "2019-06-01", "Op": "!eq"}, True),
])
def test_atlas_date_ranges_must_cover_whole_months(filter_, refused):
    doc = samples.atlas_base()
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["OccurrenceEndDate"] = filter_
    assert (first_refused(import_expression(doc), "network_feasibility") is not None) is refused


def test_atlas_censor_window_and_user_defined_periods():
    doc = samples.atlas_base()
    doc["CensorWindow"] = {"StartDate": "2019-01-01", "EndDate": "2019-12-31"}
    assert first_refused(import_expression(doc), "network_feasibility") is None
    doc["CensorWindow"] = {"StartDate": "2019-01-01", "EndDate": "2019-12-30"}
    refused = first_refused(import_expression(doc), "network_feasibility")
    assert refused.feature == "exact_date" and refused.path == "censor_end"
    doc = samples.atlas_base()
    doc["PrimaryCriteria"]["CriteriaList"] = [{"ObservationPeriod": {
        "UserDefinedPeriod": {"StartDate": "2019-01-01", "EndDate": "2019-12-31"}}}]
    assert first_refused(import_expression(doc), "network_feasibility").node == "PeriodFilter"
    assert first_refused(import_expression(doc), "project:3") is None


# --- the docs table is the data ------------------------------------------------------------------

def test_the_docs_show_the_vocabulary_table_as_the_data_says():
    doc = (REPO / "docs" / "disclosure-control.md").read_text(encoding="utf-8")
    assert markdown_table() in doc, "regenerate the table: python -c 'from phta.query.purpose_vocabulary " \
                                    "import markdown_table; print(markdown_table())'"


# --- the meaning of calendar_month: an allowed bound cannot tell two days of one month apart ------

_OPS = {"lt": lambda x, d: x < d, "le": lambda x, d: x <= d, "gt": lambda x, d: x > d, "ge": lambda x, d: x >= d,
        "eq": lambda x, d: x == d, "ne": lambda x, d: x != d}
_CIRCE = {"lt": "lt", "lte": "le", "gt": "gt", "gte": "ge", "eq": "eq", "!eq": "ne"}


def _month_days(*days: dt.date):
    """Every day of the whole months from two months before the earliest of ``days`` to two after the latest."""
    first = (min(days).replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    last = (max(days).replace(day=1) + dt.timedelta(days=100)).replace(day=1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days)]


def _constant_within_months(predicate, *days: dt.date) -> bool:
    by_month: dict[tuple[int, int], set[bool]] = {}
    for x in _month_days(*days):
        by_month.setdefault((x.year, x.month), set()).add(predicate(x))
    return all(len(answers) == 1 for answers in by_month.values())


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(sorted(_OPS)), day=st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)))
def test_a_phta_bound_is_allowed_exactly_when_it_cannot_tell_apart_two_days_of_a_month(op, day):
    used = features_used(_on(op, day.isoformat()))
    allowed = first_refused(_on(op, day.isoformat()), "network_feasibility") is None
    assert allowed == _constant_within_months(lambda x: _OPS[op](x, day), day), used


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from([*_CIRCE, "bt", "!bt"]), day=st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)),
       length=st.integers(0, 70))
def test_an_atlas_range_is_allowed_exactly_when_it_cannot_tell_apart_two_days_of_a_month(op, day, length):
    extent = day + dt.timedelta(days=length)
    doc = samples.atlas_base()
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["OccurrenceStartDate"] = {
        "Value": day.isoformat(), "Op": op, **({"Extent": extent.isoformat()} if op.endswith("bt") else {})}
    allowed = first_refused(import_expression(doc), "network_feasibility") is None
    if op.endswith("bt"):
        inside = lambda x: day <= x <= extent  # noqa: E731
        predicate = inside if op == "bt" else (lambda x: not inside(x))
    else:
        predicate = lambda x: _OPS[_CIRCE[op]](x, day)  # noqa: E731
    assert allowed == _constant_within_months(predicate, day, extent)


@settings(max_examples=300, deadline=None)
@given(census=st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)).map(lambda d: d.replace(day=1)),
       start=st.integers(-120, 60), length=st.integers(0, 90), open_end=st.sampled_from([None, "start", "end"]))
def test_a_window_on_a_census_date_is_allowed_exactly_when_it_covers_whole_months(census, start, length, open_end):
    start_days, end_days = (None if open_end == "start" else start), (None if open_end == "end" else start + length)
    window = ir.Exists(ir.WhereDate(ir.Events("condition"), ir.IndexDate(), start_days, end_days))
    query = ir.Cohort(ir.Literal("date", census), (ir.Rule("r", window),))
    lo = None if start_days is None else census + dt.timedelta(days=start_days)
    hi = None if end_days is None else census + dt.timedelta(days=end_days)
    allowed = first_refused(query, "network_feasibility") is None
    assert allowed == _constant_within_months(
        lambda x: (lo is None or x >= lo) and (hi is None or x <= hi), *(d for d in (lo, hi) if d))
