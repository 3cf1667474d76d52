"""``phta optouts refresh|status|declare-source``: a node custodian's opt-out registers.

Counts of opted-out people at a node are operational data for its custodian: this CLI shows
them; no public page or API does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from phta.cdm import data_source, optout_register
from phta.cdm.pseudonymise import Pseudonymiser, load_key
from phta.cdm.store import Store, StoreError
from phta.config import load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def optouts_group() -> None:
    """Opt-out registers held at a node (national data opt-out, GP type 1)."""


def _as_of(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from None


@app.command("refresh")
def refresh(
    file: Path = typer.Argument(..., help="CSV of NHS numbers: one column with the header nhs_number."),
    store: Path = typer.Option(..., "--store", help="The node's store directory."),
    kind: str = typer.Option(..., "--kind", help="national (national data opt-out) or type1 (GP type 1 opt-out)."),
    as_of: str = typer.Option(..., "--as-of", help="Date the list was extracted by its issuer (YYYY-MM-DD)."),
    allow_older: bool = typer.Option(False, "--allow-older", help="Allow replacing a register with an older list."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Data directory holding the linkage key (default PHTA_DATA_DIR)."),
) -> None:
    """Replace the node's register of one kind with FILE, pseudonymised with the regional linkage key.

    Every line is checked (modulus-11 check digit) before anything changes; a bad line stops the
    refresh with an error naming the file and line, and the previous register stays in force.
    NHS numbers are never stored: only their keyed pseudonyms."""
    console = Console()
    date = _as_of(as_of)
    try:
        target = Store.open(store)
        pseudonymiser = Pseudonymiser(load_key(load_settings(data_dir).data_dir))
        info = optout_register.refresh(target, kind, file, date, pseudonymiser, allow_older=allow_older)
    except (StoreError, optout_register.RegisterError, ValueError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(1) from None
    console.print(f"{kind} register replaced: list as of {info.as_of.isoformat()}, "
                  f"{info.entries:,} people, file sha256 {info.source_sha256[:16]}...")


@app.command("status")
def status(store: Path = typer.Option(..., "--store", help="The node's store directory.")) -> None:
    """Show the node's registers (kind, as-of date, age, people) and its declared data sources.

    For the node's custodian only: the counts are operational data, never published."""
    console = Console()
    try:
        target = Store.open(store)
        registers = {r.kind: r for r in optout_register.registers(target)}
        sources = data_source.sources(target)
    except StoreError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(1) from None
    today = dt.datetime.now(dt.UTC).date()
    table = Table(title=f"Opt-out registers at {target.path.name}")
    for column in ("kind", "register", "as of", "age (days)", "refreshed at", "people", "file sha256"):
        table.add_column(column, justify="right" if column in ("age (days)", "people") else "left")
    for kind, label in optout_register.KINDS.items():
        r = registers.get(kind)
        if r is None:
            table.add_row(kind, label, "not loaded", "", "", "", "")
        else:
            table.add_row(kind, label, r.as_of.isoformat(), str((today - r.as_of).days),
                          r.refreshed_at.strftime("%Y-%m-%d %H:%M"), f"{r.entries:,}", r.source_sha256[:16])
    console.print(table)
    console.print(f"data sources: {sources.describe()}; type 1 opt-outs "
                  f"{'apply' if sources.gp_sourced else 'do not apply'} to this store")


@app.command("declare-source")
def declare_source(
    store: Path = typer.Option(..., "--store", help="The node's store directory."),
    source: list[str] = typer.Option(..., "--source", help="gp, hospital or other; repeat for a mixed store."),
) -> None:
    """Declare where the store's data came from (GP-sourced data is subject to type 1 opt-outs)."""
    console = Console()
    try:
        declared = data_source.declare(Store.open(store), set(source))
    except (StoreError, data_source.DataSourceError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(1) from None
    console.print(f"data sources: {declared.describe()}")


DEMO_RATES = {"national": 0.03, "type1": 0.01}  # roughly England's national data opt-out rate; type 1 fewer


def demo_step(settings, console) -> list[str]:
    """``phta demo``: give every store of the synthetic region dated national and type 1
    registers (synthetic NHS numbers from the reserved test range), once."""
    import json

    import numpy as np

    from phta.cdm.pseudonymise import reserved_range_nhs_numbers
    from phta.cdm.synth import MANIFEST

    manifest_path = settings.stores_dir / MANIFEST
    if not manifest_path.exists():
        return []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    stores = [Store.open(settings.stores_dir / site["store"]) for site in manifest["sites"]]
    if all(optout_register.registers(s) for s in stores):
        return ["Opt-out registers: already loaded at every node"]
    numbers = reserved_range_nhs_numbers(manifest["patients"])
    rng = np.random.default_rng(manifest["seed"])
    folder = settings.data_dir / "optouts"
    folder.mkdir(parents=True, exist_ok=True)
    pseudonymiser = Pseudonymiser(load_key(settings.data_dir))
    as_of = dt.datetime.now(dt.UTC).date()
    for kind, rate in DEMO_RATES.items():
        chosen = np.sort(rng.choice(numbers, max(1, int(len(numbers) * rate)), replace=False))
        path = folder / f"demo-{kind}.csv"
        path.write_text("nhs_number\n" + "".join(f"{n}\n" for n in chosen), encoding="ascii")
        for s in stores:
            optout_register.refresh(s, kind, path, as_of, pseudonymiser, allow_older=True)
    return [f"Opt-out registers: synthetic national and type 1 lists dated {as_of.isoformat()} loaded at "
            f"{len(stores)} nodes (phta optouts status --store {settings.stores_dir / stores[0].path.name})"]
