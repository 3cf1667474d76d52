"""Output checkers' and custodians' decisions on airlock requests, and the release.

The rule (documented in docs/airlock.md):

- Two output checkers decide each round independently. Neither can see the other's decision
  until both have decided (``visible_reviews``): the first pass is blinded.
- No one checks a request from their own project or from their own organisation or a
  co-applicant's (``projects.conflict_of_interest``, the committee's rule).
- Both approve -> released (or, where the node requires it, ``awaiting_custodian``); both return
  -> returned to the researcher with comments; both reject -> rejected.
- They disagree -> ``needs_third_checker``: a third checker (neither of the first two, under the
  same independence rules) sees both decisions and comments, and their decision settles it.
- Approving "as it is" needs every automatic check passed; otherwise a checker approves the
  protected version the rules produced (released instead) or returns the request. Returning or
  rejecting needs a comment.
- No third checker within N working days -> ``escalated``: the output-checking lead decides.
- Where the node's setting requires it, a data custodian of that node's organisation signs off
  (approve -> released; reject, with a reason -> rejected).

Release writes one ``output.released`` audit entry per file (target ``project:<id>``, details
``file_name`` and ``sha256`` of exactly the released bytes): the transparency register reads
these for the project's public log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phta import audit
from phta.governance import projects
from phta.governance.airlock import (
    OPEN_FOR_CHECKERS,
    PASSING_STATUSES,
    AirlockError,
    RequestView,
    ReviewView,
    list_in_states,
    load_row,
    move,
    node_setting,
)
from phta.governance.nodes import node_setting_row
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.governance.working_days import working_days
from phta.store import Database
from phta.store.models import (
    OutputFile,
    OutputRequest,
    OutputRequestEvent,
    OutputReview,
    Project,
    User,
)

DECISIONS = {
    "approve": "Approve the files as they are (only when every automatic check passes)",
    "approve_protected": "Approve the protected version the rules produced: it is released instead of the files as submitted",
    "return": "Return to the researcher for resubmission, with comments",
    "reject": "Reject",
}
APPROVALS = frozenset({"approve", "approve_protected"})
CUSTODIAN_DECISIONS = {"approve": "Sign off the release", "reject": "Refuse the release"}
OUTCOME_STATE = {"approve": "approved", "approve_protected": "approved", "return": "returned", "reject": "rejected"}
SETTLING_STAGES = ("third", "lead")  # a decision at these stages settles a disagreement alone


def independence_problem(session: Session, principal: Principal, request: OutputRequest) -> str | None:
    """Why this person may not check (or sign off) this request, or None if they may."""
    project = session.get(Project, request.project_id)
    conflict = "own" if principal.user_id == request.applicant_user_id else \
        projects.conflict_of_interest(session, project, principal.user_id)  # the committee's rule
    if conflict == "own":
        return "you cannot check outputs from your own project"
    if conflict == "organisation":
        return "you are from the organisation of the project or of a co-applicant, so you cannot check its outputs"
    return None


def _round_reviews(session: Session, request: OutputRequest) -> list[OutputReview]:
    return list(session.scalars(select(OutputReview).where(OutputReview.request_id == request.id,
                                                           OutputReview.round == request.round)
                                .order_by(OutputReview.id)).all())


def record_check(database: Database, principal: Principal, request_id: int, decision: str,
                 comment: str = "") -> str:
    """Record one output checker's decision on the current round; returns the state afterwards."""
    comment = comment.strip()
    if decision not in DECISIONS:
        raise AirlockError(f"unknown decision {decision!r}")
    if decision in ("return", "reject") and not comment:
        raise AirlockError("write a comment saying why, so the researcher can act on it")
    with database.session() as session:
        request = load_row(session, request_id)
        if request.state not in OPEN_FOR_CHECKERS:
            raise AirlockError("this request is not waiting for an output checker")
        problem = independence_problem(session, principal, request)
        if problem:
            raise AirlockError(problem)
        reviews = _round_reviews(session, request)
        if any(r.reviewer_user_id == principal.user_id for r in reviews):
            raise AirlockError("you have already decided on this round of the request")
        approval_problem(_round_files(session, request), decision)
        stage = {"needs_third_checker": "third", "escalated": "lead"}.get(request.state, "first")
        if stage == "lead" and not principal.has_role(Role.OUTPUT_CHECKING_LEAD):
            raise AirlockError("the checkers disagreed and this request is escalated: the output-checking lead decides")
        if stage != "lead" and not principal.has_role(Role.OUTPUT_CHECKER):
            raise AirlockError("only an output checker can decide at this stage")
        now = datetime.now(UTC)
        session.add(OutputReview(request_id=request.id, reviewer_user_id=principal.user_id, round=request.round,
                                 stage=stage, decision=decision, comment=comment, at=now))
        audit.record(session, actor=principal.actor, action="output.reviewed", target=f"output_request:{request.id}",
                     details={"decision": decision, "round": request.round, "stage": stage},
                     data_dir=database.data_dir)
        session.flush()
        firsts = [r for r in _round_reviews(session, request) if r.stage == "first"]
        if stage in SETTLING_STAGES:
            _settle(session, request, decision, principal, comment, database.data_dir, now)
        elif len(firsts) == 1:
            if request.state != "in_review":
                move(session, request, "in_review", principal.user_id, "", database.data_dir)
        elif OUTCOME_STATE[firsts[0].decision] == OUTCOME_STATE[firsts[1].decision]:
            # two approvals agree even if one chose the protected version: the protected version
            # releases less than either approved, so it is what goes (release_version)
            note = "\n\n".join(r.comment for r in firsts if r.comment)
            _settle(session, request, decision, principal, note, database.data_dir, now)
        else:
            move(session, request, "needs_third_checker", principal.user_id, "", database.data_dir)
        return request.state


