"""Which organisation holds each node: the one node-to-organisation mapping.

A node's setting (the ``airlock_node`` row, set with ``phta outputs node NODE
--custodian-organisation ORG``) names the organisation whose data custodians speak for the node.
The output airlock reads it to decide who may sign off a release; the ``custodian_quality``
standing purpose reads it to decide whose custodians may check the node's data. A node with no
organisation on record has no custodians: nobody may run quality checks on it through the
governed path until a hub admin records one.
"""

from __future__ import annotations

from phta.node_names import node_key, same_node
from phta.store import Database
from phta.store.models import AirlockNode

__all__ = ["custodian_organisation", "node_key", "node_setting_row", "same_node"]


def node_setting_row(session, node: str) -> AirlockNode | None:
    """The ``airlock_node`` row for ``node`` (any spelling): the one read of that table by node."""
    return session.get(AirlockNode, node_key(node))


def custodian_organisation(database: Database, node: str) -> str | None:
    with database.session() as session:
        row = node_setting_row(session, node)
        return row.custodian_organisation if row is not None else None
