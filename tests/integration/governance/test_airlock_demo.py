"""The airlock's demo data: one request waiting in both demo checkers' queues, node XT001 requiring
its custodian's sign-off; seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from phta.execution.airlock_demo import DEMO_NODE, seed_demo_airlock
from phta.governance import airlock, airlock_review
from phta.governance.demo_users import demo_email, seed_demo_project, seed_demo_users
from phta.governance.principal import principal_for
from phta.store import open_database
from phta.store.blobs import BlobStore
from phta.store.models import User


def test_demo_request_waits_for_both_demo_checkers(settings):
    db = open_database(settings)
    seed_demo_users(db)
    seed_demo_project(db)
    first = seed_demo_airlock(db)
    again = seed_demo_airlock(db)
    assert any("waiting for two output checkers" in line for line in first)
    assert any("already waiting" in line for line in again)
    assert airlock.node_setting(db, DEMO_NODE).custodian_signoff
    with db.session() as session:
        checkers = [principal_for(session.scalar(select(User).where(User.email == demo_email(local))))
                    for local in ("checker", "checker-2")]
    for checker in checkers:
        queue = airlock_review.checker_queue(db, checker)
        assert len(queue) == 1
        assert queue[0].has_failing_cells  # the small cell is there to be highlighted


def test_demo_request_is_checked_under_the_deployment_policy(settings, tmp_path):
    policy = tmp_path / "region.yaml"
    policy.write_text("name: region\nnodes:\n  XT001: {threshold: 25}\n", encoding="utf-8")
    db = open_database(settings)
    seed_demo_users(db)
    seed_demo_project(db)
    lines = seed_demo_airlock(db, str(policy))
    assert any("disclosure policy 'region@XT001'" in line for line in lines)
    with db.session() as session:
        checker = principal_for(session.scalar(select(User).where(User.email == demo_email("checker"))))
    (waiting,) = airlock_review.checker_queue(db, checker)
    table = next(f for f in airlock.get(db, waiting.id).current_files if f.file_name.endswith(".csv"))
    assert table.checks["policy"] == "region@XT001"


def _demo_principal(db, local):
    with db.session() as session:
        return principal_for(session.scalar(select(User).where(User.email == demo_email(local))))


def test_demo_checkers_approval_waits_for_the_uhb_custodian(settings):
    """XT001 requires sign-off: after both demo checkers approve, the request waits for Cara
    Custodian (University Hospitals Birmingham), who sees it and signs it off. Before node names
    were normalised, the request went straight to ``released``."""
    db = open_database(settings)
    seed_demo_users(db)
    seed_demo_project(db)
    seed_demo_airlock(db)
    checker, checker_2, custodian = (_demo_principal(db, n) for n in ("checker", "checker-2", "custodian"))
    (waiting,) = airlock_review.checker_queue(db, checker)
    assert waiting.node == DEMO_NODE
    assert airlock_review.custodian_queue(db, custodian) == []  # control: nothing to sign yet
    airlock_review.record_check(db, checker, waiting.id, "approve_protected", "Release the protected version")
    state = airlock_review.record_check(db, checker_2, waiting.id, "approve_protected", "Agreed")
    assert state == "awaiting_custodian"
    assert [v.id for v in airlock_review.custodian_queue(db, custodian)] == [waiting.id]
    assert airlock_review.sign_off(db, custodian, waiting.id, "approve", "Fine") == "released"
    table, chart = sorted(airlock.get(db, waiting.id).current_files, key=lambda f: f.kind)
    assert table.released_sha256 == table.protected.sha256 != table.sha256  # the protected bytes
    assert b",6," not in BlobStore(db.data_dir).get(table.released_sha256)
    assert chart.released_sha256 == chart.sha256  # a figure that passed goes as it is


def test_demo_shows_a_disagreement_escalated_to_the_output_checking_lead(settings):
    db = open_database(settings)
    seed_demo_users(db)
    seed_demo_project(db)
    lines = seed_demo_airlock(db)
    assert any("escalated to the output-checking lead" in line for line in lines)
    lead = _demo_principal(db, "checking-lead")
    (escalated,) = airlock_review.checker_queue(db, lead)
    assert escalated.state == "escalated"
    assert escalated.state_label.startswith("Checkers disagree: escalated to the output-checking lead on ")
    assert airlock_review.record_check(db, lead, escalated.id, "approve_protected", "Bands are wide enough") \
        == "awaiting_custodian"
