"""A *store*: one node's clinical data, a directory holding a DuckDB database in OMOP CDM v5.4 form.

Layout of a store directory::

    STORE/
      cdm.duckdb        the OMOP CDM v5.4 tables, plus PHTA's own ``phta_*`` tables
      parquet/          optional Parquet export for engines that read Parquet (Spark)

PHTA's own tables in ``cdm.duckdb``:

- ``phta_store_info``: one row of store metadata (store format version, CDM version, node name,
  created timestamp).
- ``phta_load_history``: one row per load (source, source CDM version, started/finished, rows read,
  loaded, quarantined, findings as JSON).
- ``phta_quarantine``: rows a load could not represent, with file, line, field and reason. The
  raw row is NOT kept: quarantined rows may hold record-level data, and the quarantine is shown to
  custodians only as positions and reasons.

``cdm`` owns the store's files and writes them itself (loading, generating, indexing); queries
over them run only through ``phta.execution`` and ``phta.engines``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from phta.cdm import schema

DB_FILE = "cdm.duckdb"
PARQUET_DIR = "parquet"
STORE_FORMAT = 1

PHTA_TABLES_DDL = [
    """CREATE TABLE IF NOT EXISTS phta_store_info (
        store_format INTEGER NOT NULL,
        cdm_version VARCHAR NOT NULL,
        node_name VARCHAR,
        created_at TIMESTAMP NOT NULL
    )""",
    """CREATE SEQUENCE IF NOT EXISTS phta_load_seq START 1""",
    """CREATE TABLE IF NOT EXISTS phta_load_history (
        load_id BIGINT PRIMARY KEY DEFAULT nextval('phta_load_seq'),
        source VARCHAR NOT NULL,
        source_format VARCHAR NOT NULL,
        source_cdm_version VARCHAR,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        rows_read BIGINT,
        rows_loaded BIGINT,
        rows_quarantined BIGINT,
        report JSON
    )""",
    """CREATE TABLE IF NOT EXISTS phta_quarantine (
        load_id BIGINT NOT NULL,
        file VARCHAR NOT NULL,
        line BIGINT NOT NULL,
        field VARCHAR,
        reason VARCHAR NOT NULL
    )""",
]


class StoreError(Exception):
    """A store directory is missing, not a store, or of an unsupported format."""


@dataclass(frozen=True)
class Store:
    path: Path

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    @property
    def parquet_dir(self) -> Path:
        return self.path / PARQUET_DIR

    @classmethod
    def create(cls, path: str | Path, *, node_name: str | None = None, exist_ok: bool = False) -> Store:
        """Create an empty store with every OMOP CDM v5.4 table and PHTA's metadata tables."""
        store = cls(Path(path).resolve())
        if store.db_path.exists():
            if exist_ok:
                return cls.open(store.path)
            raise StoreError(f"{store.path} already holds a store ({DB_FILE} exists)")
        store.path.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(store.db_path))
        try:
            con.execute("BEGIN")
            for statement in schema.ddl(schema.CURRENT_VERSION):
                con.execute(statement)
            for statement in PHTA_TABLES_DDL:
                con.execute(statement)
            con.execute(
                "INSERT INTO phta_store_info VALUES (?, ?, ?, ?)",
                [STORE_FORMAT, schema.CURRENT_VERSION, node_name, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
            con.execute("COMMIT")
        finally:
            con.close()
        return store

    @classmethod
    def open(cls, path: str | Path) -> Store:
        store = cls(Path(path).resolve())
        if not store.path.is_dir():
            raise StoreError(f"no store at {store.path}: directory does not exist")
        if not store.db_path.is_file():
            raise StoreError(f"{store.path} is not a PHTA store: {DB_FILE} is missing")
        return store

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.db_path), read_only=read_only)

    def info(self) -> dict:
        """Store metadata (format, CDM version, node name, created)."""
        with self.connect(read_only=True) as con:
            row = con.execute(
                "SELECT store_format, cdm_version, node_name, created_at FROM phta_store_info"
            ).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: phta_store_info is empty; the store was not created by PHTA")
        return {"store_format": row[0], "cdm_version": row[1], "node_name": row[2], "created_at": row[3]}

    def load_history(self) -> list[dict]:
        with self.connect(read_only=True) as con:
            cur = con.execute("SELECT * FROM phta_load_history ORDER BY load_id")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        for r in rows:
            if isinstance(r.get("report"), str):
                r["report"] = json.loads(r["report"])
        return rows
