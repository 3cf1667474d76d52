"""Projects and their data access requests: drafts, submission, withdrawal, conditions.

States: draft -> submitted -> in_review -> (feedback_requested <-> resubmitted) ->
approved | approved_with_conditions | rejected | withdrawn. Every change of state appends a
``ProjectEvent`` (never updated or deleted) and an audit entry. Committee decisions live in
``phta.governance.review``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phta import audit
from phta.governance import request_form
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.models import Grant, Project, ProjectCoapplicant, ProjectEvent, User

EDITABLE = {"draft", "feedback_requested"}
UNDER_REVIEW = {"submitted", "in_review", "resubmitted"}
FINAL = {"approved", "approved_with_conditions", "rejected", "withdrawn"}
# Co-applicants see the project and use its grant only in these states: before approval the
# committee has not yet accepted them as "safe people".
APPROVED = {"approved", "approved_with_conditions"}
STATE_LABELS = {
    "draft": "Draft",
    "submitted": "Submitted",
    "in_review": "In review",
    "feedback_requested": "Feedback requested",
    "resubmitted": "Resubmitted",
    "approved": "Approved",
    "approved_with_conditions": "Approved with conditions",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}


class ProjectError(ValueError):
    pass


class NotApplicant(ProjectError):
    """Only the lead applicant may do this (co-applicants see the project but do not steer it)."""


class ValidationFailed(ProjectError):
    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems.values()))


@dataclass(frozen=True)
class Coapplicant:
    """A named co-applicant: the address the lead applicant typed, and the account it resolved
    to (None: no researcher or innovator account had that address; named, but no access follows).
    Whether it resolved is shown to the committee, never to the applicant before approval
    (``coapplicants.shown_to``)."""

    id: int
    email: str
    user_id: int | None
    name: str | None


@dataclass(frozen=True)
class ProjectView:
    id: int
    applicant_user_id: int
    applicant_name: str
    organisation: str | None
    title: str
    state: str
    answers: dict
    round: int
    conditions: str | None
    conditions_acknowledged_at: datetime | None
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    history: list[tuple[datetime, str | None, str, str]]
    grant_active: bool
    coapplicants: tuple[Coapplicant, ...] = ()

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def submitted(self) -> bool:
        """Has the request ever been submitted? Before that it is the applicants' working draft,
        which nobody else reads (``authz``: ``projects.view``), not even the committee."""
        return self.submitted_at is not None

    @property
    def member_user_ids(self) -> frozenset[int]:
        """Who may act on this project as "their own" (``authz`` reads this): the lead
        applicant always; co-applicants once the request is approved."""
        return _members(
            self.applicant_user_id, self.state, [c.user_id for c in self.coapplicants if c.user_id]
        )


def _members(applicant: int, state: str, coapplicants: list[int]) -> frozenset[int]:
    return frozenset({applicant, *(coapplicants if state in APPROVED else ())})


def coapplicant_ids(session: Session, project_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ProjectCoapplicant.user_id)
            .where(
                ProjectCoapplicant.project_id == project_id,
                ProjectCoapplicant.user_id.is_not(None),
            )
            .order_by(ProjectCoapplicant.id)
        )
    )


def conflict_of_interest(session: Session, project: Project, user_id: int) -> str | None:
    """Why ``user_id`` is not independent of ``project``: ``"own"`` (the lead applicant or a
    co-applicant) or ``"organisation"`` (from the organisation of the project or of any
    co-applicant: colleagues are not independent either); None if independent. The one rule for
    the access committee (``review``) and the output airlock's checkers and custodians."""
    coapplicants = coapplicant_ids(session, project.id)
    if user_id == project.applicant_user_id or user_id in coapplicants:
        return "own"
    person = session.get(User, user_id)
    organisations = {project.organisation_id} | {session.get(User, uid).organisation_id for uid in coapplicants}
    if person is not None and person.organisation_id is not None and person.organisation_id in organisations:
        return "organisation"
    return None


