"""Working days for request timings exclude weekends and England and Wales bank holidays."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from phta.governance.working_days import bank_holidays, working_days

# gov.uk/bank-holidays.json, division "england-and-wales", written out by hand as an oracle
# independent of the holidays package.
GOV_UK = {
    2025: ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
           "2025-12-25", "2025-12-26"],
    2026: ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
           "2026-12-25", "2026-12-28"],
}


def test_easter_2026_good_friday_and_easter_monday_are_not_working_days():
    # Thu 2 April .. Tue 7 April 2026: Thu counted; Good Friday, the weekend, Easter Monday not.
    assert working_days(dt.datetime(2026, 4, 2, 9, 0, tzinfo=dt.UTC), dt.datetime(2026, 4, 7, 17, 0, tzinfo=dt.UTC)) == 1
    assert working_days(dt.date(2026, 3, 30), dt.date(2026, 4, 13)) == 8  # two weeks less two holidays


def test_christmas_2026_boxing_day_substitute_monday_is_excluded():
    # Christmas Day is a Friday and Boxing Day a Saturday, so Monday 28 December is the substitute.
    assert working_days(dt.date(2026, 12, 24), dt.date(2026, 12, 29)) == 1
    assert working_days(dt.date(2026, 12, 21), dt.date(2027, 1, 4)) == 7  # 10 weekdays - 25, 28 Dec, 1 Jan


def test_one_off_royal_bank_holidays_are_excluded():
    assert working_days(dt.date(2022, 9, 19), dt.date(2022, 9, 20)) == 0  # state funeral
    assert working_days(dt.date(2023, 5, 8), dt.date(2023, 5, 9)) == 0  # coronation


def test_weekday_bank_holidays_match_gov_uk():
    for year, days in GOV_UK.items():
        weekdays = [d for d in bank_holidays(year) if d.weekday() < 5]
        assert [d.isoformat() for d in weekdays] == days


def test_same_day_is_zero_and_scotland_only_holidays_are_working_days():
    assert working_days(dt.date(2026, 4, 2), dt.date(2026, 4, 2)) == 0
    assert working_days(dt.date(2026, 1, 2), dt.date(2026, 1, 3)) == 1  # 2 January: Scotland only
    assert working_days(dt.date(2026, 8, 3), dt.date(2026, 8, 4)) == 1  # first Monday of August: Scotland


days = st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31))


@given(a=days, b=days, c=days)
def test_working_days_add_up_over_consecutive_intervals(a, b, c):
    a, b, c = sorted((a, b, c))
    assert working_days(a, b) + working_days(b, c) == working_days(a, c)


@given(a=days, b=days)
def test_working_days_are_weekdays_less_weekday_bank_holidays(a, b):
    a, b = sorted((a, b))
    holidays_between = {d for y in range(a.year, b.year + 1) for d in bank_holidays(y)
                        if a <= d < b and d.weekday() < 5}
    assert working_days(a, b) == int(np.busday_count(a, b)) - len(holidays_between)
