"""``phta audit``: verify the hash chain and its signed checkpoints; anchor the newest one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import typer

from phta import audit as audit_chain
from phta.audit.checkpoints import anchor_record
from phta.config import load_settings
from phta.store import open_database

app = typer.Typer(
    help="The audit chain: every access, query, release and admin change.", no_args_is_help=True
)


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(2)


def _read_anchor(path: Path) -> dict:
    try:
        anchor = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _usage_error(f"--anchor {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise _usage_error(f"--anchor {path}: not JSON ({exc})") from None
    if not isinstance(anchor, dict):
        raise _usage_error(f"--anchor {path}: not a checkpoint printed by `phta audit anchor`")
    return anchor


@app.command("verify")
def verify(
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Data directory (default PHTA_DATA_DIR or ./data)."
    ),
    anchor: Path = typer.Option(
        None,
        "--anchor",
        help="A checkpoint saved earlier by `phta audit anchor`; it must still be in the chain.",
    ),
) -> None:
    """Recompute the chain and check the signed checkpoints; exit 1 naming the first broken entry."""
    settings = load_settings(data_dir)
    anchored = _read_anchor(anchor) if anchor else None
    database = open_database(settings)
    report = audit_chain.verify_chain(
        database,
        max_checkpoint_lag=timedelta(seconds=settings.audit_checkpoint_max_lag),
        anchor=anchored,
    )
    if report.ok:
        typer.echo(
            f"OK: {report.entries} entries, chain intact; {report.checkpoints} signed checkpoints match"
            + (", and so does the anchor." if anchored else ".")
        )
        return
    typer.echo(
        f"BROKEN at entry {report.first_broken_seq}:" if report.first_broken_seq else "BROKEN:",
        err=True,
    )
    for problem in report.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)


@app.command("anchor")
def anchor(
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Data directory (default PHTA_DATA_DIR or ./data)."
    ),
    post: bool = typer.Option(
        False, "--post", help="Also POST it (JSON) to --url or PHTA_AUDIT_ANCHOR_URL."
    ),
    url: str = typer.Option(None, "--url", help="Where --post sends it (default PHTA_AUDIT_ANCHOR_URL)."),
) -> None:
    """Print the newest signed checkpoint (JSON) to keep outside the data directory."""
    settings = load_settings(data_dir)
    record = anchor_record(settings.data_dir)
    if record is None:
        typer.echo(
            "No checkpoint to anchor: the audit chain is empty, or the checkpoint file's last "
            "line is unreadable (run `phta audit verify`).",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(json.dumps(record, sort_keys=True))
    if not post:
        return
    target = url or settings.audit_anchor_url
    if not target:
        raise _usage_error("--post needs --url or the PHTA_AUDIT_ANCHOR_URL setting")
    import httpx

    try:
        response = httpx.post(target, json=record, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"Could not post the anchor to {target}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.is_error:
        typer.echo(f"{target} refused the anchor: HTTP {response.status_code}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Posted to {target} (HTTP {response.status_code}).", err=True)
