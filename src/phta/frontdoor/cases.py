"""Enquiry intake and the case as people see it: submit, triage, assign, read.

``submit_enquiry`` validates the form, stores the enquiry and its case, runs the triage rules
(new -> triaged, with the reasons kept on the case) and assigns an account manager by pathway,
then by load (fewest open cases; ties to the longest-serving). Changes to a case after that are
in :mod:`phta.frontdoor.case_actions`. Every step is in the case's history and the audit chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phta import audit
from phta.frontdoor import listings, rules_store
from phta.frontdoor.sla import SlaState, sla_state
from phta.frontdoor.triage import Enquiry, triage
from phta.frontdoor.vocabulary import NEEDS, SECTORS, STAGES
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.store import Database
from phta.store.models import (
    FrontdoorCase,
    FrontdoorCaseDocument,
    FrontdoorCaseHistory,
    FrontdoorCaseLink,
    FrontdoorCaseMessage,
    FrontdoorCaseTask,
    FrontdoorEnquiry,
    FrontdoorManagerPathway,
    User,
    UserRole,
)

MAX_TEXT = 5_000
MAX_ORGANISATION = 200
HUB_ROLES = (Role.ACCOUNT_MANAGER, Role.HUB_ADMIN)


class EnquiryInvalid(ValueError):
    """The enquiry form has problems: ``problems`` maps each field to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def validate_enquiry(raw: dict) -> dict:
    """Plain values from a form or JSON body, or ``EnquiryInvalid`` naming each bad field."""
    problems: dict[str, str] = {}
    organisation = str(raw.get("organisation") or "").strip()
    if not organisation:
        problems["organisation"] = "Organisation: say which organisation you are enquiring for"
    elif len(organisation) > MAX_ORGANISATION:
        problems["organisation"] = f"Organisation: at most {MAX_ORGANISATION} characters"
    stage = str(raw.get("stage") or "")
    if stage not in STAGES:
        problems["stage"] = f"Stage: choose one of {', '.join(STAGES.values())}"
    sector = str(raw.get("sector") or "")
    if sector not in SECTORS:
        problems["sector"] = f"Sector: choose one of {', '.join(SECTORS.values())}"
    needs = raw.get("needs") or []
    needs = [needs] if isinstance(needs, str) else needs
    if not isinstance(needs, list) or not needs:
        problems["needs"] = "Needs: tick at least one thing you need"
    elif any(not isinstance(n, str) or n not in NEEDS for n in needs):
        problems["needs"] = f"Needs: each must be one of {sorted(NEEDS)}"
    text = raw.get("text") or ""
    if not isinstance(text, str):
        problems["text"] = "Tell us more: expected text"
    elif len(text) > MAX_TEXT:
        problems["text"] = f"Tell us more: at most {MAX_TEXT:,} characters"
    if problems:
        raise EnquiryInvalid(problems)
    return {"organisation": organisation, "stage": stage, "sector": sector,
            "needs": sorted(set(needs), key=list(NEEDS).index), "text": text.strip()}


def record_history(session: Session, case: FrontdoorCase, actor: Principal | None, to_status: str,
                   note: str, now: datetime, data_dir, from_status: str | None = None) -> None:
    session.add(FrontdoorCaseHistory(case_id=case.id, at=now, actor_user_id=actor.user_id if actor else None,
                                     from_status=from_status, to_status=to_status, note=note[:2000]))
    audit.record(session, actor=actor.actor if actor else "system", action="frontdoor.case",
                 target=f"case:{case.id}", details={"from": from_status, "to": to_status, "note": note[:200]},
                 data_dir=data_dir)


def managers_for(session: Session, pathway: str) -> list[int]:
    """Active account managers who take ``pathway``; if none is registered for it, all of them."""
    everyone = list(session.scalars(
        select(User.id).join(UserRole).where(UserRole.role == Role.ACCOUNT_MANAGER, User.active.is_(True))
        .order_by(User.id)))
    chosen = set(session.scalars(select(FrontdoorManagerPathway.user_id)
                                 .where(FrontdoorManagerPathway.pathway_slug == pathway)))
    return [u for u in everyone if u in chosen] or everyone


def choose_manager(session: Session, pathway: str) -> int | None:
    """By pathway, then by load: the fewest open cases (ties to the lowest user id)."""
    candidates = managers_for(session, pathway)
    if not candidates:
        return None
    load = dict(session.execute(
        select(FrontdoorCase.manager_user_id, func.count()).where(FrontdoorCase.status != "closed",
                                                                  FrontdoorCase.manager_user_id.in_(candidates))
        .group_by(FrontdoorCase.manager_user_id)).all())
    return min(candidates, key=lambda u: (load.get(u, 0), u))


