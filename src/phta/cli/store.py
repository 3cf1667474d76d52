"""``phta load omop`` and ``phta store info|export-parquet``: thin commands over ``phta.cdm``.

Two Typer groups live here: ``load_app`` (registered as ``phta load``) and ``app`` (``phta store``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from phta.cdm.ingest import LoadError, LoadReport, load_omop_csv
from phta.cdm.physical import build_index, index_status_recorded
from phta.cdm.store import Store, StoreError
from phta.cdm.summary import export_parquet, summarise

load_app = typer.Typer(no_args_is_help=True, add_completion=False)
app = typer.Typer(no_args_is_help=True, add_completion=False)

_STEPS = {"start": 0, "staged": 1, "checked": 2, "done": 3}


@load_app.callback()
def load_group() -> None:
    """Load clinical data into a node's OMOP CDM store."""


@app.callback()
def store_group() -> None:
    """Inspect and export a node's OMOP CDM store."""


@load_app.command("omop")
def load_omop(
    src: Path = typer.Argument(..., help="Folder of OMOP CDM CSV (or TSV) files, v5.3 or v5.4."),
    store: Path = typer.Option(..., "--store", help="Store directory to load into."),
    create: bool = typer.Option(False, "--create", help="Create the store if it does not exist."),
    node_name: str = typer.Option(None, "--node-name", help="Node name for a new store."),
    cdm_version: str = typer.Option(
        None, "--cdm-version", help="Source CDM version (5.3 or 5.4); default: detected."
    ),
    skip_unknown_files: bool = typer.Option(
        False, "--skip-unknown-files", help="Skip .csv/.tsv files that name no OMOP table."
    ),
) -> None:
    """Load an OMOP CSV folder into a store, in one transaction, and print the reconciliation.

    Rows that cannot be represented are quarantined (file, line, field, reason); a malformed file
    stops the load and leaves the store unchanged. Exits non-zero on any error."""
    console = Console()
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[step]}"),
            TimeElapsedColumn(), console=console, transient=False,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def observe(file: str, step: str, _size: int) -> None:
                if file not in tasks:
                    tasks[file] = progress.add_task(file, total=3, step="reading")
                label = {"start": "reading", "staged": "checking", "checked": "inserting",
                         "done": "done"}[step]
                progress.update(tasks[file], completed=_STEPS[step], step=label)

            report = load_omop_csv(
                src, store, create=create, node_name=node_name, cdm_version=cdm_version,
                skip_unknown_files=skip_unknown_files, observer=observe,
            )
    except (LoadError, StoreError) as exc:
        console.print(f"[bold red]Load failed:[/] {escape(str(exc))}", highlight=False)
        console.print("The store is unchanged.")
        raise typer.Exit(1) from None
    _print_report(console, report)
    if not report.reconciled:
        raise typer.Exit(2)
    if index_status_recorded(Store.open(store)):
        # The load made the store's index stale (the compiler would ignore it); rebuild it.
        with console.status("re-indexing (phta store index)"):
            build_index(Store.open(store))


def _print_report(console: Console, report: LoadReport) -> None:
    console.print(
        f"Source OMOP CDM v{report.source_cdm_version} ({report.version_evidence}); "
        f"load {report.load_id}."
    )
    for name in report.skipped_unknown_files:
        console.print(f"[yellow]Skipped[/] {name}: not an OMOP table name.")
    for name in report.ignored_files:
        console.print(f"[yellow]Ignored[/] {name}: not a .csv or .tsv file.")
    table = Table(title="Reconciliation: rows read = loaded + quarantined")
    for col in ("file", "table", "read", "loaded", "quarantined", "ok"):
        table.add_column(col, justify="right" if col in ("read", "loaded", "quarantined") else "left")
    for f in report.files:
        table.add_row(f.file, f.table, f"{f.rows_read:,}", f"{f.rows_loaded:,}",
                      f"{f.rows_quarantined:,}", "yes" if f.reconciled else "NO")
    table.add_row("total", "", f"{report.rows_read:,}", f"{report.rows_loaded:,}",
                  f"{report.rows_quarantined:,}", "yes" if report.reconciled else "NO")
    console.print(table)
    for f in report.files:
        for field_name, n in f.defaulted_rows.items():
            console.print(f"Default (v5.3 -> v5.4): {f.table}.{field_name} filled in {n:,} row(s).")
    for f in report.files:
        if f.unknown_columns:
            console.print(f"[yellow]Unknown columns[/] in {f.file}: {', '.join(f.unknown_columns)} "
                          "(rows with a value there are quarantined).")
    found = [(t, k, n) for t, kinds in report.findings.items() for k, n in kinds.items() if n]
    if found:
        ftable = Table(title="Findings (rows loaded, counted for data-quality checks)")
        for col in ("table", "finding", "rows"):
            ftable.add_column(col)
        for t, k, n in found:
            ftable.add_row(t, k, f"{n:,}")
        console.print(ftable)
    if report.rows_quarantined:
        console.print("Quarantined rows: see `phta store info` (file, line, field, reason).")


