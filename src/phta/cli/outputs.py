"""``phta outputs``: check research outputs against the disclosure-control policy."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from phta.disclosure.check import check as check_result
from phta.disclosure.file_checks import check_file
from phta.disclosure.policy import PolicyError, load_policy
from phta.disclosure.table_files import TableFileError, parse_table_file
from phta.node_names import node_key

app = typer.Typer(help="Check research outputs (tables, results) before they are released.", no_args_is_help=True)


@app.command("check")
def check(
    file: Path = typer.Argument(..., help="A crosstab .csv (header row, optional Total margins) or a result .json; .png/.svg/.html get the automatic file checks only."),
    policy: str = typer.Option(None, "--policy", help="A built-in policy name (default, project, feasibility, public, beacon, custodian, opensafely-midpoint6, strict) or a YAML/JSON policy file. Default: the deployment's PHTA_DISCLOSURE_POLICY, else 'default'."),
    node: str = typer.Option(None, "--node", help="Apply this node's overrides from the policy file (overrides may only be stricter)."),
    as_json: bool = typer.Option(False, "--json", help="Print the protected output and every decision as JSON."),
) -> None:
    """Check a table file: print each cell's outcome and the reasons; exit 1 if anything must be suppressed."""
    if policy is None:
        from phta.config import load_settings

        policy = load_settings().disclosure_policy or "default"
    try:
        applied = load_policy(policy, node=node)
        data = file.read_bytes()
    except FileNotFoundError:
        raise typer.BadParameter(f"{file}: no such file", param_hint="FILE") from None
    except PolicyError as exc:
        raise typer.BadParameter(str(exc)) from None
    # the airlock's automatic checks first: scripts, hidden or embedded data, size
    report = check_file(file.name, data)
    is_table = file.suffix.lower() in (".csv", ".json", ".xlsx")
    # a malformed table is bad input (exit 2), reported with its line by the table reader below
    blocking = [f for f in report.findings if not (is_table and f.rule == "malformed")]
    if blocking or not is_table:
        _print_file_report(report, as_json)
        raise typer.Exit(1 if report.findings else 0)
    try:
        result = parse_table_file(file.name, data)
        output = check_result(result, applied)
    except (TableFileError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        typer.echo(output.to_json())
    else:
        console = Console(width=140)
        grid = Table(title=f"{file.name}: {output.status}", show_lines=False)
        for column in ("cell", "published", "outcome", "reasons"):
            grid.add_column(column, justify="right" if column == "published" else "left")
        for cell in output.cells:
            decisions = [d for d in output.decisions_for(cell.cell) if d.outcome != "publish" and d.rule != "lp_audit"]
            outcome = "suppressed" if cell.suppressed else ("changed" if decisions else "published")
            grid.add_row(" / ".join(cell.cell), "-" if cell.value is None else f"{cell.value:g}", outcome,
                         "; ".join(d.explanation for d in decisions))
        console.print(grid)
        console.print(f"policy {output.policy['name']} (sha256 {output.policy_sha256})")
    if output.must_suppress:
        raise typer.Exit(1)


def _print_file_report(report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"file": report.name, "sha256": report.sha256, "size": report.size,
                               "passed": report.passed, "findings": [vars(f) for f in report.findings]}))
        return
    console = Console(width=140)
    console.print(f"{report.name}: automatic file checks {'passed' if report.passed else 'FAILED'} (sha256 {report.sha256})")
    for finding in report.findings:
        console.print(f"- {finding.rule} at {finding.where}: {finding.explanation}", markup=False)


@app.command("node")
def node(
    name: str = typer.Argument(None, help="The node (e.g. uhb). Leave out to list every node's setting."),
    custodian_signoff: bool = typer.Option(None, "--custodian-signoff/--no-custodian-signoff",
                                           help="Whether this node's data custodian must sign off every release."),
    custodian_organisation: str = typer.Option(None, "--custodian-organisation",
                                               help="The organisation that holds this node: its data custodians sign off "
                                                    "releases and may run quality checks on the node."),
    data_dir: Path = typer.Option(None, help="Data directory (default PHTA_DATA_DIR or ./data)."),
) -> None:
    """Show or set a node's setting: which organisation holds it, and must its custodian sign off releases."""
    from phta.config import load_settings
    from phta.governance import airlock
    from phta.store import open_database

    database = open_database(load_settings(data_dir))
    if name is not None and (custodian_signoff is not None or custodian_organisation is not None):
        # An option left out keeps its value: turning sign-off off must not forget who holds the node.
        current = airlock.node_setting(database, name)
        try:
            airlock.set_node_setting(
                database, name,
                custodian_signoff=current.custodian_signoff if custodian_signoff is None else custodian_signoff,
                custodian_organisation=(current.custodian_organisation if custodian_organisation is None
                                        else custodian_organisation), actor="cli")
        except airlock.AirlockError as exc:
            raise typer.BadParameter(str(exc)) from None
    settings = airlock.list_node_settings(database)
    if name is not None:
        settings = [s for s in settings if s.node == node_key(name)] or [airlock.node_setting(database, name)]
    for s in settings:
        who = (f" by a data custodian of {s.custodian_organisation}" if s.custodian_signoff
               else f" (held by {s.custodian_organisation})" if s.custodian_organisation else "")
        typer.echo(f"{s.node}: custodian sign-off {'required' if s.custodian_signoff else 'not required'}{who}")
    if not settings:
        typer.echo("No node has an airlock setting: no node requires custodian sign-off.")


@app.command("escalate")
def escalate(
    data_dir: Path = typer.Option(None, help="Data directory (default PHTA_DATA_DIR or ./data)."),
) -> None:
    """Escalate airlock requests whose checkers disagreed PHTA_AIRLOCK_ESCALATION_DAYS working days ago
    to the output-checking lead (the pages do this too whenever they are read; run it daily from cron)."""
    from phta.config import load_settings
    from phta.governance import airlock_review
    from phta.store import open_database

    settings = load_settings(data_dir)
    done = airlock_review.escalate_overdue(open_database(settings), after_working_days=settings.airlock_escalation_days)
    typer.echo(f"{len(done)} request(s) escalated to the output-checking lead"
               + (f": {', '.join(str(i) for i in done)}" if done else ""))
