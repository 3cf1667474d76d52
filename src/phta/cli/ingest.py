"""``phta load fhir|vcf|vocabulary`` and ``phta store report``: thin commands over ``phta.cdm``.

They join the ``phta load`` and ``phta store`` groups defined in ``phta.cli.store``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from phta.cdm.ingest import LoadError
from phta.cdm.ingest.fhir import load_fhir
from phta.cdm.ingest.vcf import load_vcf
from phta.cdm.load_reports import load_report
from phta.cdm.physical import build_index, index_status_recorded
from phta.cdm.pseudonymise import Pseudonymiser, load_key
from phta.cdm.store import Store, StoreError
from phta.cdm.vocabulary.athena import VocabularyLoadError, load_athena
from phta.cli.store import app, load_app
from phta.config import load_settings

_DATA_DIR_HELP = "Data directory holding the regional linkage key (default PHTA_DATA_DIR)."


def _fail(console: Console, exc: Exception) -> None:
    console.print(f"[bold red]Load failed:[/] {escape(str(exc))}", highlight=False)
    console.print("The store is unchanged.")
    raise typer.Exit(1) from None


def _reindex(console: Console, store: Path) -> None:
    if index_status_recorded(Store.open(store)):
        # The load made the store's index stale (the compiler would ignore it); rebuild it.
        with console.status("re-indexing (phta store index)"):
            build_index(Store.open(store))


@load_app.command("fhir")
def load_fhir_command(
    src: Path = typer.Argument(..., help="Folder of FHIR R4 bulk-export NDJSON files (Patient.ndjson, ...)."),
    store: Path = typer.Option(..., "--store", help="Store directory to load into."),
    create: bool = typer.Option(False, "--create", help="Create the store if it does not exist."),
    node_name: str = typer.Option(None, "--node-name", help="Node name for a new store."),
    data_dir: Path = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
) -> None:
    """Load a FHIR R4 (UK Core) bulk export into the store's OMOP tables, in one transaction.

    Bad lines are quarantined (file, line, field, reason); entered-in-error resources are counted
    and not loaded; unmapped codes are kept with concept 0 and listed. Exits 1 if the load failed."""
    console = Console()
    pseudonymiser = Pseudonymiser(load_key(load_settings(data_dir).data_dir))
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            tasks: dict[str, TaskID] = {}

            def observe(file: str, done: int, size: int) -> None:
                if file not in tasks:
                    tasks[file] = progress.add_task(file, total=size)
                progress.update(tasks[file], completed=done)

            report = load_fhir(src, store, pseudonymiser=pseudonymiser, create=create,
                               node_name=node_name, observer=observe)
    except (LoadError, StoreError) as exc:
        _fail(console, exc)
    _print_report(console, load_report(Store.open(store), report.load_id))
    _reindex(console, store)


@load_app.command("vcf")
def load_vcf_command(
    file: Path = typer.Argument(..., help="VCF 4.x file, plain or bgzipped, GRCh38."),
    store: Path = typer.Option(..., "--store", help="Store directory to load into."),
    linkage: Path = typer.Option(..., "--linkage", help="CSV: sample_id and nhs_number (or person_id)."),
    data_dir: Path = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
) -> None:
    """Load germline variants from a VCF into the store's variant table, in one transaction."""
    console = Console()
    pseudonymiser = Pseudonymiser(load_key(load_settings(data_dir).data_dir))
    try:
        with console.status("reading VCF records") as status:
            report = load_vcf(file, store, linkage=linkage, pseudonymiser=pseudonymiser,
                              observer=lambda n: status.update(f"reading VCF records: {n:,}"))
    except (LoadError, StoreError) as exc:
        _fail(console, exc)
    _print_report(console, load_report(Store.open(store), report.load_id))


@load_app.command("vocabulary")
def load_vocabulary_command(
    src: Path = typer.Argument(..., help="Folder of an OHDSI Athena download (CONCEPT.csv, ...)."),
    store: Path = typer.Option(..., "--store", help="Store directory to load into."),
) -> None:
    """Replace the store's vocabulary tables with an OHDSI Athena download and record its version."""
    console = Console()
    try:
        with console.status("loading vocabulary tables"):
            result = load_athena(src, Store.open(store))
    except (VocabularyLoadError, StoreError) as exc:
        _fail(console, exc)
    table = Table(title=f"Vocabulary {result['vocabulary_version'] or '(no version row)'}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result["rows"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


@app.command("report")
def report_command(
    store: Path = typer.Argument(..., help="Store directory."),
    load: int = typer.Option(None, "--load", help="Load id (default: the latest load)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Show a load's report: counts in, loaded, quarantined and not loaded per resource and
    reason, unmapped codes, findings."""
    try:
        report = load_report(Store.open(store), load)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    _print_report(Console(), report)


def _print_report(console: Console, report: dict) -> None:
    console.print(f"Load {report['load_id']} ({report['source_format']}) from {escape(report['source'])}, "
                  f"finished {report['finished_at']}; codes mapped with {report['vocabulary_version'] or '(not recorded)'}.")
    table = Table(title="Reconciliation: read = loaded + quarantined + not loaded")
    for col in ("resource", "read", "loaded", "quarantined", "not loaded", "OMOP tables", "ok"):
        table.add_column(col)
    for name, c in report["resources"].items():
        table.add_row(name, f"{c['read']:,}", f"{c['loaded']:,}", f"{c['quarantined']:,}",
                      ", ".join(f"{k} {v:,}" for k, v in c["not_loaded"].items()),
                      ", ".join(f"{k} {v:,}" for k, v in c["rows_by_table"].items()),
                      "yes" if c["reconciled"] else "NO")
    console.print(table)
    reasons = [(f, r, n) for f, rs in report["quarantine_by_file"].items() for r, n in rs.items()]
    if reasons:
        q = Table(title="Quarantined, by file and reason")
        for col in ("file", "reason", "rows"):
            q.add_column(col)
        for f, r, n in reasons:
            q.add_row(f, r, f"{n:,}")
        console.print(q)
    if report["unmapped_codes"]:
        u = Table(title="Unmapped codes (loaded with concept_id 0)")
        for col in ("resource", "system", "code", "count"):
            u.add_column(col)
        for row in report["unmapped_codes"]:
            u.add_row(row["resource"], escape(row["system"]), escape(row["code"]), f"{row['count']:,}")
        console.print(u)
    found = [(t, k, n) for t, kinds in report["findings"].items() for k, n in kinds.items() if n]
    for t, k, n in found:
        console.print(f"Finding: {t} {k}: {n:,} row(s).")
    for note in report["notes"]:
        console.print(f"Note: {escape(note)}")
