"""Demo data of the front door: the region fixture, and a couple of enquiries in the demo
account manager's queue (one fresh, one already engaged with a reply). Only ``phta demo`` calls it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from phta.frontdoor import case_actions, cases, seed
from phta.governance.demo_users import demo_email
from phta.governance.principal import principal_for
from phta.store import Database
from phta.store.models import FrontdoorCase, FrontdoorManagerPathway, User

DEMO_ENQUIRIES = [
    ("innovator", {"organisation": "Midlands MedTech Ltd", "sector": "ai", "stage": "validation",
                   "needs": ["evaluate", "data"],
                   "text": "We have an AI that reads chest X-rays for heart failure signs and want to evaluate it "
                           "on regional data before a NICE submission."}),
    ("researcher", {"organisation": "University of Birmingham", "sector": "academic", "stage": "idea",
                    "needs": ["trial", "space"],
                    "text": "Planning a feasibility study of a gene therapy follow-up app; we may need a bench."}),
]


def seed_demo_frontdoor(database: Database) -> list[str]:
    added = seed.seed_region(database)
    lines = [f"Front door: region fixture seeded ({', '.join(f'{n} {k}' for k, n in added.items() if n) or 'already there'}; "
             "sample data) — /showcase, /assets, /opportunities, /challenges, /events"]
    with database.session() as session:
        if session.scalar(select(FrontdoorCase.id).limit(1)) is not None:
            return [*lines, "Front door: demo enquiries already there (/cases as the account manager)"]
        people = {u.email: principal_for(u) for u in session.scalars(select(User).where(User.is_demo.is_(True))).unique()}
        manager = people[demo_email("account-manager")]
        for slug in ("evaluation", "trials", "data", "growth", "general"):
            session.add(FrontdoorManagerPathway(user_id=manager.user_id, pathway_slug=slug))
    now = datetime.now(UTC)
    ids = [cases.submit_enquiry(database, people[demo_email(who)], answers, now) for who, answers in DEMO_ENQUIRIES]
    case_actions.pick_up(database, manager, ids[0], now)
    case_actions.add_message(database, manager, ids[0], "Thanks for your enquiry. I'm your account manager; "
                             "let's start by counting eligible patients across the network.", now)
    return [*lines, f"Front door: demo enquiries {ids[0]} and {ids[1]} in {demo_email('account-manager')}'s queue "
                    f"(/cases); {demo_email('innovator')} sees theirs at /enquiries"]
