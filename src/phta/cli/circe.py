"""ATLAS / Circe cohort definitions on the command line.

``phta cohort import ATLAS.json`` prints the PHTA JSON (canonical IR) of a Circe expression;
``phta cohort run ATLAS.json --store DIR [--purpose P]`` detects Circe JSON and runs it through
:func:`phta.execution.circe.execute_circe` (registered into the ``cohort`` sub-app by
:func:`register`, so the cohort CLI module only needs one detection line):

- ``custodian_quality`` (default): your own checks, unprotected counts (never the episodes);
- ``network_feasibility``: as the network would see it — the opt-out registers that apply and
  the standing purpose's disclosure policy (with this node's overrides);
- ``project:<id>``: as a project member (``--user EMAIL``) would get it, decided by governance
  against the operational database (``--data-dir``): the grant, opt-outs, disclosure, audit chain.
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
from phta.config import SettingsError, load_settings
from phta.disclosure import PolicyError
from phta.execution import (
    FEASIBILITY,
    LOCAL_CUSTODIAN_QUALITY,
    EngineError,
    ExecutionContext,
    ExecutionPolicy,
    NotAuthorised,
)
from phta.execution.budget import BudgetExhausted
from phta.execution.circe import CirceRequest, CirceResult, ProtectedCirceResult, execute_circe
from phta.execution.circe_disclosure import protect_circe
from phta.execution.governed import purpose_policy, run_governed_circe
from phta.execution.optouts import policy_for
from phta.governance.accounts import user_by_email
from phta.governance.principal import principal_for
from phta.governance.purposes import STANDING_PURPOSES
from phta.query import serial
from phta.query.circe.importer import import_expression, looks_like_circe
from phta.query.ir import IRError
from phta.query.vocabulary_check import check_vocabulary
from phta.store import open_database

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


def _feasibility_policy(store: Store, node: str) -> ExecutionPolicy:
    """Network feasibility as the network would see it: opt-outs and the purpose's disclosure policy."""
    policy = purpose_policy(load_settings(), STANDING_PURPOSES[FEASIBILITY.code].disclosure_policy, node)
    base = ExecutionPolicy(disclosure=lambda result, request: protect_circe(result, policy))
    return policy_for(FEASIBILITY, store, base=base)


def _run_project(cohort, opened: Store, purpose: str, user: str | None, data_dir: Path | None):
    if not user:
        raise _fail(f"purpose {purpose!r} runs as a project member: give --user EMAIL")
    settings = load_settings(data_dir)
    database = open_database(settings)
    with database.session() as session:
        account = user_by_email(session, user)
        principal = principal_for(account) if account is not None else None
    if principal is None:
        raise _fail(f"--user: no account {user!r} in the operational database")
    return run_governed_circe(settings, database, principal, purpose, cohort, opened)


def run_circe_file(definition: Path, store: Path, as_json: bool, purpose: str = LOCAL_CUSTODIAN_QUALITY.code,
                   user: str | None = None, data_dir: Path | None = None) -> None:
    """Run an ATLAS definition on a store for ``purpose`` and print counts (never records)."""
    cohort = _import(definition)
    if purpose not in (LOCAL_CUSTODIAN_QUALITY.code, FEASIBILITY.code) and not purpose.startswith("project:"):
        raise _fail(f"unknown purpose {purpose!r}; choose custodian_quality, network_feasibility or project:<id>")
    try:
        opened = Store.open(store)
        node = opened.info()["node_name"] or opened.path.name
        if purpose.startswith("project:"):
            result = _run_project(cohort, opened, purpose, user, data_dir)
        elif purpose == FEASIBILITY.code:
            check_vocabulary(cohort, purpose, data_node=node)  # the purpose's vocabulary, before compiling
            request = CirceRequest.build(cohort, FEASIBILITY, opened, settings=load_settings())
            result = execute_circe(request, ExecutionContext.local_custodian(opened), _feasibility_policy(opened, node))
        else:
            request = CirceRequest.build(cohort, LOCAL_CUSTODIAN_QUALITY, opened, settings=load_settings())
            result = execute_circe(request, ExecutionContext.local_custodian(opened))
    except (StoreError, NotAuthorised, IRError, PolicyError, BudgetExhausted, EngineError, SettingsError) as e:
        raise _fail(str(e)) from None
    if isinstance(result, ProtectedCirceResult):
        if as_json:
            typer.echo(json.dumps(dataclasses.asdict(result), default=str, indent=2))
        else:
            _print_protected(result)
    elif as_json:
        counts = dataclasses.asdict(dataclasses.replace(result, episodes=None, person_key=None, mask_keys=None))
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


def _published(cell) -> str:
    if cell is None:
        return "-"
    return "suppressed" if cell.suppressed else str(cell.value)


def _print_protected(result: ProtectedCirceResult) -> None:
    console.print(f"[bold]Persons:[/] {_published(result.persons)}  (node {result.node}, query "
                  f"{result.query_hash[:12]}, purpose {result.purpose}, disclosure control: {result.disclosure})",
                  soft_wrap=True)
    applied = ", ".join(f"{o.kind} as of {o.as_of.isoformat()}" for o in result.opt_outs) or "none apply"
    console.print(f"[bold]Opt-outs applied:[/] {applied}", soft_wrap=True)
    if result.inclusion is not None:
        table = Table(title=f"Inclusion rules (by person): {_published(result.base())} qualified, "
                            f"{_published(result.final())} meet all")
        for column in ("rule", "persons meeting it"):
            table.add_column(column, justify="left" if column == "rule" else "right")
        for i, name in enumerate(result.rule_names):
            table.add_row(name, _published(result.rule_met(i)))
        console.print(table)
    for what in result.withheld:
        console.print(f"[dim]withheld: {escape(what)}[/]", soft_wrap=True)


def register(cohort_app: typer.Typer) -> None:
    cohort_app.command("import")(import_command)
