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
    #: of those, the nodes where it was hidden only to protect another cell (secondary suppression)
    hidden_at: tuple[str, ...] = ()
    #: node codes whose value repeats an earlier answer for the same or a near-identical population
    reused_at: tuple[str, ...] = ()
    published_at: tuple[str, ...] = ()  # node codes that published a value for the cell

    @property
    def suppressed(self) -> bool:
        """True when no node published the cell (there is no sum to show)."""
        return not self.published_at and bool(self.suppressed_at)


def is_primary(cell) -> bool:
    """A suppressed cell hidden for its own small count (not only to protect another cell)."""
    return cell.suppressed and ("secondary" not in cell.reasons or bool({"threshold", "zeros"} & set(cell.reasons)))


def published_json(cell) -> dict:
    """One node's published cell in JSON: the same fields whatever it holds, so the shape of the
    answer never tells a hidden zero from a hidden 1..9."""
    return {"value": None if cell is None or cell.suppressed else cell.value,
            "suppressed": cell is None or cell.suppressed,
            "hidden_to_protect_another_cell": bool(cell is not None and cell.suppressed and not is_primary(cell)),
            "same_as_earlier": bool(cell is not None and not cell.suppressed and reused(cell))}


def reused(cell) -> bool:
    return bool({"same_as_earlier", "same_as_node"} & set(cell.reasons))


def combine(cells) -> NetworkCell:
    """Sum (node code, published cell) pairs: a node that did not publish the cell (suppressed, or
    no such cell) adds nothing and is named; never a 0 standing for a withheld value."""
    value, suppressed, hidden, again, published = 0, [], [], [], []
    for code, cell in cells:
        if cell is None or cell.suppressed:
            suppressed.append(code)
            if cell is not None and not is_primary(cell):
                hidden.append(code)
        else:
            value += int(cell.value or 0)
            published.append(code)
            if reused(cell):
                again.append(code)
    return NetworkCell(value, tuple(suppressed), tuple(hidden), tuple(again), tuple(published))


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

    def policy_json(self) -> dict:
        """The policies applied; when no node answered, no policy was applied and it says so
        (never an empty hash)."""
        if not self.nodes:
            return {"name": None, "sha256": None, "threshold": None,
                    "note": "no node answered, so no disclosure policy was applied to any count"}
        return {"name": self.policy_name, "sha256": self.policy_sha256, "threshold": self.threshold}


@dataclass
class NetworkFeasibility(PolicyOfNodes):
    query_hash: str
    purpose: str
    nodes: list[tuple[NodeStore, ProtectedCohortResult]] = field(default_factory=list)
    not_taken_part: list[tuple[NodeStore, str]] = field(default_factory=list)

    @property
    def total(self) -> NetworkCell:
        return combine((node.code, result.total) for node, result in self.nodes)

    def strata(self) -> dict[str, dict[str, NetworkCell]]:
        """stratum -> level -> network cell (levels in first-seen order, node by node)."""
        levels: dict[str, dict[str, None]] = {}
        for _, result in self.nodes:
            for stratum, output in result.tables:
                levels.setdefault(stratum, {}).update(dict.fromkeys(c.cell[0] for c in output.cells if not c.is_margin))

        def at(result, stratum: str, level: str):
            output = result.table(stratum)
            return next((c for c in output.cells if c.cell == (level,)), None) if output is not None else None

        return {s: {lv: combine((n.code, at(r, s, lv)) for n, r in self.nodes) for lv in lvs}
                for s, lvs in levels.items()}

    def to_dict(self) -> dict:
        """The JSON form: protected values only."""
        strata = self.strata()
        return {
            "query_hash": self.query_hash,
            "purpose": self.purpose,
            "policy": self.policy_json(),
            "total": network_cell_json(self.total, self),
            "strata": {s: {lv: network_cell_json(c) for lv, c in levels.items()} for s, levels in strata.items()},
            "nodes": [
                {"code": n.code, "name": n.name, "total": published_json(r.total), "strata": node_strata(r, strata)}
                for n, r in self.nodes
            ],
            "not_taken_part": [{"code": n.code, "name": n.name, "reason": why} for n, why in self.not_taken_part],
            "audited": True,
        }


def node_strata(result, strata: dict[str, dict]) -> dict:
    """One node's strata in JSON. Where zeros are hidden, every level the network lists is there
    (a level this node does not list reads as suppressed), so which levels a node lists says
    nothing about who is in it; elsewhere a missing level is a published zero, left out."""
    own = {s: {c.cell[0]: published_json(c) for c in o.cells if not c.is_margin} for s, o in result.tables}
    if getattr(result, "zeros_hidden", False):
        for stratum, levels in strata.items():
            own[stratum] = {lv: own.get(stratum, {}).get(lv, published_json(None)) for lv in levels}
    return own


def network_cell_json(c: NetworkCell, outcome=None) -> dict:
    """A network sum in JSON; for the total, which nodes it includes and which were withheld."""
    # no node published it (suppressed everywhere, or no node answered): no sum, never a 0
    out = {"value": c.value if c.published_at else None, "suppressed": c.suppressed,
           "suppressed_at": list(c.suppressed_at), "hidden_to_protect_another_cell_at": list(c.hidden_at),
           "same_as_earlier_at": list(c.reused_at)}
    if outcome is not None:
        out["nodes_included"] = [n.code for n, _ in outcome.nodes]
        out["nodes_withheld"] = [n.code for n, _ in outcome.not_taken_part]
    return out


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
