"""One load of FHIR or VCF data into a store, in ONE DuckDB transaction, with its report.

Shared by ``load_fhir`` and ``load_vcf``: opens the store, records the load in
``phta_load_history``, buffers rows per OMOP table and inserts them in batches (memory stays
bounded whatever the input size), writes quarantine rows (file, line, field, reason -- never a
value), hands out fresh ids per table, and on ``finish`` checks reconciliation and saves the
report as JSON with the load. Any error rolls the whole load back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from phta.cdm import schema
from phta.cdm.ingest.csv_source import LoadError
from phta.cdm.store import Store, StoreError

BATCH_ROWS = 20_000


@dataclass
class ResourceCounts:
    """Reconciliation of one kind of input (a FHIR resource type, VCF records):
    ``read = loaded + quarantined + not_loaded`` (not_loaded: e.g. entered-in-error)."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    not_loaded: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    rows_by_table: dict[str, int] = field(default_factory=dict)

    @property
    def reconciled(self) -> bool:
        return self.read == self.loaded + self.quarantined + sum(self.not_loaded.values())


@dataclass
class IngestReport:
    load_id: int
    source: str
    source_format: str
    resources: dict[str, ResourceCounts] = field(default_factory=dict)
    unmapped_codes: list[dict] = field(default_factory=list)
    findings: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    vocabulary_version: str | None = None  # of the vocabulary the codes were mapped with

    def counts(self, kind: str) -> ResourceCounts:
        return self.resources.setdefault(kind, ResourceCounts())

    @property
    def rows_read(self) -> int:
        return sum(c.read for c in self.resources.values())

    @property
    def rows_loaded(self) -> int:
        return sum(c.loaded for c in self.resources.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(c.quarantined for c in self.resources.values())

    @property
    def reconciled(self) -> bool:
        return all(c.reconciled for c in self.resources.values())

    def to_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "source": self.source,
            "source_format": self.source_format,
            "resources": {
                k: {"read": c.read, "loaded": c.loaded, "quarantined": c.quarantined,
                    "not_loaded": c.not_loaded, "quarantine_reasons": c.quarantine_reasons,
                    "rows_by_table": c.rows_by_table, "reconciled": c.reconciled}
                for k, c in sorted(self.resources.items())
            },
            "unmapped_codes": self.unmapped_codes,
            "findings": self.findings,
            "notes": self.notes,
            "vocabulary_version": self.vocabulary_version,
            "reconciled": self.reconciled,
            "totals": {"rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
                       "rows_quarantined": self.rows_quarantined},
        }


