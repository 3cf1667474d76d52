"""The output airlock's requests: submission, resubmission, what each person may see.

A researcher on an approved project asks for files to leave the trusted research environment.
This module keeps the request's state and history and decides who may see what; the decisions of
output checkers and custodians are in ``phta.governance.airlock_review``. It knows nothing of
disclosure rules: the automatic checks (``phta.disclosure``) run in ``phta.execution.airlock``,
which hands their results here as plain data (``FileRecord.checks``).

States: submitted | resubmitted -> in_review (one checker has decided) -> released | returned |
rejected | needs_third_checker (the two checkers disagreed) -> escalated (no third checker
decided within PHTA_AIRLOCK_ESCALATION_DAYS working days: the output-checking lead decides) |
awaiting_custodian (the node's custodian must sign off). ``returned`` goes back to the researcher, whose resubmission starts a
new round with fresh files and fresh checkers' decisions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phta import audit
from phta.governance import projects
from phta.governance.nodes import node_key, node_setting_row
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.models import (
    AirlockNode,
    Grant,
    OutputFile,
    OutputRequest,
    OutputRequestEvent,
    OutputReview,
    Project,
    ProjectCoapplicant,
    User,
)

WAITING_FOR_CHECKERS = {"submitted", "resubmitted", "in_review"}
OPEN_FOR_CHECKERS = WAITING_FOR_CHECKERS | {"needs_third_checker", "escalated"}
FINAL = {"released", "rejected"}
STATE_LABELS = {
    "submitted": "Submitted",
    "resubmitted": "Resubmitted",
    "in_review": "In review",
    "needs_third_checker": "Checkers disagree: waiting for a third checker",
    "escalated": "Checkers disagree: escalated to the output-checking lead",
    "awaiting_custodian": "Approved by checkers: waiting for the custodian's sign-off",
    "returned": "Returned with comments",
    "rejected": "Rejected",
    "released": "Released",
}
CONTEXT_FIELDS = {
    "title": ("Title", 300),
    "description": ("What the outputs are and why they are needed", 5000),
    "population": ("The population the outputs describe", 2000),
    "controls": ("The disclosure controls you applied", 2000),
}
MAX_FILES = 20
# What the automatic checks said of a file. Only ``pass`` (a table the rules publish exactly as
# submitted) and ``figure`` (a PNG/SVG/HTML that passed the file checks) may be released as they
# are; ``changed``, ``suppressed`` and ``review`` tables have a protected version the rules wrote;
# an ``unreadable`` table (a CSV/JSON/XLSX that could not be read as a table) fails the checks
# and can only be returned for resubmission.
CHECK_STATUSES = {
    "pass": "passes the automatic checks",
    "figure": "a figure or report: passed the file checks",
    "changed": "fails: the rules change some values (rounding)",
    "suppressed": "fails: the rules suppress some cells",
    "review": "fails: some cells need a person's judgement",
    "unreadable": "fails: could not be read as a table",
}
PASSING_STATUSES = frozenset({"pass", "figure"})


class AirlockError(ValueError):
    """The request cannot be made or changed as asked; the message says why (never any data)."""


@dataclass(frozen=True)
class ProtectedVersion:
    """The protected version of a table (what the rules would publish), in the blob store."""

    file_name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class FileRecord:
    """A file as the automatic checks left it: its bytes are already in the blob store."""

    file_name: str
    kind: str
    size: int
    sha256: str
    what_it_shows: str
    checks: dict[str, Any]
    check_status: str  # one of CHECK_STATUSES
    file_findings: tuple[dict, ...] = ()
    protected: ProtectedVersion | None = None


@dataclass(frozen=True)
class FileView:
    id: int
    round: int
    file_name: str
    kind: str
    size: int
    sha256: str
    what_it_shows: str
    checks: dict[str, Any]
    check_status: str
    released_at: datetime | None
    protected: ProtectedVersion | None = None
    released_name: str | None = None  # exactly what was released: the file as it is, or its protected version
    released_sha256: str | None = None

    @property
    def passes(self) -> bool:
        return self.check_status in PASSING_STATUSES

    @property
    def check_summary(self) -> str:
        if self.check_status == "unreadable":
            return f"fails: could not be read as a table: {self.checks.get('table_error', '')}"
        return CHECK_STATUSES.get(self.check_status, self.check_status)


@dataclass(frozen=True)
class ReviewView:
    reviewer_user_id: int
    reviewer: str
    round: int
    stage: str
    decision: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class RequestView:
    id: int
    project_id: int
    project_title: str
    project_organisation_id: int | None
    applicant_user_id: int
    applicant_name: str
    node: str
    title: str
    description: str
    population: str
    controls: str
    state: str
    round: int
    created_at: datetime
    decided_at: datetime | None
    files: list[FileView]
    reviews: list[ReviewView] = field(default_factory=list)
    history: list[tuple[datetime, str | None, str, str]] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        if self.state == "escalated" and self.escalated_at is not None:
            return f"Checkers disagree: escalated to the output-checking lead on {self.escalated_at:%-d %B %Y}"
        return STATE_LABELS[self.state]

    @property
    def current_files(self) -> list[FileView]:
        return [f for f in self.files if f.round == self.round]

    @property
    def has_failing_cells(self) -> bool:
        """Whether any file of this round fails the automatic checks (an unreadable table fails:
        nobody has shown its cells are safe)."""
        return any(not f.passes for f in self.current_files)

    @property
    def check_summary(self) -> str:
        """One line for a queue: pass, or which files fail and why."""
        failing = [f for f in self.current_files if not f.passes]
        if not failing:
            return "pass"
        return "; ".join(f"{f.file_name}: {f.check_summary}" for f in failing)

    @property
    def escalated_at(self) -> datetime | None:
        return next((at for at, _from, to, _note in reversed(self.history) if to == "escalated"), None)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def move(session: Session, request: OutputRequest, to_state: str, actor_user_id: int | None, note: str,
         data_dir, at: datetime | None = None) -> None:
    """Change state, appending to the request's history and to the audit chain."""
    from_state = request.state
    request.state = to_state
    session.add(OutputRequestEvent(request_id=request.id, at=at or datetime.now(UTC), actor_user_id=actor_user_id,
                                   from_state=from_state, to_state=to_state, note=note[:2000]))
    audit.record(session, actor=f"user:{actor_user_id}" if actor_user_id else "system",
                 action="output.state", target=f"output_request:{request.id}",
                 details={"from": from_state, "to": to_state, "round": request.round}, data_dir=data_dir)


