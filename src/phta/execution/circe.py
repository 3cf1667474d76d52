"""Run an ATLAS / Circe cohort through the execution path: the same authorise, audit and
disclosure hooks as :func:`phta.execution.path.execute`, for episode-level Circe cohorts.

Returns cohort episodes (record level: only when the purpose allows it) and Circe's inclusion-rule
statistics: per rule (met, gain) and per rule-combination mask, by event and by person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from phta.engines import duckdb as duckdb_engine
from phta.execution.policy import AuditEvent, ExecutionPolicy, no_disclosure_policy
from phta.execution.request import ExecutionContext, Purpose
from phta.query import serial
from phta.query.circe.compiler import compile_circe
from phta.query.circe.negative_controls import NegativeControlOutcome, compile_negative_control
from phta.query.compiler import python_value
from phta.query.ir_circe import CirceCohort


@dataclass(frozen=True)
class RuleStat:
    rule: str
    met: int  # events (or persons' best events) meeting this rule
    gain: int  # events meeting every rule except this one (what dropping the rule would add)


@dataclass(frozen=True)
class InclusionStats:
    mode: str  # "event" (Circe mode 0) or "person" (mode 1: each person's best event)
    base: int  # qualified events (or persons)
    final: int  # meeting every rule
    rules: tuple[RuleStat, ...]
    masks: tuple[tuple[int, int], ...]  # (inclusion_rule_mask, count), Circe's cohort_inclusion_result


@dataclass(frozen=True)
class CirceResult:
    query_hash: str
    node: str
    purpose: str
    episode_count: int
    person_count: int
    censored_lost: int  # persons dropped by the censor window (Circe's cohort_censor_stats)
    by_event: InclusionStats
    by_person: InclusionStats
    episodes: tuple[tuple[int, dt.date, dt.date], ...] | None  # record level, only when allowed


@dataclass(frozen=True)
class CirceRequest:
    query: CirceCohort
    purpose: Purpose
    store: object  # phta.cdm.store.Store
    node: str


def _stats(mode: str, rows: list[tuple], names: tuple[str, ...]) -> InclusionStats:
    masks = tuple((int(m), int(n)) for m, n in rows)
    full = (1 << len(names)) - 1
    base = sum(n for _, n in masks)
    final = sum(n for m, n in masks if m == full)
    rules = tuple(RuleStat(name, sum(n for m, n in masks if m >> i & 1),
                           sum(n for m, n in masks if m == full - (1 << i)))
                  for i, name in enumerate(names))
    return InclusionStats(mode, base, final, rules, masks)


class CirceNotGoverned(PermissionError):
    """A Circe cohort was asked to run under a policy that applies opt-outs or disclosure control.

    The opt-out rewrite and the disclosure hook are typed for PHTA cohorts; until they accept
    Circe episode cohorts, running one under such a policy would silently skip them, so the path
    refuses instead (fail safe: security property 2)."""


def _refuse_ungoverned(policy: ExecutionPolicy) -> None:
    if policy.opt_outs or policy.disclosure is not no_disclosure_policy:
        raise CirceNotGoverned(
            "ATLAS/Circe cohorts cannot yet run for a purpose that applies opt-out registers or "
            "disclosure control; run them for custodian quality assurance on your own store, or "
            "import them (phta cohort import) where the PHTA cohort language can express them"
        )


def execute_circe(request: CirceRequest, context: ExecutionContext,
                  policy: ExecutionPolicy | None = None) -> CirceResult:
    policy = policy or ExecutionPolicy()
    query_hash = serial.content_hash(request.query)

    def audit(outcome: str) -> None:
        policy.audit(AuditEvent(query_hash, request.purpose.code, request.node, context.user, outcome,
                                dt.datetime.now(dt.UTC)))

    try:
        _refuse_ungoverned(policy)
        policy.authorise(request, context)  # type: ignore[arg-type]  # the hook reads purpose/node/store
    except Exception:
        audit("refused")
        raise
    compiled = compile_circe(request.query)
    statements = [(s.sql(), s.params) for s in (compiled.cohort, compiled.masks_by_event,
                                                 compiled.masks_by_person, compiled.eras_before_window)]
    cohort, by_event, by_person, before = duckdb_engine.run(request.store.db_path, statements)
    episodes = tuple((int(r[0]), python_value("date", r[1]), python_value("date", r[2])) for r in cohort.rows)
    persons = len({e[0] for e in episodes})
    result = CirceResult(
        query_hash=query_hash, node=request.node, purpose=request.purpose.code,
        episode_count=len(episodes), person_count=persons,
        censored_lost=int(before.rows[0][0]) - persons,
        by_event=_stats("event", by_event.rows, compiled.rule_names),
        by_person=_stats("person", by_person.rows, compiled.rule_names),
        episodes=episodes if request.purpose.record_level_allowed else None,
    )
    audit("completed")
    return replace(result)


def execute_negative_control(outcome: NegativeControlOutcome, purpose: Purpose, store, node: str,
                             context: ExecutionContext, policy: ExecutionPolicy | None = None
                             ) -> tuple[tuple[int, dt.date, dt.date], ...]:
    """Circe negative-control outcome cohort rows; record level, so only for purposes that allow it."""
    policy = policy or ExecutionPolicy()
    query_hash = serial.content_hash(outcome)
    request = CirceRequest(outcome, purpose, store, node)  # type: ignore[arg-type]
    event = AuditEvent(query_hash, purpose.code, node, context.user, "refused", dt.datetime.now(dt.UTC))
    try:
        _refuse_ungoverned(policy)
        policy.authorise(request, context)  # type: ignore[arg-type]
        if not purpose.record_level_allowed:
            raise PermissionError(f"purpose {purpose.code!r} does not allow record-level outcome cohorts")
    except Exception:
        policy.audit(event)
        raise
    statement = compile_negative_control(outcome)
    (rows,) = duckdb_engine.run(store.db_path, [(statement.sql(), statement.params)])
    policy.audit(replace(event, outcome="completed", timestamp=dt.datetime.now(dt.UTC)))
    return tuple((int(r[0]), python_value("date", r[1]), python_value("date", r[2])) for r in rows.rows)
