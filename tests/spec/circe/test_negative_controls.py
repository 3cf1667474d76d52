"""Replay circe-be's negative-control fixtures (negativecontrols/*).

The settings of each case are those of circe-be's NegativeControlGeneration_5_0_0_Test (Java): an
``OutcomeCohortExpression`` built in code, rendered with ``@outcome_ids`` = 1 ("1 == ancestor
concept id"). They are restated here in Circe's JSON form and go through PHTA's JSON importer.
"""

from __future__ import annotations

import pytest

from phta.execution.circe import execute_negative_control
from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext
from phta.query.circe.importer import CirceImportError
from phta.query.circe.negative_controls import NegativeControlOutcome, import_outcome_expression
from tests.spec.circe import harness as h

CASES = {
    "allOccurrences/allOccurrencesTest": {"occurrenceType": "ALL", "domains": ["drug"], "detectOnDescendants": True},
    "firstOccurrence/firstOccurrenceTest": {"occurrenceType": "FIRST", "domains": ["condition"],
                                            "detectOnDescendants": True},
    "detectOnDescendants/detectOnDescendantsFalseTest": {"occurrenceType": "ALL", "domains": ["observation"],
                                                         "detectOnDescendants": False},
    "detectOnDescendants/detectOnDescendantsTrueTest": {"occurrenceType": "ALL", "domains": ["procedure"],
                                                        "detectOnDescendants": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_negative_control_outcome_matches_circe(tmp_path, case):
    store = h.build_store(tmp_path, f"negativecontrols/{case}_PREP.json")
    context = ExecutionContext("tester", frozenset({"custodian"}), "circe-test")
    (outcome,) = import_outcome_expression(CASES[case], [1]).values()
    rows = execute_negative_control(outcome, LOCAL_CUSTODIAN_QUALITY, store, "circe-test", context)
    got = sorted((p, s.isoformat(), e.isoformat()) for p, s, e in rows)
    want = h.expected(h.fixture(f"negativecontrols/{case}_VERIFY.json"))
    assert want and got == want


def test_json_settings_follow_circe_defaults_and_case():
    outcomes = import_outcome_expression('{"DOMAINS": ["Condition", "visit"]}', [7, 9])
    assert outcomes == {7: NegativeControlOutcome((7,), ("CONDITION", "VISIT"), "ALL", True),
                        9: NegativeControlOutcome((9,), ("CONDITION", "VISIT"), "ALL", True)}


@pytest.mark.parametrize(("doc", "path"), [
    ({"domains": []}, "$.domains"),
    ({"domains": ["condition", "note"]}, "$.domains[1]"),
    ({"domains": ["drug"], "occurrenceType": "LAST"}, "$.occurrenceType"),
    ({"domains": ["drug"], "detectOnDescendants": "yes"}, "$.detectOnDescendants"),
    ({"domains": ["drug"], "outcomeWindow": 30}, "$.outcomeWindow"),
])
def test_json_errors_name_the_path(doc, path):
    with pytest.raises(CirceImportError) as err:
        import_outcome_expression(doc, [1])
    assert err.value.path == path