@app.command("info")
def info(
    store: Path = typer.Argument(..., help="Store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Summarise a store: tables and row counts, date coverage, CDM version, node name, load
    history and quarantine summary."""
    try:
        summary = summarise(Store.open(store))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    console = Console()
    console.print(
        f"Store {summary['store']}: OMOP CDM v{summary['cdm_version']}, "
        f"node {summary['node_name'] or '(unnamed)'}, created {summary['created_at']}, "
        f"vocabulary {summary['vocabulary_version']}"
    )
    tables = Table(title="Tables")
    for col in ("table", "rows", "date field", "from", "to"):
        tables.add_column(col, justify="right" if col == "rows" else "left")
    for t in summary["tables"]:
        if t["rows"]:
            tables.add_row(t["table"], f"{t['rows']:,}", t.get("date_field", ""),
                           str(t.get("date_min") or ""), str(t.get("date_max") or ""))
    console.print(tables)
    history = Table(title="Load history")
    for col in ("load", "source", "version", "finished", "read", "loaded", "quarantined"):
        history.add_column(col)
    for h in summary["load_history"]:
        history.add_row(str(h["load_id"]), h["source"], str(h["source_cdm_version"]),
                        str(h["finished_at"]), str(h["rows_read"]), str(h["rows_loaded"]),
                        str(h["rows_quarantined"]))
    console.print(history)
    if summary["quarantine"]:
        q = Table(title="Quarantine (entries by file, field and reason)")
        for col in ("load", "file", "field", "reason", "entries", "first line"):
            q.add_column(col)
        for r in summary["quarantine"]:
            q.add_row(str(r["load_id"]), r["file"], r["field"] or "(row)", r["reason"],
                      str(r["entries"]), str(r["first_line"]))
        console.print(q)
    else:
        console.print("Quarantine: empty.")


@app.command("export-parquet")
def export(
    store: Path = typer.Argument(..., help="Store directory."),
    out: Path = typer.Option(None, "--out", help="Output directory (default STORE/parquet)."),
) -> None:
    """Write one Parquet file per non-empty OMOP table, for engines that read Parquet (Spark)."""
    try:
        written = export_parquet(Store.open(store), out)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for table, rows, path in written:
        typer.echo(f"{table}: {rows} rows -> {path}")


@app.command("index")
def index(store: Path = typer.Argument(..., help="Store directory to index.")) -> None:
    """Build the store's physical design for fast feasibility counts: event tables clustered by
    concept then person, and a per-person facts table (IMD quintile, site). Recorded in the store;
    the compiler uses it while it is fresh and falls back to plain SQL otherwise."""
    console = Console()
    try:
        s = Store.open(store)
    except StoreError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    with console.status("indexing (clustering event tables, building person facts)"):
        report = build_index(s)
    size_mb = s.db_path.stat().st_size / 1e6
    console.print(f"indexed {report.persons:,} persons in {report.seconds:.1f} s; "
                  f"clustered {len(report.tables_clustered)} event tables; store file {size_mb:,.0f} MB")


@app.command("index-keys")
def index_keys(
    stores: list[Path] = typer.Argument(..., help="Store directories (one or more)."),
) -> None:
    """Build (or rebuild) each store's record-key table for cell-key noise; idempotent."""
    from phta.cdm.record_keys import index_record_keys

    for path in stores:
        try:
            rows = index_record_keys(Store.open(path))
        except StoreError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{path}: record keys for {rows:,} persons")
