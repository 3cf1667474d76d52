"""Helpers for governance tests: make users with roles, sign in over real HTTP."""

from __future__ import annotations

import datetime as dt
import re
import time

import httpx
import pyotp

from phta.config import Settings
from phta.governance import accounts
from phta.governance.principal import Principal
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


def make_principal(db, email: str, role: str, org: str | None = None, lay: bool = False) -> Principal:
    """A user in the store, and the Principal governance functions take for them."""
    uid = accounts.create_user(db, email=email, password=PASSWORD, roles=[Role(role)], organisation=org,
                               lay_member=lay)
    return Principal(uid, email, email, frozenset({Role(role)}), org, lay)


_LAST_STEP: dict[tuple[str, str], int] = {}


def fresh_totp_code(secret: str, account: str) -> str:
    """A code the server has not accepted yet for ``account`` (any string naming the server and
    user, e.g. base URL + e-mail). The server refuses a code whose time-step is not later than
    the last one it accepted, so each sign-in here takes the next step: the current one, else the
    next (accepted for clock drift), else it waits for the step to come round."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(dt.datetime.now(dt.UTC))
    step = max(now, _LAST_STEP.get((secret, account), now - 1) + 1)
    while step > totp.timecode(dt.datetime.now(dt.UTC)) + 1:  # beyond the drift window the server accepts
        time.sleep(1)
    _LAST_STEP[(secret, account)] = step
    return totp.generate_otp(step)


def csrf_token(client: httpx.Client, path: str = "/sign-in") -> str:
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD, secret: str | None = TOTP_SECRET) -> httpx.Response:
    """Password, then the TOTP code if asked for. Returns the last response (not followed)."""
    r = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token(client)})
    if r.status_code == 303 and r.headers["location"] == "/sign-in/totp":
        token = csrf_token(client, "/sign-in/totp")
        code = fresh_totp_code(secret, f"{client.base_url}|{email}")
        r = client.post("/sign-in/totp", data={"code": code, "csrf_token": token})
    return r


def complete_request(title: str = "Heart failure readmissions in the Black Country") -> dict:
    """Answers to every question of the data access request, valid for submission."""
    return {
        "applicants": "Ravi Researcher, University of Birmingham, chief investigator",
        "accreditation": "ONS Accredited Researcher; IG training 2026",
        "title": title,
        "lay_summary": "We want to learn why some people with heart failure go back into hospital.",
        "public_benefit": "Fewer emergency readmissions.",
        "aims": "Describe readmission rates by area deprivation.",
        "nodes": "uhb, swbh",
        "tre_only": "on",
        "datasets": ["demographics", "diagnoses", "visits"],
        "cohort": "Adults with a heart failure diagnosis, 2020-2025",
        "fields": "age band, sex, IMD quintile, admissions",
        "linkage": "",
        "pseudonymised": "on",
        "planned_outputs": "Aggregate tables and a paper",
        "disclosure_approach": "Threshold 10, rounding to 5, cell-key noise",
        "task_types": ["feasibility", "characterisation"],
        "duration_months": "12",
        "article6": "6(1)(e)",
        "article9": "9(2)(j)",
        "common_law": "s251",
        "s251_reference": "CAG 21/CAG/0001",
        "ethics": "approved",
        "iras_id": "312345",
        "funder": "NIHR",
        "dpia": "completed",
        "dpia_reference": "DPIA-2026-014",
        "commercial": "no",
    }


def register_nodes(settings: Settings, *nodes: str) -> None:
    """Register nodes (an airlock setting each, as ``phta outputs node`` does), so data access
    requests may name them; ``complete_request`` names uhb and swbh."""
    from phta.governance import airlock

    db = open_database(settings)
    for node in nodes or ("uhb", "swbh"):
        airlock.set_node_setting(db, node, custodian_signoff=False, custodian_organisation=None, actor="test")
