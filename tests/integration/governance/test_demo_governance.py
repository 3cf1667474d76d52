"""The demo shows co-applicants and node ownership: the demo innovator is a co-applicant of the
approved demo project and may use its grant; the demo custodian may check node XT001 (held by
their trust) and no other."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from phta.execution import NotAuthorised
from phta.execution.airlock_demo import DEMO_NODE, seed_demo_airlock
from phta.execution.governed import run_governed
from phta.execution.network import region_stores
from phta.governance import authz, is_use_allowed, projects
from phta.governance.demo_users import (
    DEMO_PROJECT_TITLE,
    demo_email,
    seed_demo_project,
    seed_demo_users,
)
from phta.governance.principal import principal_for
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from phta.store.models import Project, User

HYPERTENSION = 2001000002


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
    assert is_use_allowed(innovator, f"project:{pid}", node="XT001", task_type="feasibility", database=db).allowed
    assert is_use_allowed(custodian, "custodian_quality", node=DEMO_NODE, database=db).allowed
    assert not is_use_allowed(custodian, "custodian_quality", node="XG001", database=db).allowed


def test_the_demo_projects_grant_covers_the_demo_regions_trust_store(settings, region_settings):
    """Grants name nodes by site code, and synthetic stores are named by their site code, so the
    demo project's members can use its grant on the region's hospital trust store."""
    db = open_database(settings)
    seed_demo_users(db)
    seed_demo_project(db)
    with db.session() as session:
        pid = session.scalar(select(Project.id).where(Project.title == DEMO_PROJECT_TITLE))
        researcher = principal_for(session.scalar(select(User).where(User.email == demo_email("researcher"))))
    trust = next(n for n in region_stores(region_settings) if n.code == DEMO_NODE)
    result = run_governed(settings, db, researcher, f"project:{pid}", build_cohort(HYPERTENSION), trust.path)
    assert result.node == DEMO_NODE and result.policy_name == "project"
    gp = next(n for n in region_stores(region_settings) if n.code.startswith("XG"))
    with pytest.raises(NotAuthorised, match="does not cover node"):
        run_governed(settings, db, researcher, f"project:{pid}", build_cohort(HYPERTENSION), gp.path)


def test_the_demo_account_manager_signs_in_with_totp(settings):
    """The account manager's role needs a second factor; the demo enrols it and says so."""
    from phta.governance import signin
    from phta.governance.demo_users import DEMO_TOTP_SECRET, demo_password

    db = open_database(settings)
    lines = seed_demo_users(db)
    manager = next(line for line in lines if demo_email("account-manager") in line)
    assert manager.rstrip().endswith("account_manager + TOTP")
    assert any(DEMO_TOTP_SECRET in line for line in lines)
    step = signin.sign_in_with_password(db, demo_email("account-manager"), demo_password("account-manager"), "127.0.0.1")
    assert step.stage == "totp"
    # a demo prepared before the role needed TOTP gets the demo secret on the next run
    with db.session() as s:
        user = s.scalar(select(User).where(User.email == demo_email("account-manager")))
        user.totp_enrolled, user.totp_secret_encrypted = False, None
    seed_demo_users(db)
    with db.session() as s:
        assert s.scalar(select(User).where(User.email == demo_email("account-manager"))).totp_enrolled
