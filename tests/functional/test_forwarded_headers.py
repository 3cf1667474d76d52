"""Forwarded-address headers over real HTTP: believed only from configured proxies."""

from __future__ import annotations

import dataclasses
import ipaddress

import httpx

from phta.audit import entries
from phta.governance import throttle
from phta.store import open_database
from phta.web.app import create_app
from tests.conftest import LiveServer
from tests.governance_support import csrf_token, make_user

SPOOFED = "203.0.113.{}"


def _fail_sign_in(client: httpx.Client, email: str, i: int, header: str = "X-Forwarded-For") -> httpx.Response:
    value = SPOOFED.format(i) if header != "Forwarded" else f"for={SPOOFED.format(i)}"
    return client.post("/sign-in", headers={header: value},
                       data={"email": email, "password": "wrong-password-x", "csrf_token": csrf_token(client)})


def test_a_local_client_spoofing_forwarded_headers_is_still_throttled_by_its_address(live_server, settings):
    """Attack: a new X-Forwarded-For (or Forwarded, X-Real-IP) on every guess, across accounts."""
    headers = ["X-Forwarded-For", "Forwarded", "X-Real-IP"]
    with httpx.Client(base_url=live_server.url) as client:
        for i in range(throttle.IP_FREE_FAILURES):
            r = _fail_sign_in(client, f"guess{i}@example.org", i, headers[i % 3])
            assert r.status_code == 400
        r = _fail_sign_in(client, "fresh@example.org", 99)
        assert r.status_code == 429
    chain = entries(open_database(settings))
    assert chain and {e.details["ip"] for e in chain} == {"127.0.0.1"}
    assert "203.0.113" not in repr(chain)


def test_spoofing_does_not_escape_the_per_account_limit(live_server, settings):
    email = make_user(settings, "researcher")
    with httpx.Client(base_url=live_server.url) as client:
        for i in range(throttle.ACCOUNT_FREE_FAILURES):
            assert _fail_sign_in(client, email, i).status_code == 400
        assert _fail_sign_in(client, email, 50).status_code == 429


def test_a_configured_proxy_is_believed(settings):
    """Control: behind a trusted proxy the client's address is the one the proxy forwarded."""
    trusting = dataclasses.replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    with LiveServer(create_app(trusting)) as server, httpx.Client(base_url=server.url) as client:
        _fail_sign_in(client, "a@example.org", 1)
        # the nearest untrusted hop wins: a client-supplied left-most entry is not believed
        client.post("/sign-in", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.2"},
                    data={"email": "b@example.org", "password": "wrong-password-x",
                          "csrf_token": csrf_token(client)})
        _fail_sign_in(client, "c@example.org", 3, "Forwarded")
    assert [e.details["ip"] for e in entries(open_database(trusting))] == [
        "203.0.113.1", "203.0.113.2", "203.0.113.3"]
