"""Run an ATLAS / Circe cohort through the execution path: the same authorise, opt-out,
disclosure and audit hooks as :func:`phta.execution.path.execute`, for episode-level Circe cohorts.

authorise -> governance rewrite (opt-outs: the persons to exclude) -> compile -> remove the
excluded persons from every table the statements read (in the syntax tree) -> run -> typed result
(with cell keys when the store has record keys) -> disclosure hook -> audit.

Unprotected, the result holds cohort episodes (record level: only when the purpose allows it) and
Circe's inclusion-rule statistics: per rule (met, gain) and per rule-combination mask, by event
and by person. A disclosure hook must return a
:class:`~phta.execution.circe_results.ProtectedCirceResult`; one that does not understand Circe
results is refused rather than passed through (fail safe).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace

import sqlglot.expressions as exp

from phta.cdm.record_keys import has_record_keys
from phta.config import Settings
from phta.disclosure.results import TOTAL
from phta.execution.circe_disclosure import MAX_TABLE_RULES
from phta.execution.circe_results import (
    MET,
    NOT_MET,
    CirceResult,
    InclusionStats,
    ProtectedCirceResult,
    RuleStat,
)
from phta.execution.node_engine import DUCKDB, NodeEngine, node_engine, run_statements
from phta.execution.path import KEY_RESOLUTION
from phta.execution.policy import (
    TOTAL_CELL,
    AuditEvent,
    ExecutionPolicy,
    PersonsExcluded,
    ReleaseCandidate,
    check_release,
    no_disclosure_policy,
)
from phta.execution.request import ExecutionContext, Purpose
from phta.execution.universe import node_universe
from phta.query import serial
from phta.query.circe.cell_keys import mask_key_sums, person_key_sum
from phta.query.circe.compiler import compile_circe
from phta.query.circe.negative_controls import NegativeControlOutcome, compile_negative_control
from phta.query.compiler import Statement, python_value
from phta.query.ir_circe import CirceCohort
from phta.query.restrict import exclude_persons
from phta.query.vocabulary_check import check_vocabulary

__all__ = ["CirceNotGoverned", "CirceRequest", "CirceResult", "InclusionStats", "ProtectedCirceResult", "RuleStat",
           "execute_circe", "execute_negative_control"]


@dataclass(frozen=True)
class CirceRequest:
    query: CirceCohort
    purpose: Purpose
    store: object  # phta.cdm.store.Store
    node: str
    engine: NodeEngine = DUCKDB  # the node's engine: the statements are compiled for its dialect and run on it

    @classmethod
    def build(cls, query: CirceCohort, purpose: Purpose, store, *, settings: Settings | None = None) -> CirceRequest:
        """The request on ``store`` (a Store), named as the store names its node; with ``settings``, on
        the engine they give that node (DuckDB or Spark), else DuckDB -- as ExecutionRequest.build."""
        name = store.info()["node_name"] or store.path.name
        return cls(query, purpose, store, name, node_engine(settings, name, store) if settings is not None else DUCKDB)


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
    """A policy asks for something the Circe path cannot apply (a governance rewrite other than
    excluding persons, a disclosure hook that does not protect Circe results, opt-outs on a
    record-level negative-control outcome). Running anyway would silently skip it, so the path
    refuses instead (fail safe: security property 2)."""


def _refuse_ungoverned(policy: ExecutionPolicy) -> None:
    """For negative-control outcomes (record-level rows): no opt-out or disclosure hook applies."""
    if policy.opt_outs or policy.disclosure is not no_disclosure_policy:
        raise CirceNotGoverned(
            "negative-control outcome cohorts are record level: they run only for custodian quality "
            "assurance on your own store, where no opt-out register or disclosure control applies"
        )


def _governed_query(policy: ExecutionPolicy, query: CirceCohort) -> tuple[CirceCohort, tuple[int, ...]]:
    """The query and the persons the opt-out rewrite excludes; any other rewrite is refused."""
    governed = policy.governance_rewrite(query)  # type: ignore[arg-type]  # Circe: see ExecutionPolicy
    if isinstance(governed, PersonsExcluded) and governed.query == query:
        return query, governed.person_ids
    if governed == query:
        return query, ()
    raise CirceNotGoverned("the governance rewrite changed the ATLAS/Circe cohort itself; only excluding "
                           "persons (the opt-out rewrite) can be applied to Circe cohorts")


def _disclose(policy: ExecutionPolicy, result: CirceResult, request: CirceRequest
              ) -> CirceResult | ProtectedCirceResult:
    if policy.disclosure is no_disclosure_policy:
        return replace(result, disclosure="none (no disclosure policy configured)")
    protected = policy.disclosure(result, request)  # type: ignore[arg-type]  # Circe: see ExecutionPolicy
    if not isinstance(protected, ProtectedCirceResult):
        raise CirceNotGoverned("the disclosure hook of this policy does not protect ATLAS/Circe results")
    return protected


def execute_circe(request: CirceRequest, context: ExecutionContext,
                  policy: ExecutionPolicy | None = None) -> CirceResult | ProtectedCirceResult:
    policy = policy or ExecutionPolicy()
    query_hash = serial.content_hash(request.query)

    def audit(outcome: str) -> None:
        policy.audit(AuditEvent(query_hash, request.purpose.code, request.node, context.user, outcome,
                                dt.datetime.now(dt.UTC), policy.opt_outs))

    try:
        policy.authorise(request, context)  # type: ignore[arg-type]  # the hook reads purpose/node/store
        query, excluded = _governed_query(policy, request.query)
    except Exception:
        audit("refused")
        raise
    compiled = compile_circe(query, request.engine.dialect)
    keyed = has_record_keys(request.store)
    # With record keys, the by-person masks come with each mask's key sum (rows: mask, n, key_sum).
    by_person_statement = mask_key_sums(compiled.masks_by_person) if keyed else compiled.masks_by_person
    # Without a censor window no era is lost to it: the count before the window is not run (on
    # Spark each statement recomputes the whole chain)
    windowed = query.censor_start is not None or query.censor_end is not None
    statements = [compiled.cohort, compiled.masks_by_event, by_person_statement,
                  *([compiled.eras_before_window] if windowed else []),
                  person_masks(compiled.masks_by_person),
                  *([person_key_sum(compiled.cohort)] if keyed else [])]
    # Opt-outs: every person-keyed table every statement reads loses the excluded persons.
    runnable = [exclude_persons(s, excluded) for s in statements]
    cohort, by_event, by_person, *rest = run_statements(request.engine, request.store, runnable)
    before = rest.pop(0) if windowed else None
    masks_of, person_key = rest.pop(0), rest
    episodes = tuple((int(r[0]), python_value("date", r[1]), python_value("date", r[2])) for r in cohort)
    persons = len({e[0] for e in episodes})
    result = CirceResult(
        query_hash=query_hash, node=request.node, purpose=request.purpose.code,
        episode_count=len(episodes), person_count=persons,
        censored_lost=int(before[0][0]) - persons if windowed else 0,
        by_event=_stats("event", by_event, compiled.rule_names),
        by_person=_stats("person", [r[:2] for r in by_person], compiled.rule_names),
        episodes=episodes if request.purpose.record_level_allowed else None,
        opt_outs=policy.opt_outs,
        person_key=_key(person_key[0][0][0]) if keyed else None,
        mask_keys=tuple((int(r[0]), _key(r[2])) for r in by_person) if keyed else None,
    )
    # the release ledger (differencing against earlier releases), as for PHTA cohorts
    names = compiled.rule_names
    keys = {TOTAL_CELL: result.person_key} if result.person_key is not None else {}
    candidate = ReleaseCandidate(
        request, query_hash, frozenset(e[0] for e in episodes),  # type: ignore[arg-type]
        cells=inclusion_populations([(int(r[0]), int(r[1])) for r in masks_of], len(names))
        if 0 < len(names) <= MAX_TABLE_RULES else (),
        keys=keys, universe=lambda: node_universe(request.store, excluded))
    record_release = check_release(policy, candidate, audit)
    result = replace(result, reused=tuple(getattr(record_release, "reused", {}).items()))
    try:
        protected = _disclose(policy, result, request)
    except Exception:
        audit("refused")
        raise
    record_release()
    audit("completed")
    return protected


def person_masks(masks: Statement) -> Statement:
    """Rows (person_id, inclusion_rule_mask): each person's best-event mask, from the by-person
    masks statement's own subquery, so the release ledger can compare the inclusion table's cells
    (the persons stay at the node)."""
    tree = masks.tree.copy()
    source = tree.args.get("from") or tree.args.get("from_")
    alias = source.this.alias_or_name
    select = exp.select(exp.column("person_id", alias), exp.column("inclusion_rule_mask", alias)).from_(source.this)
    if tree.args.get("with_") is not None:
        select.set("with_", tree.args["with_"])
    return replace(masks, tree=select)


def inclusion_populations(rows: list[tuple[int, int]], rules: int
                          ) -> tuple[tuple[tuple[str, ...], frozenset[int]], ...]:
    """The persons of every cell and margin of the inclusion table
    (:func:`phta.execution.circe_disclosure.inclusion_table`): per axis ``met``, ``not met`` or
    summed over (``Total``), labelled as the protected table labels them."""
    cells = []
    for levels in itertools.product((MET, NOT_MET, TOTAL), repeat=rules):
        ids = frozenset(person for person, mask in rows
                        if all(level == TOTAL or (level == MET) == bool(mask >> i & 1)
                               for i, level in enumerate(levels)))
        cells.append((levels, ids))
    return tuple(cells)


def _key(key_sum) -> float:
    return (int(key_sum or 0) % KEY_RESOLUTION) / KEY_RESOLUTION


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
        check_vocabulary(outcome, purpose.code, data_node=node)
        policy.authorise(request, context)  # type: ignore[arg-type]
        if not purpose.record_level_allowed:
            raise PermissionError(f"purpose {purpose.code!r} does not allow record-level outcome cohorts")
    except Exception:
        policy.audit(event)
        raise
    statement = compile_negative_control(outcome)
    (rows,) = run_statements(DUCKDB, store, [statement])  # custodian QA on the store file itself
    policy.audit(replace(event, outcome="completed", timestamp=dt.datetime.now(dt.UTC)))
    return tuple((int(r[0]), python_value("date", r[1]), python_value("date", r[2])) for r in rows)
