"""Login throttling: after repeated failures an account (or an address) must wait, doubling.

Five failures since the last full sign-in make the account wait 30 s, then 60 s, 120 s ... up to
15 minutes. Failures at either step count: a wrong password and a wrong second-factor code are
both failures of the account, and only a *full* sign-in (password and, where enrolled, the TOTP
code) counts as a success that starts the count again. A correct password alone never does, or a
stolen password would buy unlimited guesses at the six-digit code.

An address gets more room (twenty failures, across any accounts) because several people may share
one, and its count is never reset by a success (one good account must not unlock an address).
Attempts are rows in the operational store, so every app process sees them.

The attempted identifier is kept only as a keyed hash (HMAC-SHA256 with a key in the data
directory, ``keys/login-attempts.key``): people type passwords into the e-mail field, and that
text must not sit in the database for the throttling window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from phta.store.keyfiles import load_or_create_key
from phta.store.models import LoginAttempt

ACCOUNT_FREE_FAILURES = 5
IP_FREE_FAILURES = 20
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
WINDOW = timedelta(hours=24)
ATTEMPT_KEY_FILE = "login-attempts.key"


def account_key(data_dir: Path, identifier: str) -> str:
    """The keyed hash that stands for an attempted e-mail address (as typed, normalised)."""
    key = load_or_create_key(Path(data_dir), ATTEMPT_KEY_FILE, lambda: secrets.token_bytes(32))
    normalised = identifier.strip().lower().encode("utf-8")
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _wait(
    session: Session, column, value: str, free: int, now: datetime, reset_on_success: bool
) -> float:
    last_success = reset_on_success and session.scalar(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded.is_(True))
    )
    since = max(_as_utc(last_success), now - WINDOW) if last_success else now - WINDOW
    failures = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since
        )
    ).one()
    count, last_failure = failures
    if count < free or last_failure is None:
        return 0.0
    delay = min(BASE_DELAY * (2 ** (count - free)), MAX_DELAY)
    remaining = (_as_utc(last_failure) + delay - now).total_seconds()
    return max(0.0, remaining)


def seconds_to_wait(session: Session, account: str, ip: str, now: datetime | None = None) -> float:
    """``account`` is an ``account_key``; the longer of the account's and the address's waits."""
    now = now or datetime.now(UTC)
    return max(
        _wait(session, LoginAttempt.account_key, account, ACCOUNT_FREE_FAILURES, now, True),
        _wait(session, LoginAttempt.ip, ip, IP_FREE_FAILURES, now, False),
    )


def note_attempt(
    session: Session, account: str, ip: str, succeeded: bool, now: datetime | None = None
) -> None:
    """Record one attempt. ``succeeded`` means a *full* sign-in (every factor the account has):
    only that resets the account's count, so callers never note a correct password alone."""
    now = now or datetime.now(UTC)
    session.add(LoginAttempt(account_key=account, ip=ip[:64], succeeded=succeeded, at=now))
    # Keep the table small: attempts older than the window no longer matter.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - WINDOW))
