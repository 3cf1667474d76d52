"""An in-memory index of the library's facets and sort keys, for fast faceted search.

Full-text matching stays in the database (``phta.catalogue.search``); what it cannot do quickly
-- count every facet value over thousands of matches, filter by facets and sort -- is done here
with NumPy over compact arrays: one (value code, row) pair per facet row, so counting the facets
of any set of matches is one ``bincount``.

The index is rebuilt when the library changes: each search first reads the library's
generation (row count, newest modification), a cheap query, so every worker process
sees another's writes on its next search.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text

from phta.store import Database

_CACHE: dict[str, FacetIndex] = {}
_LOCK = threading.Lock()


@dataclass
class FacetIndex:
    generation: tuple
    ids: np.ndarray  # dataset ids, ascending; "row" below means a position in this array
    values: list[tuple[str, str]]  # value code -> (facet, value)
    value_codes: dict[tuple[str, str], int]
    pair_codes: np.ndarray  # one per facet row: its value code
    pair_rows: np.ndarray  # ... and its row
    title_rank: np.ndarray  # per row: position in title order
    modified: np.ndarray  # per row: modification time (epoch seconds, float)
    population: np.ndarray  # per row: population size, -1 when unknown
    completeness: np.ndarray
    _postings: tuple[np.ndarray, np.ndarray] | None = None

    def rows_of(self, dataset_ids) -> np.ndarray:
        found = np.searchsorted(self.ids, dataset_ids)
        found = np.clip(found, 0, max(len(self.ids) - 1, 0))
        keep = (self.ids[found] == dataset_ids) if len(self.ids) else np.zeros(len(dataset_ids), bool)
        return found[keep]

    def rows_with(self, facet: str, values: list[str]) -> np.ndarray:
        """Rows having any of ``values`` of ``facet`` (postings: pair rows grouped by value code)."""
        if self._postings is None:
            order = np.argsort(self.pair_codes, kind="stable")
            bounds = np.searchsorted(self.pair_codes[order], np.arange(len(self.values) + 1))
            self._postings = (self.pair_rows[order], bounds)
        rows, bounds = self._postings
        codes = [self.value_codes[(facet, v)] for v in values if (facet, v) in self.value_codes]
        return np.concatenate([rows[bounds[c]:bounds[c + 1]] for c in codes]) if codes else np.zeros(0, np.int64)

    def counts(self, mask: np.ndarray) -> dict[str, dict[str, int]]:
        hits = np.bincount(self.pair_codes[mask[self.pair_rows]], minlength=len(self.values))
        out: dict[str, dict[str, int]] = {}
        for code in np.nonzero(hits)[0]:
            facet, value = self.values[code]
            out.setdefault(facet, {})[value] = int(hits[code])
        return out


def _generation(database: Database) -> tuple:
    with database.session() as s:
        # both answered from indexes, not by reading the records: a delete changes the count, an
        # insert or an edit the newest modification time
        row = (s.execute(text("SELECT count(*) FROM dataset_record")).scalar_one(),
               s.execute(text("SELECT max(modified_at) FROM dataset_record")).scalar_one())
    return tuple(str(v) for v in row)


def _build(database: Database, generation: tuple) -> FacetIndex:
    with database.session() as s:
        rows = s.execute(text("SELECT id, title, modified_at, population_size, completeness FROM dataset_record "
                              "ORDER BY id")).all()
        pairs = s.execute(text("SELECT dataset_id, facet, value FROM dataset_facet ORDER BY dataset_id")).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1].casefold(), rows[i][0]))
    title_rank = np.empty(len(rows), dtype=np.int64)
    title_rank[order] = np.arange(len(rows))
    values: list[tuple[str, str]] = []
    codes: dict[tuple[str, str], int] = {}
    pair_codes, pair_ids = [], []
    for dataset_id, facet, value in pairs:
        key = (facet, value)
        if key not in codes:
            codes[key] = len(values)
            values.append(key)
        pair_codes.append(codes[key])
        pair_ids.append(dataset_id)
    index = FacetIndex(
        generation=generation, ids=ids, values=values, value_codes=codes,
        pair_codes=np.array(pair_codes, dtype=np.int64), pair_rows=np.zeros(0, dtype=np.int64),
        title_rank=title_rank,
        modified=np.array([_epoch(r[2]) for r in rows], dtype=np.float64),
        population=np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int64),
        completeness=np.array([r[4] for r in rows], dtype=np.int64),
    )
    pair_ids_arr = np.array(pair_ids, dtype=np.int64)
    at = np.clip(np.searchsorted(ids, pair_ids_arr), 0, max(len(ids) - 1, 0))
    known = ids[at] == pair_ids_arr if len(ids) else np.zeros(len(pair_ids_arr), bool)
    index.pair_codes, index.pair_rows = index.pair_codes[known], at[known]  # a facet row of a record deleted meanwhile
    return index


def _epoch(value) -> float:
    if hasattr(value, "timestamp"):
        return value.timestamp()
    from datetime import datetime  # SQLite may hand back text

    return datetime.fromisoformat(str(value)).timestamp()


def facet_index(database: Database) -> FacetIndex:
    generation = _generation(database)
    key = str(database.engine.url)
    with _LOCK:
        index = _CACHE.get(key)
        if index is None or index.generation != generation:
            index = _CACHE[key] = _build(database, generation)
        return index
