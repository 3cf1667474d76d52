"""The hub's federation routes (``phta hub serve`` is the web app with these):

- ``GET /api/v1/federation/hub-key`` — the hub's public key and fingerprint, for a node to pin
  (the custodian compares the fingerprint with the one the hub operator gives them);
- ``POST /api/v1/federation/nodes`` — a node registers its public key (pending until approved);
- ``GET /api/v1/federation/tasks?wait=N`` — a node's long poll, signed (header ``X-PHTA-Poll``);
- ``POST /api/v1/federation/results`` — a node's signed result;
- ``POST /api/v1/federation/requests`` — a researcher's network request (PHTA JSON IR or ATLAS JSON);
- ``GET /api/v1/federation/requests/{id}`` — its combined answer (protected values only);
- ``GET /network`` — the nodes, their health and when they were last seen;
- ``GET /metrics`` — Prometheus text metrics.

Thin: parse, call ``phta.federation.hub``, render. Nodes authenticate by signature, not by cookie.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from phta.execution.admission import admit_network_request
from phta.execution.budget import BudgetExhausted
from phta.federation import hub, keys
from phta.federation.poll import verified_poll
from phta.federation.protocol import ProtocolError, fingerprint, public_key_text
from phta.governance.principal import Principal
from phta.query import serial
from phta.query.strict_json import JsonInputError, loads
from phta.query.vocabulary_check import VocabularyRefused
from phta.web.rendering import render
from phta.web.security import csrf_protected, require

router = APIRouter(tags=["federation"])
MAX_WAIT = 25.0
POLL_STEP = 0.25


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request):
    try:
        return loads(await request.body())
    except (JsonInputError, UnicodeDecodeError) as e:
        raise ProtocolError(f"body: {getattr(e, 'message', 'not UTF-8 JSON')}") from None


@router.get("/api/v1/federation/hub-key", summary="The hub's Ed25519 public key, for nodes to pin")
def hub_key(request: Request) -> dict:
    public = keys.hub_key(request.app.state.settings.data_dir).public_key()
    return {"public_key": public_key_text(public), "fingerprint": fingerprint(public)}


@router.post("/api/v1/federation/nodes", summary="A node registers its public key (pending until approved)")
async def register(request: Request) -> Response:
    try:
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not body["code"]:
            raise ProtocolError("body.code: expected the node's code")
        node = await asyncio.to_thread(hub.register_node, request.app.state.database, body["code"][:64],
                                       str(body.get("public_key", "")))
    except (ProtocolError, hub.HubError) as e:
        return _refuse(400, str(e))
    return JSONResponse({"code": node.code, "status": node.status, "fingerprint": node.fingerprint}, status_code=202)


@router.get("/api/v1/federation/tasks", summary="A node's signed long poll for its tasks")
async def tasks(request: Request, wait: float = 0.0) -> Response:
    database = request.app.state.database
    try:
        signed = loads(request.headers.get("x-phta-poll", ""))
    except JsonInputError:
        return _refuse(400, "X-PHTA-Poll: expected a signed poll (docs/federation.md)")
    try:
        poll = verified_poll(signed, await asyncio.to_thread(hub.approved_keys, database))
    except ProtocolError as e:
        return _refuse(401, str(e))
    deadline = asyncio.get_running_loop().time() + max(0.0, min(wait, MAX_WAIT))
    health = {"version": str(poll.get("version", "")), "store_fingerprint": str(poll.get("store_fingerprint", ""))}
    found = await asyncio.to_thread(hub.take_tasks, database, poll["node"], **health)  # also records health
    # Between takes, a read-only check: a waiting poll writes nothing.
    while not found and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(POLL_STEP)
        if await request.is_disconnected():  # the node has gone: deliver nothing into a dead connection
            return Response(status_code=204)
        if await asyncio.to_thread(hub.has_tasks, database, poll["node"]):
            found = await asyncio.to_thread(hub.take_tasks, database, poll["node"], **health)
    return JSONResponse({"tasks": found})


@router.post("/api/v1/federation/results", summary="A node's signed result for one task")
async def results(request: Request) -> Response:
    try:
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("node"), str):
            raise ProtocolError("body.node: expected the node's code")
        result = await asyncio.to_thread(hub.accept_result, request.app.state.database, body["node"],
                                         body.get("result"))
    except ProtocolError as e:
        return _refuse(400, str(e))
    return JSONResponse({"task_id": result.task_id, "accepted": True})


@router.post("/api/v1/federation/requests", summary="Ask every approved node (PHTA JSON IR or ATLAS JSON)",
             dependencies=[Depends(csrf_protected)])
async def new_request(request: Request, principal: Principal = Depends(require("feasibility.run"))) -> Response:
    """Body: ``{"format": "phta-ir"|"atlas", "definition": {...}, "deadline_seconds": 30,
    "request_id": optional}``. Returns the request id; ask ``GET .../requests/{id}`` for the answer."""
    try:
        body = await _json(request)
        if not isinstance(body, dict) or body.get("format") not in ("phta-ir", "atlas") \
                or not isinstance(body.get("definition"), dict):
            raise ProtocolError('body: expected {"format": "phta-ir"|"atlas", "definition": {...}}')
        settings = request.app.state.settings
        if body["format"] == "phta-ir":  # refused here, naming the node and field; then the budget, once
            query = serial.from_data(body["definition"], "$.definition")
            await asyncio.to_thread(admit_network_request, settings, request.app.state.database, principal,
                                    "network_feasibility", query)
        request_id = str(body.get("request_id") or uuid.uuid4())[:64]
        deadline = dt.timedelta(seconds=max(1, min(int(body.get("deadline_seconds", 30)), 600)))
        await asyncio.to_thread(
            hub.dispatch, request.app.state.database, keys.hub_key(settings.data_dir), request_id=request_id,
            query={"format": body["format"], "definition": body["definition"]}, purpose="network_feasibility",
            grant={"requester": principal.actor, "roles": sorted(principal.roles), "project": None},
            deadline=deadline)
    except BudgetExhausted as e:
        return _refuse(429, str(e))
    except (ProtocolError, hub.HubError, serial.IRError, VocabularyRefused, ValueError, TypeError) as e:
        return _refuse(400, str(e))
    return JSONResponse({"request_id": request_id}, status_code=202)


@router.get("/api/v1/federation/requests/{request_id}", summary="The combined, protected answer of a request")
async def request_answer(request_id: str, request: Request,
                         principal: Principal = Depends(require("feasibility.run"))) -> Response:
    try:
        answer, done = await asyncio.to_thread(hub.answer, request.app.state.database, request_id[:64],
                                               requester=principal.actor)
    except hub.HubError as e:
        return _refuse(404, str(e))
    return JSONResponse({"request_id": request_id, "complete": done, **answer.to_dict()})


@router.get("/network", response_class=HTMLResponse, include_in_schema=False)
def network_page(request: Request, principal: Principal = Depends(require("account.read"))) -> HTMLResponse:
    return render(request, "network.html", nodes=hub.nodes(request.app.state.database))


@router.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: nodes by status, and seconds since each approved node last polled."""
    now = dt.datetime.now(dt.UTC)
    rows = hub.nodes(request.app.state.database)
    lines = ["# HELP phta_federation_nodes Nodes known to the hub, by status.",
             "# TYPE phta_federation_nodes gauge"]
    for status in ("pending", "approved", "revoked"):
        lines.append(f'phta_federation_nodes{{status="{status}"}} {sum(1 for n in rows if n.status == status)}')
    lines += ["# HELP phta_federation_node_last_seen_seconds Seconds since the node last polled.",
              "# TYPE phta_federation_node_last_seen_seconds gauge"]
    for n in rows:
        if n.status == "approved" and n.last_seen_at is not None:
            seen = n.last_seen_at if n.last_seen_at.tzinfo else n.last_seen_at.replace(tzinfo=dt.UTC)
            lines.append(f'phta_federation_node_last_seen_seconds{{node={json.dumps(n.code)}}} '
                         f'{(now - seen).total_seconds():.1f}')
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
