"""Airlock pages for researchers: my output requests, a new request, its detail, downloads.

The workflow is ``phta.governance.airlock``; the automatic checks run in ``phta.execution.airlock``.
Every view of a request and every download is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from phta.execution import airlock as airlock_checks
from phta.governance import airlock, airlock_review, authz
from phta.governance.principal import Principal
from phta.store.blobs import BlobError, BlobStore
from phta.web.forms import submitted_values
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["airlock"], include_in_schema=False)
FILE_SLOTS = 3
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json", "png": "image/png", "svg": "image/svg+xml",
               "html": "text/html", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def db(request: Request):
    return request.app.state.database


def escalate_overdue(request: Request) -> None:
    """Escalate checkers' disagreements that waited too long (PHTA_AIRLOCK_ESCALATION_DAYS) before
    any airlock page or API shows a request's state."""
    airlock_review.escalate_overdue(db(request), after_working_days=request.app.state.settings.airlock_escalation_days)


def not_found(request: Request) -> Response:
    return render(request, "auth_error.html", status_code=404, title="Not found",
                  message="There is no such output request.", sign_in=False)


def not_allowed(request: Request, message: str) -> Response:
    return render(request, "auth_error.html", status_code=403, title="Not allowed", message=message, sign_in=False)


def may_view(request: Request, principal: Principal, view: airlock.RequestView) -> str | None:
    """Why this person may not see this request, or None. Researchers: their own; checkers and the
    output-checking lead: those independent of them; custodians: those of their node."""
    if principal.user_id == view.applicant_user_id:
        return None
    if principal.has_role("output_checker", "output_checking_lead") and \
            airlock_review.may_check(db(request), principal, view.id) is None:
        return None
    if principal.has_role("data_custodian") and airlock_review.may_sign_off(db(request), principal, view.id) is None:
        return None
    return "you may not see this output request"


async def read_uploads(request: Request) -> tuple[dict, list[airlock_checks.Upload], dict]:
    """(context fields, uploads, every field as submitted: to re-show the form after an error)."""
    form = await request.form()
    submitted = submitted_values(form)
    context = {name: str(form.get(name) or "") for name in airlock.CONTEXT_FIELDS}
    context["project_node"] = str(form.get("project_node") or "")
    uploads = []
    for slot in range(1, FILE_SLOTS + 1):
        upload = form.get(f"file_{slot}")
        if upload is None or isinstance(upload, str) or not upload.filename:
            continue
        try:
            airlock_checks.refuse_oversized(upload.filename, upload.size)
        except airlock_checks.FilesRefused as exc:
            await form.close()
            exc.submitted = submitted
            raise
        uploads.append(airlock_checks.Upload(upload.filename, await upload.read(), str(form.get(f"shows_{slot}") or "")))
    await form.close()  # the form was parsed outside FastAPI's own handling, so close its spooled files here
    return context, uploads, submitted


def _form(request: Request, principal: Principal, status_code: int = 200, error: str | None = None,
          findings: list | None = None, values: dict | None = None) -> HTMLResponse:
    return render(request, "output_form.html", status_code=status_code, error=error, findings=findings or [],
                  values=values or {}, fields=airlock.CONTEXT_FIELDS, slots=range(1, FILE_SLOTS + 1),
                  projects=airlock.approved_projects(db(request), principal))


@router.get("/outputs", response_class=HTMLResponse)
def my_requests(request: Request, principal: Principal = Depends(require("outputs.request"))) -> HTMLResponse:
    escalate_overdue(request)
    return render(request, "outputs.html", requests=airlock.list_for_applicant(db(request), principal))


@router.get("/outputs/new", response_class=HTMLResponse)
def new_request(request: Request, principal: Principal = Depends(require("outputs.request"))) -> HTMLResponse:
    return _form(request, principal)


@router.post("/outputs/new", dependencies=[Depends(csrf_protected)])
async def create_request(request: Request, principal: Principal = Depends(require("outputs.request"))) -> Response:
    try:
        context, uploads, submitted = await read_uploads(request)
    except airlock_checks.FilesRefused as exc:
        return _form(request, principal, 400, "A file is too large.", exc.findings, getattr(exc, "submitted", None))
    project, _, node = context.pop("project_node").partition(":")
    try:
        project_id = int(project or 0)
    except ValueError:
        return _form(request, principal, 400, "choose one of your approved projects", values=submitted)
    try:
        request_id = airlock_checks.submit(db(request), principal, project_id, node, context, uploads,
                                             policy_spec=request.app.state.settings.disclosure_policy)
    except airlock_checks.FilesRefused as exc:
        return _form(request, principal, 400, "Some files failed the automatic checks. Fix them and submit again.",
                     exc.findings, submitted)
    except airlock.AirlockError as exc:
        return _form(request, principal, 400, str(exc), values=submitted)
    return html_redirect(f"/outputs/{request_id}")