def submit_enquiry(database: Database, principal: Principal, raw: dict, now: datetime) -> int:
    values = validate_enquiry(raw)
    rules = rules_store.current_rules(database)
    suggestions = triage(rules, Enquiry(frozenset(values["needs"]), values["stage"], values["sector"], values["text"]))
    pathways = listings.pathways(database)
    pathway = suggestions.pathway if suggestions.pathway in pathways else None
    days = pathways[pathway].first_response_days if pathway else 2
    with database.session() as session:
        enquiry = FrontdoorEnquiry(user_id=principal.user_id, organisation=values["organisation"],
                                   sector=values["sector"], stage=values["stage"],
                                   needs=json.dumps(values["needs"]), text=values["text"], created_at=now)
        session.add(enquiry)
        session.flush()
        case = FrontdoorCase(enquiry_id=enquiry.id, applicant_user_id=principal.user_id, status="new",
                             created_at=now, last_activity_at=now, first_response_days=days,
                             suggestions=json.dumps(suggestions.as_dict()))
        session.add(case)
        session.flush()
        record_history(session, case, principal, "new", "enquiry received", now, database.data_dir)
        case.status, case.pathway_slug = "triaged", pathway
        rule_names = sorted({r.split(":", 1)[0] for rs in suggestions.pathways.values() for r in rs})
        record_history(session, case, None, "triaged",
                       f"pathway {pathway or 'none'}; rules: {', '.join(rule_names)}", now, database.data_dir,
                       from_status="new")
        manager = choose_manager(session, pathway or "")
        if manager is not None:
            case.manager_user_id = manager
            name = session.get(User, manager).name
            record_history(session, case, None, "triaged", f"assigned to {name}", now, database.data_dir,
                           from_status="triaged")
        return case.id


@dataclass(frozen=True)
class CaseView:
    id: int
    applicant_user_id: int  # who made the enquiry (authz: "own" cases)
    applicant_name: str
    organisation: str
    sector: str
    stage: str
    needs: list[str]
    text: str
    status: str
    outcome: str | None
    pathway: str | None
    manager_user_id: int | None
    manager_name: str | None
    manager_email: str | None
    suggestions: dict
    created_at: datetime
    first_response_at: datetime | None
    last_activity_at: datetime
    closed_at: datetime | None
    sla: SlaState
    messages: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    history: list = field(default_factory=list)
    links: list = field(default_factory=list)

    def summary(self) -> dict:
        """The JSON form (lists of messages etc. are separate API answers)."""
        return {"id": self.id, "organisation": self.organisation, "sector": self.sector, "stage": self.stage,
                "needs": self.needs, "text": self.text, "status": self.status, "outcome": self.outcome,
                "pathway": self.pathway, "account_manager": self.manager_name,
                "suggestions": self.suggestions, "created_at": self.created_at.isoformat(),
                "first_response_at": self.first_response_at.isoformat() if self.first_response_at else None,
                "first_response_due": self.sla.first_response_due.isoformat(),
                "first_response_overdue": self.sla.first_response_overdue,
                "needs_nudge": self.sla.needs_nudge,
                "links": [{"kind": link.kind, "url": link.url} for link in self.links]}


def _view(session: Session, case: FrontdoorCase, now: datetime, full: bool) -> CaseView:
    enquiry = session.get(FrontdoorEnquiry, case.enquiry_id)
    applicant = session.get(User, case.applicant_user_id)
    manager = session.get(User, case.manager_user_id) if case.manager_user_id else None
    sla = sla_state(created_at=aware(case.created_at), first_response_days=case.first_response_days,
                    first_response_at=aware(case.first_response_at), last_activity_at=aware(case.last_activity_at),
                    closed=case.status == "closed", now=now)
    parts: dict[str, list] = {}
    if full:
        for name, model, order in (("messages", FrontdoorCaseMessage, FrontdoorCaseMessage.id),
                                   ("tasks", FrontdoorCaseTask, FrontdoorCaseTask.id),
                                   ("documents", FrontdoorCaseDocument, FrontdoorCaseDocument.id),
                                   ("history", FrontdoorCaseHistory, FrontdoorCaseHistory.id),
                                   ("links", FrontdoorCaseLink, FrontdoorCaseLink.id)):
            parts[name] = list(session.scalars(select(model).where(model.case_id == case.id).order_by(order)))
    else:
        parts["links"] = list(session.scalars(select(FrontdoorCaseLink).where(FrontdoorCaseLink.case_id == case.id)))
    return CaseView(case.id, case.applicant_user_id, applicant.name, enquiry.organisation, enquiry.sector,
                    enquiry.stage, json.loads(enquiry.needs), enquiry.text, case.status, case.outcome,
                    case.pathway_slug, case.manager_user_id, manager.name if manager else None,
                    manager.email if manager else None, json.loads(case.suggestions), aware(case.created_at),
                    aware(case.first_response_at), aware(case.last_activity_at), aware(case.closed_at), sla, **parts)


def get_case(database: Database, case_id: int, now: datetime, *, full: bool = True) -> CaseView | None:
    with database.session() as session:
        case = session.get(FrontdoorCase, case_id)
        return _view(session, case, now, full) if case is not None else None


def cases_of(database: Database, principal: Principal, now: datetime) -> list[CaseView]:
    """The enquirer's own cases, newest first."""
    with database.session() as session:
        rows = session.scalars(select(FrontdoorCase).where(FrontdoorCase.applicant_user_id == principal.user_id)
                               .order_by(FrontdoorCase.id.desc()))
        return [_view(session, c, now, False) for c in rows]


def queue(database: Database, principal: Principal, now: datetime, *, everyone: bool = False) -> list[CaseView]:
    """Open cases for the account manager: theirs and the unassigned (``everyone``: all open)."""
    with database.session() as session:
        stmt = select(FrontdoorCase).where(FrontdoorCase.status != "closed").order_by(FrontdoorCase.created_at)
        if not everyone:
            stmt = stmt.where((FrontdoorCase.manager_user_id == principal.user_id)
                              | FrontdoorCase.manager_user_id.is_(None))
        return [_view(session, c, now, False) for c in session.scalars(stmt)]


def all_cases(database: Database, now: datetime) -> list[CaseView]:
    with database.session() as session:
        return [_view(session, c, now, False)
                for c in session.scalars(select(FrontdoorCase).order_by(FrontdoorCase.id))]
