"""Identities, sign-in, throttling, tokens and purposes against the real store (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from phta.audit import entries, verify_chain
from phta.governance import accounts, is_use_allowed, signin, throttle
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.store.models import User

PW = "a-long-test-password"


def _user(db, role=Role.RESEARCHER, email="r@example.org", **kw):
    return accounts.create_user(db, email=email, password=PW, roles=[role], **kw)


def test_create_user_with_organisation_and_audit(database):
    uid = _user(database, Role.COMMITTEE_MEMBER, email="Lay@Example.org", organisation="PHTA Hub", lay_member=True)
    users = accounts.list_users(database)
    assert [(u.id, u.email, u.roles, u.organisation, u.lay_member, u.totp_required) for u in users] == [
        (uid, "lay@example.org", ["committee_member"], "PHTA Hub", True, True)
    ]
    assert [e.action for e in entries(database)] == ["organisation.created", "user.created"]
    with pytest.raises(accounts.AccountError, match="already exists"):
        _user(database, email="lay@example.org")


def test_password_then_totp_stages(database):
    _user(database, Role.RESEARCHER, email="r@example.org")
    step = signin.sign_in_with_password(database, "R@example.org", PW, "10.0.0.1")
    assert step.stage == "full" and signin.principal_from_session(database, step.session_id).roles == {"researcher"}
    uid = _user(database, Role.OUTPUT_CHECKER, email="c@example.org")
    step = signin.sign_in_with_password(database, "c@example.org", PW, "10.0.0.1")
    assert step.stage == "enrol" and signin.principal_from_session(database, step.session_id) is None
    secret, _uri = accounts.start_totp_enrolment(database, uid)
    with database.session() as s:
        assert secret not in s.get(User, uid).totp_secret_encrypted
    full = signin.complete_second_factor(database, step.session_id, pyotp.TOTP(secret).now(), "10.0.0.1")
    assert full and signin.principal_from_session(database, full).email == "c@example.org"
    assert signin.session_state(database, step.session_id) is None  # old id is gone
    assert verify_chain(database).ok


def test_throttle_doubles_and_resets(database):
    _user(database)
    t0 = datetime.now(UTC)
    with database.session() as s:
        for i in range(5):
            throttle.note_attempt(s, "r@example.org", "10.0.0.2", False, t0 + timedelta(seconds=i))
    with database.session() as s:
        wait = throttle.seconds_to_wait(s, "r@example.org", "10.0.0.3", t0 + timedelta(seconds=4))
        assert 29 <= wait <= 30
        assert throttle.seconds_to_wait(s, "r@example.org", "10.0.0.3", t0 + timedelta(seconds=35)) == 0
        throttle.note_attempt(s, "r@example.org", "10.0.0.2", False, t0 + timedelta(seconds=40))
    with database.session() as s:
        assert 59 <= throttle.seconds_to_wait(s, "r@example.org", "10.0.0.3", t0 + timedelta(seconds=40)) <= 60
        throttle.note_attempt(s, "r@example.org", "10.0.0.2", True, t0 + timedelta(seconds=200))
    with database.session() as s:
        assert throttle.seconds_to_wait(s, "r@example.org", "10.0.0.3", t0 + timedelta(seconds=201)) == 0
        # the address that failed six times is not yet throttled (it gets 20), but keeps its count
        assert throttle.seconds_to_wait(s, "other@example.org", "10.0.0.2", t0 + timedelta(seconds=201)) == 0


def test_per_address_throttle_spans_accounts(database):
    t0 = datetime.now(UTC)
    with database.session() as s:
        for i in range(throttle.IP_FREE_FAILURES):
            throttle.note_attempt(s, f"guess{i}@example.org", "10.9.9.9", False, t0)
    with database.session() as s:
        assert throttle.seconds_to_wait(s, "fresh@example.org", "10.9.9.9", t0) > 0
        assert throttle.seconds_to_wait(s, "fresh@example.org", "10.9.9.8", t0) == 0


def test_expired_sessions_are_refused(database):
    _user(database)
    step = signin.sign_in_with_password(database, "r@example.org", PW, "10.0.0.1")
    from phta.store.models import WebSession

    with database.session() as s:
        for row in s.scalars(select(WebSession)):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert signin.principal_from_session(database, step.session_id) is None


def _p(*roles, scopes=None):
    return Principal(1, "p@example.org", "P", frozenset(roles), scopes=scopes)


def test_is_use_allowed_for_standing_and_project_purposes():
    assert is_use_allowed(None, "public_statistics").allowed
    assert is_use_allowed(None, "public_beacon").allowed
    assert not is_use_allowed(None, "network_feasibility").allowed
    assert not is_use_allowed(_p("public"), "network_feasibility").allowed
    decision = is_use_allowed(_p("researcher"), "network_feasibility", node="uhb")
    assert decision.allowed and "6(1)(e)" in decision.legal_basis and decision.disclosure_policy == "feasibility"
    assert not is_use_allowed(_p("researcher", scopes=frozenset({"account:read"})), "network_feasibility").allowed
    assert is_use_allowed(_p("researcher", scopes=frozenset({"query"})), "network_feasibility").allowed
    # a custodian needs the node and who holds it: tests/integration/governance/test_custodian_nodes.py
    assert "name it" in is_use_allowed(_p("data_custodian"), "custodian_quality").reason
    assert not is_use_allowed(_p("researcher"), "custodian_quality").allowed
    refused = is_use_allowed(_p("researcher"), "project:7")
    assert not refused.allowed and "operational database" in refused.reason
    assert not is_use_allowed(_p("hub_admin"), "anything-else").allowed


def _enrolled_checker(database, email="totp@example.org") -> tuple[int, pyotp.TOTP]:
    uid = _user(database, Role.OUTPUT_CHECKER, email=email)
    secret = pyotp.random_base32()
    accounts.set_totp_secret(database, uid, secret, actor="test")
    return uid, pyotp.TOTP(secret)


def test_a_totp_code_is_accepted_once_and_never_an_older_one_after_it(database):
    uid, totp = _enrolled_checker(database)
    at = datetime.now(UTC)
    now = totp.timecode(at)

    def check(step: int) -> str:
        return accounts.check_totp(database, uid, totp.generate_otp(step), now=at)

    assert check(now) == accounts.ACCEPTED
    assert check(now) == accounts.REPLAYED
    assert check(now - 1) == accounts.REPLAYED  # older, though inside the drift window
    assert check(now + 1) == accounts.ACCEPTED  # the next one
    assert check(now + 2) == accounts.WRONG_CODE  # outside the window
    with database.session() as s:
        assert s.get(User, uid).totp_last_step == now + 1


def test_sign_in_twice_with_one_code_refuses_the_second(database):
    uid, totp = _enrolled_checker(database)
    code = totp.generate_otp(totp.timecode(datetime.now(UTC)))
    first = signin.sign_in_with_password(database, "totp@example.org", PW, "10.0.0.1")
    second = signin.sign_in_with_password(database, "totp@example.org", PW, "10.0.0.9")
    assert (first.stage, second.stage) == ("totp", "totp")
    assert signin.complete_second_factor(database, first.session_id, code, "10.0.0.1")
    assert signin.complete_second_factor(database, second.session_id, code, "10.0.0.9") is None
    assert signin.principal_from_session(database, second.session_id) is None
    failed = [e for e in entries(database) if e.action == "auth.login_failed"]
    assert [(e.target, e.details) for e in failed] == [
        (f"user:{uid}", {"ip": "10.0.0.9", "step": "totp", "reason": "replayed"})]


def test_racing_sign_ins_with_one_code_let_exactly_one_in(database):
    """Eight threads present the same code at once: the conditional update lets one win."""
    from concurrent.futures import ThreadPoolExecutor

    uid, totp = _enrolled_checker(database)
    code = totp.generate_otp(totp.timecode(datetime.now(UTC)))
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: accounts.check_totp(database, uid, code), range(8)))
    assert sorted(outcomes) == [accounts.ACCEPTED] + [accounts.REPLAYED] * 7
