"""Network feasibility: a form page and a JSON API, both through the governed execution path.

Thin: parse the form (or the JSON IR), call ``phta.execution.network.network_feasibility`` with
the signed-in principal under the standing purpose ``network_feasibility``, render the protected
counts. Governance decides again inside the execution path (the route's role check is the first
gate, not the only one); every node run is in the audit chain.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from phta.execution import RequestError
from phta.execution.network import NetworkFeasibility, network_feasibility, region_stores
from phta.governance.principal import Principal
from phta.node_names import same_node
from phta.query import ir, serial
from phta.query.simple_cohort import (
    SEXES,
    ChoiceError,
    build_cohort,
    conditions,
    drugs,
    variant_choices,
)
from phta.web.network_counts import counts_json, counts_page, render_counts
from phta.web.security import csrf_protected, require

router = APIRouter(tags=["feasibility"])

FORM_FIELDS = ("condition", "drug", "age_min", "age_max", "sex", "variant")
STRATUM_TITLES = {"sex": "Sex", "age_band": "Age band at index", "ethnic_group": "Ethnic group",
                  "imd_quintile": "IMD quintile (1 = most deprived)"}


def _form_page(request: Request, *, choice: dict | None = None, error: str | None = None,
               outcome: NetworkFeasibility | None = None, status_code: int = 200) -> HTMLResponse:
    return render_counts(request, "feasibility.html", status_code=status_code, conditions=conditions(),
                         drugs=drugs(), sexes=SEXES, variants=variant_choices(), choice=choice or {}, error=error,
                         outcome=outcome, titles=STRATUM_TITLES)


@router.get("/feasibility", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(require("feasibility.run"))])
def feasibility_form(request: Request) -> HTMLResponse:
    # Query parameters pre-select the form's choices (the front door opens a query from a case;
    # the library's "count on this node" names a node).
    params = request.query_params
    choice = {k: params.get(k, "")[:20] for k in FORM_FIELDS}
    choice["node"] = _known_node(request, params.get("node"))
    return _form_page(request, choice=choice)


def _known_node(request: Request, node: str | None) -> str:
    """A node of the region (the library's "count on this node" link), else "" (the whole network)."""
    if not node:
        return ""
    return next((s.code for s in region_stores(request.app.state.settings) if same_node(s.code, node)), "")


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
    choice = {k: str(form.get(k) or "") for k in FORM_FIELDS}
    choice["node"] = _known_node(request, str(form.get("node") or ""))
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
    run = network_feasibility
    if choice["node"]:
        run = partial(network_feasibility,
                      stores=[s for s in region_stores(request.app.state.settings) if s.code == choice["node"]])
    return await counts_page(request, principal, run, query, partial(_form_page, request, choice=choice))


def _cohort_from_json(body: str) -> ir.Cohort:
    query = serial.from_json(body)
    if not isinstance(query, ir.Cohort):
        raise RequestError(f"expected a Cohort query, got {type(query).__name__}")
    return query


@router.post("/api/v1/feasibility", summary="Network feasibility counts for a cohort (PHTA JSON IR)",
             dependencies=[Depends(csrf_protected)])
async def feasibility_api(request: Request,
                          principal: Principal = Depends(require("feasibility.run"))) -> Response:
    """Body: a Cohort in the PHTA JSON IR. Returns protected counts per node and their sums."""
    return await counts_json(request, principal, network_feasibility, _cohort_from_json,
                             (ir.IRError, RequestError, UnicodeDecodeError, ValueError))
