"""JSON API for data access requests: the whole lifecycle the pages offer.

Every endpoint calls the same governance function as its page (``phta.governance.projects``,
``review``, ``coapplicants``), so the rules live once. Errors: a wrong answer is a 422 in
FastAPI's own validation shape (``detail[i].loc`` names the field); a step the request's state
does not allow is a 409; acting on someone else's request is a 403. Cookie sessions send
``X-CSRF-Token``; API tokens need the ``projects`` scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from phta.governance import authz, coapplicants, projects, register, request_form, review
from phta.governance.principal import Principal
from phta.web.node_registry import registered_nodes
from phta.web.security import csrf_protected, require

router = APIRouter(prefix="/api/v1", tags=["projects"])
CSRF = [Depends(csrf_protected)]


class ProjectOut(BaseModel):
    id: int
    title: str
    state: str
    organisation: str | None
    round: int
    answers: dict
    legal_basis: dict  # request_form.LegalBasis: the route, CAG reference, national opt-out exemption
    opt_outs: str  # which opt-outs the project's uses apply (the register's words)
    conditions: str | None
    conditions_acknowledged_at: datetime | None
    grant_active: bool
    # {"id", "email", "name", "account"}: name and account are null for the applicants until the
    # request is approved, so naming co-applicants does not reveal who has an account
    coapplicants: list[dict]
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    history: list[dict]
    reviews: list[dict]


class Answers(BaseModel):
    """Answers to the request form, by field name (``phta.governance.request_form.QUESTIONS``).
    A draft may be half-filled; submission needs every required answer."""

    answers: dict[str, Any] = Field(default_factory=dict)


class ReviewIn(BaseModel):
    decision: str = Field(description=f"one of: {', '.join(review.DECISIONS)}")
    conditions: str = ""
    comment: str = ""


class CoapplicantIn(BaseModel):
    email: str


def _db(request: Request):
    return request.app.state.database


def _out(request: Request, principal: Principal, p: projects.ProjectView) -> ProjectOut:
    """The request as ``principal`` may see it: reviews blinded as on the pages."""
    return ProjectOut(
        id=p.id, title=p.title, state=p.state, organisation=p.organisation, round=p.round, answers=p.answers,
        legal_basis=request_form.legal_basis(p.answers).as_dict(), opt_outs=register.opt_outs_text(p.answers),
        conditions=p.conditions, conditions_acknowledged_at=p.conditions_acknowledged_at,
        grant_active=p.grant_active,
        coapplicants=coapplicants.shown_to(principal, p),
        created_at=p.created_at, submitted_at=p.submitted_at, decided_at=p.decided_at,
        history=[{"at": at, "from": f, "to": to, "note": note} for at, f, to, note in p.history],
        reviews=[{"round": r.round, "reviewer": r.reviewer, "lay_member": r.lay_member, "decision": r.decision,
                  "conditions": r.conditions, "comment": r.comment, "at": r.at}
                 for r in review.visible_reviews(_db(request), p.id, principal.user_id).shown],
    )


def _field_errors(where: list[str], problems: dict[str, str]) -> JSONResponse:
    """422 in the shape FastAPI uses for its own validation errors, one entry per field."""
    return JSONResponse(status_code=422, content={"detail": [
        {"loc": [*where, field], "msg": message, "type": "value_error"} for field, message in problems.items()]})


def _visible(request: Request, principal: Principal, project_id: int) -> projects.ProjectView:
    project = projects.get(_db(request), project_id)
    if project is None:
        raise HTTPException(404, "no such request")
    authz.authorise(principal, "projects.view", project)
    return project


def _run(request: Request, principal: Principal, project_id: int, step, answers_loc=("body", "answers")):
    """Run one lifecycle step on a request the caller may see; map governance's errors to HTTP."""
    _visible(request, principal, project_id)
    try:
        step()
    except projects.ValidationFailed as exc:
        return _field_errors(list(answers_loc), exc.problems)
    except coapplicants.CoapplicantError as exc:
        return _field_errors(["body"], {exc.field: str(exc)})
    except review.ReviewInputError as exc:
        return _field_errors(["body"], {exc.field: str(exc)})
    except (projects.NotApplicant, review.ReviewNotAllowed) as exc:
        raise HTTPException(403, str(exc)) from None
    except (projects.ProjectError, review.ReviewError) as exc:
        raise HTTPException(409, str(exc)) from None
    return _out(request, principal, projects.get(_db(request), project_id))


