"""HTTP errors as the asker can read them: a page in the site's layout for a browser, JSON for
``/api``; no traceback in a page, a response or the log for anything the client got wrong.

- :func:`error_response` answers any status the same way for both kinds of route;
- HTTP errors (404 unknown path, 405 wrong method, ``HTTPException``) and request validation
  errors (422, naming the field) go through it;
- :func:`path_ids_in_range`, a dependency of every route, refuses an id in the path that no
  database column can hold (``/api/v1/projects/2**70``) as a 422 naming the parameter, rather
  than letting the database driver overflow into a 500;
- :class:`CatchAll` turns anything unexpected into a 500 with a reference, and logs it as ONE
  line (type, innermost frame, reference): no message text (it may quote data) and no traceback
  flood (a ``RecursionError`` prints thousands of lines).
"""

from __future__ import annotations

import logging
import re
import secrets
import traceback

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phta.beacon.responses import error_document as beacon_error
from phta.query.nodes import INT64_MAX
from phta.web.rendering import render

log = logging.getLogger("phta.web")
BEACON_PREFIX = "/api/beacon/v2"

TITLES = {
    400: "The request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "Not possible now",
    413: "Too large",
    415: "Unsupported content type",
    422: "Please check what you sent",
    429: "Too many requests",
    500: "Something went wrong",
}
HTML_MESSAGES = {
    404: "There is no page at this address. Check the address, or start again from the home page.",
    405: "This address does not accept that kind of request. Go back and try again from the page.",
}
_INTEGER = re.compile(r"-?\d+")


def wants_json(request: Request) -> bool:
    """``/api/...`` (and the JSON documents beside the pages) answer in JSON; pages in HTML."""
    path = request.url.path
    return path.startswith("/api/") or path.endswith((".json", ".jsonld"))


def error_response(request: Request, status: int, detail, headers: dict[str, str] | None = None) -> Response:
    if status in (204, 304):  # no body allowed
        return Response(status_code=status, headers=headers)
    if request.url.path.startswith(BEACON_PREFIX + "/") or request.url.path == BEACON_PREFIX:
        # a Beacon client reads Beacon error documents, whoever refused (a route, or hardening's limits)
        text = detail if isinstance(detail, str) else HTML_MESSAGES.get(status) or TITLES.get(status, "Error")
        return JSONResponse(beacon_error(status, str(text)), status_code=status, headers=headers)
    if wants_json(request):
        response: Response = JSONResponse({"detail": jsonable_encoder(detail)}, status_code=status, headers=headers)
        return response
    message = HTML_MESSAGES.get(status) if detail in (None, "Not Found", "Method Not Allowed") else None
    problems = detail if isinstance(detail, list) else None
    response = render(request, "error.html", status_code=status, title=TITLES.get(status, "Error"),
                      message=message or (None if problems else str(detail)), problems=problems,
                      status=status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(request, exc.status_code, exc.detail, exc.headers)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_json(request):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
    problems = [f"{'.'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
    return error_response(request, 422, problems)


def path_ids_in_range(request: Request) -> None:
    """Every route's dependency: a whole number in the path fits a 64-bit id column."""
    for name, value in request.path_params.items():
        if not (isinstance(value, str) and _INTEGER.fullmatch(value)):
            continue
        if len(value.lstrip("-")) > len(str(INT64_MAX)) or abs(int(value)) > INT64_MAX:
            raise RequestValidationError([{
                "type": "less_than_equal", "loc": ("path", name), "input": value[:40],
                "msg": f"Input should be less than or equal to {INT64_MAX} (no record has that number)"}])


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/phta/" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"{frame.filename.rsplit('/phta/', 1)[-1]}:{frame.lineno} in {frame.name}"


class CatchAll:
    """ASGI middleware (inside Starlette's own error middleware): an unhandled exception becomes
    a 500 with a reference the operator can find in the log, in one line, without the message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            reference = secrets.token_hex(4)
            request = Request(scope)
            log.error("error %s: %s %s raised %s at %s", reference, request.method, request.url.path,
                      type(exc).__name__, _where(exc))
            response = error_response(request, 500, f"an unexpected error (reference {reference}); "
                                      "it has been logged for the operators")
            await response(scope, receive, send)