def member_user_ids(session: Session, project: Project) -> frozenset[int]:
    """The users who may use ``project``'s grant: see ``ProjectView.member_user_ids``."""
    return _members(project.applicant_user_id, project.state, coapplicant_ids(session, project.id))


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def move(
    session: Session,
    project: Project,
    to_state: str,
    actor_user_id: int | None,
    note: str,
    data_dir,
) -> None:
    """Change state, appending to the project's history and to the audit chain."""
    from_state = project.state
    project.state = to_state
    session.add(
        ProjectEvent(
            project_id=project.id,
            at=datetime.now(UTC),
            actor_user_id=actor_user_id,
            from_state=from_state,
            to_state=to_state,
            note=note[:2000],
        )
    )
    audit.record(
        session,
        actor=f"user:{actor_user_id}" if actor_user_id else "system",
        action="project.state",
        target=f"project:{project.id}",
        details={"from": from_state, "to": to_state},
        data_dir=data_dir,
    )


def create_draft(database: Database, principal: Principal, raw: dict) -> int:
    answers = request_form.normalise(raw)
    problems = request_form.length_problems(answers)
    if problems:
        raise ValidationFailed(problems)
    with database.session() as session:
        user = session.get(User, principal.user_id)
        project = Project(
            applicant_user_id=principal.user_id,
            organisation_id=user.organisation_id if user else None,
            title=answers["title"] or "Untitled request",
            state="draft",
            form=json.dumps(answers),
            round=1,
            created_at=datetime.now(UTC),
        )
        session.add(project)
        session.flush()
        session.add(
            ProjectEvent(
                project_id=project.id,
                at=project.created_at,
                actor_user_id=principal.user_id,
                from_state=None,
                to_state="draft",
                note="",
            )
        )
        audit.record(
            session,
            actor=principal.actor,
            action="project.created",
            target=f"project:{project.id}",
            data_dir=database.data_dir,
        )
        return project.id


