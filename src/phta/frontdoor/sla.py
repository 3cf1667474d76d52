"""SLA timers of a case: first response within N working days, and inactivity nudges.

Working days are governance's (Monday to Friday less England and Wales bank holidays:
``phta.governance.working_days``). Every function takes ``now`` so tests control the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from phta.governance.working_days import bank_holidays, working_days

INACTIVITY_NUDGE_DAYS = 5  # working days without a message, task or status change


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (a start on a non-working day rolls on)."""
    years = range(start.year, start.year + 2 + days // 200)
    hols = [d for y in years for d in bank_holidays(y)]
    return np.busday_offset(start, days, roll="forward", holidays=hols).astype(date)


@dataclass(frozen=True)
class SlaState:
    first_response_due: date
    first_response_overdue: bool
    working_days_waiting: int | None  # until the first response (so far, if none yet)
    needs_nudge: bool  # open, and quiet for INACTIVITY_NUDGE_DAYS working days or more
    quiet_working_days: int


def sla_state(*, created_at: datetime, first_response_days: int, first_response_at: datetime | None,
              last_activity_at: datetime, closed: bool, now: datetime) -> SlaState:
    due = add_working_days(created_at.date(), first_response_days)
    answered = first_response_at is not None
    waiting = working_days(created_at, first_response_at if answered else now)
    overdue = (not answered and not closed and now.date() > due) or (
        answered and first_response_at.date() > due)
    quiet = max(0, working_days(last_activity_at, now))
    return SlaState(due, overdue, waiting, not closed and quiet >= INACTIVITY_NUDGE_DAYS, quiet)
