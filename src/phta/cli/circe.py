"""ATLAS / Circe cohort definitions on the command line.

``phta cohort import ATLAS.json`` prints the PHTA JSON (canonical IR) of a Circe expression;
``phta cohort run ATLAS.json --store DIR`` detects Circe JSON and runs it through
:func:`phta.execution.circe.execute_circe` (registered into the ``cohort`` sub-app by
:func:`register`, so the cohort CLI module only needs one detection line).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phta.cdm.store import Store, StoreError
from phta.execution import LOCAL_CUSTODIAN_QUALITY, ExecutionContext, NotAuthorised
from phta.execution.circe import CirceRequest, CirceResult, execute_circe
from phta.query import serial
from phta.query.circe.importer import import_expression, looks_like_circe
from phta.query.ir import IRError

console = Console()
errors = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def is_circe_file(path: Path) -> bool:
    """True if ``path`` is a JSON file holding a Circe (ATLAS) cohort expression."""
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        return looks_like_circe(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False


def _import(path: Path):
    if not path.is_file():
        raise _fail(f"{path}: no such file")
    try:
        return import_expression(path.read_text(encoding="utf-8"))
    except IRError as e:
        raise _fail(f"{path}: {e}") from None


def import_command(
    definition: Path = typer.Argument(..., help="A Circe cohort expression exported from ATLAS (.json)."),
) -> None:
    """Translate an ATLAS (Circe) cohort definition and print its PHTA JSON (canonical IR)."""
    cohort = _import(definition)
    typer.echo(json.dumps(json.loads(serial.to_json(cohort)), indent=2, sort_keys=True))


def run_circe_file(definition: Path, store: Path, as_json: bool) -> None:
    """Run an ATLAS definition on a store you are custodian of and print counts (no records)."""
    cohort = _import(definition)
    try:
        opened = Store.open(store)
        node = opened.info()["node_name"] or opened.path.name
        request = CirceRequest(cohort, LOCAL_CUSTODIAN_QUALITY, opened, node)
        result = execute_circe(request, ExecutionContext.local_custodian(opened))
    except (StoreError, NotAuthorised, IRError) as e:
        raise _fail(str(e)) from None
    if as_json:
        counts = dataclasses.asdict(dataclasses.replace(result, episodes=None))
        typer.echo(json.dumps(counts, default=str, indent=2))
    else:
        _print(result)


def print_circe_sql(definition: Path, dialect: str) -> None:
    """The statements an ATLAS definition compiles to (DuckDB only for now), with bound parameters."""
    from phta.query.circe.compiler import compile_circe

    if dialect != "duckdb":
        raise _fail(f"Circe cohorts compile to duckdb only, not {dialect!r}")
    compiled = compile_circe(_import(definition))
    for name in ("cohort", "masks_by_event", "masks_by_person"):
        stmt = getattr(compiled, name)
        typer.echo(f"-- {name}\n{stmt.sql(pretty=True)};\n-- parameters: {json.dumps(stmt.params, default=str)}\n")


def _print(result: CirceResult) -> None:
    console.print(f"[bold]Episodes:[/] {result.episode_count}  [bold]Persons:[/] {result.person_count}  "
                  f"(node {result.node}, query {result.query_hash[:12]}, lost to censor window: "
                  f"{result.censored_lost})", soft_wrap=True)
    for stats in (result.by_event, result.by_person):
        if not stats.rules:
            continue
        table = Table(title=f"Inclusion rules (by {stats.mode}): {stats.base} qualified, {stats.final} meet all")
        for column in ("rule", "met", "gain if dropped"):
            table.add_column(column, justify="left" if column == "rule" else "right")
        for r in stats.rules:
            table.add_row(r.rule, str(r.met), str(r.gain))
        console.print(table)


def register(cohort_app: typer.Typer) -> None:
    cohort_app.command("import")(import_command)
