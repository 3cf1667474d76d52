"""Which engine runs a node's queries, and running compiled statements on it.

A node runs on DuckDB (its store file) unless the settings name Spark for it (``PHTA_ENGINE``,
``PHTA_NODE_ENGINES``). On Spark the same compiled trees (in the ``spark`` dialect) run over the
store's Parquet export, at ``PHTA_SPARK_PARQUET_URI`` or ``STORE/parquet``, on
``PHTA_SPARK_MASTER``. Everything around the run -- authorisation, opt-outs, disclosure, audit --
is the execution path's and identical for both engines.

Before every Spark run the export's manifest is checked against the store: an export that is
missing, or older than the store's current contents, is refused with the store named and the
command that fixes it, never counted from old files.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from phta.cdm.parquet_export import manifest_fingerprint, store_fingerprint
from phta.cdm.store import Store
from phta.config import Settings
from phta.engines import duckdb as duckdb_engine
from phta.engines.spark_views import ParquetExportError
from phta.query.compiler import Statement

EXPORT_COMMAND = "phta store export-parquet"


@dataclass(frozen=True)
class NodeEngine:
    """The engine of one node: ``duckdb``, or ``spark`` with its master and export location."""

    kind: str = "duckdb"
    spark_master: str | None = None
    parquet_uri: str | None = None  # None: the store's own parquet/ directory

    @property
    def dialect(self) -> str:
        return self.kind

    def location(self, store: Store) -> str:
        return self.parquet_uri or str(store.parquet_dir)


DUCKDB = NodeEngine()


def node_engine(settings: Settings, node: str, store: Store) -> NodeEngine:
    """The engine ``settings`` give the node called ``node`` (or named like its store directory)."""
    if settings.engine_for(node, store.path.name) != "spark":
        return DUCKDB
    return NodeEngine("spark", settings.spark_master, settings.spark_parquet_uri_for(node))


def run_statements(engine: NodeEngine, store: Store, statements: Sequence[Statement]) -> list[list[tuple]]:
    """Each statement's rows, in order, on the node's engine."""
    if engine.kind == "duckdb":
        results = duckdb_engine.run(store.db_path, [(s.sql(), s.params) for s in statements])
        return [r.rows for r in results]
    spark = _spark_engine(engine, store)
    return [spark.execute(s.tree, s.params) for s in statements]


MAX_SPARK_ENGINES = 32  # a node process has one export; tests and regions a few more
_engines: dict[tuple[str, str | None], tuple[object, str, object]] = {}
_lock = threading.Lock()


def _spark_engine(engine: NodeEngine, store: Store):
    # Imported here: PySpark is an optional extra, needed only by a node that runs on Spark.
    from phta.engines import spark_session, spark_views
    from phta.engines.spark import SparkEngine

    location = engine.location(store)
    # A local export is checked before Spark starts: a node without one fails in milliseconds.
    session = None if spark_views.is_local(location) else spark_session.get_session(engine.spark_master)
    manifest = spark_views.read_manifest(location, session)
    recorded = manifest_fingerprint(manifest)
    if recorded is None:
        raise ParquetExportError(
            f"store {store.path}: no complete Parquet export at {location}; "
            f"run `{EXPORT_COMMAND} {store.path}`" + (" and copy it there" if engine.parquet_uri else "")
        )
    if recorded != store_fingerprint(store):
        raise ParquetExportError(
            f"store {store.path}: the Parquet export at {location} is stale (the store changed after "
            f"it was written); run `{EXPORT_COMMAND} {store.path}`" + (" and copy it there" if engine.parquet_uri else "")
        )
    session = session or spark_session.get_session(engine.spark_master)
    key = (location, engine.spark_master)
    with _lock:
        cached = _engines.get(key)
        # One engine (one child session with its views) per export and Spark session: a new
        # export gets new views, since Spark resolves a view's files when the view is made.
        if cached is None or cached[0] is not session or cached[1] != manifest:
            cached = (session, manifest, SparkEngine(location, master=engine.spark_master))
            _engines.pop(key, None)
            _engines[key] = cached
            while len(_engines) > MAX_SPARK_ENGINES:  # oldest first: dicts keep insertion order
                del _engines[next(iter(_engines))]
    return cached[2]
