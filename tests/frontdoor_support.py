"""Helpers for front-door tests: a seeded region fixture, a controllable clock, signed-in clients."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from phta.frontdoor import seed
from phta.store import open_database
from tests.governance_support import csrf_token, make_user, sign_in


class Clock:
    """What the app believes "now" is (``app.state.clock``); tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def install(live_server, settings, now: datetime = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)) -> Clock:
    seed.seed_region(open_database(settings))
    clock = Clock(now)
    live_server.server.config.app.state.clock = clock
    return clock


def client_for(live_server, settings, role: str, email: str | None = None, **kwargs) -> httpx.Client:
    """A signed-in client whose requests carry the CSRF header (as the pages' forms do)."""
    email = make_user(settings, role, email=email, **kwargs)
    client = httpx.Client(base_url=live_server.url)
    r = sign_in(client, email)
    assert r.status_code == 303, r.text
    client.headers["X-CSRF-Token"] = csrf_token(client, "/account")
    return client


ENQUIRY = {"organisation": "Acme Diagnostics", "sector": "diagnostics", "stage": "validation",
           "needs": ["evaluate"], "text": "An AI for chest X-rays."}
