"""Front-door pages: the enquiry form, the enquirer's cases, the account manager's queue, and
the case page where both sides work (messages, documents; the hub also tasks, status, links)."""

from __future__ import annotations

import inspect
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from phta.frontdoor import case_actions, cases, listings
from phta.frontdoor.vocabulary import (
    LINK_KINDS,
    NEEDS,
    OUTCOMES,
    SECTORS,
    STAGES,
    STATUSES,
    TRANSITIONS,
    label,
)
from phta.governance import authz
from phta.governance.principal import Principal
from phta.query.simple_cohort import conditions
from phta.web.frontdoor_support import db, load_case, not_found, now
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["frontdoor"], include_in_schema=False)
csrf = [Depends(csrf_protected)]


def _form(request: Request, *, answers: dict | None = None, problems: dict | None = None,
          status_code: int = 200) -> HTMLResponse:
    principal = request.state.principal
    answers = answers or {"organisation": principal.organisation or "" if principal else ""}
    return render(request, "fd_enquire.html", status_code=status_code, answers=answers, problems=problems or {},
                  needs=NEEDS, stages=STAGES, sectors=SECTORS)


@router.get("/enquire", response_class=HTMLResponse, dependencies=[Depends(require("frontdoor.enquire"))])
def enquire_form(request: Request) -> HTMLResponse:
    return _form(request)


@router.post("/enquire", dependencies=csrf)
async def enquire(request: Request, principal: Principal = Depends(require("frontdoor.enquire"))) -> Response:
    form = await request.form()
    raw = {k: form.get(k) for k in ("organisation", "stage", "sector", "text")} | {"needs": form.getlist("needs")}
    try:
        case_id = cases.submit_enquiry(db(request), principal, raw, now(request))
    except cases.EnquiryInvalid as e:
        return _form(request, answers=raw, problems=e.problems, status_code=400)
    return html_redirect(f"/cases/{case_id}?submitted=1")


@router.get("/enquiries", response_class=HTMLResponse)
def my_enquiries(request: Request, principal: Principal = Depends(require("frontdoor.enquire"))) -> HTMLResponse:
    return render(request, "fd_enquiries.html", cases=cases.cases_of(db(request), principal, now(request)),
                  statuses=STATUSES, label=label)


@router.get("/cases", response_class=HTMLResponse)
def case_queue(request: Request, principal: Principal = Depends(require("frontdoor.manage"))) -> HTMLResponse:
    everyone = request.query_params.get("all") == "1"
    return render(request, "fd_queue.html", everyone=everyone, statuses=STATUSES, label=label,
                  cases=cases.queue(db(request), principal, now(request), everyone=everyone))


def _case_page(request: Request, principal: Principal, view: cases.CaseView, *, error: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    hub = authz.allowed(principal, "frontdoor.manage")
    return render(request, "fd_case.html", status_code=status_code, case=view, hub=hub, error=error,
                  submitted=request.query_params.get("submitted"), label=label, needs=NEEDS, stages=STAGES,
                  sectors=SECTORS, statuses=STATUSES, outcomes=OUTCOMES, link_kinds=LINK_KINDS,
                  next_statuses=sorted(TRANSITIONS[view.status] - {"closed"}),
                  assets=listings.asset_names(db(request)), partners=listings.partners(db(request)),
                  pathways=listings.pathways(db(request)), conditions=conditions() if hub else [])


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int,
              principal: Principal = Depends(require("frontdoor.case"))) -> HTMLResponse:
    view = load_case(request, principal, case_id)
    if view is None:
        return not_found(request)
    return _case_page(request, principal, view)


async def _act(request: Request, principal: Principal, case_id: int, action) -> Response:
    """Run ``action(form)`` on a case the caller may see; back to the case page, or the page
    again with the reason (400) when the change is not possible."""
    form = await request.form()
    try:
        view = load_case(request, principal, case_id)
        if view is None:
            return not_found(request)
        result = action(form)
        if inspect.isawaitable(result):
            await result
    except case_actions.CaseError as e:
        fresh = cases.get_case(db(request), case_id, now(request))
        return _case_page(request, principal, fresh, error=str(e), status_code=400)
    except case_actions.CaseNotFound:
        return not_found(request, "item on this case")
    finally:
        await form.close()  # parsed outside FastAPI's own handling: close its spooled files here
    return html_redirect(f"/cases/{case_id}")


@router.post("/cases/{case_id}/messages", dependencies=csrf)
async def post_message(request: Request, case_id: int,
                       principal: Principal = Depends(require("frontdoor.case"))) -> Response:
    return await _act(request, principal, case_id, lambda f: case_actions.add_message(
        db(request), principal, case_id, str(f.get("body") or ""), now(request)))


@router.post("/cases/{case_id}/documents", dependencies=csrf)
async def post_document(request: Request, case_id: int,
                        principal: Principal = Depends(require("frontdoor.case"))) -> Response:
    async def add(form) -> None:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise case_actions.CaseError("document: choose a file")
        data = await upload.read(case_actions.MAX_DOCUMENT_BYTES + 1)
        case_actions.add_document(db(request), principal, case_id, upload.filename or "", data, now(request))

    return await _act(request, principal, case_id, add)


@router.get("/cases/{case_id}/documents/{document_id}")
def get_document(request: Request, case_id: int, document_id: int,
                 principal: Principal = Depends(require("frontdoor.case"))) -> Response:
    view = load_case(request, principal, case_id)
    if view is None:
        return not_found(request)
    try:
        name, data = case_actions.get_document(db(request), case_id, document_id)
    except case_actions.CaseNotFound:
        return not_found(request, "document")
    # A header is Latin-1: an ASCII fallback name, and the real one per RFC 6266 / 5987.
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                                                    f"filename*=UTF-8''{quote(name, safe='')}",
                             "X-Content-Type-Options": "nosniff"})


@router.post("/cases/{case_id}/pick-up", dependencies=csrf)
async def pick_up(request: Request, case_id: int,
                  principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id,
                      lambda f: case_actions.pick_up(db(request), principal, case_id, now(request)))


@router.post("/cases/{case_id}/status", dependencies=csrf)
async def set_status(request: Request, case_id: int,
                     principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda f: case_actions.transition(
        db(request), principal, case_id, str(f.get("status") or ""), now(request),
        outcome=str(f.get("outcome") or "") or None, note=str(f.get("note") or "")[:2000]))


@router.post("/cases/{case_id}/tasks", dependencies=csrf)
async def add_task(request: Request, case_id: int,
                   principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda f: case_actions.add_task(
        db(request), principal, case_id, str(f.get("title") or ""), str(f.get("due_on") or "") or None,
        now(request)))


@router.post("/cases/{case_id}/tasks/{task_id}/done", dependencies=csrf)
async def task_done(request: Request, case_id: int, task_id: int,
                    principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda f: case_actions.complete_task(
        db(request), principal, case_id, task_id, now(request)))


def _condition(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise case_actions.CaseError(f"condition: {value!r} is not a condition") from None


@router.post("/cases/{case_id}/links", dependencies=csrf)
async def open_link(request: Request, case_id: int,
                    principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda f: case_actions.open_link(
        db(request), principal, case_id, str(f.get("kind") or ""), now(request), _condition(f.get("condition"))))