class LoadSession:
    """Use as a context manager; call ``finish()`` before leaving to commit."""

    def __init__(self, store_dir: str | Path, source: str, source_format: str,
                 *, create: bool = False, node_name: str | None = None) -> None:
        store_path = Path(store_dir).resolve()
        self._dir_existed = store_path.exists()
        self._created = False
        try:
            self.store = Store.open(store_path)
        except StoreError:
            if not create:
                raise LoadError(f"no store at {store_path}; pass --create to make one") from None
            self.store = Store.create(store_path, node_name=node_name)
            self._created = True
        try:
            self.con = self.store.connect()
        except duckdb.Error as exc:
            raise LoadError(f"{self.store.db_path}: cannot open the store for writing "
                            f"({type(exc).__name__}; is another process using it?)") from None
        self.con.execute("BEGIN TRANSACTION")
        load_id = self.con.execute(
            """INSERT INTO phta_load_history (source, source_format, started_at)
            VALUES (?, ?, ?) RETURNING load_id""", [source, source_format, _now()],
        ).fetchall()[0][0]
        self.report = IngestReport(load_id=load_id, source=source, source_format=source_format,
                                   vocabulary_version=self._vocabulary_version())
        self._buffers: dict[str, list[dict]] = defaultdict(list)
        self._next_id: dict[str, int] = {}
        self._quarantine: list[tuple] = []
        self.unmapped: Counter[tuple[str, str, str]] = Counter()
        self._finished = False

    def __enter__(self) -> LoadSession:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._finished:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
        self.con.close()
        if not self._finished and self._created:
            self._remove_created()
        if isinstance(exc, duckdb.Error):
            raise LoadError(f"the load failed inside DuckDB ({type(exc).__name__}); nothing loaded") from None

    def _vocabulary_version(self) -> str:
        has_table = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'phta_vocabulary'").fetchall()[0][0]
        rows = self.con.execute(
            "SELECT vocabulary_version FROM phta_vocabulary ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall() if has_table else []
        return (rows[0][0] if rows else None) or "PHTA embedded vocabulary"

    def _remove_created(self) -> None:
        """Undo ``Store.create`` after a failed load: the database files, and the directory if
        this load made it (the store is then exactly as before: absent)."""
        for path in self.store.path.glob(self.store.db_path.name + "*"):  # cdm.duckdb and its .wal
            path.unlink(missing_ok=True)
        if not self._dir_existed and self.store.path.is_dir() and not any(self.store.path.iterdir()):
            self.store.path.rmdir()

    @property
    def load_id(self) -> int:
        return self.report.load_id

    def next_id(self, table: str) -> int:
        """A fresh primary-key value for ``table`` (after the store's current maximum)."""
        if table not in self._next_id:
            pk = schema.table(table).primary_key
            current = self.con.execute(f'SELECT max("{pk.name}") FROM {table}').fetchall()[0][0]
            self._next_id[table] = int(current or 0)
        self._next_id[table] += 1
        return self._next_id[table]

    def add_row(self, table: str, row: dict) -> None:
        self._buffers[table].append(row)
        if len(self._buffers[table]) >= BATCH_ROWS:
            self.flush(table)

    def quarantine(self, kind: str, file: str, line: int, field_name: str | None, reason: str) -> None:
        counts = self.report.counts(kind)
        counts.quarantined += 1
        counts.quarantine_reasons[reason] = counts.quarantine_reasons.get(reason, 0) + 1
        self._quarantine.append((self.load_id, file, line, field_name, reason))
        if len(self._quarantine) >= BATCH_ROWS:
            self._flush_quarantine()

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self._buffers):
            rows = self._buffers.pop(name, [])
            if not rows:
                continue
            fields = schema.table(name).fields if name != "variant" else None
            columns = [f.name for f in fields] if fields else list(rows[0])
            data = pa.table({c: [r.get(c) for r in rows] for c in columns})
            self.con.register("_phta_batch", data)
            cols = ", ".join(f'"{c}"' for c in columns)
            casts = ", ".join(
                f'CAST("{f.name}" AS {schema.duckdb_type(f)})' for f in fields
            ) if fields else cols
            self.con.execute(f"INSERT INTO {name} ({cols}) SELECT {casts} FROM _phta_batch")
            self.con.unregister("_phta_batch")
        if table is None:
            self._flush_quarantine()

    def _flush_quarantine(self) -> None:
        if self._quarantine:
            self.con.executemany(
                "INSERT INTO phta_quarantine (load_id, file, line, field, reason) VALUES (?, ?, ?, ?, ?)",
                self._quarantine,
            )
            self._quarantine = []

    def finish(self) -> IngestReport:
        self.flush()
        report = self.report
        report.unmapped_codes = [
            {"resource": r, "system": s, "code": c, "count": n}
            for (r, s, c), n in sorted(self.unmapped.items())
        ]
        if not report.reconciled:  # a bug, never bad input: refuse to commit an inexact load
            raise LoadError("reconciliation failed (read != loaded + quarantined + not loaded); nothing loaded")
        self.con.execute(
            """UPDATE phta_load_history SET finished_at = ?, rows_read = ?, rows_loaded = ?,
            rows_quarantined = ?, report = ? WHERE load_id = ?""",
            [_now(), report.rows_read, report.rows_loaded, report.rows_quarantined,
             json.dumps(report.to_dict(), sort_keys=True), self.load_id],
        )
        self.con.execute("COMMIT")
        self._finished = True
        return report


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
