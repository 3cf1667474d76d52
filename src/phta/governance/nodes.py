"""Which organisation holds each node: the one node-to-organisation mapping.

A node's setting (the ``airlock_node`` row, set with ``phta outputs node NODE
--custodian-organisation ORG``) names the organisation whose data custodians speak for the node.
The output airlock reads it to decide who may sign off a release; the ``custodian_quality``
standing purpose reads it to decide whose custodians may check the node's data. A node with no
organisation on record has no custodians: nobody may run quality checks on it through the
governed path until a hub admin records one.
"""

from __future__ import annotations

from phta.store import Database
from phta.store.models import AirlockNode


def node_key(node: str) -> str:
    """Nodes are named case-insensitively (``UHB`` and ``uhb`` are one node)."""
    return node.strip().lower()


def custodian_organisation(database: Database, node: str) -> str | None:
    with database.session() as session:
        row = session.get(AirlockNode, node_key(node))
        return row.custodian_organisation if row is not None else None
