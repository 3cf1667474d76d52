"""The store's Parquet export (``phta store export-parquet``), which the Spark engine reads.

One ``<table>.parquet`` per non-empty table -- the OMOP CDM tables, the extension tables
(``variant``) and the one PHTA table a query reads, ``phta_record_key`` (the cell keys of the
disclosure step) -- and, written last, a manifest ``_phta_export.json`` holding the store's
*fingerprint* at export time. The execution path compares that fingerprint with the store's
current one before every Spark run, so a store loaded or regenerated after its export is refused
("stale export") instead of being counted from old files. The manifest's name starts with ``_``,
which Spark's and Hadoop's file listings treat as metadata, not data.

The export holds record-level data (and the record keys): it belongs inside the node's boundary,
under the same access controls as the store itself (docs/spark.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from phta.cdm import schema
from phta.cdm.record_keys import TABLE as RECORD_KEY_TABLE
from phta.cdm.store import Store

MANIFEST = "_phta_export.json"
EXPORT_FORMAT = 1
# PHTA's own tables that compiled queries read, and so must travel with the export.
QUERY_TABLES = (RECORD_KEY_TABLE,)


def exported_tables(con) -> list[str]:
    """OMOP tables in specification order, then extension tables, then PHTA's query tables;
    PHTA's metadata tables (load history, quarantine, opt-out registers...) are left out."""
    present = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name").fetchall()]
    omop = [name for name in schema.tables() if name in present]
    extra = [name for name in present if name not in omop and not name.startswith("phta_")]
    return omop + extra + [name for name in QUERY_TABLES if name in present]


def _count(con, name: str) -> int:
    return con.table(name).aggregate("count(*)").fetchall()[0][0]


def _fingerprint(con) -> str:
    """Row counts of every exported table, the store's creation time and its latest load: a
    load, a regeneration or a rebuilt record-key table changes it."""
    created = con.execute("SELECT created_at FROM phta_store_info").fetchone()
    last_load = con.execute("SELECT max(load_id) FROM phta_load_history").fetchone()
    facts = {
        "created_at": str(created[0]) if created else None,
        "last_load": last_load[0] if last_load else None,
        "rows": {name: _count(con, name) for name in exported_tables(con)},
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32]


def store_fingerprint(store: Store) -> str:
    """The store's current fingerprint (cached per version of its DuckDB file)."""
    st = store.db_path.stat()
    return _cached_fingerprint(str(store.db_path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _cached_fingerprint(db_path: str, mtime_ns: int, size: int) -> str:
    # A write to the store changes the file's mtime or size, so the cache never serves a stale
    # fingerprint; a run of queries on an unchanged store pays for the counts once.
    with Store(Path(db_path).parent).connect(read_only=True) as con:
        return _fingerprint(con)


def export_parquet(store: Store, out: str | Path | None = None) -> list[tuple[str, int, Path]]:
    """Write the export (by default in ``STORE/parquet``); returns (table, rows, path) per file.

    The old manifest goes first and the new one last, so an interrupted export is never taken
    for a complete one; files of tables that are now empty are removed, not left behind."""
    out_dir = Path(out) if out is not None else store.parquet_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    written: list[tuple[str, int, Path]] = []
    with store.connect(read_only=True) as con:
        tables = exported_tables(con)
        for name in tables:
            path = out_dir / f"{name}.parquet"
            path.unlink(missing_ok=True)
            rows = _count(con, name)
            if rows == 0:
                continue
            # The relation API takes the path as a value, not as text inside SQL.
            con.table(name).write_parquet(str(path), compression="zstd")
            written.append((name, rows, path))
        manifest = {
            "format": EXPORT_FORMAT,
            "store_fingerprint": _fingerprint(con),
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "tables": {name: rows for name, rows, _ in written},
        }
    tmp = out_dir / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(out_dir / MANIFEST)
    return written


def manifest_fingerprint(text: str | None) -> str | None:
    """The store fingerprint a manifest records (None for no manifest or an unreadable one)."""
    if not text:
        return None
    try:
        manifest = json.loads(text)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        return None
    value = manifest.get("store_fingerprint")
    return value if isinstance(value, str) else None
