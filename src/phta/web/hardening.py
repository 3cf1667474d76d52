"""What every request and response passes through before any route: size and depth limits on
request bodies, and the security headers.

:class:`RequestLimits` refuses a body larger than the deployment allows (413; by the declared
``Content-Length`` before reading, else after reading no more than the limit), and on every JSON
route a body nested deeper than any query needs (400, before a parser could recurse into a
``RecursionError``) or holding ``NaN`` or ``Infinity`` (400 naming the JSON path). File uploads
(``multipart/form-data``) have their own, larger limit.

:class:`SecurityHeaders` adds the Content-Security-Policy (everything from this origin only, no
inline script or style, no framing) and its companions to every response, and drops any
``Server`` banner.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phta.query import strict_json
from phta.query.strict_json import MAX_DEPTH
from phta.web.client_address import came_over_https
from phta.web.errors import error_response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class BodyTooLarge(Exception):
    pass


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, max_depth: int = MAX_DEPTH) -> None:
        self.app, self.max_body, self.max_upload, self.max_depth = app, max_body, max_upload, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "")
        limit = self.max_upload if content_type.lower().startswith("multipart/form-data") else self.max_body
        declared = headers.get("content-length", "")
        too_large = f"the request body is larger than {limit:,} bytes"
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, 413, too_large)
            return
        json_body = _is_json(content_type)
        if not json_body and declared.isdigit():
            # The server holds the body to its declared length, which is within the limit.
            await self.app(scope, receive, send)
            return
        # JSON (its depth is measured before any parser sees it) or a body of unstated length
        # (chunked): read it here, at most ``limit`` bytes, and hand it on whole.
        try:
            body = await _read_all(receive, limit)
        except BodyTooLarge:
            await self._refuse(scope, receive, send, 413, too_large)
            return
        if json_body and body:
            refusal = _json_refusal(body, self.max_depth)
            if refusal:
                await self._refuse(scope, receive, send, 400, refusal)
                return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        response = error_response(Request(scope), status, message, {"connection": "close"} if status == 413 else None)
        await response(scope, receive, send)


def _json_refusal(body: bytes, max_depth: int) -> str | None:
    """Why no route may parse this JSON body: nested too deep (a parser would recurse until it
    fails) or holding NaN/Infinity (not JSON; accepted by Python, then unrenderable in the
    answer). Malformed JSON is left to the route, which reports it in its own shape."""
    try:
        strict_json.loads(body, max_depth)
    except strict_json.JsonInputError as e:
        if e.kind in ("depth", "not_finite"):
            return f"{e.path}: {e.message}"
    return None


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


class SecurityHeaders:
    def __init__(self, app: ASGIApp, trusted_proxies=()) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # https as the client saw it: our own TLS, or a trusted proxy's X-Forwarded-Proto
        https = came_over_https(Request(scope), self.trusted_proxies)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in kept}
                extra = [h for h in SECURITY_HEADERS if h[0] not in present]
                if https:
                    extra.append(HSTS)
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
