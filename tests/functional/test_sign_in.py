"""Signing in over real HTTP: cookies, TOTP enrolment and entry, CSRF, API tokens, throttling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
from sqlalchemy import select, update

from phta.audit import entries, verify_chain
from phta.store import open_database
from phta.store.models import ApiToken, User, WebSession
from tests.governance_support import (
    PASSWORD,
    TOTP_SECRET,
    csrf_token,
    fresh_totp_code,
    make_user,
    sign_in,
)


def _client(live_server) -> httpx.Client:
    return httpx.Client(base_url=live_server.url)


def test_session_cookie_is_signed_httponly_samesite_and_stored_hashed(live_server, settings):
    email = make_user(settings, "researcher")
    with _client(live_server) as client:
        r = sign_in(client, email)
        assert r.status_code == 303 and r.headers["location"] == "/account"
        cookie_header = next(h for h in r.headers.get_list("set-cookie") if h.startswith("phta_session="))
        assert "HttpOnly" in cookie_header and "SameSite=lax" in cookie_header.replace("Lax", "lax")
        assert "Max-Age=" in cookie_header
        raw_cookie = client.cookies["phta_session"]
        page = client.get("/account")
        assert page.status_code == 200 and email in page.text and "Sign out" in page.text
    with open_database(settings).session() as s:
        stored = s.scalars(select(WebSession.id_hash)).all()
    session_id = raw_cookie.rsplit(".", 1)[0]
    assert stored and session_id not in stored and all(len(h) == 64 for h in stored)


def test_tampered_session_cookie_is_not_accepted(live_server, settings):
    email = make_user(settings, "researcher")
    with _client(live_server) as client:
        sign_in(client, email)
        value = client.cookies["phta_session"]
        client.cookies.set("phta_session", "x" + value)
        assert client.get("/account").status_code == 401


def test_roles_needing_totp_enrol_on_first_sign_in(live_server, settings):
    email = make_user(settings, "data_custodian", enrol_totp=False)
    with _client(live_server) as client:
        r = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert r.status_code == 303 and r.headers["location"] == "/sign-in/enrol-totp"
        assert client.get("/account").status_code == 401  # half signed in is not signed in
        page = client.get("/sign-in/enrol-totp").text
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
        uri = re.search(r'id="totp-uri">([^<]+)<', page).group(1)
        assert uri.startswith("otpauth://totp/PHTA:") and f"secret={secret}" in uri
        assert client.get("/sign-in/enrol-totp").text.count(secret) >= 1  # reload shows the same secret
        bad = client.post("/sign-in/enrol-totp", data={"code": "000000", "csrf_token": csrf_token(client)})
        assert bad.status_code == 400 and "not right" in bad.text
        good = client.post("/sign-in/enrol-totp",
                           data={"code": fresh_totp_code(secret, f"{live_server.url}|{email}"),
                                 "csrf_token": csrf_token(client)})
        assert good.status_code == 303 and good.headers["location"] == "/account"
        assert client.get("/account").status_code == 200
    with open_database(settings).session() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user.totp_enrolled and secret not in user.totp_secret_encrypted
    # next time: password, then a code
    with _client(live_server) as client:
        r = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert r.headers["location"] == "/sign-in/totp"
        code = fresh_totp_code(secret, f"{live_server.url}|{email}")  # the enrolment code was used up
        r = client.post("/sign-in/totp", data={"code": code, "csrf_token": csrf_token(client)})
        assert r.status_code == 303 and client.get("/account").status_code == 200


def test_half_signed_in_session_id_is_replaced_after_the_second_factor(live_server, settings):
    email = make_user(settings, "hub_admin")
    with _client(live_server) as client:
        client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})
        before = client.cookies["phta_session"]
        code = pyotp.TOTP(TOTP_SECRET).now()
        sign_in_totp = client.post("/sign-in/totp", data={"code": code, "csrf_token": csrf_token(client)})
        assert sign_in_totp.status_code == 303
        assert client.cookies["phta_session"] != before
    with _client(live_server) as other:
        other.cookies.set("phta_session", before)
        assert other.get("/account").status_code == 401


def test_a_totp_code_signs_in_once_only(live_server, settings):
    """Signing in twice with one code: the second is refused, even within the code's 30 s."""
    email = make_user(settings, "output_checker")
    code = fresh_totp_code(TOTP_SECRET, f"{live_server.url}|{email}")
    outcomes = []
    for _ in range(2):
        with _client(live_server) as client:
            r = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})
            assert r.headers["location"] == "/sign-in/totp"
            r = client.post("/sign-in/totp", data={"code": code, "csrf_token": csrf_token(client)})
            outcomes.append((r.status_code, client.get("/account").status_code))
            if r.status_code == 400:
                assert "used already" in r.text
    assert outcomes == [(303, 200), (400, 401)]
    failed = [e for e in entries(open_database(settings)) if e.action == "auth.login_failed"]
    assert [(e.target.startswith("user:"), e.details["reason"]) for e in failed] == [(True, "replayed")]
    assert code not in repr(entries(open_database(settings)))


