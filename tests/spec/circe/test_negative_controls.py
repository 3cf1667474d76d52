"""Replay circe-be's negative-control fixtures (negativecontrols/*).

The settings of each case (outcome concept, domain, first/all, detect on descendants) live in
Circe's Java test classes, which the stored circe-be sources do not include; they are restated
here from the fixture data: the only concept and domain each PREP file uses, and the VERIFY rows.
"""

from __future__ import annotations

import pytest

from phta.execution.circe import execute_negative_control
from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext
from phta.query.circe.negative_controls import NegativeControlOutcome
from tests.spec.circe import harness as h

CASES = {
    "allOccurrences/allOccurrencesTest": NegativeControlOutcome((2,), ("DRUG",), "ALL", False),
    "firstOccurrence/firstOccurrenceTest": NegativeControlOutcome((2,), ("CONDITION",), "FIRST", False),
    "detectOnDescendants/detectOnDescendantsFalseTest": NegativeControlOutcome((1,), ("OBSERVATION",), "ALL", False),
    "detectOnDescendants/detectOnDescendantsTrueTest": NegativeControlOutcome((1,), ("PROCEDURE",), "ALL", True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_negative_control_outcome_matches_circe(tmp_path, case):
    store = h.build_store(tmp_path, f"negativecontrols/{case}_PREP.json")
    context = ExecutionContext("tester", frozenset({"custodian"}), "circe-test")
    rows = execute_negative_control(CASES[case], LOCAL_CUSTODIAN_QUALITY, store, "circe-test", context)
    got = sorted((p, s.isoformat(), e.isoformat()) for p, s, e in rows)
    assert got == h.expected(h.fixture(f"negativecontrols/{case}_VERIFY.json"))
