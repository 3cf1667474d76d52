"""The airlock's demo data: one request waiting in both demo checkers' queues, node uhb requiring
its custodian's sign-off; seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from phta.execution.airlock_demo import DEMO_NODE, seed_demo_airlock
from phta.governance import airlock, airlock_review
from phta.governance.demo_users import demo_email, seed_demo_project, seed_demo_users
from phta.governance.principal import principal_for
from phta.store import open_database
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
