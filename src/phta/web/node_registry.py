"""The registered nodes a data access request may name: the region's node stores (by site code,
with their names) and any node a hub admin has given an airlock setting (``phta outputs node``).

The request form offers these as checkboxes and the server refuses any other node, so a grant
never names a node that does not exist (a typo would otherwise approve access to nothing, or to
a node registered later under that name).
"""

from __future__ import annotations

from fastapi import Request

from phta.execution.network import region_stores
from phta.governance import airlock
from phta.governance.nodes import node_key


def registered_nodes(request: Request) -> dict[str, str]:
    """Node code -> name, the region's stores first (in the manifest's order)."""
    nodes = {store.code: store.name for store in region_stores(request.app.state.settings)}
    known = {node_key(code) for code in nodes}
    for setting in airlock.list_node_settings(request.app.state.database):
        if node_key(setting.node) not in known:
            nodes[setting.node] = setting.custodian_organisation or setting.node
    return nodes
