"""What leaves a node: the wire form of a protected result.

Only published values cross the boundary. A cell the node's disclosure control suppressed, and
any published zero, goes out as ``{"below": threshold}`` ("< threshold"): never an exact zero and
never an existence flag, so "nobody" and "a few" look the same from the hub.
"""

from __future__ import annotations

from phta.disclosure import PublishedCell
from phta.execution.circe_results import ProtectedCirceResult
from phta.execution.governed import ProtectedCohortResult


def wire_cell(cell: PublishedCell | None, threshold: int) -> dict:
    if cell is None or cell.suppressed or cell.value is None or int(cell.value) <= 0:
        return {"below": threshold}
    return {"value": int(cell.value)}


def cohort_answer(result: ProtectedCohortResult) -> dict:
    strata: dict[str, dict[str, dict]] = {}
    for stratum, output in result.tables:
        strata[stratum] = {c.cell[0]: wire_cell(c, result.threshold) for c in output.cells if not c.is_margin}
    return {
        "query_hash": result.query_hash,
        "policy": {"name": result.policy_name, "sha256": result.policy_sha256, "threshold": result.threshold},
        "total": wire_cell(result.total, result.threshold),
        "strata": strata,
    }


def circe_answer(result: ProtectedCirceResult) -> dict:
    return {
        "query_hash": result.query_hash,
        "policy": {"name": result.policy_name, "sha256": result.policy_sha256, "threshold": result.threshold},
        "total": wire_cell(result.persons, result.threshold),
        "strata": {},
    }
