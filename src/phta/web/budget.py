"""The signed-in user's daily query budgets: a page (linked from the feasibility pages) and JSON.

Thin: ``phta.execution.budget.budget_status`` for the standing purposes the user's roles may
use. Reading the budget charges nothing and runs no query.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from phta.execution.budget import BudgetStatus, budget_status
from phta.governance.principal import Principal
from phta.governance.purposes import STANDING_PURPOSES
from phta.web.rendering import render
from phta.web.security import require

router = APIRouter(tags=["budget"])


def _statuses(request: Request, principal: Principal) -> list[BudgetStatus]:
    purposes = [p.name for p in STANDING_PURPOSES.values() if p.roles is None or principal.roles & p.roles]
    return budget_status(request.app.state.settings, request.app.state.database, principal, purposes)


@router.get("/budget", response_class=HTMLResponse, include_in_schema=False)
def budget_page(request: Request, principal: Principal = Depends(require("account.read"))) -> HTMLResponse:
    return render(request, "budget.html", statuses=_statuses(request, principal))


@router.get("/api/v1/budget", summary="Your daily query budget per purpose: limit, used, remaining, reset time")
def budget_api(request: Request, principal: Principal = Depends(require("account.read"))) -> dict:
    """Today's (UTC) query budget of the signed-in user for each standing purpose they may use.
    ``limit`` and ``remaining`` are null when the purpose is unlimited."""
    return {"budgets": [s.to_dict() for s in _statuses(request, principal)]}