def _detail(request: Request, principal: Principal, request_id: int, status_code: int = 200,
            error: str | None = None, findings: list | None = None, submitted: dict | None = None) -> Response:
    escalate_overdue(request)
    view = airlock.get(db(request), request_id)
    if view is None:
        return not_found(request)
    authz.authorise(principal, "outputs.request", view)
    airlock.record_access(db(request), principal, request_id, "output.viewed", {"page": "researcher"})
    return render(request, "output.html", status_code=status_code, view=view, error=error, findings=findings or [],
                  reviews=airlock_review.visible_reviews(view, principal), decisions=airlock_review.DECISIONS,
                  fields=airlock.CONTEXT_FIELDS, slots=range(1, FILE_SLOTS + 1), submitted=submitted)


@router.get("/outputs/{request_id}", response_class=HTMLResponse)
def view_request(request: Request, request_id: int,
                 principal: Principal = Depends(require("outputs.request"))) -> Response:
    return _detail(request, principal, request_id)


@router.post("/outputs/{request_id}/resubmit", dependencies=[Depends(csrf_protected)])
async def resubmit_request(request: Request, request_id: int,
                           principal: Principal = Depends(require("outputs.request"))) -> Response:
    view = airlock.get(db(request), request_id)
    if view is None:
        return not_found(request)
    authz.authorise(principal, "outputs.request", view)
    try:
        context, uploads, submitted = await read_uploads(request)
    except airlock_checks.FilesRefused as exc:
        return _detail(request, principal, request_id, 400, "A file is too large.", exc.findings,
                       getattr(exc, "submitted", None))
    context.pop("project_node")
    try:
        airlock_checks.resubmit(db(request), principal, request_id, context, uploads,
                                 policy_spec=request.app.state.settings.disclosure_policy)
    except airlock_checks.FilesRefused as exc:
        return _detail(request, principal, request_id, 400, "Some files failed the automatic checks.", exc.findings,
                       submitted)
    except airlock.AirlockError as exc:
        return _detail(request, principal, request_id, 400, str(exc), submitted=submitted)
    return html_redirect(f"/outputs/{request_id}")


def file_response(request: Request, principal: Principal, request_id: int, file_id: int,
                  version: str = "submitted") -> Response:
    """A file's bytes, for whoever may have them (audited). Researchers get exactly the bytes that
    were released (the file as submitted or its protected version), and only once released;
    checkers and custodians may read the file as submitted or (``version="protected"``) the
    protected version the rules produced."""
    view = airlock.get(db(request), request_id)
    if view is None:
        return not_found(request)
    authz.authorise(principal, "outputs.view", view)
    problem = may_view(request, principal, view)
    if problem:
        return not_allowed(request, problem)
    file = next((f for f in view.files if f.id == file_id), None)
    if file is None:
        return not_found(request)
    checking = principal.user_id != view.applicant_user_id
    if not checking:
        if file.released_at is None or file.released_sha256 is None:
            return not_allowed(request, "this file has not been released")
        name, sha256 = file.released_name or file.file_name, file.released_sha256
    elif version == "released" and file.released_sha256 is not None:
        name, sha256 = file.released_name or file.file_name, file.released_sha256
    elif version == "protected":
        if file.protected is None:
            return not_found(request)
        name, sha256 = file.protected.file_name, file.protected.sha256
    else:
        name, sha256 = file.file_name, file.sha256
    try:
        data = BlobStore(db(request).data_dir).get(sha256)
    except BlobError as exc:
        return render(request, "auth_error.html", status_code=500, title="File unavailable", message=str(exc),
                      sign_in=False)
    airlock.record_access(db(request), principal, request_id, "output.downloaded",
                          {"file_name": name, "sha256": sha256})
    kind = name.rsplit(".", 1)[-1].lower()
    # An attachment, never rendered in our origin: an HTML or SVG output cannot run in the app's pages.
    return Response(data, media_type=MEDIA_TYPES.get(kind, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
                             "X-Checksum-SHA256": sha256})


@router.get("/outputs/{request_id}/files/{file_id}")
def download(request: Request, request_id: int, file_id: int, version: str = "submitted",
             principal: Principal = Depends(require("outputs.view"))) -> Response:
    return file_response(request, principal, request_id, file_id, version)