def test_state_changing_forms_need_the_csrf_token(live_server, settings):
    email = make_user(settings, "researcher")
    with _client(live_server) as client:
        client.get("/sign-in")
        r = client.post("/sign-in", data={"email": email, "password": PASSWORD})
        assert r.status_code == 403 and "Form expired" in r.text
        r = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": "forged"})
        assert r.status_code == 403
        sign_in(client, email)
        assert client.post("/account/tokens", data={"name": "t", "scopes": "account:read"}).status_code == 403
        assert client.post("/sign-out").status_code == 403
        assert client.post("/api/v1/tokens", json={"name": "t", "scopes": ["account:read"]}).status_code == 403


def test_api_tokens_are_shown_once_stored_hashed_scoped_and_revocable(live_server, settings):
    email = make_user(settings, "researcher")
    with _client(live_server) as client:
        sign_in(client, email)
        page = client.post("/account/tokens", data={"name": "laptop", "scopes": ["account:read"], "days": "7",
                                                    "csrf_token": csrf_token(client, "/account")})
        assert page.status_code == 200
        token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
        assert token not in client.get("/account").text  # shown once
        refused = client.post("/account/tokens", data={"name": "x", "scopes": ["admin"],
                                                       "csrf_token": csrf_token(client, "/account")})
        assert refused.status_code == 400 and "only hub admins" in refused.text
    with open_database(settings).session() as s:
        row = s.scalar(select(ApiToken))
        assert row.token_hash != token and token not in row.token_hash and row.prefix == token[:12]
    bearer = {"Authorization": f"Bearer {token}"}
    with _client(live_server) as api:
        me = api.get("/api/v1/me", headers=bearer)
        assert me.status_code == 200 and me.json()["email"] == email and me.json()["via"] == "token"
        # account:read only: cannot create tokens, and a browser-less token needs no CSRF
        r = api.post("/api/v1/tokens", headers=bearer, json={"name": "x", "scopes": ["account:read"]})
        assert r.status_code == 403 and "account:write" in r.json()["detail"]
        assert api.get("/api/v1/me", headers={"Authorization": "Bearer phta_not-a-token"}).status_code == 401
    with _client(live_server) as client:
        sign_in(client, email)
        created = client.post("/api/v1/tokens", headers={"X-CSRF-Token": csrf_token(client, "/account")},
                              json={"name": "ci", "scopes": ["account:read", "account:write"], "days": 1})
        assert created.status_code == 201
        second = created.json()["token"]
        listed = client.get("/api/v1/tokens").json()
        assert {t["name"] for t in listed} == {"laptop", "ci"} and all("token" not in t for t in listed)
        gone = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers={"X-CSRF-Token": csrf_token(client, "/account")})
        assert gone.status_code == 204
    with _client(live_server) as api:
        assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
        with open_database(settings).session() as s:
            s.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_failed_sign_ins_are_throttled_and_audited(live_server, settings):
    email = make_user(settings, "innovator")
    with _client(live_server) as client:
        for _ in range(5):
            r = client.post("/sign-in", data={"email": email, "password": "wrong-password-x", "csrf_token": csrf_token(client)})
            assert r.status_code == 400 and "do not match" in r.text
        r = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert r.status_code == 429 and "Try again in" in r.text
    db = open_database(settings)
    chain = entries(db)
    failed = [e for e in chain if e.action == "auth.login_failed"]
    assert len(failed) == 5 and all(e.target.startswith("user:") for e in failed)
    assert not any("wrong-password" in repr(e) for e in chain)
    assert verify_chain(db).ok


def test_unknown_accounts_are_not_named_in_the_audit_chain(live_server, settings):
    with _client(live_server) as client:
        r = client.post("/sign-in", data={"email": "nobody@example.org", "password": "whatever-password",
                                          "csrf_token": csrf_token(client)})
        assert r.status_code == 400
    chain = entries(open_database(settings))
    assert [e.target for e in chain] == ["unknown-account"] and "nobody" not in repr(chain)


def test_sign_out_ends_the_session_and_nav_changes(live_server, settings):
    email = make_user(settings, "public")
    with _client(live_server) as client:
        assert "Sign in" in client.get("/").text
        sign_in(client, email)
        home = client.get("/").text
        assert "Sign out" in home and "My account" in home
        r = client.post("/sign-out", data={"csrf_token": csrf_token(client)})
        assert r.status_code == 303
        assert client.get("/account").status_code == 401
    actions = [e.action for e in entries(open_database(settings))]
    assert actions[-2:] == ["auth.login", "auth.logout"]
