"""Who is asking, and is the form theirs: principal resolution, CSRF, and the authz dependency.

One middleware resolves the caller once per request (an ``Authorization: Bearer`` API token, or
the signed session cookie) into ``request.state.principal`` and makes sure the browser holds a
CSRF cookie. ``require(action)`` is the FastAPI dependency every protected route uses; it asks
``phta.governance.authz.authorise`` and nothing else. ``csrf_protected`` guards every
state-changing form (double-submit: the form field must equal the signed cookie's value).
"""

from __future__ import annotations

import hmac
import secrets

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from itsdangerous import BadSignature, Signer

from phta.governance import authz, signin
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.keyfiles import load_or_create_key
from phta.web.client_address import came_over_https, client_address
from phta.web.errors import wants_json
from phta.web.rendering import render

SESSION_COOKIE = "phta_session"
CSRF_COOKIE = "phta_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
COOKIE_KEY_FILE = "session-cookie.key"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class CsrfError(Exception):
    pass


def _signer(request_or_app) -> Signer:
    return request_or_app.state.cookie_signer


def _unsign(signer: Signer, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return signer.unsign(value).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None


def session_id_of(request: Request) -> str | None:
    return _unsign(_signer(request.app), request.cookies.get(SESSION_COOKIE))


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request.app).sign(session_id).decode("ascii"),
        max_age=int(signin.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request),
        path="/",
    )


def cookies_secure(request: Request) -> bool:
    """``Secure`` cookies: always when PHTA_SECURE_COOKIES says TLS ends at a proxy, else when
    this request came over https (its own scheme, or ``X-Forwarded-Proto`` from a proxy in
    PHTA_TRUSTED_PROXIES)."""
    settings = request.app.state.settings
    return settings.secure_cookies or came_over_https(request, settings.trusted_proxies)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def _resolve(database: Database, signer: Signer, authorization: str | None, cookie: str | None):
    if authorization and authorization.lower().startswith("bearer "):
        return signin.principal_from_token(database, authorization[7:].strip()), "token"
    session_id = _unsign(signer, cookie)
    if session_id:
        return signin.principal_from_session(database, session_id), "session"
    return None, None


def install(app: FastAPI, database: Database) -> None:
    """Add the middleware and the 401/403 handlers to ``app``."""
    app.state.cookie_signer = Signer(
        load_or_create_key(database.data_dir, COOKIE_KEY_FILE, lambda: secrets.token_bytes(32)),
        salt="phta-cookie",
    )

    @app.middleware("http")
    async def identify(request: Request, call_next):
        signer = _signer(request.app)
        principal, via = await anyio.to_thread.run_sync(
            _resolve,
            database,
            signer,
            request.headers.get("authorization"),
            request.cookies.get(SESSION_COOKIE),
        )
        request.state.principal = principal
        request.state.auth_via = via
        csrf = _unsign(signer, request.cookies.get(CSRF_COOKIE))
        request.state.csrf_cookie_valid = csrf is not None
        request.state.csrf_token = csrf or secrets.token_urlsafe(32)
        response = await call_next(request)
        if csrf is None:
            response.set_cookie(
                CSRF_COOKIE,
                signer.sign(request.state.csrf_token).decode("ascii"),
                httponly=True,
                samesite="lax",
                secure=cookies_secure(request),
                path="/",
            )
        return response

    app.add_exception_handler(authz.NotAuthenticated, _not_authenticated)
    app.add_exception_handler(authz.Forbidden, _forbidden)
    app.add_exception_handler(CsrfError, _csrf_failed)


def _not_authenticated(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        return JSONResponse(
            {"detail": "sign in or send a valid API token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return render(
        request,
        "auth_error.html",
        status_code=401,
        title="Please sign in",
        message="You need to sign in to see this page.",
        sign_in=True,
    )


def _forbidden(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    return render(
        request,
        "auth_error.html",
        status_code=403,
        title="Not allowed",
        message="Your account's roles do not allow this.",
        sign_in=False,
    )


def _csrf_failed(request: Request, exc: Exception) -> Response:
    message = "The form had expired or did not come from this site. Go back, reload and try again."
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=403)
    return render(
        request,
        "auth_error.html",
        status_code=403,
        title="Form expired",
        message=message,
        sign_in=False,
    )


def require(action: str):
    """FastAPI dependency: the caller must be allowed ``action``; returns the principal."""
    authz.rule_for(action)  # unknown actions fail at import time, not at request time

    def dependency(request: Request) -> Principal | None:
        principal = request.state.principal
        authz.authorise(principal, action)
        return principal

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    return dependency


async def csrf_protected(request: Request) -> None:
    """Dependency for state-changing routes used from a browser (skipped for API tokens)."""
    if request.method not in _UNSAFE_METHODS or request.state.auth_via == "token":
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        submitted = (await request.form()).get(CSRF_FIELD)
    if not (
        request.state.csrf_cookie_valid
        and isinstance(submitted, str)
        and hmac.compare_digest(submitted, request.state.csrf_token)
    ):
        raise CsrfError()


def client_ip(request: Request) -> str:
    """The caller's address; forwarded headers count only from ``PHTA_TRUSTED_PROXIES``."""
    return client_address(request, request.app.state.settings.trusted_proxies)


def html_redirect(url: str) -> HTMLResponse:
    return HTMLResponse("", status_code=303, headers={"Location": url})
