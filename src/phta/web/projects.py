"""Pages for data access requests: my projects, the request form, the committee review screen."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from phta.governance import authz, coapplicants, projects, request_form, review
from phta.governance.principal import Principal
from phta.governance.working_days import working_days
from phta.web.forms import submitted_values
from phta.web.node_registry import registered_nodes
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["projects"], include_in_schema=False)


def _db(request: Request):
    return request.app.state.database


def _form_context(request: Request, answers: dict, problems: dict[str, str] | None = None) -> dict:
    return {"questions": request_form.QUESTIONS, "safes": request_form.SAFES, "answers": answers,
            "problems": problems or {}, "registries": {"nodes": registered_nodes(request)}}


async def _raw_form(request: Request) -> dict:
    form = await request.form()
    raw: dict = {}
    for q in request_form.QUESTIONS:
        several = q.kind == "multi" or q.choices_from
        raw[q.name] = [str(v) for v in form.getlist(q.name)] if several else form.get(q.name)
    raw["_action"] = form.get("action")
    return raw


def _project_or_404(request: Request, project_id: int) -> projects.ProjectView | Response:
    project = projects.get(_db(request), project_id)
    if project is None:
        return render(request, "auth_error.html", status_code=404, title="Not found",
                      message="There is no such request.", sign_in=False)
    return project


@router.get("/projects", response_class=HTMLResponse)
def my_projects(request: Request, principal: Principal = Depends(require("projects.apply"))) -> HTMLResponse:
    return render(request, "projects.html", projects=projects.list_for_applicant(_db(request), principal))


@router.get("/projects/new", response_class=HTMLResponse, dependencies=[Depends(require("projects.apply"))])
def new_project(request: Request) -> HTMLResponse:
    return render(request, "project_form.html", project=None,
                  **_form_context(request, request_form.normalise(_prefilled(request))))


def _prefilled(request: Request) -> dict:
    """Answers a link may pre-fill: the front door opens a request from a case, the library's
    "request access" names a dataset and its node. Only the form's own questions are read,
    datasets and nodes only where they are choices the form offers; nothing is saved until sent."""
    params = request.query_params
    prefill = {q.name: params.getlist(q.name) if q.kind == "multi" else params.get(q.name)
               for q in request_form.QUESTIONS if q.name in params}
    nodes = registered_nodes(request)
    if "datasets" in params:
        prefill["datasets"] = [d for d in params.getlist("datasets") if d in request_form.DATASETS]
    if "nodes" in params:
        prefill["nodes"] = [n for n in params.getlist("nodes") if n in nodes]
    return prefill


@router.post("/projects/new", dependencies=[Depends(csrf_protected)])
async def create_project(request: Request, principal: Principal = Depends(require("projects.apply"))) -> Response:
    raw = await _raw_form(request)
    try:
        project_id = projects.create_draft(_db(request), principal, raw)
    except projects.ValidationFailed as exc:
        return render(request, "project_form.html", status_code=400, project=None,
                      **_form_context(request, request_form.normalise(raw), exc.problems))
    if raw["_action"] == "submit":
        return await _save(request, principal, project_id, raw)
    return html_redirect(f"/projects/{project_id}/edit?saved=1")


@router.get("/projects/{project_id}/edit", response_class=HTMLResponse)
def edit_project(request: Request, project_id: int, principal: Principal = Depends(require("projects.apply"))) -> Response:
    project = _project_or_404(request, project_id)
    if isinstance(project, Response):
        return project
    authz.authorise(principal, "projects.view", project)
    return render(request, "project_form.html", project=project, saved=request.query_params.get("saved"),
                  **_form_context(request, project.answers))


async def _save(request: Request, principal: Principal, project_id: int, raw: dict) -> Response:
    project = _project_or_404(request, project_id)
    if isinstance(project, Response):
        return project
    authz.authorise(principal, "projects.view", project)
    submit = raw["_action"] == "submit"
    try:
        projects.save(_db(request), principal, project_id, raw, submit=submit, nodes=registered_nodes(request))
    except projects.ValidationFailed as exc:
        return render(request, "project_form.html", status_code=400, project=projects.get(_db(request), project_id),
                      **_form_context(request, request_form.normalise(raw), exc.problems))
    except projects.ProjectError as exc:
        return render(request, "auth_error.html", status_code=409, title="Cannot change this request",
                      message=str(exc), sign_in=False)
    return html_redirect(f"/projects/{project_id}" if submit else f"/projects/{project_id}/edit?saved=1")


@router.post("/projects/{project_id}/edit", dependencies=[Depends(csrf_protected)])
async def save_project(request: Request, project_id: int, principal: Principal = Depends(require("projects.apply"))) -> Response:
    return await _save(request, principal, project_id, await _raw_form(request))


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def view_project(request: Request, project_id: int, principal: Principal = Depends(require("projects.view"))) -> Response:
    project = _project_or_404(request, project_id)
    if isinstance(project, Response):
        return project
    authz.authorise(principal, "projects.view", project)
    return _project_page(request, principal, project)


def _project_page(request: Request, principal: Principal, project: projects.ProjectView, status_code: int = 200,
                  coapplicant_error: str | None = None, submitted: dict | None = None) -> Response:
    is_applicant = project.applicant_user_id == principal.user_id
    blinded = review.visible_reviews(_db(request), project.id, principal.user_id)
    return render(request, "project.html", status_code=status_code, project=project,
                  reviews=blinded.shown, hidden_reviews=blinded.hidden, is_applicant=is_applicant,
                  can_manage_coapplicants=is_applicant, coapplicant_error=coapplicant_error,
                  named_coapplicants=coapplicants.shown_to(principal, project),
                  decisions=review.DECISIONS, working_days=working_days, submitted=submitted,
                  **_form_context(request, project.answers))


@router.post("/projects/{project_id}/coapplicants", dependencies=[Depends(csrf_protected)])
async def add_coapplicant(request: Request, project_id: int,
                          principal: Principal = Depends(require("projects.apply"))) -> Response:
    email = str((await request.form()).get("email") or "")
    problem: list[str] = []

    def add(db, who, pid) -> None:
        try:
            coapplicants.add(db, who, pid, email)
        except coapplicants.CoapplicantError as exc:  # shown next to the e-mail field, not as a conflict
            problem.append(str(exc))

    response = _applicant_action(request, principal, project_id, add)
    if problem:
        return _project_page(request, principal, projects.get(_db(request), project_id), 400, problem[0],
                             submitted={"email": email})
    return response


@router.post("/projects/{project_id}/coapplicants/{coapplicant_id}/remove", dependencies=[Depends(csrf_protected)])
def remove_coapplicant(request: Request, project_id: int, coapplicant_id: int,
                       principal: Principal = Depends(require("projects.apply"))) -> Response:
    return _applicant_action(request, principal, project_id,
                             lambda db, who, pid: coapplicants.remove(db, who, pid, coapplicant_id))


def _applicant_action(request: Request, principal: Principal, project_id: int, action) -> Response:
    project = _project_or_404(request, project_id)
    if isinstance(project, Response):
        return project
    authz.authorise(principal, "projects.view", project)
    try:
        action(_db(request), principal, project_id)
    except projects.ProjectError as exc:
        return render(request, "auth_error.html", status_code=409, title="Cannot do that", message=str(exc), sign_in=False)
    return html_redirect(f"/projects/{project_id}")


@router.post("/projects/{project_id}/withdraw", dependencies=[Depends(csrf_protected)])
def withdraw_project(request: Request, project_id: int, principal: Principal = Depends(require("projects.apply"))) -> Response:
    return _applicant_action(request, principal, project_id, projects.withdraw)


@router.post("/projects/{project_id}/acknowledge", dependencies=[Depends(csrf_protected)])
def acknowledge(request: Request, project_id: int, principal: Principal = Depends(require("projects.apply"))) -> Response:
    return _applicant_action(request, principal, project_id, projects.acknowledge_conditions)


@router.get("/review", response_class=HTMLResponse, dependencies=[Depends(require("projects.review"))])
def review_queue(request: Request) -> HTMLResponse:
    return render(request, "review_list.html", projects=projects.list_in_states(_db(request), projects.UNDER_REVIEW))


@router.get("/review/{project_id}", response_class=HTMLResponse)
def review_screen(request: Request, project_id: int, principal: Principal = Depends(require("projects.review"))) -> Response:
    return _review_page(request, principal, project_id)


def _review_page(request: Request, principal: Principal, project_id: int, status_code: int = 200, error: str | None = None,
                 submitted: dict | None = None) -> Response:
    project = _project_or_404(request, project_id)
    if isinstance(project, Response):
        return project
    authz.authorise(principal, "projects.view", project)  # not an unsubmitted draft
    blinded = review.visible_reviews(_db(request), project_id, principal.user_id)
    mine = next((r for r in blinded.shown
                 if r.round == project.round and r.reviewer_user_id == principal.user_id), None)
    recorded = mine is not None and request.query_params.get("recorded") == "1"
    return render(request, "review.html", status_code=status_code, project=project, can_manage_coapplicants=False,
                  named_coapplicants=coapplicants.shown_to(principal, project),
                  reviews=blinded.shown, hidden_reviews=blinded.hidden, my_review=mine, recorded=recorded, reviewing=True,
                  decisions=review.DECISIONS, error=error, rule=review.DEFAULT_RULE, submitted=submitted,
                  **_form_context(request, project.answers))


@router.post("/review/{project_id}", dependencies=[Depends(csrf_protected)])
async def submit_review(request: Request, project_id: int, principal: Principal = Depends(require("projects.review"))) -> Response:
    form = await request.form()
    try:
        review.record_review(_db(request), principal, project_id, str(form.get("decision") or ""),
                             conditions=str(form.get("conditions") or ""), comment=str(form.get("comment") or ""))
    except LookupError:
        return _review_page(request, principal, project_id)
    except review.ReviewError as exc:
        return _review_page(request, principal, project_id, status_code=400, error=str(exc),
                            submitted=submitted_values(form))
    # Post/redirect/get to a confirmation: a reload cannot vote twice, and the page says it counted.
    return html_redirect(f"/review/{project_id}?recorded=1")