def _context(raw: dict) -> dict[str, str]:
    values = {name: str(raw.get(name) or "").strip() for name in CONTEXT_FIELDS}
    problems = [f"{label}: required" for name, (label, _n) in CONTEXT_FIELDS.items() if not values[name]]
    problems += [f"{label}: at most {n} characters" for name, (label, n) in CONTEXT_FIELDS.items()
                 if len(values[name]) > n]
    if problems:
        raise AirlockError("; ".join(problems))
    return values


def _check_files(files: list[FileRecord]) -> None:
    if not files:
        raise AirlockError("attach at least one file")
    if len(files) > MAX_FILES:
        raise AirlockError(f"at most {MAX_FILES} files in one request")
    names = [f.file_name for f in files]
    if len(set(names)) != len(names):
        raise AirlockError("two files have the same name")
    for f in files:
        if f.file_findings:
            raise AirlockError(f"{f.file_name}: failed the automatic file checks")
        if not f.what_it_shows.strip():
            raise AirlockError(f"{f.file_name}: say what this file shows")


def project_nodes(database: Database, principal: Principal, project_id: int) -> list[str]:
    """The nodes an applicant may request outputs for on this project (empty if none)."""
    with database.session() as session:
        project = session.get(Project, project_id)
        grant = session.scalar(select(Grant).where(Grant.project_id == project_id))
        if (project is None or principal.user_id not in projects.member_user_ids(session, project)
                or grant is None or not grant.active):
            return []
        return list(json.loads(grant.nodes))


