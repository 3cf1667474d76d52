"""``phta frontdoor``: load the region's assets and listings; list cases that need attention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from phta.config import load_settings
from phta.frontdoor import cases, seed
from phta.store import open_database

app = typer.Typer(help="The front door: the region's assets and listings, and its cases.", no_args_is_help=True)

_DATA_DIR = typer.Option(None, "--data-dir", help="Data directory (default PHTA_DATA_DIR or ./data).")


@app.command("load")
def load(
    file: Path = typer.Argument(seed.REGION_FILE, exists=True, dir_okay=False,
                                help="A region file like the shipped region.yaml (the default)."),
    data_dir: Path = _DATA_DIR,
) -> None:
    """Add the file's assets, partners, pathways, opportunities, challenges and events (by slug;
    existing entries are left as they are)."""
    try:
        added = seed.seed_region(open_database(load_settings(data_dir)), file)
    except seed.FixtureError as e:
        raise typer.BadParameter(str(e), param_hint="FILE") from None
    typer.echo("Added: " + ", ".join(f"{n} {k}" for k, n in added.items()))


@app.command("attention")
def attention(data_dir: Path = _DATA_DIR) -> None:
    """Open cases whose first response is overdue or that have been quiet long enough to nudge."""
    now = datetime.now(UTC)
    flagged = [c for c in cases.all_cases(open_database(load_settings(data_dir)), now)
               if c.status != "closed" and (c.sla.first_response_overdue or c.sla.needs_nudge)]
    if not flagged:
        typer.echo("No open case needs attention.")
    for c in flagged:  # one line per case, so a daily job can mail or grep it
        flags = [f for f, on in (("first response overdue", c.sla.first_response_overdue),
                                 (f"quiet for {c.sla.quiet_working_days} working days", c.sla.needs_nudge)) if on]
        typer.echo(f"case {c.id}\t{c.organisation}\t{c.status}\t{c.manager_name or 'unassigned'}\t"
                   f"first response due {c.sla.first_response_due.isoformat()}\t{'; '.join(flags)}")
