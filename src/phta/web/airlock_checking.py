"""Airlock pages for output checkers (queue and review screen) and node custodians (sign-off).

The review screen shows each file's automatic checks, failing cells highlighted with the reason
beside each, and only the decisions the checker may see (the first pass is blinded).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from phta.governance import airlock, airlock_review
from phta.governance.principal import Principal
from phta.web.airlock import db, escalate_overdue, not_allowed, not_found
from phta.web.forms import submitted_values
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["airlock"], include_in_schema=False)
_SCREENS = {"check": "/checking", "signoff": "/signoff"}  # where each stage's review screen lives


@router.get("/checking", response_class=HTMLResponse)
def checker_queue(request: Request, principal: Principal = Depends(require("outputs.check"))) -> HTMLResponse:
    escalate_overdue(request)
    return render(request, "checking_list.html", requests=airlock_review.checker_queue(db(request), principal))


def _review_page(request: Request, principal: Principal, request_id: int, *, stage: str, status_code: int = 200,
                 error: str | None = None, submitted: dict | None = None) -> Response:
    escalate_overdue(request)
    view = airlock.get(db(request), request_id)
    if view is None:
        return not_found(request)
    if stage == "check":
        problem = airlock_review.may_check(db(request), principal, request_id)
    else:
        problem = airlock_review.may_sign_off(db(request), principal, request_id)
    if problem:
        return not_allowed(request, problem)
    airlock.record_access(db(request), principal, request_id, "output.viewed", {"page": stage})
    reviews = airlock_review.visible_reviews(view, principal)
    decided = airlock_review.has_decided(view, principal.user_id)
    if stage == "check":
        can_decide = view.state in airlock.OPEN_FOR_CHECKERS and not decided
    else:
        can_decide = view.state == "awaiting_custodian"
    return render(request, "checking.html", status_code=status_code, view=view, reviews=reviews, error=error,
                  stage=stage, action=f"{_SCREENS[stage]}/{request_id}", can_decide=can_decide, decided=decided,
                  decisions=airlock_review.DECISIONS if stage == "check" else airlock_review.CUSTODIAN_DECISIONS,
                  blinded=stage == "check" and airlock_review.first_pass_open(view),
                  fields=airlock.CONTEXT_FIELDS, submitted=submitted,
                  approved_version=airlock_review.release_version(
                      [r for r in view.reviews if r.round == view.round and r.stage != "custodian"]))


async def _record(request: Request, principal: Principal, request_id: int, decide: Callable[..., object], *,
                  stage: str) -> Response:
    """Record the form's decision with ``decide`` (a checker's check or a custodian's sign-off) and
    go back to the screen; a refusal shows the screen again with the reason (400)."""
    form = await request.form()
    try:
        decide(db(request), principal, request_id, str(form.get("decision") or ""), str(form.get("comment") or ""))
    except LookupError:
        return not_found(request)
    except airlock.AirlockError as exc:
        return _review_page(request, principal, request_id, stage=stage, status_code=400, error=str(exc),
                            submitted=submitted_values(form))
    return html_redirect(f"{_SCREENS[stage]}/{request_id}")


@router.get("/checking/{request_id}", response_class=HTMLResponse)
def review_screen(request: Request, request_id: int,
                  principal: Principal = Depends(require("outputs.check"))) -> Response:
    return _review_page(request, principal, request_id, stage="check")


@router.post("/checking/{request_id}", dependencies=[Depends(csrf_protected)])
async def record_decision(request: Request, request_id: int,
                          principal: Principal = Depends(require("outputs.check"))) -> Response:
    return await _record(request, principal, request_id, airlock_review.record_check, stage="check")


@router.get("/signoff", response_class=HTMLResponse)
def custodian_queue(request: Request, principal: Principal = Depends(require("outputs.signoff"))) -> HTMLResponse:
    return render(request, "signoff_list.html", requests=airlock_review.custodian_queue(db(request), principal))


@router.get("/signoff/{request_id}", response_class=HTMLResponse)
def signoff_screen(request: Request, request_id: int,
                   principal: Principal = Depends(require("outputs.signoff"))) -> Response:
    return _review_page(request, principal, request_id, stage="signoff")


@router.post("/signoff/{request_id}", dependencies=[Depends(csrf_protected)])
async def record_signoff(request: Request, request_id: int,
                         principal: Principal = Depends(require("outputs.signoff"))) -> Response:
    return await _record(request, principal, request_id, airlock_review.sign_off, stage="signoff")

