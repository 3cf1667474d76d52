"""JSON API for data access requests (read-only; the form itself is a page)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from phta.governance import authz, projects, register, request_form, review
from phta.governance.principal import Principal
from phta.web.security import require

router = APIRouter(prefix="/api/v1", tags=["projects"])


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
    grant_active: bool
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    history: list[dict]
    reviews: list[dict]


def _out(request: Request, p: projects.ProjectView) -> ProjectOut:
    return ProjectOut(
        id=p.id, title=p.title, state=p.state, organisation=p.organisation, round=p.round, answers=p.answers,
        legal_basis=request_form.legal_basis(p.answers).as_dict(), opt_outs=register.opt_outs_text(p.answers),
        conditions=p.conditions, grant_active=p.grant_active, created_at=p.created_at,
        submitted_at=p.submitted_at, decided_at=p.decided_at,
        history=[{"at": at, "from": f, "to": to, "note": note} for at, f, to, note in p.history],
        reviews=[{"round": r.round, "reviewer": r.reviewer, "lay_member": r.lay_member, "decision": r.decision,
                  "conditions": r.conditions, "comment": r.comment, "at": r.at}
                 for r in review.reviews(request.app.state.database, p.id)],
    )


@router.get("/projects", response_model=list[ProjectOut], summary="Your data access requests")
def my_projects(request: Request, principal: Principal = Depends(require("projects.apply"))):
    return [_out(request, p) for p in projects.list_for_applicant(request.app.state.database, principal)]


@router.get("/projects/{project_id}", response_model=ProjectOut, summary="One data access request")
def get_project(project_id: int, request: Request, principal: Principal = Depends(require("projects.view"))):
    project = projects.get(request.app.state.database, project_id)
    if project is None:
        raise HTTPException(404, "no such request")
    authz.authorise(principal, "projects.view", project)
    return _out(request, project)
