"""Fill in the compiler's :class:`~phta.query.physical.PhysicalDesign` for one query on one store.

Two look-ups, both read-only: which index features the store records as fresh
(:func:`phta.cdm.physical.index_status`) and the descendants of the query's concept sets (one small
bound-parameter query on ``concept_ancestor``). Results do not depend on either: they only let
the compiler emit SQL the engine runs faster.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from phta.cdm.physical import index_status
from phta.cdm.store import Store
from phta.engines import duckdb as duckdb_engine
from phta.query import ir
from phta.query.compiler import compile_descendants, descendant_ancestors
from phta.query.physical import PhysicalDesign


def physical_design(store: Store, node: ir.Node, engine: str = "duckdb") -> PhysicalDesign:
    """The design for ``node`` on ``store``. Spark reads the Parquet export, which carries no
    helper tables (``phta_person_facts``): it gets the resolved concept sets only."""
    if engine != "duckdb":
        return PhysicalDesign(descendants=physical_design(store, node).descendants)
    try:
        st = store.db_path.stat()
        version = (str(store.db_path), st.st_mtime_ns, st.st_size)
    except OSError:
        version = (str(store.db_path), 0, 0)  # no store file: the engine reports it when it runs
    return _design(version, frozenset(descendant_ancestors(node)))


@lru_cache(maxsize=256)
def _design(version: tuple[str, int, int], ancestors: frozenset[int]) -> PhysicalDesign:
    # Cached per version of the store file (path, mtime, size): a load or re-index changes it.
    # Opening a connection costs more than a small count query, so repeated queries reuse this.
    store = Store(Path(version[0]).parent)
    if version[1] == 0:
        return PhysicalDesign()
    features = frozenset(index_status(store))
    descendants: dict[int, tuple[int, ...]] = {}
    if ancestors:
        stmt = compile_descendants(set(ancestors))
        (rows,) = duckdb_engine.run(store.db_path, [(stmt.sql(), stmt.params)])
        pairs: dict[int, set[int]] = {a: set() for a in ancestors}
        for a, d in rows.rows:
            pairs[int(a)].add(int(d))
        descendants = {a: tuple(sorted(ds)) for a, ds in pairs.items()}
    return PhysicalDesign(features=features, descendants=descendants)
