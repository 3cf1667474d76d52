"""Dates as people read them on pages ("7 December 2026"), from the ISO text, dates and
datetimes the store and the audit chain hold. Downloads (JSON, CSV) keep ISO dates."""

from __future__ import annotations

import datetime as dt


def _parse(value) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.date):  # datetime is a date too
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text or " " in text \
            else dt.date.fromisoformat(text)
    except ValueError:
        return None


def long_date(value) -> str:
    """``2026-12-07`` (or a datetime) -> ``7 December 2026``; text that is not a date unchanged."""
    parsed = _parse(value)
    if parsed is None:
        return str(value or "")
    return f"{parsed.day} {parsed:%B %Y}"


def long_datetime(value) -> str:
    """An instant -> ``7 December 2026, 14:05 UTC`` (in UTC, the audit chain's clock)."""
    parsed = _parse(value)
    if not isinstance(parsed, dt.datetime):
        return long_date(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
    return f"{long_date(parsed)}, {parsed:%H:%M} UTC"