def grant_node(database: Database, principal: Principal, project_id: int, node: str) -> str:
    """The node as the project's grant names it (any spelling of it matches), or AirlockError."""
    for granted in project_nodes(database, principal, project_id):
        if node_key(granted) == node_key(node or ""):
            return granted
    raise AirlockError("choose one of your approved projects and a node its grant covers")


def approved_projects(database: Database, principal: Principal) -> list[tuple[int, str, list[str]]]:
    """(id, title, nodes) of the principal's projects (as lead or co-applicant) with an active grant."""
    coapplicant_of = select(ProjectCoapplicant.project_id).where(ProjectCoapplicant.user_id == principal.user_id)
    with database.session() as session:
        rows = session.execute(select(Project.id, Project.title, Grant.nodes, Grant.active)
                               .join(Grant, Grant.project_id == Project.id)
                               .where((Project.applicant_user_id == principal.user_id)
                                      | Project.id.in_(coapplicant_of))
                               .order_by(Project.id)).all()
    return [(pid, title, json.loads(nodes)) for pid, title, nodes, active in rows if active]


def _add_files(session: Session, request: OutputRequest, files: list[FileRecord]) -> None:
    for f in files:
        p = f.protected
        session.add(OutputFile(request_id=request.id, round=request.round, file_name=f.file_name, kind=f.kind,
                               size=f.size, sha256=f.sha256, what_it_shows=f.what_it_shows.strip()[:2000],
                               checks=json.dumps(f.checks, sort_keys=True), check_status=f.check_status,
                               protected_name=p.file_name if p else None, protected_sha256=p.sha256 if p else None,
                               protected_size=p.size if p else None))


def create_request(database: Database, principal: Principal, project_id: int, node: str, raw_context: dict,
                   files: list[FileRecord]) -> int:
    context = _context(raw_context)
    _check_files(files)
    node = grant_node(database, principal, project_id, node)
    with database.session() as session:
        request = OutputRequest(project_id=project_id, applicant_user_id=principal.user_id, node=node,
                                state="submitted", round=1, created_at=datetime.now(UTC), **context)
        session.add(request)
        session.flush()
        _add_files(session, request, files)
        session.add(OutputRequestEvent(request_id=request.id, at=request.created_at, actor_user_id=principal.user_id,
                                       from_state=None, to_state="submitted", note=""))
        audit.record(session, actor=principal.actor, action="output.submitted", target=f"output_request:{request.id}",
                     details={"project_id": project_id, "node": node, "round": 1,
                              "files": [{"file_name": f.file_name, "sha256": f.sha256} for f in files]},
                     data_dir=database.data_dir)
        return request.id


def resubmit(database: Database, principal: Principal, request_id: int, raw_context: dict,
             files: list[FileRecord]) -> None:
    """A returned request comes back with new files (and context): a new round of checking."""
    context = _context(raw_context)
    _check_files(files)
    with database.session() as session:
        request = load_row(session, request_id)
        if request.applicant_user_id != principal.user_id:
            raise AirlockError("only the researcher who made the request can resubmit it")
        if request.state != "returned":
            raise AirlockError("only a request returned with comments can be resubmitted")
        for name, value in context.items():
            setattr(request, name, value)
        request.round += 1
        _add_files(session, request, files)
        audit.record(session, actor=principal.actor, action="output.resubmitted", target=f"output_request:{request_id}",
                     details={"round": request.round,
                              "files": [{"file_name": f.file_name, "sha256": f.sha256} for f in files]},
                     data_dir=database.data_dir)
        move(session, request, "resubmitted", principal.user_id, "", database.data_dir)


def load_row(session: Session, request_id: int) -> OutputRequest:
    request = session.get(OutputRequest, request_id)
    if request is None:
        raise LookupError(f"no output request {request_id}")
    return request


