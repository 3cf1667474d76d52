"""What the front door's routers share: the injected clock, and loading a case the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import HTMLResponse

from phta.frontdoor import cases
from phta.governance import authz
from phta.governance.principal import Principal
from phta.web.rendering import render


def now(request: Request) -> datetime:
    """The app's clock (``app.state.clock``, a callable returning an aware datetime); tests set
    it to decide what "today" is, for closing dates and SLA timers."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def db(request: Request):
    return request.app.state.database


def load_case(request: Request, principal: Principal, case_id: int) -> cases.CaseView | None:
    """The case, if it exists; raises ``authz.Forbidden`` if it is not the caller's to see."""
    view = cases.get_case(db(request), case_id, now(request))
    if view is not None:
        authz.authorise(principal, "frontdoor.case", view)
    return view


def not_found(request: Request, what: str = "case") -> HTMLResponse:
    return render(request, "auth_error.html", status_code=404, title="Not found",
                  message=f"There is no such {what}.", sign_in=False)
