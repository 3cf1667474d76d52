"""``phta outputs``: check research outputs against the disclosure-control policy."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from phta.disclosure.check import check as check_result
from phta.disclosure.policy import PolicyError, load_policy
from phta.disclosure.table_files import TableFileError, parse_table_file

app = typer.Typer(help="Check research outputs (tables, results) before they are released.", no_args_is_help=True)


@app.command("check")
def check(
    file: Path = typer.Argument(..., help="A crosstab .csv (header row, optional Total margins) or a result .json."),
    policy: str = typer.Option("default", "--policy", help="A built-in policy name (default, opensafely-midpoint6, strict) or a YAML/JSON policy file."),
    node: str = typer.Option(None, "--node", help="Apply this node's overrides from the policy file."),
    as_json: bool = typer.Option(False, "--json", help="Print the protected output and every decision as JSON."),
) -> None:
    """Check a table file: print each cell's outcome and the reasons; exit 1 if anything must be suppressed."""
    try:
        applied = load_policy(policy, node=node)
        text = file.read_text(encoding="utf-8")
        result = parse_table_file(file.name, text)
        output = check_result(result, applied)
    except FileNotFoundError:
        raise typer.BadParameter(f"{file}: no such file", param_hint="FILE") from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{file}: not UTF-8 text", param_hint="FILE") from None
    except (PolicyError, TableFileError, ValueError) as exc:
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