def _view(session: Session, request: OutputRequest) -> RequestView:
    project = session.get(Project, request.project_id)
    applicant = session.get(User, request.applicant_user_id)
    files = session.scalars(select(OutputFile).where(OutputFile.request_id == request.id).order_by(OutputFile.id)).all()
    reviews = session.execute(select(OutputReview, User.name).join(User, User.id == OutputReview.reviewer_user_id)
                              .where(OutputReview.request_id == request.id).order_by(OutputReview.id)).all()
    events = session.scalars(select(OutputRequestEvent).where(OutputRequestEvent.request_id == request.id)
                             .order_by(OutputRequestEvent.id)).all()
    return RequestView(
        request.id, request.project_id, project.title, project.organisation_id, request.applicant_user_id,
        applicant.name if applicant else "?", request.node, request.title, request.description,
        request.population, request.controls, request.state, request.round, _aware(request.created_at),
        _aware(request.decided_at),
        [FileView(f.id, f.round, f.file_name, f.kind, f.size, f.sha256, f.what_it_shows, json.loads(f.checks),
                  f.check_status, _aware(f.released_at),
                  ProtectedVersion(f.protected_name, f.protected_sha256, f.protected_size or 0)
                  if f.protected_sha256 else None, f.released_name, f.released_sha256) for f in files],
        [ReviewView(r.reviewer_user_id, name, r.round, r.stage, r.decision, r.comment, _aware(r.at))
         for r, name in reviews],
        [(_aware(e.at), e.from_state, e.to_state, e.note) for e in events],
    )


def get(database: Database, request_id: int) -> RequestView | None:
    with database.session() as session:
        request = session.get(OutputRequest, request_id)
        return _view(session, request) if request else None


def list_for_applicant(database: Database, principal: Principal) -> list[RequestView]:
    with database.session() as session:
        rows = session.scalars(select(OutputRequest).where(OutputRequest.applicant_user_id == principal.user_id)
                               .order_by(OutputRequest.id.desc())).all()
        return [_view(session, r) for r in rows]


def list_in_states(database: Database, states: set[str]) -> list[RequestView]:
    with database.session() as session:
        rows = session.scalars(select(OutputRequest).where(OutputRequest.state.in_(states))
                               .order_by(OutputRequest.id)).all()
        return [_view(session, r) for r in rows]


def record_access(database: Database, principal: Principal | None, request_id: int, action: str,
                  details: dict | None = None) -> None:
    """Audit a view (``output.viewed``) or a download (``output.downloaded``)."""
    with database.session() as session:
        audit.record(session, actor=principal.actor if principal else "anonymous", action=action,
                     target=f"output_request:{request_id}", details=details or {}, data_dir=database.data_dir)


@dataclass(frozen=True)
class NodeSetting:
    node: str
    custodian_signoff: bool
    custodian_organisation: str | None


def node_setting(database: Database, node: str) -> NodeSetting:
    with database.session() as session:
        row = node_setting_row(session, node)
        if row is None:
            return NodeSetting(node, False, None)
        return NodeSetting(row.node, row.custodian_signoff, row.custodian_organisation)


def set_node_setting(database: Database, node: str, *, custodian_signoff: bool,
                     custodian_organisation: str | None, actor: str) -> NodeSetting:
    node = node_key(node)
    if not node:
        raise AirlockError("name the node")
    if custodian_signoff and not (custodian_organisation or "").strip():
        raise AirlockError("a node that requires custodian sign-off must name its custodians' organisation")
    with database.session() as session:
        row = node_setting_row(session, node) or AirlockNode(node=node)
        row.custodian_signoff = custodian_signoff
        row.custodian_organisation = (custodian_organisation or "").strip() or None
        session.add(row)
        audit.record(session, actor=actor, action="airlock.node_setting", target=f"node:{node}",
                     details={"custodian_signoff": custodian_signoff,
                              "custodian_organisation": row.custodian_organisation}, data_dir=database.data_dir)
    return node_setting(database, node)


def list_node_settings(database: Database) -> list[NodeSetting]:
    with database.session() as session:
        rows = session.scalars(select(AirlockNode).order_by(AirlockNode.node)).all()
        return [NodeSetting(r.node, r.custodian_signoff, r.custodian_organisation) for r in rows]
