"""JSON API of the output airlock (/api/v1/outputs): submit, follow, check, sign off, download.

The same rules as the pages: a researcher sees their own requests, a checker those independent
of them (and, on the first pass, only their own decision), a custodian those of their node.
Views and downloads are audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from phta.execution import airlock as airlock_checks
from phta.governance import airlock, airlock_review, authz
from phta.governance.principal import Principal
from phta.web.airlock import db, escalate_overdue, file_response, may_view
from phta.web.security import csrf_protected, require

router = APIRouter(prefix="/api/v1/outputs", tags=["airlock"])


class FileOut(BaseModel):
    id: int
    round: int
    file_name: str
    kind: str
    size: int
    sha256: str
    what_it_shows: str
    check_status: str
    checks: dict
    protected_name: str | None  # the protected version the rules produced, if the file needs one
    protected_sha256: str | None
    released_at: datetime | None
    released_name: str | None  # exactly what was released: the file as it is or its protected version
    released_sha256: str | None


class ReviewOut(BaseModel):
    round: int
    stage: str
    reviewer: str
    decision: str
    comment: str
    at: datetime


class RequestOut(BaseModel):
    id: int
    project_id: int
    node: str
    title: str
    description: str
    population: str
    controls: str
    state: str
    state_label: str
    round: int
    created_at: datetime
    decided_at: datetime | None
    files: list[FileOut]
    reviews: list[ReviewOut]


class DecisionIn(BaseModel):
    decision: str
    comment: str = ""


def _out(view: airlock.RequestView, principal: Principal) -> RequestOut:
    return RequestOut(
        id=view.id, project_id=view.project_id, node=view.node, title=view.title, description=view.description,
        population=view.population, controls=view.controls, state=view.state, state_label=view.state_label,
        round=view.round,
        created_at=view.created_at, decided_at=view.decided_at,
        files=[FileOut(id=f.id, round=f.round, file_name=f.file_name, kind=f.kind, size=f.size, sha256=f.sha256,
                       what_it_shows=f.what_it_shows, check_status=f.check_status, checks=f.checks,
                       protected_name=f.protected.file_name if f.protected else None,
                       protected_sha256=f.protected.sha256 if f.protected else None, released_at=f.released_at,
                       released_name=f.released_name, released_sha256=f.released_sha256) for f in view.files],
        reviews=[ReviewOut(round=r.round, stage=r.stage, reviewer=r.reviewer, decision=r.decision, comment=r.comment,
                           at=r.at) for r in airlock_review.visible_reviews(view, principal)],
    )


def _uploads(files: list[UploadFile], what_it_shows: list[str]) -> list[airlock_checks.Upload]:
    if len(what_it_shows) != len(files):
        raise HTTPException(400, "send one what_it_shows for each file, in the same order")
    uploads = []
    for f, shows in zip(files, what_it_shows, strict=True):
        airlock_checks.refuse_oversized(f.filename or "", f.size)
        uploads.append(airlock_checks.Upload(f.filename or "", f.file.read(), shows))
    return uploads


def _refused(exc: airlock.AirlockError) -> HTTPException:
    if isinstance(exc, airlock_checks.FilesRefused):
        return HTTPException(400, {"message": "files failed the automatic checks", "findings": exc.findings})
    return HTTPException(400, str(exc))


@router.get("", response_model=list[RequestOut], summary="Your output release requests")
def my_requests(request: Request, principal: Principal = Depends(require("outputs.request"))):
    escalate_overdue(request)
    return [_out(v, principal) for v in airlock.list_for_applicant(db(request), principal)]


@router.post("", response_model=RequestOut, status_code=201, dependencies=[Depends(csrf_protected)],
             summary="Submit files from an approved project for release (multipart)")
def submit(request: Request, project_id: int = Form(...), node: str = Form(...), title: str = Form(...),
           description: str = Form(...), population: str = Form(...), controls: str = Form(...),
           files: list[UploadFile] = File(...), what_it_shows: list[str] = Form(...),
           principal: Principal = Depends(require("outputs.request"))):
    context = {"title": title, "description": description, "population": population, "controls": controls}
    try:
        request_id = airlock_checks.submit(db(request), principal, project_id, node, context,
                                           _uploads(files, what_it_shows),
                                           policy_spec=request.app.state.settings.disclosure_policy)
    except airlock.AirlockError as exc:
        raise _refused(exc) from None
    return _out(airlock.get(db(request), request_id), principal)


@router.get("/queue", response_model=list[RequestOut], summary="Requests waiting for this output checker")
def queue(request: Request, principal: Principal = Depends(require("outputs.check"))):
    escalate_overdue(request)
    return [_out(v, principal) for v in airlock_review.checker_queue(db(request), principal)]


def _visible(request: Request, principal: Principal, request_id: int) -> airlock.RequestView:
    escalate_overdue(request)
    view = airlock.get(db(request), request_id)
    if view is None:
        raise HTTPException(404, "no such output request")
    authz.authorise(principal, "outputs.view", view)
    if may_view(request, principal, view):
        raise authz.Forbidden("you may not see this output request")
    return view


@router.get("/{request_id}", response_model=RequestOut, summary="One output release request")
def get_request(request: Request, request_id: int, principal: Principal = Depends(require("outputs.view"))):
    view = _visible(request, principal, request_id)
    airlock.record_access(db(request), principal, request_id, "output.viewed", {"page": "api"})
    return _out(view, principal)


@router.post("/{request_id}/resubmit", response_model=RequestOut, dependencies=[Depends(csrf_protected)],
             summary="Resubmit a returned request with new files (multipart)")
def resubmit(request: Request, request_id: int, title: str = Form(...), description: str = Form(...),
             population: str = Form(...), controls: str = Form(...), files: list[UploadFile] = File(...),
             what_it_shows: list[str] = Form(...), principal: Principal = Depends(require("outputs.request"))):
    view = airlock.get(db(request), request_id)
    if view is None:
        raise HTTPException(404, "no such output request")
    authz.authorise(principal, "outputs.request", view)
    context = {"title": title, "description": description, "population": population, "controls": controls}
    try:
        airlock_checks.resubmit(db(request), principal, request_id, context, _uploads(files, what_it_shows),
                                policy_spec=request.app.state.settings.disclosure_policy)
    except airlock.AirlockError as exc:
        raise _refused(exc) from None
    return _out(airlock.get(db(request), request_id), principal)


def _decide(request: Request, principal: Principal, request_id: int, decide: Callable[..., object],
            body: DecisionIn) -> RequestOut:
    """Record a checker's check or a custodian's sign-off with ``decide``: 404 for no such request,
    400 with the reason when the workflow refuses."""
    try:
        decide(db(request), principal, request_id, body.decision, body.comment)
    except LookupError:
        raise HTTPException(404, "no such output request") from None
    except airlock.AirlockError as exc:
        raise HTTPException(400, str(exc)) from None
    return _out(airlock.get(db(request), request_id), principal)


@router.post("/{request_id}/reviews", response_model=RequestOut, dependencies=[Depends(csrf_protected)],
             summary="Record an output checker's decision: approve, approve_protected, return or reject")
def review(request: Request, request_id: int, body: DecisionIn,
           principal: Principal = Depends(require("outputs.check"))):
    return _decide(request, principal, request_id, airlock_review.record_check, body)


@router.post("/{request_id}/signoff", response_model=RequestOut, dependencies=[Depends(csrf_protected)],
             summary="The node custodian's sign-off: approve or reject")
def signoff(request: Request, request_id: int, body: DecisionIn,
            principal: Principal = Depends(require("outputs.signoff"))):
    return _decide(request, principal, request_id, airlock_review.sign_off, body)


@router.get("/{request_id}/files/{file_id}", summary="Download a file (researchers: once released)")
def download(request: Request, request_id: int, file_id: int, version: str = "submitted",
             principal: Principal = Depends(require("outputs.view"))) -> Response:
    """Researchers get exactly the released bytes; checkers may ask for ``version=protected``."""
    view = airlock.get(db(request), request_id)
    if view is None:
        raise HTTPException(404, "no such output request")
    response = file_response(request, principal, request_id, file_id, version)
    if response.status_code != 200:
        raise HTTPException(response.status_code, "not available")
    return response
