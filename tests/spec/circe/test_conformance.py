"""Replay OHDSI Circe's own test fixtures (circe-be src/test/resources) through phta.execution.

Each case loads Circe's test vocabulary and the case's PREP rows into a real PHTA store, imports
the ATLAS expression, runs it on DuckDB and on Spark (``circe_engine``, conftest.py) and compares the cohort rows with the VERIFY file.
MANIFEST.md lists every fixture file as replayed or not, with the reason.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from tests.spec.circe import harness as h

GEN = "cohortgeneration"
AC0 = ("AdditionalCriteria", "CriteriaList", 0, "Occurrence")

# Each case: (folder, expression, PREP, VERIFY, variations). Circe's Java test
# (CohortGeneration_5_0_0_Test) generates cohort 1 from the expression file, then edits the
# expression in place before each further cohort id; those edits are restated here as cumulative
# patches (json path, value), or ("file", name) where the test loads another expression file.
CASES = {
    "censorWindow": ("censorWindow", "censorWindowExpression.json", "censorWindow_PREP.json",
                     "censorWindow_VERIFY.json", [(1, [])]),
    "eraDupes": ("eraDupes", "eraDupesExpression.json", "eraDupes_PREP.json", "eraDupes_VERIFY.json", [(1, [])]),
    "censorEvent": ("exits", "censorEventExpression.json", "censorEvent_PREP.json", "censorEvent_VERIFY.json",
                    [(1, [])]),
    "continuousExposure": ("exits", "continuousExposureExpression.json", "continuousExposure_PREP.json",
                           "continuousExposure_VERIFY.json",
                           [(1, []), (2, [(("PrimaryCriteria", "PrimaryCriteriaLimit", "Type"), "First")])]),
    "continuousExposureCensor": ("exits", "continuousExposureCensorExpression.json",
                                 "continuousExposureCensor_PREP.json", "continuousExposureCensor_VERIFY.json",
                                 [(1, [])]),
    "fixedOffset": ("exits", "fixedOffsetExpression.json", "fixedOffset_PREP.json", "fixedOffset_VERIFY.json",
                    [(1, [])]),
    "fixedOffsetCensor": ("exits", "fixedOffsetCensorExpression.json", "fixedOffsetCensor_PREP.json",
                          "fixedOffsetCensor_VERIFY.json", [(1, [])]),
    "simpleInclusionRule": ("inclusionRules", "simpleInclusionRule.json", "simpleInclusionRule_PREP.json",
                            "simpleInclusionRule_VERIFY.json", [(1, [])]),
    "limits": ("limits", "limitExpression.json", "limitTest_PREP.json", "limitTest_VERIFY.json", [
        (1, []), (2, [(("ExpressionLimit", "Type"), "first")]), (3, [(("QualifiedLimit", "Type"), "first")]),
        (4, [(("PrimaryCriteria", "PrimaryCriteriaLimit", "Type"), "first")]),
        (5, [(("PrimaryCriteria", "PrimaryCriteriaLimit", "Type"), "last")])]),
    "mixedConceptsets": ("mixedConceptsets", "mixedConceptsetsExpression.json", "mixedConceptsets_PREP.json",
                         "mixedConceptsets_VERIFY.json", [(1, [])]),
    "correlatedCounts": ("correlatedCriteria", "countsExpression.json", "countsTest_PREP.json",
                         "countsTest_VERIFY.json", [
        (1, []), (2, [((*AC0, "Type"), 2), ((*AC0, "Count"), 1)]), (3, [((*AC0, "Type"), 1), ((*AC0, "Count"), 0)]),
        (4, [("file", "visitExpression.json")])]),
    "correlatedGroups": ("correlatedCriteria", "groupExpression.json", "groupTest_PREP.json",
                         "groupTest_VERIFY.json", [
        (1, []), (2, [(("AdditionalCriteria", "Type"), "AT_LEAST"), (("AdditionalCriteria", "Count"), 2)]),
        (3, [(("AdditionalCriteria", "Type"), "AT_MOST"), (("AdditionalCriteria", "Count"), 2)]),
        (4, [(("AdditionalCriteria", "Type"), "ALL"), (("AdditionalCriteria", "Groups", 0, "Type"), "AT_MOST"),
             (("AdditionalCriteria", "Groups", 0, "Count"), 0)]),
        (5, [(("AdditionalCriteria", "Groups"), [])])]),
}


def _patch(doc: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize("case", sorted(CASES))
def test_cohortgeneration_case(tmp_path, case, circe_engine):
    folder, expression_file, prep, verify, variations = CASES[case]
    store = h.build_store(tmp_path, f"{GEN}/{folder}/{prep}")
    want = h.fixture(f"{GEN}/{folder}/{verify}")
    expression = copy.deepcopy(h.fixture(f"{GEN}/{folder}/{expression_file}"))
    for cohort_id, patches in variations:
        for path, value in patches:
            if path == "file":
                expression = copy.deepcopy(h.fixture(f"{GEN}/{folder}/{value}"))
            else:
                _patch(expression, path, value)
        result = h.run(store, expression, circe_engine)
        assert h.rows(result) == h.expected(want, cohort_id=cohort_id), f"cohort {cohort_id}"
        h.assert_reference_agrees(result, store, expression)
        for key, rows in want.items():  # statistics, where the fixture states them
            mine = [r for r in rows if r["cohort_definition_id"] == cohort_id]
            if key.endswith("cohort_censor_stats") and mine:
                assert result.censored_lost == mine[0]["lost_count"]
            if key.endswith("cohort_inclusion_result"):
                for mode, stats in ((0, result.by_event), (1, result.by_person)):
                    assert sorted(stats.masks) == sorted((r["inclusion_rule_mask"], r["person_count"])
                                                         for r in mine if r["mode_id"] == mode)


# firstOccurrence: Circe's Java test fills the empty PrimaryCriteria with one criterion per domain,
# each with CodesetId 0 and First = true, as cohort ids 1..11 (read off the PREP dates and VERIFY).
# PayerPlanPeriod has no CodesetId in Circe: its First is the person's first payer plan period.
FIRST_OCCURRENCE = {1: "ConditionEra", 2: "ConditionOccurrence", 3: "DeviceExposure", 4: "DrugEra",
                    5: "DrugExposure", 6: "Measurement", 7: "Observation", 8: "ProcedureOccurrence",
                    9: "Specimen", 10: "VisitOccurrence", 11: "PayerPlanPeriod"}


@pytest.mark.parametrize(("cohort_id", "kind"), sorted(FIRST_OCCURRENCE.items()))
def test_first_occurrence_per_domain(tmp_path, cohort_id, kind, circe_engine):
    folder = f"{GEN}/firstOccurrence"
    expression = copy.deepcopy(h.fixture(f"{folder}/firstOccurrenceTestExpression.json"))
    body = {"First": True} if kind == "PayerPlanPeriod" else {"CodesetId": 0, "First": True}
    expression["PrimaryCriteria"]["CriteriaList"] = [{kind: body}]
    store = h.build_store(tmp_path, f"{folder}/firstOccurrenceTest_PREP.json")
    want = h.expected(h.fixture(f"{folder}/firstOccurrenceTest_VERIFY.json"), cohort_id=cohort_id)
    result = h.run(store, expression, circe_engine)
    assert h.rows(result) == want
    h.assert_reference_agrees(result, store, expression)


MANIFEST = Path(__file__).with_name("MANIFEST.md")


def test_manifest_lists_every_fixture_file():
    h.require_reference()
    listed = set(re.findall(r"^\| `([^`]+)` \|", MANIFEST.read_text(encoding="utf-8"), flags=re.M))
    on_disk = {str(p.relative_to(h.FIXTURES)) for p in h.FIXTURES.rglob("*.json")}
    assert on_disk - listed == set(), "fixture files missing from MANIFEST.md"
    assert listed - on_disk == set(), "MANIFEST.md lists files that do not exist"


def test_all_criteria_expression_imports_and_runs(tmp_path, circe_engine):
    """circe-be's allCriteria test only checks the SQL runs (on its CDM v5.0 schema); here it must
    also import, after removing the two attributes PHTA rejects (see docs/circe-compatibility.md):
    DrugExposure's EffectiveDrugDose and DoseUnit, which read CDM v5.0 columns OMOP 5.4 dropped."""
    expression = copy.deepcopy(h.fixture(f"{GEN}/allCriteria/allCriteriaExpression.json"))
    drug = expression["InclusionRules"][6]["expression"]["CriteriaList"][0]["Criteria"]["DrugExposure"]
    with pytest.raises(h.CirceImportError) as err:
        h.run(h.build_store(tmp_path / "a", "datasets/vocabulary.json"), expression)
    assert err.value.path == "$.InclusionRules[6].expression.CriteriaList[0].Criteria.DrugExposure.DoseUnit"
    for name in ("EffectiveDrugDose", "DoseUnit"):
        drug.pop(name)
    result = h.run(h.build_store(tmp_path / "b", "datasets/vocabulary.json"), expression, circe_engine)
    assert result.episode_count == 0 and len(result.by_event.rules) == len(expression["InclusionRules"])


