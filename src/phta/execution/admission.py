"""Admitting a network request, once, before any node runs: the vocabulary, then the budget.

A network request runs on every node through the governed path, which checks the vocabulary
again on each node (phta.execution.governed). Checking here first means a refused query reaches
no node, and the user's daily query budget is charged once per request, not once per node.
Refusals are in the audit chain: who, the purpose, the refused feature and where it is in the
query (a node path, never a value or a count).
"""

from __future__ import annotations

from phta.audit import record_event
from phta.config import Settings
from phta.execution.budget import actor_of, charge_query
from phta.governance import is_use_allowed
from phta.governance.principal import Principal
from phta.query.nodes import Node
from phta.query.vocabulary_check import VocabularyRefused, check_vocabulary
from phta.store import Database

VOCABULARY_REFUSED_ACTION = "query.vocabulary_refused"


def admit_network_request(settings: Settings, database: Database, principal: Principal | None, purpose: str,
                          query: Node, *, actor: str | None = None) -> None:
    """Raise VocabularyRefused (audited) or BudgetExhausted (audited); else charge one unit.

    A principal governance refuses the purpose is not charged: the first node refuses them with
    governance's reason."""
    try:
        check_vocabulary(query, purpose)
    except VocabularyRefused as refused:
        record_event(database, actor=actor or actor_of(principal), action=VOCABULARY_REFUSED_ACTION,
                     target=f"purpose:{purpose}",
                     details={"purpose": purpose, "feature": refused.use.feature, "query_node": refused.use.node,
                              "path": refused.use.path})
        raise
    if is_use_allowed(principal, purpose, database=database).allowed:
        charge_query(settings, database, principal, purpose, actor=actor)
