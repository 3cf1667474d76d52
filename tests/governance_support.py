"""Helpers for governance tests: make users with roles, sign in over real HTTP."""

from __future__ import annotations

import re

import httpx
import pyotp

from phta.config import Settings
from phta.governance import accounts
from phta.governance.roles import TOTP_REQUIRED, Role
from phta.store import open_database

PASSWORD = "a-long-test-password"
TOTP_SECRET = pyotp.random_base32()
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(settings: Settings, role: str, *, email: str | None = None, enrol_totp: bool = True, **kwargs) -> str:
    email = email or f"{role.replace('_', '-')}@test.example"
    db = open_database(settings)
    user_id = accounts.create_user(db, email=email, password=PASSWORD, roles=[Role(role)], **kwargs)
    if enrol_totp and role in TOTP_REQUIRED:
        accounts.set_totp_secret(db, user_id, TOTP_SECRET, actor="test")
    return email


def csrf_token(client: httpx.Client, path: str = "/sign-in") -> str:
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD, secret: str | None = TOTP_SECRET) -> httpx.Response:
    """Password, then the TOTP code if asked for. Returns the last response (not followed)."""
    r = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token(client)})
    if r.status_code == 303 and r.headers["location"] == "/sign-in/totp":
        token = csrf_token(client, "/sign-in/totp")
        r = client.post("/sign-in/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    return r
