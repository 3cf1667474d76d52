"""Row buffers: per-table columns of numpy arrays, with block-local references between tables.

Generators append columns here; ``writer`` turns them into Arrow tables with store-wide ids.
``person`` holds the block's person index, ``visit`` the index of the visit row in the same
buffer (-1 for none).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Rows:
    def __init__(self) -> None:
        self._parts: dict[str, list[dict[str, np.ndarray]]] = defaultdict(list)

    def add(self, table: str, **columns) -> None:
        n = {len(np.atleast_1d(v)) for v in columns.values() if not np.isscalar(v)}
        if len(n) > 1:
            raise ValueError(f"{table}: columns of unequal length {n}")
        size = n.pop() if n else 1
        if size == 0:
            return
        self._parts[table].append({k: np.full(size, v) if np.isscalar(v) else np.asarray(v) for k, v in columns.items()})

    def add_visits(self, **columns) -> np.ndarray:
        """Add visit rows; returns their indices in this buffer's visit list."""
        start = self.count("visit_occurrence")
        self.add("visit_occurrence", **columns)
        return np.arange(start, self.count("visit_occurrence"))

    def count(self, table: str) -> int:
        return sum(len(next(iter(p.values()))) for p in self._parts.get(table, []))

    def tables(self) -> list[str]:
        return list(self._parts)

    def columns(self, table: str) -> dict[str, np.ndarray]:
        parts = self._parts.get(table, [])
        if not parts:
            return {}
        names = list(parts[0])
        for p in parts:
            if list(p) != names:
                raise ValueError(f"{table}: parts with different columns {names} / {list(p)}")
        return {k: np.concatenate([p[k] for p in parts]) for k in names}

    def replace(self, table: str, columns: dict[str, np.ndarray]) -> None:
        self._parts[table] = [columns]


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts c_i: (owner index repeated c_i times, position 0..c_i-1 within owner)."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(counts.sum()) - np.repeat(starts, counts)
    return owner, pos
