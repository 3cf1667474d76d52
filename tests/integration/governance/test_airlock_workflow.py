"""The airlock's decision rule on SQLite and PostgreSQL: every pair of first-pass decisions leads
where docs/airlock.md says, and a release writes exactly the audit entries the register reads."""

from __future__ import annotations

import hashlib

import pytest

from phta.execution.airlock import Upload, submit
from phta.governance import airlock, airlock_review, register
from phta.store import open_database
from tests.airlock_support import SAFE_CSV, approved_project, principal
from tests.governance_support import make_user

DECISIONS = ["approve", "return", "reject"]
EXPECTED = {("approve", "approve"): "released", ("return", "return"): "returned",
            ("reject", "reject"): "rejected"}


# the three agreements and two of the six disagreements (the rule treats all disagreements alike)
CASES = [*((d, d) for d in DECISIONS), ("approve", "reject"), ("return", "approve")]


@pytest.mark.parametrize(("first", "second"), CASES)
def test_two_first_pass_decisions(backend_settings, first, second):
    db = open_database(backend_settings)
    researcher = make_user(backend_settings, "researcher", organisation="University of Birmingham")
    c1, c2, c3 = (principal(backend_settings, make_user(backend_settings, "output_checker", email=f"c{i}@x{i}.example"))
                  for i in (1, 2, 3))
    pid = approved_project(backend_settings, researcher)
    rid = submit(db, principal(backend_settings, researcher), pid, "uhb",
                 {"title": "t", "description": "d", "population": "p", "controls": "c"},
                 [Upload("table.csv", SAFE_CSV, "counts")])
    assert airlock_review.record_check(db, c1, rid, first, "because") == "in_review"
    state = airlock_review.record_check(db, c2, rid, second, "because")
    assert state == EXPECTED.get((first, second), "needs_third_checker")
    if state == "needs_third_checker":
        with pytest.raises(airlock.AirlockError):
            airlock_review.record_check(db, c1, rid, "approve")  # the first two cannot settle it
        state = airlock_review.record_check(db, c3, rid, "approve")
        assert state == "released"
    releases = register.public_log(db, pid)["releases"]
    if state == "released":
        assert [(r["file_name"], r["sha256"]) for r in releases] == [("table.csv", hashlib.sha256(SAFE_CSV).hexdigest())]
        assert airlock.get(db, rid).current_files[0].released_at is not None
    else:
        assert releases == []


def test_escalation_to_the_lead_on_both_backends(backend_settings):
    """Event times read back from SQLite (naive) and PostgreSQL (aware) count working days alike."""
    from datetime import UTC, datetime, timedelta

    db = open_database(backend_settings)
    researcher = make_user(backend_settings, "researcher", organisation="University of Birmingham")
    c1, c2 = (principal(backend_settings, make_user(backend_settings, "output_checker", email=f"c{i}@x{i}.example"))
              for i in (1, 2))
    lead = principal(backend_settings, make_user(backend_settings, "output_checking_lead", email="lead@x.example"))
    pid = approved_project(backend_settings, researcher)
    rid = submit(db, principal(backend_settings, researcher), pid, "uhb",
                 {"title": "t", "description": "d", "population": "p", "controls": "c"},
                 [Upload("table.csv", SAFE_CSV, "counts")])
    airlock_review.record_check(db, c1, rid, "approve")
    assert airlock_review.record_check(db, c2, rid, "reject", "no") == "needs_third_checker"
    now = datetime.now(UTC)
    assert airlock_review.escalate_overdue(db, after_working_days=5, now=now + timedelta(days=1)) == []
    assert airlock_review.escalate_overdue(db, after_working_days=5, now=now + timedelta(days=14)) == [rid]
    assert airlock.get(db, rid).state == "escalated"
    assert airlock_review.record_check(db, lead, rid, "approve", "fine") == "released"


def test_any_spelling_of_a_node_finds_its_sign_off_setting(backend_settings):
    """The grant says ``uhb``; the setting was made for ``UHB`` and the request names ``Uhb ``:
    one node, so the custodian's sign-off is asked for (before node_key everywhere it was not)."""
    db = open_database(backend_settings)
    airlock.set_node_setting(db, "UHB", custodian_signoff=True, custodian_organisation="UHB trust", actor="test")
    researcher = make_user(backend_settings, "researcher", organisation="University of Birmingham")
    c1, c2 = (principal(backend_settings, make_user(backend_settings, "output_checker", email=f"c{i}@x{i}.example"))
              for i in (1, 2))
    pid = approved_project(backend_settings, researcher)
    rid = submit(db, principal(backend_settings, researcher), pid, "Uhb ",
                 {"title": "t", "description": "d", "population": "p", "controls": "c"},
                 [Upload("table.csv", SAFE_CSV, "counts")])
    assert airlock.get(db, rid).node == "uhb"  # as the grant names it
    airlock_review.record_check(db, c1, rid, "approve")
    assert airlock_review.record_check(db, c2, rid, "approve") == "awaiting_custodian"
