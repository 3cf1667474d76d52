"""``phta cohort``: run a cohort definition on a store, or show the SQL it compiles to."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phta.cdm.store import StoreError
from phta.cli import circe, vocabulary
from phta.config import SettingsError, load_settings
from phta.disclosure import PolicyError
from phta.execution import (
    FEASIBILITY,
    LOCAL_CUSTODIAN_QUALITY,
    CohortResult,
    DefinitionError,
    EngineError,
    ExecutionContext,
    ExecutionRequest,
    NotAuthorised,
    compiled_sql,
    execute,
    load_definition,
    policy_for,
)
from phta.execution.governed import purpose_policy
from phta.execution.ledger import ledger_preview
from phta.governance.purposes import STANDING_PURPOSES
from phta.query.ir import IRError
from phta.query.vocabulary_check import check_vocabulary

app = typer.Typer(help="Define cohorts and count them (PHTA JSON or DSL .py files).", no_args_is_help=True)
circe.register(app)  # phta cohort import (ATLAS / Circe JSON -> PHTA JSON)
vocabulary.register(app)  # phta cohort check, phta cohort vocabulary
console = Console()
errors = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _load(definition: Path):
    try:
        return load_definition(definition)
    except (DefinitionError, IRError) as e:
        raise _fail(str(e)) from None


@app.command("run")
def run(
    definition: Path = typer.Argument(..., help="A PHTA JSON query (.json), a DSL file (.py) or ATLAS JSON."),
    store: Path = typer.Option(..., "--store", help="The store directory to count in."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables."),
    purpose: str = typer.Option(
        LOCAL_CUSTODIAN_QUALITY.code, "--purpose",
        help="custodian_quality (your own checks) or network_feasibility (as the network would see it, opt-outs "
             "applied); for ATLAS JSON also project:<id> (with --user)."),
    user: str = typer.Option(None, "--user", help="ATLAS JSON with a project:<id> purpose: the project member's email."),
    data_dir: Path = typer.Option(None, "--data-dir",
                                  help="Data directory: the node's release ledger, and the operational database "
                                       "for project purposes (default PHTA_DATA_DIR)."),
) -> None:
    """Count a cohort in a store you are custodian of: population, strata and attrition."""
    if circe.is_circe_file(definition):  # an ATLAS / Circe expression (phta.cli.circe)
        return circe.run_circe_file(definition, store, as_json, purpose, user, data_dir)
    cohort = _load(definition)
    purposes = {p.code: p for p in (LOCAL_CUSTODIAN_QUALITY, FEASIBILITY)}
    if purpose not in purposes:
        raise _fail(f"unknown purpose {purpose!r}; choose one of {sorted(purposes)}")
    ledger: list[str] = []
    try:
        # On the engine the settings give this node (PHTA_ENGINE, PHTA_NODE_ENGINES): DuckDB or Spark.
        request = ExecutionRequest.build(cohort, purposes[purpose], store, settings=load_settings())
        check_vocabulary(cohort, purpose, data_node=request.node)  # the purpose's vocabulary, before compiling
        # policy_for applies the opt-out registers governance says apply to this purpose here.
        policy = policy_for(purposes[purpose], request.store)
        if purpose != LOCAL_CUSTODIAN_QUALITY.code:
            # a preview, not a release: say what the node's release ledger would decide, record nothing
            policy = dataclasses.replace(policy, release_check=ledger_preview(
                load_settings(data_dir).data_dir,
                purpose_policy(load_settings(data_dir), STANDING_PURPOSES[purpose].disclosure_policy, request.node),
                ledger))
        result = execute(request, ExecutionContext.local_custodian(store), policy)
    except (StoreError, NotAuthorised, IRError, PolicyError, EngineError, SettingsError) as e:
        raise _fail(str(e)) from None
    if as_json:
        typer.echo(json.dumps({**dataclasses.asdict(result), **({"release_ledger": ledger} if ledger else {})},
                              default=str, indent=2))
    else:
        _print_tables(result)
        for line in ledger:
            console.print(f"[bold]Release ledger:[/] {escape(line)}", soft_wrap=True)


def _print_tables(result: CohortResult) -> None:
    console.print(f"[bold]Population:[/] {result.population_count}  (node {result.node}, "
                  f"query {result.query_hash[:12]}, disclosure control: {result.disclosure})", soft_wrap=True)
    applied = ", ".join(f"{o.kind} as of {o.as_of.isoformat()}" for o in result.opt_outs) or "none apply"
    console.print(f"[bold]Opt-outs applied:[/] {applied}", soft_wrap=True)
    attrition = Table(title="Attrition")
    for column in ("step", "remaining", "excluded"):
        attrition.add_column(column, justify="right" if column != "step" else "left")
    for step in result.attrition:
        attrition.add_row(step.rule, str(step.remaining), str(step.excluded))
    console.print(attrition)
    strata = Table(title="Strata")
    for column in ("stratum", "value", "count"):
        strata.add_column(column, justify="right" if column == "count" else "left")
    for s in result.strata:
        strata.add_row(s.stratum, s.value, str(s.count))
    if result.strata:
        console.print(strata)


@app.command("sql")
def sql(
    definition: Path = typer.Argument(..., help="A PHTA JSON query (.json) or a DSL file (.py)."),
    dialect: str = typer.Option("duckdb", "--dialect", help="SQL dialect to compile to."),
) -> None:
    """Print the SQL a cohort compiles to, with placeholders, and the bound parameters."""
    if circe.is_circe_file(definition):  # an ATLAS / Circe expression (phta.cli.circe)
        return circe.print_circe_sql(definition, dialect)
    cohort = _load(definition)
    try:
        statements = compiled_sql(cohort, dialect)
    except NotImplementedError as e:
        raise _fail(str(e)) from None
    for name, (text, params) in statements.items():
        typer.echo(f"-- {name}\n{text};\n-- parameters: {json.dumps(params, default=str)}\n")
