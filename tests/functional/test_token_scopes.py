"""A credential hands on only what it holds: a token mints tokens within its own scopes and life."""

from __future__ import annotations

import httpx

from phta.audit import entries
from phta.store import open_database
from tests.governance_support import csrf_token, make_user, sign_in


def _token(live_server, settings, role: str, scopes: list[str], days: int) -> str:
    email = make_user(settings, role)
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, email)
        r = client.post("/api/v1/tokens", headers={"X-CSRF-Token": csrf_token(client, "/account")},
                        json={"name": "limited", "scopes": scopes, "days": days})
        assert r.status_code == 201, r.text
        return r.json()["token"]


def test_an_account_write_token_cannot_mint_a_wider_token(live_server, settings):
    token = _token(live_server, settings, "researcher", ["account:read", "account:write"], 7)
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        wider = api.post("/api/v1/tokens", json={"name": "escalated", "days": 7,
                                                  "scopes": ["account:read", "account:write", "projects", "query"]})
        assert wider.status_code == 422
        assert "lacks: projects, query" in str(wider.json()["detail"])
        longer = api.post("/api/v1/tokens", json={"name": "longer", "days": 365, "scopes": ["account:read"]})
        assert longer.status_code == 422 and "outlives" in str(longer.json()["detail"])
        # control: a subset, within the token's own life, is fine
        narrower = api.post("/api/v1/tokens", json={"name": "narrow", "days": 7, "scopes": ["account:read"]})
        assert narrower.status_code == 201
        assert narrower.json()["scopes"] == ["account:read"]
        listed = api.get("/api/v1/tokens").json()
    assert {t["name"] for t in listed} == {"limited", "narrow"}
    expiry = {t["name"]: t["expires_at"] for t in listed}
    assert expiry["narrow"] <= expiry["limited"]  # same ISO format and zone: text order is time order
    created = [e for e in entries(open_database(settings)) if e.action == "token.created"]
    assert len(created) == 2


def test_a_browser_session_grants_any_scope_its_roles_allow(live_server, settings):
    """Control: signed in with a password (and TOTP), the user holds every scope of their roles."""
    token = _token(live_server, settings, "hub_admin", ["account:read", "account:write", "projects",
                                                        "outputs", "query", "admin"], 30)
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/api/v1/audit/verify").status_code == 200
        again = api.post("/api/v1/tokens", json={"name": "ci", "days": 1, "scopes": ["admin", "account:read"]})
        assert again.status_code == 201