def _checked(body: Answers | None) -> dict | None:
    if body is None:
        return None
    problems = request_form.json_problems(body.answers)
    if problems:
        raise projects.ValidationFailed(problems)
    return body.answers


@router.get("/projects", response_model=list[ProjectOut],
            summary="Your data access requests (and approved projects you are a co-applicant of)")
def my_projects(request: Request, principal: Principal = Depends(require("projects.apply"))):
    return [_out(request, principal, p) for p in projects.list_for_applicant(_db(request), principal)]


@router.get("/projects/{project_id}", response_model=ProjectOut, summary="One data access request")
def get_project(project_id: int, request: Request, principal: Principal = Depends(require("projects.view"))):
    return _out(request, principal, _visible(request, principal, project_id))


@router.post("/projects", response_model=ProjectOut, status_code=201, summary="Start a request (a draft)",
             dependencies=CSRF)
def create_project(body: Answers, request: Request, principal: Principal = Depends(require("projects.apply"))):
    try:
        project_id = projects.create_draft(_db(request), principal, _checked(body))
    except projects.ValidationFailed as exc:
        return _field_errors(["body", "answers"], exc.problems)
    return _out(request, principal, projects.get(_db(request), project_id))


@router.put("/projects/{project_id}", response_model=ProjectOut,
            summary="Replace a draft's answers (or a returned request's)", dependencies=CSRF)
def save_project(project_id: int, body: Answers, request: Request,
                 principal: Principal = Depends(require("projects.apply"))):
    return _run(request, principal, project_id,
                lambda: projects.save(_db(request), principal, project_id, _checked(body), submit=False,
                                     nodes=registered_nodes(request)))


def _submit_route(resubmission: bool):
    def endpoint(project_id: int, request: Request, body: Answers | None = None,
                 principal: Principal = Depends(require("projects.apply"))):
        return _run(request, principal, project_id, lambda: projects.submit(
            _db(request), principal, project_id, _checked(body), resubmission=resubmission,
            nodes=registered_nodes(request)))
    endpoint.__name__ = "resubmit_project" if resubmission else "submit_project"
    return endpoint


router.post("/projects/{project_id}/submit", response_model=ProjectOut, dependencies=CSRF,
            summary="Submit a draft (with new answers, or the saved ones when there is no body)")(
    _submit_route(resubmission=False))
router.post("/projects/{project_id}/resubmit", response_model=ProjectOut, dependencies=CSRF,
            summary="Resubmit a request the committee returned for changes")(_submit_route(resubmission=True))


@router.post("/projects/{project_id}/withdraw", response_model=ProjectOut, summary="Withdraw a request",
             dependencies=CSRF)
def withdraw_project(project_id: int, request: Request, principal: Principal = Depends(require("projects.apply"))):
    return _run(request, principal, project_id, lambda: projects.withdraw(_db(request), principal, project_id))


@router.post("/projects/{project_id}/acknowledge", response_model=ProjectOut, dependencies=CSRF,
             summary="Accept the committee's conditions (the grant activates)")
def acknowledge(project_id: int, request: Request, principal: Principal = Depends(require("projects.apply"))):
    return _run(request, principal, project_id,
                lambda: projects.acknowledge_conditions(_db(request), principal, project_id))


@router.post("/projects/{project_id}/reviews", response_model=ProjectOut, dependencies=CSRF,
             summary="A committee member's decision (the decision rule then applies)")
def submit_review(project_id: int, body: ReviewIn, request: Request,
                  principal: Principal = Depends(require("projects.review"))):
    return _run(request, principal, project_id, lambda: review.record_review(
        _db(request), principal, project_id, body.decision, conditions=body.conditions, comment=body.comment))


@router.post("/projects/{project_id}/coapplicants", response_model=ProjectOut, dependencies=CSRF,
             summary="Name a co-applicant by e-mail (while the request can be edited); the answer is "
                     "the same whether or not the address is an account")
def add_coapplicant(project_id: int, body: CoapplicantIn, request: Request,
                    principal: Principal = Depends(require("projects.apply"))):
    return _run(request, principal, project_id,
                lambda: coapplicants.add(_db(request), principal, project_id, body.email))


@router.delete("/projects/{project_id}/coapplicants/{coapplicant_id}", response_model=ProjectOut,
               dependencies=CSRF, summary="Remove a co-applicant (their access ends now)")
def remove_coapplicant(project_id: int, coapplicant_id: int, request: Request,
                       principal: Principal = Depends(require("projects.apply"))):
    return _run(request, principal, project_id,
                lambda: coapplicants.remove(_db(request), principal, project_id, coapplicant_id))
