"""Network feasibility for an ATLAS (Circe) cohort definition: every node store, governed.

As :mod:`phta.execution.network` for PHTA cohorts: each node runs the definition through the
governed path (:func:`phta.execution.governed.run_governed_circe`: governance, the opt-out
registers that apply, the purpose's disclosure policy, the audit chain), so each node's counts
are protected before they are combined. The network figures are sums of PROTECTED per-node
values — persons in the cohort and each inclusion rule's persons (by person) — and a node where a
cell was suppressed is named against it. A refusal by governance stops the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phta.config import Settings
from phta.execution.admission import admit_network_request
from phta.execution.circe_results import ProtectedCirceResult
from phta.execution.governed import run_governed_circe
from phta.execution.network import (
    FEASIBILITY_PURPOSE,
    NetworkCell,
    NodeStore,
    PolicyOfNodes,
    combine,
    gather,
    network_cell_json,
    published_json,
    region_stores,
)
from phta.governance.principal import Principal
from phta.query import serial
from phta.query.ir_circe import CirceCohort
from phta.store import Database


def _sum(cells) -> NetworkCell:
    """Sum the published values; name the nodes where the cell was suppressed (or not published)."""
    return combine(cells)


@dataclass
class AtlasNetworkFeasibility(PolicyOfNodes):
    query_hash: str
    purpose: str
    rule_names: tuple[str, ...] = ()
    nodes: list[tuple[NodeStore, ProtectedCirceResult]] = field(default_factory=list)
    not_taken_part: list[tuple[NodeStore, str]] = field(default_factory=list)

    @property
    def total(self) -> NetworkCell:
        return _sum((node.code, result.persons) for node, result in self.nodes)

    def rules(self) -> list[tuple[str, NetworkCell]]:
        """Each inclusion rule's persons (by person), summed over the nodes."""
        return [(name, _sum((node.code, result.rule_met(i)) for node, result in self.nodes))
                for i, name in enumerate(self.rule_names)]

    def to_dict(self) -> dict:
        """The JSON form: protected values only."""
        return {
            "query_hash": self.query_hash,
            "purpose": self.purpose,
            "definition": "atlas",
            "policy": self.policy_json(),
            "total": network_cell_json(self.total, self),
            "rules": [{"rule": name, "persons": network_cell_json(c)} for name, c in self.rules()],
            "nodes": [
                {"code": n.code, "name": n.name, "total": published_json(r.persons),
                 "rules": [published_json(r.rule_met(i)) for i in range(len(self.rule_names))],
                 "withheld": list(r.withheld)}
                for n, r in self.nodes
            ],
            "not_taken_part": [{"code": n.code, "name": n.name, "reason": why} for n, why in self.not_taken_part],
            "audited": True,
        }


def atlas_network_feasibility(settings: Settings, database: Database, principal: Principal | None,
                              query: CirceCohort, *, purpose: str = FEASIBILITY_PURPOSE,
                              stores: list[NodeStore] | None = None) -> AtlasNetworkFeasibility:
    """Run an ATLAS definition on every node store through the governed path; combine protected counts.

    Raises ``VocabularyRefused`` or ``BudgetExhausted`` before any node runs (the query uses what
    the purpose's vocabulary refuses; the user's daily budget is used up), ``NotAuthorised`` (from
    the first node) when governance refuses the purpose."""
    outcome = AtlasNetworkFeasibility(serial.content_hash(query), purpose,
                                      tuple(r.name for r in query.inclusion_rules))
    admit_network_request(settings, database, principal, purpose, query)  # validation, then the budget
    return gather(outcome, region_stores(settings) if stores is None else stores,
                  lambda node: run_governed_circe(settings, database, principal, purpose, query, node.path,
                                              charge_budget=False))
