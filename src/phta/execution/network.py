"""Network feasibility: one cohort definition on every node store of the region, governed.

Each node runs the query through the governed path (:mod:`phta.execution.governed`), so each
node's counts are protected (suppressed, perturbed, rounded) *before* they are combined: the
network figures are sums of PROTECTED per-node counts, never of raw ones. A cell suppressed at a
node adds nothing to the sum and the node is named against the cell, so a reader knows the sum is
a lower bound there. Nodes that could not take part (for example a store whose vocabulary lacks
a concept, a store without germline variants asked a variant criterion, or one whose release
ledger withheld the result as a differencing risk) are listed with the reason; a refusal by
governance stops the whole run.

Without the federation (issue: network), the region's node stores are the sub-directories of
``settings.stores_dir`` named in the synthetic region's manifest (or every store found there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from phta.cdm.store import Store, StoreError
from phta.cdm.synth import MANIFEST
from phta.config import Settings
from phta.engines.errors import EngineError
from phta.engines.spark_views import ParquetExportError
from phta.execution.admission import admit_network_request
from phta.execution.governed import ProtectedCohortResult, run_governed
from phta.execution.path import UnknownConcepts
from phta.execution.policy import ReleaseWithheld
from phta.governance.principal import Principal
from phta.query import ir, serial
from phta.query.variants import MissingTable
from phta.store import Database

FEASIBILITY_PURPOSE = "network_feasibility"


@dataclass(frozen=True)
class NodeStore:
    code: str
    name: str
    path: Path


@dataclass(frozen=True)
class NetworkCell:
    value: int  # sum of the published values of the nodes that published this cell
    suppressed_at: tuple[str, ...] = ()  # node codes where the cell was suppressed

    @property
    def suppressed(self) -> bool:
        """True when no node published the cell (there is no sum to show)."""
        return self.value == 0 and bool(self.suppressed_at)


class PolicyOfNodes:
    """The disclosure policies applied across a network result's nodes. They can differ: the
    deployment's policy file may tighten a purpose's policy at a node. Names and hashes are listed
    once each, in node order; the threshold shown for network sums is the largest."""

    nodes: list

    @property
    def policy_name(self) -> str:
        return ", ".join(dict.fromkeys(result.policy_name for _, result in self.nodes))

    @property
    def policy_sha256(self) -> str:
        return ", ".join(dict.fromkeys(result.policy_sha256 for _, result in self.nodes))

    @property
    def threshold(self) -> int:
        return max((result.threshold for _, result in self.nodes), default=0)


@dataclass
class NetworkFeasibility(PolicyOfNodes):
    query_hash: str
    purpose: str
    nodes: list[tuple[NodeStore, ProtectedCohortResult]] = field(default_factory=list)
    not_taken_part: list[tuple[NodeStore, str]] = field(default_factory=list)

    @property
    def total(self) -> NetworkCell:
        value, suppressed = 0, []
        for node, result in self.nodes:
            assert result.total is not None
            if result.total.suppressed:
                suppressed.append(node.code)
            else:
                value += int(result.total.value or 0)
        return NetworkCell(value, tuple(suppressed))

    def strata(self) -> dict[str, dict[str, NetworkCell]]:
        """stratum -> level -> network cell (levels in first-seen order, node by node)."""
        sums: dict[str, dict[str, list]] = {}
        for node, result in self.nodes:
            for stratum, output in result.tables:
                for cell in output.cells:
                    if cell.is_margin:
                        continue
                    entry = sums.setdefault(stratum, {}).setdefault(cell.cell[0], [0, []])
                    if cell.suppressed:
                        entry[1].append(node.code)
                    else:
                        entry[0] += int(cell.value or 0)
        return {s: {level: NetworkCell(v, tuple(at)) for level, (v, at) in levels.items()}
                for s, levels in sums.items()}

    def to_dict(self) -> dict:
        """The JSON form: protected values only."""

        def cell(c: NetworkCell) -> dict:
            return {"value": None if c.suppressed else c.value, "suppressed": c.suppressed,
                    "suppressed_at": list(c.suppressed_at)}

        def published(p) -> dict:
            return {"value": None if p.suppressed else p.value, "suppressed": p.suppressed}

        return {
            "query_hash": self.query_hash,
            "purpose": self.purpose,
            "policy": {"name": self.policy_name, "sha256": self.policy_sha256, "threshold": self.threshold},
            "total": cell(self.total),
            "strata": {s: {lv: cell(c) for lv, c in levels.items()} for s, levels in self.strata().items()},
            "nodes": [
                {"code": n.code, "name": n.name, "total": published(r.total),
                 "strata": {s: {c.cell[0]: published(c) for c in o.cells if not c.is_margin} for s, o in r.tables}}
                for n, r in self.nodes
            ],
            "not_taken_part": [{"code": n.code, "name": n.name, "reason": why} for n, why in self.not_taken_part],
            "audited": True,
        }


def region_stores(settings: Settings) -> list[NodeStore]:
    """The node stores of the region: the manifest's sites, else every store directory found."""
    root = settings.stores_dir
    manifest = root / MANIFEST
    if manifest.is_file():
        sites = json.loads(manifest.read_text(encoding="utf-8"))["sites"]
        return [NodeStore(s["code"], s["name"], root / s["store"]) for s in sites]
    found = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        try:
            found.append(NodeStore(path.name, Store.open(path).info()["node_name"] or path.name, path))
        except StoreError:
            continue
    return found


def network_feasibility(settings: Settings, database: Database, principal: Principal | None,
                        query: ir.Cohort, *, purpose: str = FEASIBILITY_PURPOSE,
                        stores: list[NodeStore] | None = None) -> NetworkFeasibility:
    """Run ``query`` on every node store through the governed path and combine protected counts.

    Raises ``VocabularyRefused`` or ``BudgetExhausted`` before any node runs (the query uses what
    the purpose's vocabulary refuses; the user's daily budget is used up), ``NotAuthorised`` (from
    the first node) when governance refuses the purpose."""
    outcome = NetworkFeasibility(serial.content_hash(query), purpose)
    admit_network_request(settings, database, principal, purpose, query)  # validation, then the budget
    return gather(outcome, region_stores(settings) if stores is None else stores,
                  lambda node: run_governed(settings, database, principal, purpose, query, node.path,
                                              charge_budget=False))


def gather(outcome, nodes: list[NodeStore], run):
    """Run ``run(node)`` on each node into ``outcome`` (PHTA or ATLAS network results): a node that
    cannot take part is listed with a reason that names no data; refusals by governance propagate."""
    for node in nodes:
        try:
            result = run(node)
        except (UnknownConcepts, MissingTable, ReleaseWithheld) as e:  # e.g. a differencing risk: its reason, never a count
            outcome.not_taken_part.append((node, str(e)))
            continue
        except ParquetExportError:
            # The custodian's fix is one command; the store's path stays out of the outcome.
            outcome.not_taken_part.append(
                (node, "the node's Parquet export for Spark is missing or stale (phta store export-parquet)"))
            continue
        except (StoreError, EngineError) as e:
            outcome.not_taken_part.append((node, f"{type(e).__name__}: the node could not run the query"))
            continue
        outcome.nodes.append((node, result))
    return outcome
