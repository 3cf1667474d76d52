"""The showcase's live figures.

Patients covered across the network come through the execution path, under the standing
purpose ``public_statistics`` (its disclosure policy: the public one, cell-key perturbed and
rounded), as the network's sum of protected per-node counts; nothing raw is read here. The
other figures are about the platform, not patients: approved projects (the governance
register), datasets (the region's node stores; the web layer counts the regional library's records once it has any), evaluations
completed (none until evaluation lands), and enquiries handled with the median working days to
first response. The patient figure is cached for a while, so a busy page does not fill the audit
chain with identical runs (each run is audited at every node).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from statistics import median

from phta.config import Settings
from phta.execution import NotAuthorised
from phta.execution.network import network_feasibility, region_stores
from phta.frontdoor.cases import all_cases
from phta.frontdoor.dashboard import first_response_days
from phta.governance import register
from phta.query import ir
from phta.store import Database

PURPOSE = "public_statistics"
CACHE_SECONDS = 900.0
#: everyone with at least one recorded visit: the population the network covers
COVERED = ir.Cohort(index_date=ir.FirstDate(ir.Events("visit")))


@dataclass(frozen=True)
class PatientsCovered:
    value: int | None  # the protected network sum; None when it could not be computed
    nodes: int
    suppressed_nodes: int
    note: str


@dataclass(frozen=True)
class Figures:
    patients: PatientsCovered
    datasets: int
    approved_projects: int
    evaluations_completed: int
    enquiries_handled: int
    median_first_response_days: float | None


_cache: dict[str, tuple[float, PatientsCovered]] = {}
_lock = threading.Lock()


def patients_covered(settings: Settings, database: Database) -> PatientsCovered:
    key = f"{settings.data_dir}|{settings.stores_dir}"
    with _lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        stores = region_stores(settings)
        if not stores:
            result = PatientsCovered(None, 0, 0, "No node stores are connected yet.")
        else:
            try:
                outcome = network_feasibility(settings, database, None, COVERED, purpose=PURPOSE, stores=stores)
                total = outcome.total
                note = (f"Sum of protected counts from {len(outcome.nodes)} node(s), rounded and perturbed "
                        f"(policy {outcome.policy_name})")
                if outcome.not_taken_part:
                    note += f"; {len(outcome.not_taken_part)} node(s) could not take part"
                result = PatientsCovered(None if total.suppressed else total.value, len(outcome.nodes),
                                         len(total.suppressed_at), note)
            except NotAuthorised as e:  # e.g. an opt-out register was never loaded at a node
                result = PatientsCovered(None, len(stores), 0, f"Not available: {e}")
        _cache[key] = (time.monotonic(), result)
        return result


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def figures(settings: Settings, database: Database, now) -> Figures:
    cases = all_cases(database, now)
    firsts = [d for c in cases if (d := first_response_days(c)) is not None]
    return Figures(
        patients=patients_covered(settings, database),
        datasets=len(region_stores(settings)),
        approved_projects=len(register.entries(database)),
        evaluations_completed=0,
        enquiries_handled=sum(1 for c in cases if c.first_response_at is not None or c.status == "closed"),
        median_first_response_days=median(firsts) if firsts else None,
    )
