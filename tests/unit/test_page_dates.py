"""Dates on pages read as words; anything that is not a date passes through unchanged."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from phta.web.dates import long_date, long_datetime


def test_iso_text_dates_and_datetimes_read_as_words():
    assert long_date("2026-12-07") == "7 December 2026"
    assert long_date(dt.date(2027, 1, 1)) == "1 January 2027"
    assert long_datetime("2026-12-07T14:05:03.123456+00:00") == "7 December 2026, 14:05 UTC"
    # an instant elsewhere is shown in UTC, the audit chain's clock
    assert long_datetime(dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == \
        "1 June 2026, 08:30 UTC"
    assert long_datetime("2026-12-07") == "7 December 2026"


def test_empty_and_non_dates_are_left_alone():
    assert long_date("") == "" and long_date(None) == "" and long_date("pending") == "pending"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_every_date_round_trips_through_its_words(day):
    assert dt.datetime.strptime(long_date(day.isoformat()), "%d %B %Y").date() == day
