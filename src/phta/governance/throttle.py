"""Login throttling: after repeated failures an account (or an address) must wait, doubling.

Five failures since the last success make the account wait 30 s, then 60 s, 120 s ... up to 15
minutes. An address gets more room (twenty failures, across any accounts) because several people
may share one. Attempts are rows in the operational store, so every app process sees them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from phta.store.models import LoginAttempt

ACCOUNT_FREE_FAILURES = 5
IP_FREE_FAILURES = 20
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
WINDOW = timedelta(hours=24)


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


def seconds_to_wait(session: Session, email: str, ip: str, now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    return max(
        _wait(session, LoginAttempt.email, email.lower(), ACCOUNT_FREE_FAILURES, now, True),
        _wait(
            session, LoginAttempt.ip, ip, IP_FREE_FAILURES, now, False
        ),  # one good account must not unlock an address
    )


def note_attempt(
    session: Session, email: str, ip: str, succeeded: bool, now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    session.add(LoginAttempt(email=email.lower()[:320], ip=ip[:64], succeeded=succeeded, at=now))
    # Keep the table small: attempts older than the window no longer matter.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - WINDOW))
