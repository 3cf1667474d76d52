"""Replay OHDSI Circe's own test fixtures (circe-be src/test/resources) through phta.execution.

Each case loads Circe's test vocabulary and the case's PREP rows into a real PHTA store, imports
the ATLAS expression, runs it on DuckDB and compares the cohort rows with the VERIFY file.
MANIFEST.md lists every fixture file as replayed or not, with the reason.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from tests.spec.circe import harness as h

GEN = "cohortgeneration"
SIMPLE = [
    ("censorWindow", "censorWindowExpression.json", "censorWindow_PREP.json", "censorWindow_VERIFY.json"),
    ("eraDupes", "eraDupesExpression.json", "eraDupes_PREP.json", "eraDupes_VERIFY.json"),
    ("exits", "censorEventExpression.json", "censorEvent_PREP.json", "censorEvent_VERIFY.json"),
    ("exits", "continuousExposureExpression.json", "continuousExposure_PREP.json", "continuousExposure_VERIFY.json"),
    ("exits", "continuousExposureCensorExpression.json", "continuousExposureCensor_PREP.json",
     "continuousExposureCensor_VERIFY.json"),
    ("exits", "fixedOffsetExpression.json", "fixedOffset_PREP.json", "fixedOffset_VERIFY.json"),
    ("exits", "fixedOffsetCensorExpression.json", "fixedOffsetCensor_PREP.json", "fixedOffsetCensor_VERIFY.json"),
    ("inclusionRules", "simpleInclusionRule.json", "simpleInclusionRule_PREP.json", "simpleInclusionRule_VERIFY.json"),
    ("limits", "limitExpression.json", "limitTest_PREP.json", "limitTest_VERIFY.json"),
    ("mixedConceptsets", "mixedConceptsetsExpression.json", "mixedConceptsets_PREP.json",
     "mixedConceptsets_VERIFY.json"),
]


@pytest.mark.parametrize(("folder", "expression", "prep", "verify"), SIMPLE, ids=[c[1] for c in SIMPLE])
def test_cohortgeneration_case(tmp_path, folder, expression, prep, verify):
    store = h.build_store(tmp_path, f"{GEN}/{folder}/{prep}")
    result = h.run(store, h.fixture(f"{GEN}/{folder}/{expression}"))
    want = h.fixture(f"{GEN}/{folder}/{verify}")
    assert h.rows(result) == h.expected(want)
    for key, rows in want.items():  # censor window statistics, where the fixture states them
        if key.endswith("cohort_censor_stats"):
            assert result.censored_lost == rows[0]["lost_count"]


# firstOccurrence: Circe's Java test fills the empty PrimaryCriteria with one criterion per domain,
# each with CodesetId 0 and First = true, as cohort ids 1..11 (read off the PREP dates and VERIFY).
FIRST_OCCURRENCE = {1: "ConditionEra", 2: "ConditionOccurrence", 3: "DeviceExposure", 4: "DrugEra",
                    5: "DrugExposure", 6: "Measurement", 7: "Observation", 8: "ProcedureOccurrence",
                    9: "Specimen", 10: "VisitOccurrence"}


@pytest.mark.parametrize(("cohort_id", "kind"), sorted(FIRST_OCCURRENCE.items()))
def test_first_occurrence_per_domain(tmp_path, cohort_id, kind):
    folder = f"{GEN}/firstOccurrence"
    expression = copy.deepcopy(h.fixture(f"{folder}/firstOccurrenceTestExpression.json"))
    expression["PrimaryCriteria"]["CriteriaList"] = [{kind: {"CodesetId": 0, "First": True}}]
    store = h.build_store(tmp_path, f"{folder}/firstOccurrenceTest_PREP.json")
    want = h.expected(h.fixture(f"{folder}/firstOccurrenceTest_VERIFY.json"), cohort_id=cohort_id)
    assert h.rows(h.run(store, expression)) == want


MANIFEST = Path(__file__).with_name("MANIFEST.md")


def test_manifest_lists_every_fixture_file():
    h.require_reference()
    listed = set(re.findall(r"^\| `([^`]+)` \|", MANIFEST.read_text(encoding="utf-8"), flags=re.M))
    on_disk = {str(p.relative_to(h.FIXTURES)) for p in h.FIXTURES.rglob("*.json")}
    assert on_disk - listed == set(), "fixture files missing from MANIFEST.md"
    assert listed - on_disk == set(), "MANIFEST.md lists files that do not exist"