def load(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise LookupError(f"no project {project_id}")
    return project


def save(
    database: Database,
    principal: Principal,
    project_id: int,
    raw: dict,
    *,
    submit: bool,
    nodes: Mapping[str, str] | None = None,
) -> None:
    """Save the answers of an editable request; with ``submit``, validate and submit it.

    ``nodes``: the registered nodes (code -> name) a submitted request may name (see
    ``request_form.submission_problems``); the pages and the API always pass them."""
    answers = request_form.normalise(raw)
    if nodes is not None:
        answers["nodes"] = request_form.canonical_nodes(answers["nodes"], nodes)
    problems = (
        request_form.submission_problems(answers, nodes)
        if submit
        else request_form.length_problems(answers)
    )
    with database.session() as session:
        project = load(session, project_id)
        if project.applicant_user_id != principal.user_id:
            raise NotApplicant("only the applicant can change this request")
        if project.state not in EDITABLE:
            raise ProjectError(
                f"a request that is {STATE_LABELS[project.state].lower()} cannot be changed"
            )
        if request_form.length_problems(answers):
            raise ValidationFailed(request_form.length_problems(answers))  # nothing saved
        project.form = json.dumps(answers)
        project.title = answers["title"] or "Untitled request"
        if submit and not problems:
            if project.state == "draft":
                project.submitted_at = datetime.now(UTC)
                move(session, project, "submitted", principal.user_id, "", database.data_dir)
            else:
                project.round += 1
                move(session, project, "resubmitted", principal.user_id, "", database.data_dir)
    if problems:
        # The answers are kept as a draft; the applicant sees each problem next to its field.
        raise ValidationFailed(problems)


def submit(
    database: Database,
    principal: Principal,
    project_id: int,
    raw: dict | None = None,
    *,
    resubmission: bool,
    nodes: Mapping[str, str] | None = None,
) -> None:
    """Submit a draft (or, with ``resubmission``, send back a request the committee returned
    for changes), with new answers or, when ``raw`` is None, the saved ones. For callers that
    name the step they mean (the JSON API); the form page uses ``save`` and lets the state decide."""
    wanted = "feedback_requested" if resubmission else "draft"
    with database.session() as session:
        project = load(session, project_id)
        state, saved = project.state, json.loads(project.form)
    if state != wanted:
        step = "resubmitted" if resubmission else "submitted"
        raise ProjectError(
            f"a request that is {STATE_LABELS[state].lower()} cannot be {step} "
            f"(only a {STATE_LABELS[wanted].lower()} one can)"
        )
    save(database, principal, project_id, saved if raw is None else raw, submit=True, nodes=nodes)


def withdraw(database: Database, principal: Principal, project_id: int) -> None:
    with database.session() as session:
        project = load(session, project_id)
        if project.applicant_user_id != principal.user_id:
            raise NotApplicant("only the applicant can withdraw this request")
        if project.state in FINAL:
            raise ProjectError("this request is already decided")
        project.decided_at = datetime.now(UTC)
        move(session, project, "withdrawn", principal.user_id, "", database.data_dir)


def acknowledge_conditions(database: Database, principal: Principal, project_id: int) -> None:
    """The applicant accepts the committee's conditions; only then does the grant activate."""
    with database.session() as session:
        project = load(session, project_id)
        if project.applicant_user_id != principal.user_id:
            raise NotApplicant("only the applicant can acknowledge the conditions")
        if project.state != "approved_with_conditions" or project.conditions_acknowledged_at:
            raise ProjectError("there are no conditions waiting for acknowledgement")
        project.conditions_acknowledged_at = datetime.now(UTC)
        grant = session.scalar(select(Grant).where(Grant.project_id == project_id))
        if grant is not None:
            grant.active = True
        audit.record(
            session,
            actor=principal.actor,
            action="project.conditions_acknowledged",
            target=f"project:{project_id}",
            data_dir=database.data_dir,
        )


def get(database: Database, project_id: int) -> ProjectView | None:
    with database.session() as session:
        project = session.get(Project, project_id)
        return _view(session, project) if project else None


def _view(session: Session, project: Project) -> ProjectView:
    applicant = session.get(User, project.applicant_user_id)
    events = session.scalars(
        select(ProjectEvent).where(ProjectEvent.project_id == project.id).order_by(ProjectEvent.id)
    ).all()
    grant = session.scalar(select(Grant).where(Grant.project_id == project.id))
    coapplicants = session.execute(
        select(ProjectCoapplicant.id, ProjectCoapplicant.email, User.id, User.name)
        .outerjoin(User, ProjectCoapplicant.user_id == User.id)
        .where(ProjectCoapplicant.project_id == project.id)
        .order_by(ProjectCoapplicant.id)
    ).all()
    return ProjectView(
        project.id,
        project.applicant_user_id,
        applicant.name if applicant else "?",
        project.organisation.name if project.organisation else None,
        project.title,
        project.state,
        json.loads(project.form),
        project.round,
        project.conditions,
        _aware(project.conditions_acknowledged_at),
        _aware(project.created_at),
        _aware(project.submitted_at),
        _aware(project.decided_at),
        [(_aware(e.at), e.from_state, e.to_state, e.note) for e in events],
        bool(grant and grant.active),
        tuple(Coapplicant(*row) for row in coapplicants),
    )


def list_for_applicant(database: Database, principal: Principal) -> list[ProjectView]:
    """The principal's own requests, and approved projects that name them as co-applicant."""
    coapplicant_of = select(ProjectCoapplicant.project_id).where(
        ProjectCoapplicant.user_id == principal.user_id
    )
    with database.session() as session:
        rows = session.scalars(
            select(Project)
            .where(
                (Project.applicant_user_id == principal.user_id)
                | (Project.id.in_(coapplicant_of) & Project.state.in_(APPROVED))
            )
            .order_by(Project.id.desc())
        ).all()
        return [_view(session, p) for p in rows]


def list_in_states(database: Database, states: set[str]) -> list[ProjectView]:
    with database.session() as session:
        rows = session.scalars(
            select(Project).where(Project.state.in_(states)).order_by(Project.id)
        ).all()
        return [_view(session, p) for p in rows]
