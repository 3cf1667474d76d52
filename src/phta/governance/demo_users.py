"""Demo users: one per role, with fixed demo-only passwords and a fixed demo TOTP secret.

Only ``phta demo`` calls this. Production never seeds users: accounts there are created with
``phta users add``, which prompts for a password, and TOTP is enrolled by the user on first
sign-in. The fixed values below are public (they are in the repository and printed at demo
start) precisely because they only ever protect synthetic demo data.
"""

from __future__ import annotations

from sqlalchemy import select

from phta.governance import accounts
from phta.governance.roles import TOTP_REQUIRED, Role
from phta.store import Database
from phta.store.models import User

DEMO_DOMAIN = "demo.phta.example"
DEMO_TOTP_SECRET = "PHTADEMOPHTADEMOPHTADEMO"  # noqa: S105 - public, demo data only (base32)

# (local part, role, display name, organisation, lay member)
DEMO_USERS: list[tuple[str, Role, str, str | None, bool]] = [
    ("citizen", Role.PUBLIC, "Pat Public", None, False),
    ("innovator", Role.INNOVATOR, "Ines Innovator", "Midlands MedTech Ltd", False),
    ("researcher", Role.RESEARCHER, "Ravi Researcher", "University of Birmingham", False),
    ("custodian", Role.DATA_CUSTODIAN, "Cara Custodian", "University Hospitals Birmingham", False),
    ("committee", Role.COMMITTEE_MEMBER, "Colin Committee", "PHTA Hub", False),
    ("lay-member", Role.COMMITTEE_MEMBER, "Lara Lay", None, True),
    ("checker", Role.OUTPUT_CHECKER, "Olu Checker", "PHTA Hub", False),
    # the airlock needs two independent output checkers
    ("checker-2", Role.OUTPUT_CHECKER, "Kim Checker", "Keele University", False),
    # decides airlock requests the two checkers disagreed on, once no third checker has in time
    ("checking-lead", Role.OUTPUT_CHECKING_LEAD, "Lee Lead", "University of Warwick", False),
    ("account-manager", Role.ACCOUNT_MANAGER, "Amir Manager", "PHTA Hub", False),
    ("admin", Role.HUB_ADMIN, "Hana Admin", "PHTA Hub", False),
]


def demo_email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def demo_password(local: str) -> str:
    return f"phta-demo-{local}"


def seed_demo_users(database: Database) -> list[str]:
    """Create the demo users that are missing; return lines describing how to sign in."""
    created = 0
    for local, role, name, org, lay in DEMO_USERS:
        email = demo_email(local)
        with database.session() as session:
            existing = session.scalar(select(User).where(User.email == email))
            existing_id = existing.id if existing else None
            needs_code = existing is not None and role in TOTP_REQUIRED and not existing.totp_enrolled
        if existing_id is not None:
            # a demo prepared before this role needed TOTP (the account manager) gets it now
            if needs_code:
                accounts.set_totp_secret(database, existing_id, DEMO_TOTP_SECRET, actor="demo")
            continue
        user_id = accounts.create_user(
            database,
            email=email,
            password=demo_password(local),
            roles=[role],
            name=name,
            organisation=org,
            lay_member=lay,
            actor="demo",
            is_demo=True,
        )
        if role in TOTP_REQUIRED:
            accounts.set_totp_secret(database, user_id, DEMO_TOTP_SECRET, actor="demo")
        created += 1
    lines = [
        f"Demo users ({created} created now; demo-only passwords, never seeded in production):"
    ]
    for local, role, _name, _org, lay in DEMO_USERS:
        extra = " + TOTP" if role in TOTP_REQUIRED else ""
        lines.append(
            f"  {demo_email(local):<38} {demo_password(local):<28} {role}{' (lay)' if lay else ''}{extra}"
        )
    lines.append(
        f"  TOTP demo secret for +TOTP users: {DEMO_TOTP_SECRET} "
        "(add it to an authenticator app, or run `phta users totp EMAIL` for the current code)"
    )
    return lines


DEMO_PROJECT_TITLE = "Heart failure readmissions across the Black Country (demo)"


def seed_demo_project(database: Database) -> list[str]:
    """One approved demo project, so the transparency register has something to show."""
    from phta.governance import coapplicants, projects, review
    from phta.governance.principal import principal_for
    from phta.store.models import Project

    with database.session() as session:
        if (
            session.scalar(select(Project.id).where(Project.title == DEMO_PROJECT_TITLE))
            is not None
        ):
            return ["Demo project: already on the register (/register)"]
        people = {
            u.email: principal_for(u)
            for u in session.scalars(select(User).where(User.is_demo.is_(True))).unique()
        }
    researcher = people[demo_email("researcher")]
    answers = {
        "applicants": "Ravi Researcher, University of Birmingham, chief investigator",
        "accreditation": "ONS Accredited Researcher; information governance training 2026",
        "title": DEMO_PROJECT_TITLE,
        "lay_summary": "Why do some people with heart failure go back into hospital soon after leaving?",
        "public_benefit": "Fewer emergency readmissions, and care targeted where it is needed.",
        "aims": "Describe 30-day readmission by age band, sex and area deprivation.",
        "nodes": "XT001, XT002",  # the demo region's hospital trusts (site codes)
        "tre_only": "on",
        "datasets": ["demographics", "diagnoses", "visits"],
        "cohort": "Adults with heart failure, 2020-2025",
        "fields": "age band, sex, IMD quintile, admissions",
        "pseudonymised": "on",
        "planned_outputs": "Aggregate tables",
        "disclosure_approach": "PHTA standard rules",
        "task_types": ["feasibility", "characterisation"],
        "duration_months": "12",
        "article6": "6(1)(e)",
        "article9": "9(2)(j)",
        "common_law": "s251",
        "s251_reference": "CAG demo reference",
        "ethics": "approved",
        "iras_id": "300001",
        "funder": "NIHR Applied Research Collaboration West Midlands",
        "dpia": "completed",
        "dpia_reference": "UoB-DPIA-2026-07",
        "commercial": "yes",
        "commercial_organisation": "Midlands MedTech Ltd",
        "commercial_nature": "Co-applicant: tests whether its readmission-risk tool would have flagged "
        "these patients; sees only released aggregate outputs.",
    }
    project_id = projects.create_draft(database, researcher, answers)
    # The innovator works on it too: once approved they see the project like the researcher.
    coapplicants.add(database, researcher, project_id, demo_email("innovator"))
    projects.save(database, researcher, project_id, answers, submit=True)
    review.record_review(database, people[demo_email("lay-member")], project_id, "approve_with_conditions",
                         conditions="Publish the results openly within 12 months of the project's end.")
    review.record_review(database, people[demo_email("committee")], project_id, "approve")
    # The register shows the conditions; accepted here so the demo grant is active.
    projects.acknowledge_conditions(database, researcher, project_id)
    return [f"Demo project {project_id}: approved, on the register (/register); "
            f"{demo_email('innovator')} is its co-applicant"]
