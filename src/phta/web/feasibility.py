"""Network feasibility: a form page and a JSON API, both through the governed execution path.

Thin: parse the form (or the JSON IR), call ``phta.execution.network.network_feasibility`` with
the signed-in principal under the standing purpose ``network_feasibility``, render the protected
counts. Governance decides again inside the execution path (the route's role check is the first
gate, not the only one); every node run is in the audit chain.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from phta.execution import NotAuthorised, RequestError
from phta.execution.network import NetworkCell, NetworkFeasibility, network_feasibility
from phta.governance.principal import Principal
from phta.query import ir, serial
from phta.query.simple_cohort import (
    SEXES,
    ChoiceError,
    build_cohort,
    conditions,
    drugs,
    variant_choices,
)
from phta.web.rendering import render
from phta.web.security import csrf_protected, require

router = APIRouter(tags=["feasibility"])

STRATUM_TITLES = {"sex": "Sex", "age_band": "Age band at index", "ethnic_group": "Ethnic group",
                  "imd_quintile": "IMD quintile (1 = most deprived)"}


def _run(request: Request, principal: Principal, query: ir.Cohort) -> NetworkFeasibility:
    return network_feasibility(request.app.state.settings, request.app.state.database, principal, query)


def shown(cell: NetworkCell | None, threshold: int, nodes: int) -> str:
    """How one combined cell reads on the page."""
    if cell is None:
        return "0"
    if cell.suppressed:
        return f"suppressed (<{threshold})"
    note = f" (+ suppressed at {len(cell.suppressed_at)} of {nodes} nodes)" if cell.suppressed_at else ""
    return f"{cell.value:,}{note}"


def shown_node(published, threshold: int) -> str:
    if not published:  # the level does not occur at this node
        return "0"
    if published.suppressed:
        return f"suppressed (<{threshold})"
    return f"{int(published.value or 0):,}"


def _form_page(request: Request, *, choice: dict | None = None, error: str | None = None,
               outcome: NetworkFeasibility | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "feasibility.html", status_code=status_code, conditions=conditions(),
                  drugs=drugs(), sexes=SEXES, variants=variant_choices(), choice=choice or {}, error=error, outcome=outcome,
                  titles=STRATUM_TITLES, shown=shown, shown_node=shown_node)


@router.get("/feasibility", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(require("feasibility.run"))])
def feasibility_form(request: Request) -> HTMLResponse:
    return _form_page(request)


def _int_or_none(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise ChoiceError(f"{field}: {value!r} is not a whole number") from None


@router.post("/feasibility", response_class=HTMLResponse, include_in_schema=False,
             dependencies=[Depends(csrf_protected)])
async def feasibility_run(request: Request,
                          principal: Principal = Depends(require("feasibility.run"))) -> HTMLResponse:
    form = await request.form()
    choice = {k: str(form.get(k) or "") for k in ("condition", "drug", "age_min", "age_max", "sex", "variant")}
    try:
        condition = _int_or_none(choice["condition"], "condition")
        if condition is None:
            raise ChoiceError("condition: choose a condition")
        query = build_cohort(condition, drug_id=_int_or_none(choice["drug"], "drug"),
                             age_min=_int_or_none(choice["age_min"], "minimum age"),
                             age_max=_int_or_none(choice["age_max"], "maximum age"),
                             sex=choice["sex"] or None, variant=choice["variant"] or None)
    except ChoiceError as e:
        return _form_page(request, choice=choice, error=str(e), status_code=400)
    try:
        outcome = await run_in_threadpool(_run, request, principal, query)
    except NotAuthorised as e:
        return _form_page(request, choice=choice, error=f"Not allowed: {e}", status_code=403)
    return _form_page(request, choice=choice, outcome=outcome)


@router.post("/api/v1/feasibility", summary="Network feasibility counts for a cohort (PHTA JSON IR)",
             dependencies=[Depends(csrf_protected)])
async def feasibility_api(request: Request,
                          principal: Principal = Depends(require("feasibility.run"))) -> Response:
    """Body: a Cohort in the PHTA JSON IR. Returns protected counts per node and their sums."""
    try:
        body = (await request.body()).decode("utf-8")
        query = serial.from_json(body)
        if not isinstance(query, ir.Cohort):
            raise RequestError(f"expected a Cohort query, got {type(query).__name__}")
    except (ir.IRError, RequestError, UnicodeDecodeError, ValueError) as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    try:
        outcome = await run_in_threadpool(_run, request, principal, query)
    except NotAuthorised as e:
        return JSONResponse({"detail": f"not allowed: {e}"}, status_code=403)
    return JSONResponse(json.loads(json.dumps(outcome.to_dict(), default=str)))
