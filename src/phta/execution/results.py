"""Typed results of the execution path: frozen dataclasses, aggregates first.

Record-level membership is present only when the purpose allows record-level output locally
(a custodian on their own node); everything that may cross a boundary is a count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class AttritionStep:
    rule: str  # "index date" for the first step
    remaining: int
    excluded: int


@dataclass(frozen=True)
class StratumCount:
    stratum: str  # sex, age_band, ethnic_group, imd_quintile, site
    value: str  # "unknown" for a missing value
    count: int


@dataclass(frozen=True)
class Member:
    person_id: int
    start_date: dt.date
    end_date: dt.date | None


@dataclass(frozen=True)
class AppliedOptOut:
    """An opt-out register the execution path applied: its kind and the date of the list."""

    kind: str  # "national" or "type1"
    as_of: dt.date


@dataclass(frozen=True)
class CohortResult:
    query_hash: str
    node: str
    purpose: str
    population_count: int
    attrition: tuple[AttritionStep, ...]
    strata: tuple[StratumCount, ...]
    membership: tuple[Member, ...] | None
    disclosure: str  # which disclosure policy was applied ("none" until one is configured)
    opt_outs: tuple[AppliedOptOut, ...] = ()  # the opt-out registers applied (none by default)
    #: cell keys (sum of the persons' record keys mod 1) per count cell, when the store has record
    #: keys: ("*", "") for the whole cohort, (stratum, value) for each stratum cell. They feed
    #: cell-key perturbation in the disclosure hook, which drops them from what it returns.
    cell_keys: tuple[tuple[str, str, float], ...] | None = None
    #: cells the release ledger answers with an earlier population's value: ((stratum, value),
    #: phta.execution.policy.Reuse) pairs, ("*",) for the total. Dropped by the disclosure hook.
    reused: tuple = ()

    def strata_of(self, stratum: str) -> dict[str, int]:
        return {s.value: s.count for s in self.strata if s.stratum == stratum}

    def cell_key(self, stratum: str = "*", value: str = "") -> float | None:
        for s, v, k in self.cell_keys or ():
            if (s, v) == (stratum, value):
                return k
        return None
