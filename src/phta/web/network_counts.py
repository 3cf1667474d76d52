"""What the PHTA and the ATLAS feasibility routes share: run a cohort on the network, answer.

Both run a cohort on every node under the signed-in principal (the standing purpose
``network_feasibility``, decided again inside the execution path); both answer a refusal by
governance with 403, a request they cannot read or the execution path will not run (a query
naming persons) with 400, a query outside the purpose's vocabulary with 400 naming the refused
node, its path and the purpose, and a used-up daily query budget with 429 saying when it resets;
both show protected counts the same
way, on a page (with ``_network_counts.html``) and as JSON. Each route keeps its own parsing and
its own page; this module is the plumbing between them and the execution path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from phta.execution import NotAuthorised
from phta.execution.budget import BudgetExhausted
from phta.execution.network import NetworkCell, is_primary
from phta.governance.principal import Principal
from phta.query.ir import IRError
from phta.query.vocabulary_check import VocabularyRefused
from phta.web.rendering import render

#: ``phta.execution.network.network_feasibility`` or ``...network_atlas.atlas_network_feasibility``:
#: (settings, database, principal, query) -> protected network results with ``to_dict()``.
NetworkRun = Callable[..., Any]


SAME_AS_EARLIER = "same as an earlier answer for the same or a near-identical population"
SAME_AS_NODE = "same as the node's whole population"
HIDDEN = "hidden to protect another cell"


def shown(cell: NetworkCell | None, threshold: int, nodes: int) -> str:
    """How one combined cell reads on the page: never a bare 0 for what a node withheld."""
    if cell is None:
        return "0"
    if cell.suppressed:
        if cell.hidden_at and set(cell.hidden_at) == set(cell.suppressed_at):
            return HIDDEN
        return f"suppressed (<{threshold})"
    notes = []
    if cell.suppressed_at:
        notes.append(f"+ not published at {len(cell.suppressed_at)} of {nodes} nodes")
    if cell.reused_at:
        notes.append(f"{len(cell.reused_at)} of {nodes} nodes: {SAME_AS_EARLIER}")
    return f"{cell.value:,}" + (f" ({'; '.join(notes)})" if notes else "")


def shown_node(published, threshold: int, zeros_hidden: bool = False) -> str:
    """One node's cell: "suppressed (<10)" only for its own small count (primary suppression)."""
    if not published:
        # where zeros are hidden a level the node does not list (its cohort is under the threshold,
        # or nobody there has it) reads like any small count; elsewhere it is a published zero
        return f"suppressed (<{threshold})" if zeros_hidden else "0"
    if published.suppressed:
        return f"suppressed (<{threshold})" if is_primary(published) else HIDDEN
    value = f"{int(published.value or 0):,}"
    if "same_as_node" in published.reasons:
        return f"{value} ({SAME_AS_NODE})"
    if "same_as_earlier" in published.reasons:
        return f"{value} ({SAME_AS_EARLIER})"
    return value


def render_counts(request: Request, template: str, *, status_code: int = 200, **context) -> HTMLResponse:
    """Render a feasibility page with what ``_network_counts.html`` needs to show the counts."""
    return render(request, template, status_code=status_code, shown=shown, shown_node=shown_node, **context)


def _run(request: Request, run: NetworkRun, principal: Principal, query):
    return run(request.app.state.settings, request.app.state.database, principal, query)


async def counts_page(request: Request, principal: Principal, run: NetworkRun, query,
                      page: Callable[..., HTMLResponse]) -> HTMLResponse:
    """Run ``query`` on the network; ``page(outcome=...)``, or ``page(error=..., status_code=403)``
    when governance refuses."""
    try:
        outcome = await run_in_threadpool(_run, request, run, principal, query)
    except NotAuthorised as e:
        return page(error=f"Not allowed: {e}", status_code=403)
    except VocabularyRefused as e:
        return page(error=f"Not asked: {e}", status_code=400)
    except BudgetExhausted as e:
        return page(error=f"Not run: {e}. See your query budget at /budget.", status_code=429)
    except IRError as e:  # a query the execution path refuses to run (e.g. one naming persons)
        return page(error=str(e), status_code=400)
    return page(outcome=outcome)


async def counts_json(request: Request, principal: Principal, run: NetworkRun,
                      parse: Callable[[str], Any], unreadable: tuple[type[Exception], ...]) -> Response:
    """Parse the request body (UTF-8 text) with ``parse``, run it on the network, answer in JSON:
    400 with the parser's message for ``unreadable`` errors, 403 when governance refuses."""
    try:
        query = parse((await request.body()).decode("utf-8"))
    except unreadable as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    try:
        outcome = await run_in_threadpool(_run, request, run, principal, query)
    except NotAuthorised as e:
        return JSONResponse({"detail": f"not allowed: {e}"}, status_code=403)
    except VocabularyRefused as e:
        return JSONResponse({"detail": str(e), "purpose": e.purpose, "query_node": e.node, "path": e.path,
                             "feature": e.use.feature, "node": e.data_node}, status_code=400)
    except BudgetExhausted as e:
        return JSONResponse({"detail": str(e), "budget": e.status.to_dict()}, status_code=429)
    except IRError as e:  # a query the execution path refuses to run (e.g. one naming persons)
        return JSONResponse({"detail": str(e)}, status_code=400)
    return JSONResponse(json.loads(json.dumps(outcome.to_dict(), default=str)))
