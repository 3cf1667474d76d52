"""What a store holds (``phta store info``) and its Parquet export (``phta store export-parquet``).

The summary is for the store's custodian: table row counts, date coverage of event tables, CDM
version, node name, load history and a quarantine summary (counts by file, field and reason --
positions and reasons only, never values).
"""

from __future__ import annotations

import datetime as dt

from phta.cdm import schema
from phta.cdm.ingest.findings import EVENT_DATE
from phta.cdm.parquet_export import export_parquet
from phta.cdm.store import Store
from phta.cdm.vocabulary.athena import vocabulary_version

__all__ = ["export_parquet", "summarise"]


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _store_tables(con) -> list[str]:
    """OMOP tables in specification order, then any extension tables (e.g. ``variant``); PHTA's
    own ``phta_*`` metadata tables are not data and are left out."""
    present = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name").fetchall()]
    omop = [name for name in schema.tables() if name in present]
    extra = [name for name in present if name not in omop and not name.startswith("phta_")]
    return omop + extra


def _count(con, name: str) -> int:
    return con.table(name).aggregate("count(*)").fetchall()[0][0]


def summarise(store: Store) -> dict:
    info = {k: _iso(v) for k, v in store.info().items()}
    tables: list[dict] = []
    with store.connect(read_only=True) as con:
        for name in _store_tables(con):
            rows = _count(con, name)
            entry: dict = {"table": name, "rows": rows}
            date = EVENT_DATE.get(name)
            if date is not None:
                lo, hi = con.execute(f'SELECT min("{date}"), max("{date}") FROM {name}').fetchall()[0]
                entry["date_field"] = date
                entry["date_min"], entry["date_max"] = _iso(lo), _iso(hi)
            tables.append(entry)
        quarantine = [
            {"load_id": r[0], "file": r[1], "field": r[2], "reason": r[3], "entries": r[4],
             "first_line": r[5]}
            for r in con.execute(
                """SELECT load_id, file, field, reason, count(*), min(line) FROM phta_quarantine
                GROUP BY ALL ORDER BY load_id, file, field, reason"""
            ).fetchall()
        ]
    history = [
        {k: _iso(v) for k, v in h.items() if k != "report"}
        | {"findings": h["report"].get("findings", {}) if isinstance(h.get("report"), dict) else {}}
        for h in store.load_history()
    ]
    return {
        "store": str(store.path),
        **info,
        "vocabulary_version": vocabulary_version(store) or "PHTA embedded vocabulary",
        "tables": tables,
        "load_history": history,
        "quarantine": quarantine,
    }
