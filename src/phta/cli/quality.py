"""``phta quality check|history``: thin commands over ``phta.cdm.quality``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phta.cdm import quality
from phta.cdm.store import Store, StoreError

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def quality_group() -> None:
    """Data-quality checks of a node's OMOP CDM store (OHDSI DQD check types and UK checks)."""


def _open(path: Path) -> Store:
    try:
        return Store.open(path)
    except StoreError as e:
        raise typer.BadParameter(str(e), param_hint="--store") from None


@app.command("check")
def check(
    store: Path = typer.Option(..., "--store", help="The node store to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    failed_only: bool = typer.Option(False, "--failed", help="List only the checks that failed."),
    record: bool = typer.Option(True, help="Store the run in the store (its trend)."),
) -> None:
    """Run every check; exits 1 when any check fails. Prints counts and explanations, never rows."""
    opened = _open(store)
    results = quality.run_checks(opened)
    run_id = quality.record_run(opened, results) if record else None
    failed = [r for r in results if not r.passed]
    if as_json:
        typer.echo(json.dumps({"run_id": run_id, "checks": [r.as_dict() for r in results]}, indent=2))
    else:
        table = Table(title=f"Data quality: {len(results) - len(failed)} of {len(results)} checks passed")
        for column in ("check", "category", "table.field", "failing rows", "%", "threshold %", "result"):
            table.add_column(column)
        for r in results:
            if failed_only and r.passed:
                continue
            table.add_row(r.name, r.category, escape(f"{r.table}.{r.field or ''}"), f"{r.failing_rows:,}",
                          f"{r.percent:.2f}", f"{r.threshold:g}", "pass" if r.passed else "[red]FAIL[/red]")
        Console().print(table)
    raise typer.Exit(1 if failed else 0)


@app.command("history")
def history(store: Path = typer.Option(..., "--store", help="The node store.")) -> None:
    """Each recorded run: when, for which load, and how many checks failed (the trend)."""
    for run in quality.runs(_open(store)):
        failed = sum(not r["passed"] for r in run["results"])
        typer.echo(f"run {run['run_id']} at {run['ran_at']} (load {run['load_id']}): "
                   f"{failed} of {len(run['results'])} checks failed")
