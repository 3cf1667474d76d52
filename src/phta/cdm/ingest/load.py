"""``load_omop_csv``: load an OMOP CSV folder (v5.3 or v5.4) into a store, in one transaction.

Order of work: scan the folder and check every header (before the store is touched); decide the
source version; then, inside ONE DuckDB transaction, for each file: stage it, check it, insert
the good rows, quarantine the rest; count findings; record the load in ``phta_load_history``;
commit. Any error rolls the whole load back: the store is exactly as it was (and a store this
call created is removed again).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb

from phta.cdm import schema
from phta.cdm.ingest import findings, validate
from phta.cdm.ingest.csv_source import LoadError, SourceFile, SourceFolder, scan_folder
from phta.cdm.ingest.report import FileResult, LoadReport
from phta.cdm.ingest.versions import version_from_headers, version_from_text
from phta.cdm.store import Store, StoreError

# Progress events: (file name, step, bytes of the file); steps: start, staged, checked, done.
Observer = Callable[[str, str, int], None]


def detect_version(folder: SourceFolder, override: str | None) -> tuple[str, str]:
    """(version, evidence). Order: ``--cdm-version``; columns or tables only one version has;
    ``cdm_source.cdm_version``; else v5.4 (the two versions then read identically)."""
    if override is not None:
        if override not in schema.SUPPORTED_VERSIONS:
            raise LoadError(
                f"--cdm-version {override!r} is not supported; use one of {schema.SUPPORTED_VERSIONS}"
            )
        return override, "given with --cdm-version"
    headers = {f.table: (f.name, list(f.columns)) for f in folder.files}
    for53, for54 = version_from_headers(headers)
    if for53 and for54:
        raise LoadError(
            "the folder mixes OMOP CDM versions: v5.3 only in "
            f"{'; '.join(for53[:3])} but v5.4 only in {'; '.join(for54[:3])}; "
            "fix the export or pass --cdm-version"
        )
    if for53:
        return "5.3", f"v5.3-only {for53[0]}"
    if for54:
        return "5.4", f"v5.4-only {for54[0]}"
    stated = _stated_version(folder)
    if stated is not None:
        return stated
    return schema.CURRENT_VERSION, "no version-specific columns and no cdm_source.cdm_version; assumed"


def _stated_version(folder: SourceFolder) -> tuple[str, str] | None:
    src = next((f for f in folder.files if f.table == "cdm_source"), None)
    if src is None or "cdm_version" not in src.columns:
        return None
    col = src.columns.index("cdm_version")
    try:
        with src.path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=src.delimiter, quotechar='"')
            next(reader, None)
            for row in reader:
                version = version_from_text(row[col]) if len(row) > col else None
                if version is not None:
                    return version, f"{src.name} cdm_version"
    except (UnicodeDecodeError, csv.Error):
        return None  # the staged read reports the file's problem with its line
    return None


def _open_store(store_dir: Path, create: bool, node_name: str | None) -> tuple[Store, bool]:
    """(store, created_now)."""
    try:
        return Store.open(store_dir), False
    except StoreError:
        if not create:
            raise LoadError(f"no store at {store_dir}; pass --create to make one") from None
    return Store.create(store_dir, node_name=node_name), True


def _remove_created(store: Store, dir_existed: bool) -> None:
    """Undo ``Store.create``: the database files, and the directory if this load made it."""
    for path in store.path.glob(store.db_path.name + "*"):  # cdm.duckdb and its .wal
        path.unlink(missing_ok=True)
    if not dir_existed and store.path.is_dir() and not any(store.path.iterdir()):
        store.path.rmdir()


def load_omop_csv(
    src: str | Path,
    store_dir: str | Path,
    *,
    create: bool = False,
    node_name: str | None = None,
    cdm_version: str | None = None,
    skip_unknown_files: bool = False,
    observer: Observer | None = None,
) -> LoadReport:
    src_path, store_path = Path(src).resolve(), Path(store_dir).resolve()
    folder = scan_folder(src_path)
    if folder.unknown and not skip_unknown_files:
        raise LoadError(
            f"{', '.join(folder.unknown)}: not OMOP CDM table names; rename them "
            "(e.g. person.csv) or pass --skip-unknown-files"
        )
    if not folder.files:
        raise LoadError(f"{src_path}: no OMOP table files (.csv or .tsv named after a table)")
    version, evidence = detect_version(folder, cdm_version)
    plans = [validate.plan_file(f, version) for f in folder.files]  # header errors, store untouched
    dir_existed = store_path.exists()
    store, created = _open_store(store_path, create, node_name)
    try:
        con = store.connect()
    except duckdb.Error as exc:
        if created:
            _remove_created(store, dir_existed)
        raise LoadError(
            f"{store.db_path}: cannot open the store's database for writing "
            f"({type(exc).__name__}; is another process using it?)"
        ) from None
    try:
        con.execute("BEGIN TRANSACTION")
        load_id = con.execute(
            """INSERT INTO phta_load_history (source, source_format, source_cdm_version, started_at)
            VALUES ($s, 'omop-csv', $v, $t) RETURNING load_id""",
            {"s": str(src_path), "v": version, "t": _now()},
        ).fetchone()[0]
        report = LoadReport(
            load_id=load_id,
            source=str(src_path),
            source_cdm_version=version,
            version_evidence=evidence,
            skipped_unknown_files=list(folder.unknown),
            ignored_files=list(folder.ignored),
        )
        for plan in plans:
            report.files.append(_load_file(con, plan, version, load_id, observer))
        report.findings = findings.store_findings(con)
        if not report.reconciled:  # a bug, never bad input: refuse to commit an inexact load
            raise LoadError("reconciliation failed (rows read != loaded + quarantined); nothing loaded")
        con.execute(
            """UPDATE phta_load_history SET finished_at = $t, rows_read = $r, rows_loaded = $l,
            rows_quarantined = $q, report = $rep WHERE load_id = $id""",
            {"t": _now(), "r": report.rows_read, "l": report.rows_loaded,
             "q": report.rows_quarantined, "rep": report.to_json(), "id": load_id},
        )
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        con.close()
        if created:
            _remove_created(store, dir_existed)
        if isinstance(exc, duckdb.Error):
            # DuckDB's message may quote a row; name the failure without it.
            raise LoadError(f"the load failed inside DuckDB ({type(exc).__name__}); nothing loaded") from None
        raise
    con.close()
    return report


def _load_file(
    con: duckdb.DuckDBPyConnection,
    plan: validate.FilePlan,
    version: str,
    load_id: int,
    observer: Observer | None,
) -> FileResult:
    src: SourceFile = plan.source
    size = src.path.stat().st_size
    notify = observer or (lambda *_: None)
    notify(src.name, "start", size)
    result = FileResult(
        file=src.name,
        table=plan.table,
        unknown_columns=[name for _, name in plan.unknown_columns],
    )
    try:
        result.rows_read = validate.stage(con, src)
        notify(src.name, "staged", size)
        validate.check(con, plan, version)
        notify(src.name, "checked", size)
        result.rows_quarantined = validate.count_bad(con)
        result.rows_loaded = validate.insert_good(con, plan)
        result.defaulted_rows = validate.count_defaulted(con, plan)
        if result.rows_quarantined:
            validate.write_quarantine(con, plan, load_id)
    except duckdb.Error as exc:
        raise LoadError(
            f"{src.name}: the CSV reader failed ({type(exc).__name__}); nothing loaded"
        ) from None
    notify(src.name, "done", size)
    return result


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
