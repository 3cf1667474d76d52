"""The access committee's decision on a request.

Default rule (configurable through ``DecisionRule``): at least two committee members review,
at least one of them a lay member, none from the applicant's organisation, and approval must be
unanimous. Any reviewer may ask for feedback (the request goes back to the applicant; the next
submission is a new round) or reject. "Approved with conditions" records the conditions, and the
grant activates only once the applicant acknowledges them. Timings are in working days
(``phta.governance.working_days``: Monday to Friday, less England and Wales bank holidays).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from phta import audit
from phta.governance import projects
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.models import Grant, Project, Review, User

DECISIONS = {
    "approve": "Approve",
    "approve_with_conditions": "Approve with conditions",
    "request_feedback": "Ask the applicant for changes",
    "reject": "Reject",
}


@dataclass(frozen=True)
class DecisionRule:
    min_reviewers: int = 2
    lay_member_required: bool = True
    unanimous: bool = True


DEFAULT_RULE = DecisionRule()


class ReviewError(ValueError):
    """The review cannot be recorded (the request is not waiting for review, or this round is
    already reviewed by this member)."""


class ReviewInputError(ReviewError):
    """A field of the review is wrong; ``field`` names it (decision, conditions or comment)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class ReviewNotAllowed(ReviewError):
    """This member may not review this request (their own, or their organisation's)."""


@dataclass(frozen=True)
class ReviewView:
    reviewer: str
    lay_member: bool
    decision: str
    conditions: str
    comment: str
    at: datetime
    round: int
    reviewer_user_id: int = 0


def reviews(database: Database, project_id: int) -> list[ReviewView]:
    with database.session() as session:
        rows = session.execute(
            select(Review, User.name)
            .join(User, User.id == Review.reviewer_user_id)
            .where(Review.project_id == project_id)
            .order_by(Review.id)
        ).all()
        return [
            ReviewView(name, r.lay_member, r.decision, r.conditions, r.comment, r.at, r.round,
                       r.reviewer_user_id)
            for r, name in rows
        ]


@dataclass(frozen=True)
class BlindedReviews:
    """The reviews a viewer may see, and how many of the current round are hidden from them."""

    shown: list[ReviewView]
    hidden: int  # other members' reviews of the round under review, until the viewer decides


def visible_reviews(database: Database, project_id: int, viewer_user_id: int | None) -> BlindedReviews:
    """Blinded review: while a round is under review, each member decides without seeing the
    others. A viewer sees the earlier rounds, their own review, and the other members' reviews
    of the current round only once they have recorded their own (so both have decided); anyone
    who is not reviewing (the applicant, an admin) sees the current round once it is decided.
    Every page and API response that lists reviews goes through here."""
    with database.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            return BlindedReviews([], 0)
        state, current = project.state, project.round
    every = reviews(database, project_id)
    if state not in projects.UNDER_REVIEW:
        return BlindedReviews(every, 0)
    decided = any(r.round == current and r.reviewer_user_id == viewer_user_id for r in every)
    shown = [r for r in every
             if r.round != current or r.reviewer_user_id == viewer_user_id or decided]
    return BlindedReviews(shown, len(every) - len(shown))


