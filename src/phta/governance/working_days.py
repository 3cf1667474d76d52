"""Working days for request timings: Monday to Friday, less the bank holidays of England and Wales.

Decision times of data access requests are reported in working days, as the HDR UK Gateway and
NHS data access services do. A working day here is a weekday that is not a bank holiday in England
and Wales (the calendar gov.uk publishes as ``england-and-wales`` in its bank-holidays.json).
The dates come from the pinned ``holidays`` package (subdivision ``ENG``, whose calendar is the
same as Wales's): it carries the substitute days when a holiday falls on a weekend and the
one-off holidays proclaimed for royal events (e.g. 19 September 2022, 8 May 2023), so no dated list
has to be kept up to date by hand here.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import holidays
import numpy as np

COUNTRY = "GB"
SUBDIVISION = "ENG"  # England; Wales has the same bank holidays (Scotland and NI differ)


@cache
def bank_holidays(year: int) -> tuple[date, ...]:
    """England and Wales bank holidays of ``year``, in date order."""
    return tuple(sorted(holidays.country_holidays(COUNTRY, subdiv=SUBDIVISION, years=year)))


def working_days(start: datetime | date, end: datetime | date) -> int:
    """Working days from ``start`` (counted) up to ``end`` (not counted): ``0`` on the same day.

    Like ``numpy.busday_count``, a backwards interval counts negatively."""
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    years = range(min(first, last).year, max(first, last).year + 1)
    return int(np.busday_count(first, last, holidays=[d for y in years for d in bank_holidays(y)]))
