"""Calling the app in-process (ASGI), for tests that send many requests: no server, no sockets.

An exception that escapes the app is raised here (``raise_app_exceptions``): what a real server
would log as a traceback fails the test instead."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx

from phta.config import Settings
from phta.governance import accounts, signin
from phta.governance.principal import principal_for
from phta.store import open_database
from tests.governance_support import make_user

ALL_SCOPES = ["account:read", "account:write", "projects", "outputs", "query"]


def api_token(settings: Settings, role: str, scopes: list[str] | None = None) -> str:
    """A new user with ``role`` and an API token of theirs (all non-admin scopes by default)."""
    email = make_user(settings, role)
    database = open_database(settings)
    with database.session() as session:
        principal = principal_for(accounts.user_by_email(session, email))
    raw, _ = signin.create_token(database, principal, name="in-process test", scopes=scopes or ALL_SCOPES)
    return raw


def call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **kwargs)

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop in this thread: run one here
        return anyio.run(send)
    # A loop already runs in this thread (a sync Playwright session of an earlier test on this
    # worker keeps one): run ours in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, send).result()


def chunked(*parts: bytes):
    """A request body sent in pieces, without a Content-Length (``content=chunked(...)``)."""

    async def body():
        for part in parts:
            yield part

    return body()
