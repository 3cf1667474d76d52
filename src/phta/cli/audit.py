"""``phta audit``: verify the hash chain and its signed checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from phta import audit as audit_chain
from phta.config import load_settings
from phta.store import open_database

app = typer.Typer(
    help="The audit chain: every access, query, release and admin change.", no_args_is_help=True
)


@app.command("verify")
def verify(
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Data directory (default PHTA_DATA_DIR or ./data)."
    ),
) -> None:
    """Recompute the chain and check the signed checkpoints; exit 1 naming the first broken entry."""
    database = open_database(load_settings(data_dir))
    report = audit_chain.verify_chain(database)
    if report.ok:
        typer.echo(
            f"OK: {report.entries} entries, chain intact; {report.checkpoints} signed checkpoints match."
        )
        return
    typer.echo(
        f"BROKEN at entry {report.first_broken_seq}:" if report.first_broken_seq else "BROKEN:",
        err=True,
    )
    for problem in report.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)