def _round_files(session: Session, request: OutputRequest) -> list[OutputFile]:
    return list(session.scalars(select(OutputFile).where(OutputFile.request_id == request.id,
                                                         OutputFile.round == request.round)
                                .order_by(OutputFile.id)).all())


def approval_problem(files: list[OutputFile], decision: str) -> None:
    """Raise AirlockError if ``decision`` cannot approve these files. As they are: only when every
    automatic check passed. The protected version: only when every failing file has one (a file
    that could not be read as a table has none, so the request must go back to the researcher)."""
    failing = [f for f in files if f.check_status not in PASSING_STATUSES]
    if decision == "approve" and failing:
        raise AirlockError(
            f"{', '.join(f.file_name for f in failing)}: the automatic checks did not pass, so the files cannot be "
            "released as they are: approve the protected version, or return the request for resubmission")
    unprotected = [f for f in failing if not f.protected_sha256]
    if decision == "approve_protected" and unprotected:
        raise AirlockError(
            f"{', '.join(f.file_name for f in unprotected)}: could not be read as a table, so there is no protected "
            "version: return the request for resubmission")


def release_version(reviews: list[OutputReview]) -> str:
    """``protected`` or ``as_is``: what the round's approving decision(s) chose. A settling
    (third or lead) decision decides alone; otherwise any approval of the protected version wins."""
    settling = [r for r in reviews if r.stage in SETTLING_STAGES]
    deciding = settling[-1:] if settling else [r for r in reviews if r.stage == "first"]
    return "protected" if any(r.decision == "approve_protected" for r in deciding) else "as_is"


def _settle(session: Session, request: OutputRequest, decision: str, principal: Principal, note: str,
            data_dir, now: datetime) -> None:
    outcome = OUTCOME_STATE[decision]
    if outcome == "approved":
        setting = node_setting_row(session, request.node)
        if setting is not None and setting.custodian_signoff:
            move(session, request, "awaiting_custodian", principal.user_id, note, data_dir)
            return
        _release(session, request, principal, note, data_dir, now)
        return
    if outcome == "rejected":
        request.decided_at = now
    move(session, request, outcome, principal.user_id, note, data_dir)


def _release(session: Session, request: OutputRequest, principal: Principal, note: str, data_dir,
             now: datetime) -> None:
    """Release exactly the approved bytes: each file as it is (only if it passed every automatic
    check) or its protected version, and publish their name and SHA-256 (the public log)."""
    files = _round_files(session, request)
    version = release_version([r for r in _round_reviews(session, request) if r.stage != "custodian"])
    approval_problem(files, "approve_protected" if version == "protected" else "approve")  # never a failing file as is
    for f in files:
        use_protected = version == "protected" and f.protected_sha256 is not None
        f.released_name = f.protected_name if use_protected else f.file_name
        f.released_sha256 = f.protected_sha256 if use_protected else f.sha256
        f.released_at = now
        audit.record(session, actor=principal.actor, action="output.released", target=f"project:{request.project_id}",
                     details={"file_name": f.released_name, "sha256": f.released_sha256, "output_request": request.id,
                              "version": "protected" if use_protected else "as_is", "submitted_sha256": f.sha256},
                     data_dir=data_dir)
    request.decided_at = now
    move(session, request, "released", principal.user_id, note, data_dir)


def custodian_problem(session: Session, principal: Principal, request: OutputRequest) -> str | None:
    setting = node_setting_row(session, request.node)
    reviewer = session.get(User, principal.user_id)
    org = reviewer.organisation.name if reviewer.organisation else None
    if setting is None or not setting.custodian_signoff or org != setting.custodian_organisation:
        return f"only a data custodian of node {request.node!r} can sign off this release"
    return independence_problem(session, principal, request)


