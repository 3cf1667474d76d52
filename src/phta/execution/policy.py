"""The hooks of the execution path, gathered in one :class:`ExecutionPolicy`.

Governance, disclosure control and audit plug in by replacing a field; the path itself
(:mod:`phta.execution.path`) never changes. The defaults are the local, single-custodian case:
a custodian may query their own store, no opt-out register is configured, no disclosure policy
is applied (and the result says so), no release ledger is kept (nothing is released), and
audit events go to an in-memory sink and the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from phta.execution.request import ExecutionContext, ExecutionRequest
from phta.execution.results import AppliedOptOut, CohortResult
from phta.node_names import same_node
from phta.query import ir

log = logging.getLogger("phta.execution")


class NotAuthorised(PermissionError):
    """The requester may not run this query for this purpose on this node."""


class ReleaseWithheld(PermissionError):
    """The release ledger stopped a result (a differencing risk): ``outcome`` is ``block`` or
    ``review`` (held for a checker). The message names the rule, never a count."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


#: the label of a result's whole population among its cells (PHTA and ATLAS cohorts alike)
TOTAL_CELL: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class ReleaseCandidate:
    """What the release-ledger hook sees before a result leaves: the node-local ids of the
    population about to be described, and of each other count cell it publishes (strata cells,
    inclusion-rule cells and margins), with their cell keys. It stays at the node: never
    returned, logged or audited."""

    request: ExecutionRequest
    query_hash: str
    person_ids: frozenset[int]
    #: (cell label, person ids) of every other published count cell
    cells: tuple[tuple[tuple[str, ...], frozenset[int]], ...] = ()
    #: cell label -> cell key (``TOTAL_CELL`` for the whole population), when the store has keys
    keys: dict[tuple[str, ...], float] = field(default_factory=dict)
    #: the node's whole population under this query's opt-outs (a ``phta.execution.universe.Universe``),
    #: computed only when the hook asks for it
    universe: Callable[[], object] | None = None

    def populations(self) -> list[tuple[tuple[str, ...], frozenset[int]]]:
        return [(TOTAL_CELL, self.person_ids), *self.cells]


@dataclass(frozen=True)
class Reuse:
    """A count cell answered with an earlier population's protected value: that population's
    size and cell key (the disclosure hook protects them under its own policy, so the answer is
    exactly the earlier one), and why: ``earlier`` (a near-identical population released before)
    or ``node`` (within the threshold of the node's whole population: a complement)."""

    count: int
    cell_key: float | None
    source: str


class ReleasePlan:
    """What the release check decided: the cells answered with an earlier value (``reused``), and
    what records the new populations once disclosure control has let the result go (call it)."""

    def __init__(self, reused: dict[tuple[str, ...], Reuse], record: Callable[[], None]) -> None:
        self.reused = reused
        self._record = record

    def __call__(self) -> None:
        self._record()


@dataclass(frozen=True)
class AuditEvent:
    """What the audit hook receives. Never results: the query's hash, not its answers."""

    query_hash: str
    purpose: str
    node: str
    user: str
    outcome: str  # "completed" or "refused"
    timestamp: dt.datetime
    opt_outs: tuple[AppliedOptOut, ...] = ()  # the registers the governance rewrite applied


def custodian_of_own_store(request: ExecutionRequest, context: ExecutionContext) -> None:
    """Default authorisation: a local custodian running a query on their own node's store."""
    if "custodian" not in context.roles:
        raise NotAuthorised(f"{context.user!r} is not a custodian; no other purposes are configured")
    if not same_node(context.node, request.node):
        raise NotAuthorised(f"{context.user!r} is custodian of {context.node!r}, not of {request.node!r}")


def no_opt_out_register(cohort: ir.Cohort) -> ir.Cohort:
    """Default governance rewrite: no opt-out register is configured, so nothing changes."""
    return cohort


@dataclass(frozen=True)
class PersonsExcluded:
    """The opt-out rewrite of a query with no universe to restrict (an ATLAS / Circe cohort): the
    query unchanged and the persons the path must remove from every table its compiled statements
    read (:func:`phta.query.restrict.exclude_persons`)."""

    query: object
    person_ids: tuple[int, ...]


def exclude_persons(cohort, person_ids: tuple[int, ...]):
    """Restrict a query so these persons are never counted (the opt-out rewrite): a PHTA cohort's
    universe, or for any other query a :class:`PersonsExcluded` the execution path applies."""
    if isinstance(cohort, PersonsExcluded):
        return PersonsExcluded(cohort.query, tuple(sorted(set(cohort.person_ids) | set(person_ids))))
    if not isinstance(cohort, ir.Cohort):
        return PersonsExcluded(cohort, tuple(sorted(person_ids)))
    outside = ir.Not(ir.PersonIn(tuple(sorted(person_ids))))
    universe = outside if cohort.universe is None else ir.And((cohort.universe, outside))
    return replace(cohort, universe=universe)


def no_disclosure_policy(result: CohortResult, request: ExecutionRequest) -> CohortResult:
    """Default disclosure hook: pass the result through, recording that no policy was applied."""
    return replace(result, disclosure="none (no disclosure policy configured)")


def _nothing_to_record() -> None:
    return None


def check_release(policy: ExecutionPolicy, candidate: ReleaseCandidate,
                  audit: Callable[[str], None]) -> Callable[[], None]:
    """The policy's release check, with a withheld release audited before it propagates; returns
    what records the release, to be called once disclosure control has let it go."""
    try:
        record = policy.release_check(candidate)
    except ReleaseWithheld as withheld:
        audit(f"withheld ({withheld.outcome}): differencing")
        raise

    def audited_record() -> None:
        try:
            record()
        except ReleaseWithheld as withheld:  # a near-identical release was recorded meanwhile
            audit(f"withheld ({withheld.outcome}): differencing")
            raise

    # keep what the check decided visible to the caller (ReleasePlan.reused)
    audited_record.reused = getattr(record, "reused", {})  # type: ignore[attr-defined]
    return audited_record


def no_release_ledger(candidate: ReleaseCandidate) -> Callable[[], None]:
    """Default release check: no ledger is configured (a custodian's local run), nothing to record."""
    return _nothing_to_record


@dataclass
class InMemoryAuditSink:
    events: list[AuditEvent] = field(default_factory=list)

    def __call__(self, event: AuditEvent) -> None:
        self.events.append(event)
        log.info("query %s purpose=%s node=%s user=%s %s", event.query_hash[:12], event.purpose,
                 event.node, event.user, event.outcome)


@dataclass(frozen=True)
class ExecutionPolicy:
    authorise: Callable[[ExecutionRequest, ExecutionContext], None] = custodian_of_own_store
    #: a PHTA cohort -> a cohort; an ATLAS / Circe cohort -> itself or a PersonsExcluded
    governance_rewrite: Callable[[ir.Cohort], ir.Cohort] = no_opt_out_register
    #: also called with a phta.execution.circe_results.CirceResult for ATLAS cohorts
    disclosure: Callable[[CohortResult, ExecutionRequest], CohortResult] = no_disclosure_policy
    audit: Callable[[AuditEvent], None] = field(default_factory=InMemoryAuditSink)
    # What governance_rewrite applies, recorded on the result and the audit event
    # (set by phta.execution.optouts.policy_for).
    opt_outs: tuple[AppliedOptOut, ...] = ()
    # The release ledger (differencing check): called with the population before disclosure;
    # raises ReleaseWithheld to stop the result, else returns what records the release once the
    # result has passed disclosure control (phta.execution.ledger).
    release_check: Callable[[ReleaseCandidate], Callable[[], None]] = no_release_ledger
