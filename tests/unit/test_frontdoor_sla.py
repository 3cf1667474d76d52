"""SLA timers in working days (England and Wales bank holidays excluded), and the status machine."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from phta.frontdoor.sla import INACTIVITY_NUDGE_DAYS, add_working_days, sla_state
from phta.frontdoor.vocabulary import STATUSES, TRANSITIONS
from phta.governance.working_days import working_days


def _at(y, m, d, h=10) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def test_christmas_and_boxing_day_substitute_are_skipped():
    # Thursday 24 December 2026: Friday 25th and Monday 28th (Boxing Day's substitute) are holidays
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)


def test_easter_is_skipped():
    # Thursday 2 April 2026; Good Friday 3rd and Easter Monday 6th are bank holidays
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)


def test_a_weekend_enquiry_starts_counting_on_monday():
    assert add_working_days(date(2026, 12, 5), 2) == date(2026, 12, 9)  # Saturday -> Monday, +2


def test_first_response_overdue_only_after_the_due_day():
    created = _at(2026, 12, 23)
    kwargs = {"created_at": created, "first_response_days": 2, "first_response_at": None,
              "last_activity_at": created, "closed": False}
    assert sla_state(**kwargs, now=_at(2026, 12, 29, 17)).first_response_due == date(2026, 12, 29)
    assert not sla_state(**kwargs, now=_at(2026, 12, 29, 17)).first_response_overdue
    assert sla_state(**kwargs, now=_at(2026, 12, 30)).first_response_overdue
    assert not sla_state(**kwargs | {"closed": True}, now=_at(2026, 12, 30)).first_response_overdue


def test_a_late_answer_stays_on_record_as_late_and_an_answer_in_time_is_not_overdue():
    created = _at(2026, 12, 7)
    late = sla_state(created_at=created, first_response_days=2, first_response_at=_at(2026, 12, 10),
                     last_activity_at=_at(2026, 12, 10), closed=False, now=_at(2026, 12, 11))
    in_time = sla_state(created_at=created, first_response_days=2, first_response_at=_at(2026, 12, 9),
                        last_activity_at=_at(2026, 12, 9), closed=False, now=_at(2027, 1, 11))
    assert late.first_response_overdue and late.working_days_waiting == 3
    assert not in_time.first_response_overdue


def test_inactivity_nudge_after_quiet_working_days_not_over_a_bank_holiday_break():
    last = _at(2026, 12, 22)
    state = sla_state(created_at=last, first_response_days=2, first_response_at=last, last_activity_at=last,
                      closed=False, now=_at(2026, 12, 30))
    # from 22 Dec up to 30 Dec: 22, 23, 24, 29 = 4 working days (25, 28 are holidays): no nudge yet
    assert state.quiet_working_days == 4 and not state.needs_nudge
    state = sla_state(created_at=last, first_response_days=2, first_response_at=last, last_activity_at=last,
                      closed=False, now=_at(2026, 12, 31))
    assert state.quiet_working_days == INACTIVITY_NUDGE_DAYS and state.needs_nudge


@settings(max_examples=80, deadline=None)
@given(start=st.dates(date(2025, 1, 1), date(2030, 12, 31)), days=st.integers(0, 40))
def test_adding_working_days_agrees_with_counting_them(start, days):
    due = add_working_days(start, days)
    assert due >= start
    first = add_working_days(start, 0)  # a non-working start rolls forward to the next working day
    assert working_days(first, due) == days


def test_the_status_machine_only_moves_forward_and_closed_is_final():
    order = list(STATUSES)
    assert order == ["new", "triaged", "engaged", "in_progress", "closed"]
    for status, nexts in TRANSITIONS.items():
        for n in nexts:
            assert order.index(n) > order.index(status)
    assert TRANSITIONS["closed"] == frozenset()
    assert all("closed" in TRANSITIONS[s] for s in order[:-1])  # any open case can be closed (with an outcome)
