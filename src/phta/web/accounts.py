"""Sign-in (password, TOTP entry and enrolment), sign-out, and "my account" with API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from phta.governance import accounts, signin
from phta.governance.principal import Principal
from phta.web.forms import submitted_values
from phta.web.rendering import render
from phta.web.security import (
    clear_session_cookie,
    client_ip,
    csrf_protected,
    html_redirect,
    require,
    session_id_of,
    set_session_cookie,
)

router = APIRouter(tags=["accounts"], include_in_schema=False)
_NEXT_PAGE = {"full": "/account", "totp": "/sign-in/totp", "enrol": "/sign-in/enrol-totp"}


def _db(request: Request):
    return request.app.state.database


@router.get(
    "/sign-in", response_class=HTMLResponse, dependencies=[Depends(require("auth.sign_in"))]
)
def sign_in_page(request: Request) -> HTMLResponse:
    return render(request, "sign_in.html", email="", error=None)


@router.post("/sign-in", dependencies=[Depends(require("auth.sign_in")), Depends(csrf_protected)])
def sign_in(request: Request, email: str = Form(""), password: str = Form("")) -> Response:
    if not email.strip() or not password:
        return render(
            request,
            "sign_in.html",
            status_code=400,
            email=email,
            error="Enter your e-mail address and password.",
        )
    try:
        step = signin.sign_in_with_password(_db(request), email, password, client_ip(request))
    except signin.ThrottledError as exc:
        return render(
            request,
            "sign_in.html",
            status_code=429,
            email=email,
            error=f"Too many failed sign-ins. Try again in {exc.seconds} seconds.",
        )
    if step is None:
        return render(
            request,
            "sign_in.html",
            status_code=400,
            email=email,
            error="That e-mail address and password do not match an account.",
        )
    response = html_redirect(_NEXT_PAGE[step.stage])
    set_session_cookie(request, response, step.session_id)
    return response


def _half_signed_in(request: Request, stage: str):
    session_id = session_id_of(request)
    state = signin.session_state(_db(request), session_id) if session_id else None
    if state is None or state[1] != stage:
        return None, None
    return session_id, state[0]


@router.get(
    "/sign-in/totp", response_class=HTMLResponse, dependencies=[Depends(require("auth.sign_in"))]
)
def totp_page(request: Request) -> Response:
    session_id, _user = _half_signed_in(request, "totp")
    if session_id is None:
        return html_redirect("/sign-in")
    return render(request, "totp.html", error=None)


def _second_factor(request: Request, stage: str, code: str, template: str, **context) -> Response:
    session_id, _user = _half_signed_in(request, stage)
    if session_id is None:
        return html_redirect("/sign-in")
    try:
        full = signin.complete_second_factor(_db(request), session_id, code, client_ip(request))
    except signin.ThrottledError as exc:
        return render(
            request,
            template,
            status_code=429,
            error=f"Too many failed attempts. Try again in {exc.seconds} seconds.",
            **context,
        )
    if full is None:
        return render(
            request,
            template,
            status_code=400,
            error="That code is not right, or it has been used already. "
            "Codes change every 30 seconds: wait for the next one.",
            **context,
        )
    response = html_redirect("/account")
    set_session_cookie(request, response, full)
    return response


@router.post(
    "/sign-in/totp", dependencies=[Depends(require("auth.sign_in")), Depends(csrf_protected)]
)
def totp_submit(request: Request, code: str = Form("")) -> Response:
    return _second_factor(request, "totp", code, "totp.html")


def _enrolment(request: Request, user) -> tuple[str, str]:
    pending = accounts.pending_totp_secret(_db(request), user.id)
    return pending or accounts.start_totp_enrolment(_db(request), user.id)


@router.get(
    "/sign-in/enrol-totp",
    response_class=HTMLResponse,
    dependencies=[Depends(require("auth.sign_in"))],
)
def enrol_page(request: Request) -> Response:
    session_id, user = _half_signed_in(request, "enrol")
    if session_id is None:
        return html_redirect("/sign-in")
    secret, uri = _enrolment(request, user)
    return render(request, "totp_enrol.html", secret=secret, uri=uri, error=None)


@router.post(
    "/sign-in/enrol-totp", dependencies=[Depends(require("auth.sign_in")), Depends(csrf_protected)]
)
def enrol_submit(request: Request, code: str = Form("")) -> Response:
    session_id, user = _half_signed_in(request, "enrol")
    if session_id is None:
        return html_redirect("/sign-in")
    secret, uri = _enrolment(request, user)
    return _second_factor(request, "enrol", code, "totp_enrol.html", secret=secret, uri=uri)


@router.post("/sign-out", dependencies=[Depends(require("auth.sign_in")), Depends(csrf_protected)])
def sign_out(request: Request) -> Response:
    session_id = session_id_of(request)
    if session_id:
        signin.sign_out(_db(request), session_id)
    response = html_redirect("/")
    clear_session_cookie(response)
    return response


def _account_page(
    request: Request, principal: Principal, status_code: int = 200, **context
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        status_code=status_code,
        principal=principal,
        tokens=signin.list_tokens(_db(request), principal),
        scopes=signin.TOKEN_SCOPES,
        new_token=context.pop("new_token", None),
        error=context.pop("error", None),
        **context,
    )


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, principal: Principal = Depends(require("account.read"))
) -> HTMLResponse:
    return _account_page(request, principal)


@router.post("/account/tokens", dependencies=[Depends(csrf_protected)])
async def create_token(
    request: Request, principal: Principal = Depends(require("account.tokens"))
) -> HTMLResponse:
    form = await request.form()
    scopes = [str(s) for s in form.getlist("scopes")]
    try:
        days = int(str(form.get("days") or "30"))
        raw, _info = signin.create_token(
            _db(request), principal, name=str(form.get("name") or ""), scopes=scopes, days=days
        )
    except (ValueError, signin.TokenError) as exc:
        message = (
            str(exc)
            if isinstance(exc, signin.TokenError)
            else "Expiry must be a whole number of days."
        )
        return _account_page(request, principal, status_code=400, error=message,
                             submitted=submitted_values(form))
    # Shown once, on this response only; the database keeps its sha256.
    return _account_page(request, principal, new_token=raw)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[Depends(csrf_protected)])
def revoke_token(
    request: Request, token_id: int, principal: Principal = Depends(require("account.tokens"))
) -> Response:
    signin.revoke_token(_db(request), principal, token_id)
    return html_redirect("/account")
