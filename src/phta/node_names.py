"""The one spelling of a node's name used as a key: ``node_key``.

Nodes are named case-insensitively (``XT001``, ``xt001`` and `` XT001 `` are one node). Every
table, file or mapping keyed by a node (the ``airlock_node`` settings, a grant's nodes, the
release ledger's files, a disclosure policy's per-node overrides) is written and read through
``node_key``; a lookup with the name as given would miss a setting stored under another spelling
(custodian sign-off skipped, a stricter policy or an earlier release forgotten).
``tests/unit/test_node_keys.py`` checks that every node-keyed accessor goes through it.

A top-level module with no imports, so every layer (governance, disclosure, execution) can use
the same function.
"""

from __future__ import annotations


def node_key(node: str) -> str:
    """The key under which ``node``'s settings and records are stored and looked up."""
    return node.strip().lower()


def same_node(a: str, b: str) -> bool:
    return node_key(a) == node_key(b)
