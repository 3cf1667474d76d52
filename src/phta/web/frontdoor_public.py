"""The portal's public pages (no sign-in): showcase, asset directory, opportunities, challenges,
events and their iCalendar export; and responding to a challenge (signed in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from phta.catalogue import library
from phta.execution.network import region_stores
from phta.frontdoor import listings, showcase
from phta.frontdoor.charts import bar_chart
from phta.frontdoor.vocabulary import (
    ASSET_KINDS,
    OPPORTUNITY_KINDS,
    RESPONDER_KINDS,
    SECTORS,
    label,
)
from phta.governance import authz
from phta.governance.principal import Principal
from phta.web.frontdoor_support import db, not_found, now
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["portal"])
public = [Depends(require("public.read"))]


def _asset_filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {"q": q.get("q", "")[:200], "kind": q.get("kind", "") if q.get("kind") in ASSET_KINDS else "",
            "sector": q.get("sector", "") if q.get("sector") in SECTORS else ""}


def _assets(request: Request) -> list[listings.AssetView]:
    extra = listings.node_store_assets(region_stores(request.app.state.settings))
    return listings.assets(db(request), extra=extra, **_asset_filters(request))


def _figures(request: Request) -> showcase.Figures:
    """The showcase's figures, with datasets counted in the regional library once it has records
    (the web layer joins the two parts: the front door and the library do not import each other)."""
    figures = showcase.figures(request.app.state.settings, db(request), now(request))
    in_library = len(library.datasets(db(request)))
    return replace(figures, datasets=in_library) if in_library else figures


@router.get("/showcase", response_class=HTMLResponse, include_in_schema=False, dependencies=public)
async def showcase_page(request: Request) -> HTMLResponse:
    figures = await run_in_threadpool(_figures, request)
    by_kind: dict[str, int] = {}
    for asset in await run_in_threadpool(_assets, request):
        by_kind[label(ASSET_KINDS, asset.kind)] = by_kind.get(label(ASSET_KINDS, asset.kind), 0) + 1
    chart = bar_chart("Facilities and datasets by kind", sorted(by_kind.items()))
    return render(request, "fd_showcase.html", figures=figures, chart=chart)


@router.get("/api/v1/showcase", summary="The showcase's live figures (protected)", dependencies=public)
async def showcase_json(request: Request) -> JSONResponse:
    f = await run_in_threadpool(_figures, request)
    return JSONResponse({"patients_covered": {"value": f.patients.value, "note": f.patients.note,
                                              "purpose": showcase.PURPOSE},
                         "datasets": f.datasets, "approved_projects": f.approved_projects,
                         "evaluations_completed": f.evaluations_completed,
                         "enquiries_handled": f.enquiries_handled,
                         "median_first_response_working_days": f.median_first_response_days})


@router.get("/assets", response_class=HTMLResponse, include_in_schema=False, dependencies=public)
def assets_page(request: Request) -> HTMLResponse:
    return render(request, "fd_assets.html", assets=_assets(request), filters=_asset_filters(request),
                  kinds=ASSET_KINDS, sectors=SECTORS, label=label)


@router.get("/api/v1/assets", summary="The asset directory (q, kind, sector filters)", dependencies=public)
def assets_json(request: Request) -> JSONResponse:
    return JSONResponse([a.as_dict() for a in _assets(request)])


@router.get("/opportunities", response_class=HTMLResponse, include_in_schema=False, dependencies=public)
def opportunities_page(request: Request) -> HTMLResponse:
    kind = request.query_params.get("kind", "")
    kind = kind if kind in OPPORTUNITY_KINDS else ""
    return render(request, "fd_opportunities.html", kind=kind, kinds=OPPORTUNITY_KINDS, label=label,
                  opportunities=listings.opportunities(db(request), now(request).date(), kind))


@router.get("/challenges", response_class=HTMLResponse, include_in_schema=False, dependencies=public)
def challenges_page(request: Request) -> HTMLResponse:
    return render(request, "fd_challenges.html", challenges=listings.challenges(db(request), now(request).date()))


def _new_challenge_page(request: Request, answers: dict | None = None, problems: dict | None = None,
                        status_code: int = 200) -> HTMLResponse:
    principal = request.state.principal
    answers = answers if answers is not None else {"posted_by": principal.organisation or ""}
    return render(request, "fd_challenge_new.html", status_code=status_code, answers=answers,
                  problems=problems or {}, kinds=listings.CHALLENGE_KINDS)


@router.get("/challenges/new", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(require("frontdoor.challenges"))])
def new_challenge(request: Request) -> HTMLResponse:
    return _new_challenge_page(request)


@router.post("/challenges/new", include_in_schema=False, dependencies=[Depends(csrf_protected)])
async def post_challenge(request: Request,
                         principal: Principal = Depends(require("frontdoor.challenges"))) -> Response:
    raw = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    outcome = listings.post_challenge(db(request), principal.user_id, raw, now(request).date())
    if isinstance(outcome, dict):
        return _new_challenge_page(request, raw, outcome, 400)
    return html_redirect(f"/challenges/{outcome}")


@router.post("/api/v1/challenges", summary="Post a challenge on the board (NHS teams, hub)",
             dependencies=[Depends(csrf_protected)])
async def post_challenge_api(request: Request,
                             principal: Principal = Depends(require("frontdoor.challenges"))) -> JSONResponse:
    try:
        raw = await request.json()
    except ValueError:
        return JSONResponse({"detail": "body: expected JSON"}, status_code=400)
    outcome = listings.post_challenge(db(request), principal.user_id, raw if isinstance(raw, dict) else {},
                                      now(request).date())
    if isinstance(outcome, dict):
        return JSONResponse({"detail": "the challenge has problems", "problems": outcome}, status_code=400)
    return JSONResponse({"id": outcome}, status_code=201)


@router.get("/api/v1/challenges/{challenge_id}/responses", summary="Responses to a challenge you posted")
def responses_api(request: Request, challenge_id: int,
                  principal: Principal = Depends(require("frontdoor.challenges"))) -> JSONResponse:
    row = listings.challenge(db(request), challenge_id, date.min)
    if row is None:
        return JSONResponse({"detail": "no such challenge"}, status_code=404)
    authz.authorise(principal, "frontdoor.challenges", listings.owner_of(row))
    return JSONResponse([{"responder_kind": r.responder_kind, "summary": r.summary, "at": r.created_at.isoformat()}
                         for r in listings.challenge_responses(db(request), challenge_id)])


@router.get("/challenges/{challenge_id}", response_class=HTMLResponse, include_in_schema=False,
            dependencies=public)
def challenge_page(request: Request, challenge_id: int) -> HTMLResponse:
    challenge = listings.challenge(db(request), challenge_id, now(request).date())
    if challenge is None:
        return not_found(request, "open challenge")
    sees_responses = authz.allowed(request.state.principal, "frontdoor.challenges", listings.owner_of(challenge))
    return render(request, "fd_challenge.html", challenge=challenge, responder_kinds=RESPONDER_KINDS,
                  responded=request.query_params.get("responded"), error=None, answers={},
                  responses=listings.challenge_responses(db(request), challenge_id) if sees_responses else None)


def _respond(request: Request, principal: Principal, challenge_id: int, raw: dict) -> int | str | None:
    return listings.respond_to_challenge(db(request), principal.user_id, challenge_id, raw, now(request))


@router.post("/challenges/{challenge_id}/responses", include_in_schema=False, dependencies=[Depends(csrf_protected)])
async def respond_page(request: Request, challenge_id: int,
                       principal: Principal = Depends(require("frontdoor.respond"))) -> Response:
    raw = dict(await request.form())
    outcome = _respond(request, principal, challenge_id, raw)
    if outcome is None:
        return not_found(request, "open challenge")
    if isinstance(outcome, str):
        challenge = listings.challenge(db(request), challenge_id, now(request).date())
        return render(request, "fd_challenge.html", status_code=400, challenge=challenge,
                      responder_kinds=RESPONDER_KINDS, responded=None, error=outcome, answers=raw, responses=None)
    return html_redirect(f"/challenges/{challenge_id}?responded=1")


@router.post("/api/v1/challenges/{challenge_id}/responses", summary="Respond to an open challenge",
             dependencies=[Depends(csrf_protected)])
async def respond_api(request: Request, challenge_id: int,
                      principal: Principal = Depends(require("frontdoor.respond"))) -> JSONResponse:
    try:
        raw = await request.json()
    except ValueError:
        return JSONResponse({"detail": "body: expected JSON"}, status_code=400)
    outcome = _respond(request, principal, challenge_id, raw if isinstance(raw, dict) else {})
    if outcome is None:
        return JSONResponse({"detail": "no such open challenge"}, status_code=404)
    if isinstance(outcome, str):
        return JSONResponse({"detail": outcome}, status_code=400)
    return JSONResponse({"id": outcome}, status_code=201)


@router.get("/events", response_class=HTMLResponse, include_in_schema=False, dependencies=public)
def events_page(request: Request) -> HTMLResponse:
    return render(request, "fd_events.html", events=listings.events(db(request), now(request).date()))


@router.get("/events.ics", summary="Upcoming events as iCalendar (RFC 5545)", dependencies=public,
            response_class=Response,
            responses={200: {"description": "Upcoming events", "content": {"text/calendar": {"schema": {"type": "string"}}}}})
def events_ics(request: Request) -> Response:
    body = listings.icalendar(listings.events(db(request), now(request).date()), request.url.hostname or "phta")
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="phta-events.ics"'})
