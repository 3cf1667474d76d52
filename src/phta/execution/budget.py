"""The daily query budget: how many queries each user may run for each purpose per UTC day.

Every attack that singles a person out of protected counts needs many queries: narrowing a
date of birth by bisection, trackers and complements, combining rare attributes one at a time.
The budget bounds them all at once (docs/disclosure-control.md, "Query budgets"). A governed entry
point charges one unit per request before anything runs: a network request counts once however
many nodes answer it (every node answers the same question, so an attack on one node costs what
it costs on all of them). Requests refused before the charge (by the purpose's vocabulary, or by
governance) cost nothing.

The counter is a row per actor, purpose and UTC day in the operational store, raised by one
conditional UPDATE (``used = used + 1 WHERE used < limit``), so two processes can never both take
the last unit, on SQLite as on PostgreSQL. A refusal is written to the audit chain with who, the
purpose and the reason; never a count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from phta.audit import record_event
from phta.config import Settings
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.models import QueryBudgetUse

ANONYMOUS = "anonymous"
REFUSED_ACTION = "query.budget_refused"

#: the clock budgets are counted by (tests replace it to cross midnight)
clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)  # noqa: E731


@dataclass(frozen=True)
class BudgetStatus:
    purpose: str
    limit: int | None  # None: unlimited
    used: int
    day: dt.date  # the UTC day counted

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def resets_at(self) -> dt.datetime:
        return dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time(), dt.UTC)

    def to_dict(self) -> dict:
        return {"purpose": self.purpose, "limit": self.limit, "used": self.used, "remaining": self.remaining,
                "day": self.day.isoformat(), "resets_at": self.resets_at.isoformat()}


class BudgetExhausted(PermissionError):
    """The user's daily query budget for the purpose is used up; says when it resets."""

    def __init__(self, status: BudgetStatus):
        self.status = status
        super().__init__(f"daily query budget for {status.purpose} used up: {status.used} of {status.limit}; "
                         "resets at 00:00 UTC")


def actor_of(principal: Principal | None) -> str:
    return principal.actor if principal is not None else ANONYMOUS


def _today(now: dt.datetime | None) -> dt.date:
    return (now or clock()).astimezone(dt.UTC).date()


def charge_query(settings: Settings, database: Database, principal: Principal | None, purpose: str,
                 *, now: dt.datetime | None = None, actor: str | None = None) -> BudgetStatus:
    """Take one unit of today's budget for ``purpose``, or raise BudgetExhausted (audited).
    ``actor`` names whose budget it is when there is no principal (the public Beacon counts
    anonymous callers per client address, so one caller cannot use up everyone's budget)."""
    limit = settings.query_budget_for(purpose)
    day = _today(now)
    actor = actor or actor_of(principal)
    if limit is None:
        return BudgetStatus(purpose, None, 0, day)
    taken = _take(database, actor, purpose, day.isoformat(), limit)
    status = BudgetStatus(purpose, limit, taken if taken is not None else limit, day)
    if taken is None:
        record_event(database, actor=actor, action=REFUSED_ACTION, target=f"purpose:{purpose}",
                     details={"purpose": purpose, "reason": "daily query budget used up",
                              "day": day.isoformat()})
        raise BudgetExhausted(status)
    return status


def _take(database: Database, actor: str, purpose: str, day: str, limit: int) -> int | None:
    """Raise the counter if it is below ``limit``; the new count, or None if the budget is used up."""
    where = (QueryBudgetUse.actor == actor, QueryBudgetUse.purpose == purpose, QueryBudgetUse.day == day)
    for _ in range(2):  # a second pass only if another process created today's row first
        with database.session() as session:
            raised = session.execute(update(QueryBudgetUse).where(*where, QueryBudgetUse.used < limit)
                                     .values(used=QueryBudgetUse.used + 1))
            if raised.rowcount == 1:  # type: ignore[attr-defined]
                return session.scalar(select(QueryBudgetUse.used).where(*where))
            if session.scalar(select(QueryBudgetUse.id).where(*where)) is not None or limit <= 0:
                return None
        try:
            with database.session() as session:
                session.add(QueryBudgetUse(actor=actor, purpose=purpose, day=day, used=1))
            return 1
        except IntegrityError:
            continue
    return None


def budget_status(settings: Settings, database: Database, principal: Principal | None, purposes: list[str],
                  *, now: dt.datetime | None = None) -> list[BudgetStatus]:
    """Today's use of each purpose's budget by this principal (nothing is charged)."""
    day = _today(now)
    actor = actor_of(principal)
    with database.session() as session:
        used = dict(session.execute(select(QueryBudgetUse.purpose, QueryBudgetUse.used).where(
            QueryBudgetUse.actor == actor, QueryBudgetUse.day == day.isoformat(),
            QueryBudgetUse.purpose.in_(purposes))).all())
    return [BudgetStatus(p, settings.query_budget_for(p), int(used.get(p, 0)), day) for p in purposes]