def sign_off(database: Database, principal: Principal, request_id: int, decision: str, comment: str = "") -> str:
    """The node's custodian signs off (or refuses) a release the checkers approved."""
    comment = comment.strip()
    if decision not in CUSTODIAN_DECISIONS:
        raise AirlockError(f"unknown decision {decision!r}")
    if decision == "reject" and not comment:
        raise AirlockError("say why the release is refused")
    with database.session() as session:
        request = load_row(session, request_id)
        if request.state != "awaiting_custodian":
            raise AirlockError("this request is not waiting for a custodian's sign-off")
        problem = custodian_problem(session, principal, request)
        if problem:
            raise AirlockError(problem)
        now = datetime.now(UTC)
        session.add(OutputReview(request_id=request.id, reviewer_user_id=principal.user_id, round=request.round,
                                 stage="custodian", decision=decision, comment=comment, at=now))
        audit.record(session, actor=principal.actor, action="output.custodian_signoff",
                     target=f"output_request:{request.id}", details={"decision": decision, "round": request.round},
                     data_dir=database.data_dir)
        if decision == "approve":
            _release(session, request, principal, comment, database.data_dir, now)
        else:
            request.decided_at = now
            move(session, request, "rejected", principal.user_id, comment, database.data_dir)
        return request.state


def may_check(database: Database, principal: Principal, request_id: int) -> str | None:
    with database.session() as session:
        return independence_problem(session, principal, load_row(session, request_id))


def may_sign_off(database: Database, principal: Principal, request_id: int) -> str | None:
    with database.session() as session:
        return custodian_problem(session, principal, load_row(session, request_id))


def first_pass_open(view: RequestView) -> bool:
    """Whether the current round's first pass is still blinded (fewer than two first decisions)."""
    return len([r for r in view.reviews if r.round == view.round and r.stage == "first"]) < 2


def has_decided(view: RequestView, user_id: int) -> bool:
    """Whether this person has already recorded a decision in the current round."""
    return any(r.reviewer_user_id == user_id and r.round == view.round for r in view.reviews)


def visible_reviews(view: RequestView, principal: Principal) -> list[ReviewView]:
    """The decisions this person may see. Blinding: while the first pass of a round is open, a
    checker sees only their own decision, and the researcher sees none; once both first-pass
    decisions are in, checkers and custodians see them all. The researcher sees decisions (not
    who made them) once the round is settled."""
    if principal.user_id == view.applicant_user_id:
        settled = [r for r in view.reviews if r.round < view.round or view.state in ("returned", "rejected", "released")]
        return [ReviewView(0, "Output checker" if r.stage != "custodian" else "Data custodian", r.round, r.stage,
                           r.decision, r.comment, r.at) for r in settled]
    if first_pass_open(view):
        return [r for r in view.reviews if r.round < view.round or r.reviewer_user_id == principal.user_id]
    return list(view.reviews)


def checker_queue(database: Database, principal: Principal) -> list[RequestView]:
    """Requests this person may decide on now (independent of them, not yet decided by them):
    escalated ones for the output-checking lead, the others for output checkers."""
    result = []
    for view in list_in_states(database, OPEN_FOR_CHECKERS):
        role = Role.OUTPUT_CHECKING_LEAD if view.state == "escalated" else Role.OUTPUT_CHECKER
        if not principal.has_role(role) or has_decided(view, principal.user_id):
            continue
        if may_check(database, principal, view.id) is not None:
            continue
        result.append(view)
    return result


def escalate_overdue(database: Database, *, after_working_days: int, now: datetime | None = None) -> list[int]:
    """Requests whose checkers disagreed ``after_working_days`` working days ago (England and
    Wales: ``governance.working_days``) with no third checker's decision since go to the
    output-checking lead (state ``escalated``). Idempotent; called whenever the airlock's pages
    or API are read, and by ``phta outputs escalate``. Returns the ids escalated now."""
    now = now or datetime.now(UTC)
    escalated = []
    with database.session() as session:
        for request in list(session.scalars(select(OutputRequest).where(OutputRequest.state == "needs_third_checker"))):
            since = session.scalar(select(OutputRequestEvent.at).where(
                OutputRequestEvent.request_id == request.id, OutputRequestEvent.to_state == "needs_third_checker")
                .order_by(OutputRequestEvent.id.desc()).limit(1))
            since = since if since is None or since.tzinfo else since.replace(tzinfo=UTC)
            if since is None or working_days(since, now) < after_working_days:
                continue
            request.escalated_at = now
            move(session, request, "escalated", None,
                 f"no third checker decided within {after_working_days} working days", database.data_dir, at=now)
            escalated.append(request.id)
    return escalated


def custodian_queue(database: Database, principal: Principal) -> list[RequestView]:
    return [v for v in list_in_states(database, {"awaiting_custodian"})
            if may_sign_off(database, principal, v.id) is None]


def requires_signoff(database: Database, node: str) -> bool:
    return node_setting(database, node).custodian_signoff