def record_review(
    database: Database,
    principal: Principal,
    project_id: int,
    decision: str,
    *,
    conditions: str = "",
    comment: str = "",
    rule: DecisionRule = DEFAULT_RULE,
) -> str:
    """Record one committee member's review; returns the request's state afterwards."""
    if not decision:
        raise ReviewInputError("decision", "choose a decision")
    if decision not in DECISIONS:
        raise ReviewInputError(
            "decision", f"unknown decision {decision!r}; choose one of {', '.join(DECISIONS)}"
        )
    if decision == "approve_with_conditions" and not conditions.strip():
        raise ReviewInputError("conditions", "write the conditions the applicant must accept")
    if decision in ("request_feedback", "reject") and not comment.strip():
        raise ReviewInputError("comment", "say why, so the applicant can act on it")
    with database.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise LookupError(f"no project {project_id}")
        if project.state not in projects.UNDER_REVIEW:
            raise ReviewError("this request is not waiting for review")
        reviewer = session.get(User, principal.user_id)
        conflict = projects.conflict_of_interest(session, project, principal.user_id)
        if conflict == "own":
            raise ReviewNotAllowed("you cannot review your own request")
        if conflict == "organisation":
            raise ReviewNotAllowed(
                "you are from the applicant's organisation, so you cannot review this request"
            )
        already = session.scalar(
            select(Review.id).where(
                Review.project_id == project_id,
                Review.reviewer_user_id == principal.user_id,
                Review.round == project.round,
            )
        )
        if already is not None:
            raise ReviewError("you have already reviewed this round of the request")
        now = datetime.now(UTC)
        session.add(
            Review(
                project_id=project_id,
                reviewer_user_id=principal.user_id,
                round=project.round,
                decision=decision,
                conditions=conditions.strip(),
                comment=comment.strip(),
                lay_member=reviewer.lay_member,
                at=now,
            )
        )
        audit.record(
            session,
            actor=principal.actor,
            action="project.review",
            target=f"project:{project_id}",
            details={"decision": decision, "round": project.round},
            data_dir=database.data_dir,
        )
        if project.state != "in_review":
            projects.move(session, project, "in_review", principal.user_id, "", database.data_dir)
        session.flush()
        this_round = session.scalars(
            select(Review).where(Review.project_id == project_id, Review.round == project.round)
        ).all()
        _apply_rule(session, project, this_round, principal, rule, database.data_dir, now)
        return project.state


def _apply_rule(
    session,
    project: Project,
    round_reviews: list[Review],
    principal: Principal,
    rule: DecisionRule,
    data_dir,
    now: datetime,
) -> None:
    decisions = [r.decision for r in round_reviews]
    if "request_feedback" in decisions:
        note = next(r.comment for r in round_reviews if r.decision == "request_feedback")
        projects.move(session, project, "feedback_requested", principal.user_id, note, data_dir)
        return
    if "reject" in decisions and rule.unanimous:
        project.decided_at = now
        note = next(r.comment for r in round_reviews if r.decision == "reject")
        projects.move(session, project, "rejected", principal.user_id, note, data_dir)
        return
    enough = len(round_reviews) >= rule.min_reviewers
    lay_ok = not rule.lay_member_required or any(r.lay_member for r in round_reviews)
    if not (enough and lay_ok):
        return
    approving = [r for r in round_reviews if r.decision in ("approve", "approve_with_conditions")]
    if rule.unanimous and len(approving) != len(round_reviews):
        return
    conditions = [r.conditions for r in approving if r.decision == "approve_with_conditions"]
    project.decided_at = now
    project.conditions = "\n".join(conditions) or None
    state = "approved_with_conditions" if conditions else "approved"
    projects.move(session, project, state, principal.user_id, "", data_dir)
    answers = json.loads(project.form)
    grant = Grant(
        project_id=project.id,
        datasets=json.dumps(answers.get("datasets", [])),
        nodes=json.dumps(answers.get("nodes", [])),
        task_types=json.dumps(answers.get("task_types", [])),
        created_at=now,
        expires_at=now + timedelta(days=30 * int(answers.get("duration_months") or 12)),
        active=not conditions,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="grant.created",
        target=f"project:{project.id}",
        details={
            "active": grant.active,
            "nodes": answers.get("nodes", []),
            "task_types": answers.get("task_types", []),
        },
        data_dir=data_dir,
    )


@dataclass(frozen=True)
class GrantView:
    project_id: int
    applicant_user_id: int
    member_user_ids: frozenset[int]  # the lead applicant and the co-applicants
    datasets: list[str]
    nodes: list[str]
    task_types: list[str]
    expires_at: datetime
    active: bool


def grant_for(database: Database, project_id: int) -> GrantView | None:
    with database.session() as session:
        row = session.execute(
            select(Grant, Project)
            .join(Project, Project.id == Grant.project_id)
            .where(Grant.project_id == project_id)
        ).first()
        if row is None:
            return None
        g, project = row
        expires = g.expires_at if g.expires_at.tzinfo else g.expires_at.replace(tzinfo=UTC)
        return GrantView(
            project_id,
            project.applicant_user_id,
            projects.member_user_ids(session, project),
            json.loads(g.datasets),
            json.loads(g.nodes),
            json.loads(g.task_types),
            expires,
            g.active,
        )
