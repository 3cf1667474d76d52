"""What happens to a case after intake: status changes, pick-up, messages, tasks, documents,
reassignment, and the governance steps opened from a case (pre-filled for the innovator).

The status machine is ``phta.frontdoor.vocabulary.TRANSITIONS``; closing needs an outcome. The
first message from the hub to the enquirer is the case's first response (the SLA timer stops).
Every change is in the case history and the audit chain; no function here checks roles (the web
layer asks ``phta.governance.authz`` first), but each checks the case is in a state that allows it.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select

from phta.frontdoor.cases import HUB_ROLES, record_history
from phta.frontdoor.vocabulary import LINK_KINDS, NEEDS, OUTCOMES, STATUSES, TRANSITIONS
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.store import Database
from phta.store.blobs import BlobStore
from phta.store.models import (
    FrontdoorCase,
    FrontdoorCaseDocument,
    FrontdoorCaseLink,
    FrontdoorCaseMessage,
    FrontdoorCaseTask,
    FrontdoorEnquiry,
    User,
    UserRole,
)

MAX_MESSAGE = 5_000
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_TITLE = 300


class CaseError(ValueError):
    """The change is not possible (wrong state, bad value); the message says why."""


class CaseNotFound(LookupError):
    pass


def _load(session, case_id: int) -> FrontdoorCase:
    case = session.get(FrontdoorCase, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id}")
    return case


def _open(case: FrontdoorCase) -> None:
    if case.status == "closed":
        raise CaseError(f"case {case.id} is closed")


def transition(database: Database, principal: Principal, case_id: int, to_status: str, now: datetime,
               *, outcome: str | None = None, note: str = "") -> None:
    if to_status not in STATUSES:
        raise CaseError(f"status: {to_status!r} is not one of {sorted(STATUSES)}")
    with database.session() as session:
        case = _load(session, case_id)
        if to_status not in TRANSITIONS[case.status]:
            allowed = sorted(TRANSITIONS[case.status]) or ["none (closed)"]
            raise CaseError(f"status: a case cannot move from {case.status} to {to_status}; next: {', '.join(allowed)}")
        if to_status == "closed":
            if outcome not in OUTCOMES:
                raise CaseError(f"outcome: closing needs one of {sorted(OUTCOMES)}")
            case.outcome, case.closed_at = outcome, now
        elif outcome:
            raise CaseError("outcome: only a closed case has an outcome")
        from_status, case.status, case.last_activity_at = case.status, to_status, now
        record_history(session, case, principal, to_status, note or (f"outcome: {outcome}" if outcome else ""),
                       now, database.data_dir, from_status=from_status)


def pick_up(database: Database, principal: Principal, case_id: int, now: datetime) -> None:
    """The account manager takes the case (assigned to them; a triaged case becomes engaged)."""
    with database.session() as session:
        case = _load(session, case_id)
        _open(case)
        case.manager_user_id, case.last_activity_at = principal.user_id, now
        from_status = case.status
        if case.status == "triaged":
            case.status = "engaged"
        record_history(session, case, principal, case.status, f"picked up by {principal.name}", now,
                       database.data_dir, from_status=from_status)


def assign(database: Database, principal: Principal, case_id: int, manager_user_id: int, now: datetime) -> None:
    with database.session() as session:
        case = _load(session, case_id)
        _open(case)
        manager = session.get(User, manager_user_id)
        roles = set(session.scalars(select(UserRole.role).where(UserRole.user_id == manager_user_id)))
        if manager is None or not manager.active or Role.ACCOUNT_MANAGER not in roles:
            raise CaseError(f"manager: user {manager_user_id} is not an active account manager")
        case.manager_user_id, case.last_activity_at = manager_user_id, now
        record_history(session, case, principal, case.status, f"assigned to {manager.name}", now,
                       database.data_dir, from_status=case.status)


def add_message(database: Database, principal: Principal, case_id: int, body: str, now: datetime) -> int:
    body = (body or "").strip()
    if not body:
        raise CaseError("message: write something")
    if len(body) > MAX_MESSAGE:
        raise CaseError(f"message: at most {MAX_MESSAGE:,} characters")
    from_hub = principal.has_role(*HUB_ROLES)
    with database.session() as session:
        case = _load(session, case_id)
        _open(case)
        message = FrontdoorCaseMessage(case_id=case.id, author_user_id=principal.user_id, from_hub=from_hub,
                                       body=body, created_at=now)
        session.add(message)
        case.last_activity_at = now
        if from_hub and case.first_response_at is None:
            case.first_response_at = now
            record_history(session, case, principal, case.status, "first response sent", now,
                           database.data_dir, from_status=case.status)
        session.flush()
        return message.id


def add_task(database: Database, principal: Principal, case_id: int, title: str, due_on: str | None,
             now: datetime) -> int:
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise CaseError(f"task: a title of 1 to {MAX_TITLE} characters")
    if due_on:
        try:
            due_on = datetime.strptime(due_on, "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise CaseError(f"due: {due_on!r} is not a date (YYYY-MM-DD)") from None
    with database.session() as session:
        case = _load(session, case_id)
        _open(case)
        task = FrontdoorCaseTask(case_id=case.id, title=title, due_on=due_on or None,
                                 created_by_user_id=principal.user_id, created_at=now)
        session.add(task)
        case.last_activity_at = now
        session.flush()
        record_history(session, case, principal, case.status, f"task added: {title}", now, database.data_dir,
                       from_status=case.status)
        return task.id


def complete_task(database: Database, principal: Principal, case_id: int, task_id: int, now: datetime) -> None:
    with database.session() as session:
        case = _load(session, case_id)
        task = session.get(FrontdoorCaseTask, task_id)
        if task is None or task.case_id != case.id:
            raise CaseNotFound(f"no task {task_id} on case {case_id}")
        if task.done_at is not None:
            raise CaseError("task: already done")
        task.done_at, case.last_activity_at = now, now
        record_history(session, case, principal, case.status, f"task done: {task.title}", now, database.data_dir,
                       from_status=case.status)


def _safe_file_name(name: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"<>:|?*').strip()[:200]
    if not cleaned or cleaned in (".", ".."):
        raise CaseError("document: give the file a name")
    return cleaned


def add_document(database: Database, principal: Principal, case_id: int, file_name: str, data: bytes,
                 now: datetime) -> int:
    name = _safe_file_name(file_name)
    if not data:
        raise CaseError("document: the file is empty")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CaseError(f"document: at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    with database.session() as session:
        case = _load(session, case_id)
        _open(case)
        digest = BlobStore(database.data_dir).put(data)
        doc = FrontdoorCaseDocument(case_id=case.id, uploaded_by_user_id=principal.user_id, file_name=name,
                                    size=len(data), sha256=digest, created_at=now)
        session.add(doc)
        case.last_activity_at = now
        session.flush()
        record_history(session, case, principal, case.status, f"document added: {name}", now, database.data_dir,
                       from_status=case.status)
        return doc.id


def get_document(database: Database, case_id: int, document_id: int) -> tuple[str, bytes]:
    with database.session() as session:
        doc = session.get(FrontdoorCaseDocument, document_id)
        if doc is None or doc.case_id != case_id:
            raise CaseNotFound(f"no document {document_id} on case {case_id}")
        name, digest = doc.file_name, doc.sha256
    return name, BlobStore(database.data_dir).get(digest)


def prefilled_url(kind: str, case_id: int, enquiry: FrontdoorEnquiry, condition: int | None = None) -> str:
    """Where the innovator continues, with what the case already says filled in."""
    if kind == "feasibility":
        params = {"from_case": case_id} | ({"condition": condition} if condition is not None else {})
        return "/feasibility?" + urlencode(params)
    # The enquiry's free text stays out of the URL (URLs end up in access logs and browser
    # history); the form names the case, and the applicant copies across what they wish.
    needs = "; ".join(NEEDS.get(n, n).lower() for n in json.loads(enquiry.needs))
    params = [("title", f"{enquiry.organisation}: {'evaluation' if kind == 'evaluation' else 'data access'}"
                        f" (front door case {case_id})"),
              ("applicants", enquiry.organisation),
              ("aims", f"Continues front door case {case_id} ({needs})."),
              ("task_types", "evaluation" if kind == "evaluation" else "feasibility")]
    return "/projects/new?" + urlencode(params)


def open_link(database: Database, principal: Principal, case_id: int, kind: str, now: datetime,
              condition: int | None = None) -> str:
    """Open a governance step from the case: record it, tell the enquirer, return the URL."""
    if kind not in LINK_KINDS:
        raise CaseError(f"kind: {kind!r} is not one of {sorted(LINK_KINDS)}")
    with database.session() as session:
        case = _load(session, case_id)
        _open(case)
        url = prefilled_url(kind, case.id, session.get(FrontdoorEnquiry, case.enquiry_id), condition)
        session.add(FrontdoorCaseLink(case_id=case.id, kind=kind, url=url, created_by_user_id=principal.user_id,
                                      created_at=now))
        note = (" Evaluation itself lands separately: this is an access request with the task type "
                "'evaluation', which the access committee reviews." if kind == "evaluation" else "")
        session.add(FrontdoorCaseMessage(
            case_id=case.id, author_user_id=principal.user_id, from_hub=True, created_at=now,
            body=f"I have opened a {LINK_KINDS[kind].lower()} for you, pre-filled from your enquiry. "
                 f"Follow the link on this page to check it and continue.{note}"))
        if case.first_response_at is None:
            case.first_response_at = now
        case.last_activity_at = now
        record_history(session, case, principal, case.status, f"{LINK_KINDS[kind]} opened", now,
                       database.data_dir, from_status=case.status)
    return url