# conditionStatus: circe-be's CohortGeneration_5_2_0_Test.testConditionStatusCriteria builds the
# expression in Java: no concept sets, one ConditionOccurrence entry criterion without a codeset,
# then cohort 1 without ConditionStatus, 2 with an empty ConditionStatus list (Circe ignores it),
# 3 with ConditionStatus = [concept 1]. Restated here as Circe JSON.
CONDITION_STATUS = {1: None, 2: [], 3: [{"CONCEPT_ID": 1, "CONCEPT_NAME": "status one"}]}


@pytest.mark.parametrize(("cohort_id", "status"), sorted(CONDITION_STATUS.items()))
def test_condition_status_criteria(tmp_path, cohort_id, status, circe_engine):
    criterion = {} if status is None else {"ConditionStatus": status}
    expression = {"ConceptSets": [], "PrimaryCriteria": {"CriteriaList": [{"ConditionOccurrence": criterion}],
                                                         "ObservationWindow": {"PriorDays": 0, "PostDays": 0}}}
    folder = f"{GEN}/conditionOccurrence"
    store = h.build_store(tmp_path, f"{folder}/conditionStatusTest_PREP.json")
    want = h.expected(h.fixture(f"{folder}/conditionStatusTest_VERIFY.json"), cohort_id=cohort_id)
    result = h.run(store, expression, circe_engine)
    assert want and h.rows(result) == want
    h.assert_reference_agrees(result, store, expression)
