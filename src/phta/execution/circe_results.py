"""Typed results of ATLAS / Circe cohorts in the execution path.

:class:`CirceResult` holds the engine's counts (and, only when the purpose allows record-level
output locally, the cohort episodes). :class:`ProtectedCirceResult` is what the disclosure hook
returns for a governed purpose: published values only (persons in the cohort, and the by-person
inclusion-rule table with its margins), never the raw counts, the event-mode counts or the cell
keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from phta.disclosure import ProtectedOutput, PublishedCell
from phta.disclosure.results import TOTAL
from phta.execution.results import AppliedOptOut

MET, NOT_MET = "met", "not met"


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
    disclosure: str = ""  # the disclosure policy applied ("none ..." when none is configured)
    opt_outs: tuple[AppliedOptOut, ...] = ()  # the opt-out registers applied
    #: cell keys (persons' record keys summed, mod 1) when the store has record keys: "persons"
    #: for the cohort, and one per by-person inclusion mask. Dropped by the disclosure hook.
    person_key: float | None = None
    mask_keys: tuple[tuple[int, float], ...] | None = None
    #: cells the release ledger answers with an earlier population's value: (cell labels,
    #: phta.execution.policy.Reuse) pairs, ("*",) for the persons. Dropped by the disclosure hook.
    reused: tuple = ()


@dataclass(frozen=True)
class ProtectedCirceResult:
    """A Circe cohort after disclosure control (see docs/disclosure-control.md).

    ``persons`` is the published number of persons in the cohort. ``inclusion`` is the by-person
    inclusion-rule table: one axis per rule (levels ``met`` / ``not met``), each cell a
    combination of rules (Circe's rule mask), margins giving each rule's persons and the
    qualified base. It is ``None`` when the cohort has no rules, or more than the table can
    protect (``withheld`` says why)."""

    query_hash: str
    node: str
    purpose: str
    persons: PublishedCell
    inclusion: ProtectedOutput | None
    rule_names: tuple[str, ...]
    disclosure: str
    policy_name: str
    policy_sha256: str
    threshold: int
    opt_outs: tuple[AppliedOptOut, ...] = ()
    withheld: tuple[str, ...] = ()  # what was not published, and why
    legal_basis: str = ""

    def _cell(self, labels: tuple[str, ...]) -> PublishedCell | None:
        if self.inclusion is None:
            return None
        return next((c for c in self.inclusion.cells if c.cell == labels), None)

    def base(self) -> PublishedCell | None:
        """Qualified persons (every rule summed over)."""
        return self._cell((TOTAL,) * len(self.rule_names))

    def final(self) -> PublishedCell | None:
        """Persons whose best event meets every rule."""
        return self._cell((MET,) * len(self.rule_names))

    def rule_met(self, i: int) -> PublishedCell | None:
        """Persons whose best event meets rule ``i`` (the rule's margin)."""
        labels = [TOTAL] * len(self.rule_names)
        labels[i] = MET
        return self._cell(tuple(labels))
