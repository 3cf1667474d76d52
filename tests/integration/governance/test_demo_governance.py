"""The demo shows co-applicants and node ownership: the demo innovator is a co-applicant of the
approved demo project and may use its grant; the demo custodian may check node uhb (held by
their trust) and no other."""

from __future__ import annotations

from sqlalchemy import select

from phta.execution.airlock_demo import DEMO_NODE, seed_demo_airlock
from phta.governance import authz, is_use_allowed, projects
from phta.governance.demo_users import (
    DEMO_PROJECT_TITLE,
    demo_email,
    seed_demo_project,
    seed_demo_users,
)
from phta.governance.principal import principal_for
from phta.store import open_database
from phta.store.models import Project, User


def test_demo_coapplicant_and_custodian_node(settings):
    db = open_database(settings)
    seed_demo_users(db)
    lines = seed_demo_project(db)
    seed_demo_airlock(db)
    assert any("co-applicant" in line for line in lines)
    with db.session() as session:
        pid = session.scalar(select(Project.id).where(Project.title == DEMO_PROJECT_TITLE))
        innovator, custodian = (principal_for(session.scalar(select(User).where(User.email == demo_email(local))))
                                for local in ("innovator", "custodian"))
    assert authz.allowed(innovator, "projects.view", projects.get(db, pid))
    assert is_use_allowed(innovator, f"project:{pid}", node="uhb", task_type="feasibility", database=db).allowed
    assert is_use_allowed(custodian, "custodian_quality", node=DEMO_NODE, database=db).allowed
    assert not is_use_allowed(custodian, "custodian_quality", node="swbh", database=db).allowed
