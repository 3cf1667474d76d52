"""The triage rules in force: the newest saved version, else the shipped defaults.

Saving validates against the pathways, assets and partners that exist, keeps every earlier
version (who saved what, when) and records the change in the audit chain.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from phta import audit
from phta.frontdoor.triage import Rule, default_source, parse_rules
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.models import (
    FrontdoorAsset,
    FrontdoorPartner,
    FrontdoorPathway,
    FrontdoorTriageRules,
)


def known_slugs(database: Database) -> dict[str, set[str]]:
    with database.session() as session:
        return {"pathways": set(session.scalars(select(FrontdoorPathway.slug))),
                "assets": set(session.scalars(select(FrontdoorAsset.slug))),
                "partners": set(session.scalars(select(FrontdoorPartner.slug)))}


def current_source(database: Database) -> str:
    with database.session() as session:
        row = session.scalars(select(FrontdoorTriageRules).order_by(FrontdoorTriageRules.id.desc())
                              .limit(1)).first()
    return row.source if row is not None else default_source()


def current_rules(database: Database) -> list[Rule]:
    """The rules in force. Saved rules were validated when saved; the defaults need pathways that
    exist only once the region is seeded, so they are parsed without that check."""
    return parse_rules(current_source(database))


def save_rules(database: Database, principal: Principal, source: str, now: datetime) -> list[Rule]:
    """Validate and save a new version (raises ``RulesError`` naming the rule and field)."""
    rules = parse_rules(source, known_slugs(database))
    with database.session() as session:
        session.add(FrontdoorTriageRules(source=source, saved_at=now, saved_by_user_id=principal.user_id))
        audit.record(session, actor=principal.actor, action="frontdoor.rules_saved", target="frontdoor:triage_rules",
                     details={"rules": len(rules), "sha256": hashlib.sha256(source.encode()).hexdigest()},
                     data_dir=database.data_dir)
    return rules


def history(database: Database) -> list[tuple[datetime, int | None]]:
    with database.session() as session:
        return list(session.execute(select(FrontdoorTriageRules.saved_at, FrontdoorTriageRules.saved_by_user_id)
                                    .order_by(FrontdoorTriageRules.id.desc())).all())
