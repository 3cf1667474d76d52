"""The front door's JSON API: every state change of an enquiry or case, with the same
permissions as the pages (``phta.governance.authz``), and the operator's rules and dashboard."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from phta.frontdoor import case_actions, cases, dashboard, rules_store, staffing
from phta.frontdoor.triage import RulesError
from phta.governance.principal import Principal
from phta.web.frontdoor_support import db, load_case, now
from phta.web.security import csrf_protected, require

router = APIRouter(prefix="/api/v1", tags=["frontdoor"], dependencies=[Depends(csrf_protected)])


async def _body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise case_actions.CaseError("body: expected a JSON object") from None
    if not isinstance(body, dict):
        raise case_actions.CaseError("body: expected a JSON object")
    return body


def _str(body: dict, key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise case_actions.CaseError(f"{key}: expected text")
    return value


def _int(body: dict, key: str, required: bool = True) -> int | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise case_actions.CaseError(f"{key}: expected a whole number")
    return value


async def _act(request: Request, principal: Principal, case_id: int, action, status_code: int = 200) -> Response:
    """Check the caller may see the case, run ``action(body)``; answer with the case."""
    if load_case(request, principal, case_id) is None:
        return JSONResponse({"detail": f"no case {case_id}"}, status_code=404)
    try:
        body = await _body(request) if request.headers.get("content-length") not in (None, "0") else {}
        result = action(body)
    except case_actions.CaseError as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    except case_actions.CaseNotFound as e:
        return JSONResponse({"detail": str(e)}, status_code=404)
    view = cases.get_case(db(request), case_id, now(request))
    answer = view.summary() | ({"created": result} if result is not None else {})
    return JSONResponse(answer, status_code=status_code)


@router.post("/enquiries", summary="Make an enquiry (triaged at once; answers with the case)")
async def create_enquiry(request: Request, principal: Principal = Depends(require("frontdoor.enquire"))) -> Response:
    try:
        body = await _body(request)
        case_id = cases.submit_enquiry(db(request), principal, body, now(request))
    except cases.EnquiryInvalid as e:
        return JSONResponse({"detail": "the enquiry has problems", "problems": e.problems}, status_code=400)
    except case_actions.CaseError as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    return JSONResponse(cases.get_case(db(request), case_id, now(request)).summary(), status_code=201)


@router.get("/enquiries", summary="Your own enquiries and their cases")
def list_enquiries(request: Request, principal: Principal = Depends(require("frontdoor.enquire"))) -> JSONResponse:
    return JSONResponse([c.summary() for c in cases.cases_of(db(request), principal, now(request))])


@router.get("/cases", summary="The account manager's queue (?all=1: every open case)")
def list_cases(request: Request, principal: Principal = Depends(require("frontdoor.manage"))) -> JSONResponse:
    everyone = request.query_params.get("all") == "1"
    return JSONResponse([c.summary() for c in cases.queue(db(request), principal, now(request), everyone=everyone)])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@router.get("/cases/{case_id}", summary="A case with its messages, tasks, documents and history")
def get_case(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.case"))) -> Response:
    view = load_case(request, principal, case_id)
    if view is None:
        return JSONResponse({"detail": f"no case {case_id}"}, status_code=404)
    return JSONResponse(view.summary() | {
        "messages": [{"id": m.id, "from_hub": m.from_hub, "body": m.body, "at": _iso(m.created_at)}
                     for m in view.messages],
        "tasks": [{"id": t.id, "title": t.title, "due_on": t.due_on, "done": t.done_at is not None}
                  for t in view.tasks],
        "documents": [{"id": d.id, "file_name": d.file_name, "size": d.size, "sha256": d.sha256}
                      for d in view.documents],
        "history": [{"at": _iso(h.at), "from": h.from_status, "to": h.to_status, "note": h.note}
                    for h in view.history]})


@router.post("/cases/{case_id}/messages", summary="Send a message on a case")
async def message(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.case"))) -> Response:
    return await _act(request, principal, case_id, lambda b: case_actions.add_message(
        db(request), principal, case_id, _str(b, "body"), now(request)), 201)


@router.post("/cases/{case_id}/documents", summary="Attach a document (JSON: file_name, content_base64)")
async def document(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.case"))) -> Response:
    def add(body: dict) -> int:
        try:
            data = base64.b64decode(_str(body, "content_base64"), validate=True)
        except (binascii.Error, ValueError):
            raise case_actions.CaseError("content_base64: not valid base64") from None
        return case_actions.add_document(db(request), principal, case_id, _str(body, "file_name"), data, now(request))

    return await _act(request, principal, case_id, add, 201)


@router.post("/cases/{case_id}/pick-up", summary="Take the case (assigned to you; triaged becomes engaged)")
async def pick_up(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id,
                      lambda b: case_actions.pick_up(db(request), principal, case_id, now(request)))


@router.post("/cases/{case_id}/assign", summary="Assign the case to an account manager (manager_user_id)")
async def assign(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda b: case_actions.assign(
        db(request), principal, case_id, _int(b, "manager_user_id"), now(request)))


@router.post("/cases/{case_id}/status", summary="Move the case on (status; outcome when closing; note)")
async def status(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda b: case_actions.transition(
        db(request), principal, case_id, _str(b, "status"), now(request),
        outcome=_str(b, "outcome", required=False), note=_str(b, "note", required=False) or ""))


@router.post("/cases/{case_id}/tasks", summary="Add a task (title, due_on YYYY-MM-DD)")
async def task(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda b: case_actions.add_task(
        db(request), principal, case_id, _str(b, "title"), _str(b, "due_on", required=False), now(request)), 201)


@router.post("/cases/{case_id}/tasks/{task_id}/done", summary="Mark a task done")
async def task_done(request: Request, case_id: int, task_id: int,
                    principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda b: case_actions.complete_task(
        db(request), principal, case_id, task_id, now(request)))


@router.post("/cases/{case_id}/links", summary="Open an access request, feasibility query or evaluation, pre-filled")
async def link(request: Request, case_id: int, principal: Principal = Depends(require("frontdoor.manage"))) -> Response:
    return await _act(request, principal, case_id, lambda b: case_actions.open_link(
        db(request), principal, case_id, _str(b, "kind"), now(request), _int(b, "condition", required=False)), 201)


@router.get("/frontdoor/triage-rules", summary="The triage rules in force (YAML text)")
def get_rules(request: Request, principal: Principal = Depends(require("frontdoor.rules"))) -> JSONResponse:
    return JSONResponse({"source": rules_store.current_source(db(request))})


@router.put("/frontdoor/triage-rules", summary="Replace the triage rules (validated; YAML text in 'source')")
async def put_rules(request: Request, principal: Principal = Depends(require("frontdoor.rules"))) -> JSONResponse:
    try:
        source = _str(await _body(request), "source")
        rules = rules_store.save_rules(db(request), principal, source, now(request))
    except (RulesError, case_actions.CaseError) as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    return JSONResponse({"rules": len(rules)})


@router.get("/frontdoor/managers", summary="Account managers and the pathways each takes")
def get_managers(request: Request, principal: Principal = Depends(require("frontdoor.rules"))) -> JSONResponse:
    return JSONResponse([{"user_id": m.user_id, "name": m.name, "pathways": sorted(m.pathways)}
                         for m in staffing.managers(db(request))])


@router.put("/frontdoor/managers/{user_id}", summary="Set the pathways an account manager takes ('pathways')")
async def put_manager(request: Request, user_id: int,
                      principal: Principal = Depends(require("frontdoor.rules"))) -> JSONResponse:
    try:
        staffing.set_pathways(db(request), principal, user_id, (await _body(request)).get("pathways"), now(request))
    except (staffing.StaffingError, case_actions.CaseError) as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    return JSONResponse({"user_id": user_id})


@router.get("/frontdoor/dashboard", summary="Enquiry figures for the operator")
def dashboard_json(request: Request, principal: Principal = Depends(require("frontdoor.dashboard"))) -> JSONResponse:
    all_cases = cases.all_cases(db(request), now(request))
    d = dashboard.summarise(all_cases, dashboard.converted_case_ids(db(request)))
    return JSONResponse({"total": d.total, "by_pathway": dict(d.by_pathway), "by_status": dict(d.by_status),
                         "by_sector": dict(d.by_sector), "by_month": dict(d.by_month),
                         "median_first_response_working_days": d.median_first_response,
                         "median_close_working_days": d.median_close, "first_response_overdue": d.overdue,
                         "converted_to_projects": d.converted})
