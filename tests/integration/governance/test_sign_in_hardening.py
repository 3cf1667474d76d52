"""Throttling counts second-factor failures; login attempts keep no typed text (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import inspect, select, text

from phta.governance import accounts, signin, throttle
from phta.governance.roles import Role, needs_totp
from phta.store.migrations_runner import downgrade_to, upgrade_to
from phta.store.models import LoginAttempt

PW = "a-long-test-password"
SECRET = pyotp.random_base32()


def _totp_user(database, email="admin@example.org") -> int:
    uid = accounts.create_user(database, email=email, password=PW, roles=[Role.HUB_ADMIN])
    accounts.set_totp_secret(database, uid, SECRET, actor="test")
    return uid


def _wrong_code() -> str:
    totp = pyotp.TOTP(SECRET)
    step = totp.timecode(datetime.now(UTC))
    valid = {totp.generate_otp(step + d) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def _password_then_wrong_code(database, email="admin@example.org", ip="10.0.0.1") -> None:
    step = signin.sign_in_with_password(database, email, PW, ip)
    assert step is not None and step.stage == "totp"
    assert signin.complete_second_factor(database, step.session_id, _wrong_code(), ip) is None


def test_a_correct_password_does_not_reset_second_factor_failures(database):
    """Attack: a stolen password, then code guesses, each round starting with the password."""
    _totp_user(database)
    for _ in range(throttle.ACCOUNT_FREE_FAILURES):
        _password_then_wrong_code(database)
    with pytest.raises(signin.ThrottledError):
        signin.sign_in_with_password(database, "admin@example.org", PW, "10.0.0.1")
    # from another address too: the limit is the account's
    with pytest.raises(signin.ThrottledError):
        signin.sign_in_with_password(database, "admin@example.org", PW, "10.0.0.99")


def test_a_throttled_account_cannot_keep_guessing_codes(database):
    _totp_user(database)
    for _ in range(throttle.ACCOUNT_FREE_FAILURES - 1):
        _password_then_wrong_code(database)
    step = signin.sign_in_with_password(database, "admin@example.org", PW, "10.0.0.1")
    assert signin.complete_second_factor(database, step.session_id, _wrong_code(), "10.0.0.1") is None
    with pytest.raises(signin.ThrottledError):
        signin.complete_second_factor(database, step.session_id, pyotp.TOTP(SECRET).now(), "10.0.0.1")


def test_a_full_sign_in_resets_the_count(database):
    """Control: the owner who mistypes a few codes and then gets it right is not held back."""
    _totp_user(database)
    for _ in range(throttle.ACCOUNT_FREE_FAILURES - 1):
        _password_then_wrong_code(database)
    step = signin.sign_in_with_password(database, "admin@example.org", PW, "10.0.0.1")
    assert signin.complete_second_factor(database, step.session_id, pyotp.TOTP(SECRET).now(), "10.0.0.1")
    for _ in range(throttle.ACCOUNT_FREE_FAILURES - 1):
        _password_then_wrong_code(database)
    assert signin.sign_in_with_password(database, "admin@example.org", PW, "10.0.0.1") is not None


def test_login_attempts_keep_only_a_keyed_hash_of_what_was_typed(database):
    typed = "my-Secret-Passw0rd!"  # a password typed into the e-mail field
    assert signin.sign_in_with_password(database, typed, "anything-at-all", "10.0.0.5") is None
    _totp_user(database)
    assert signin.sign_in_with_password(database, "admin@example.org", "wrong-password-x", "10.0.0.5") is None
    with database.session() as s:
        rows = s.scalars(select(LoginAttempt)).all()
        dump = repr([(r.account_key, r.ip) for r in rows]).lower()
    assert len(rows) == 2
    assert typed.lower() not in dump and "admin@example.org" not in dump
    # keyed: not a bare hash of the text, so a guess cannot be confirmed from the database alone
    import hashlib
    assert hashlib.sha256(typed.lower().encode()).hexdigest() not in dump
    assert throttle.account_key(database.data_dir, typed) in dump


def test_the_keyed_identifier_still_throttles_the_account(database):
    """Control: hashing the identifier keeps the per-account limit (and case-insensitively)."""
    _totp_user(database)
    for i in range(throttle.ACCOUNT_FREE_FAILURES):
        email = "Admin@Example.org" if i % 2 else "admin@example.org"
        assert signin.sign_in_with_password(database, email, "wrong-password-x", f"10.0.1.{i}") is None
    with pytest.raises(signin.ThrottledError):
        signin.sign_in_with_password(database, "admin@example.org", PW, "10.0.2.1")


def test_migration_0006_drops_plaintext_identifiers(database):
    downgrade_to(database.engine, "0005_totp_s251")
    with database.engine.begin() as conn:
        conn.execute(text("INSERT INTO login_attempt (email, ip, succeeded, at) "
                          "VALUES ('typed-a-password-here', '10.0.0.1', false, CURRENT_TIMESTAMP)"))
    upgrade_to(database.engine, "head")
    columns = {c["name"] for c in inspect(database.engine).get_columns("login_attempt")}
    assert "email" not in columns and "account_key" in columns
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM login_attempt")).scalar() == 0


def test_the_account_manager_needs_a_second_factor(database):
    assert needs_totp({Role.ACCOUNT_MANAGER})
    accounts.create_user(database, email="am@example.org", password=PW, roles=[Role.ACCOUNT_MANAGER])
    step = signin.sign_in_with_password(database, "am@example.org", PW, "10.0.0.1")
    assert step.stage == "enrol" and signin.principal_from_session(database, step.session_id) is None
    # control: a role that needs no second factor still signs in with its password
    accounts.create_user(database, email="r@example.org", password=PW, roles=[Role.RESEARCHER])
    assert signin.sign_in_with_password(database, "r@example.org", PW, "10.0.0.1").stage == "full"
