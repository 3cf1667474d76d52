"""``phta synth``: generate a synthetic Midlands region (K node stores holding N persons)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from phta.cdm.physical import build_index
from phta.cdm.pseudonymise import load_key
from phta.cdm.record_keys import index_record_keys
from phta.cdm.store import Store
from phta.cdm.synth import SynthError, SynthResult, generate
from phta.config import load_settings


def run(out: Path, patients: int, sites: int, seed: int, dirty: bool, data_dir: Path | None,
        console: Console) -> SynthResult:
    """Generate with a progress bar; the linkage key comes from the data directory or the env."""
    key = load_key(load_settings(data_dir).data_dir)
    with Progress(TextColumn("[bold]synthesising"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("persons", total=patients)
        result = generate(out, patients=patients, sites=sites, seed=seed, key=key, dirty=dirty,
                          progress=lambda n: bar.advance(task, n))
        keys = bar.add_task("record keys", total=len(result.sites))
        for site in result.sites:  # per-person keys for cell-key noise (phta.cdm.record_keys)
            index_record_keys(result.store_path(site))
            bar.advance(keys)
        return result


def synth(
    patients: int = typer.Option(20_000, "--patients", help="Number of distinct persons in the region."),
    sites: int = typer.Option(4, "--sites", help="Number of node stores (GP federations and hospital trusts)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives identical stores."),
    out: Path = typer.Option(..., "--out", help="Directory to write the stores into (one sub-directory per site)."),
    dirty: bool = typer.Option(False, "--dirty", help="Inject data-quality faults at the stated rate."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Data directory holding the linkage key (default PHTA_DATA_DIR)."),
    index: bool = typer.Option(True, "--index/--no-index",
                               help="Build each store's physical design for fast counts (phta store index)."),
) -> None:
    """Generate a synthetic Midlands region: K OMOP CDM node stores holding N persons."""
    console = Console()
    try:
        result = run(out, patients, sites, seed, dirty, data_dir, console)
    except SynthError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    if index:
        with console.status("indexing the stores (phta store index)"):
            for site in result.sites:
                build_index(Store.open(result.store_path(site)))
    for line in describe(result):
        console.print(line)


def describe(result: SynthResult) -> list[str]:
    lines = [f"Synthetic region in {result.out}:"]
    for s in result.sites:
        lines.append(f"  {s.code}  {s.name}: {result.persons[s.code]:,} persons ({result.store_path(s)})")
    lines.append(f"  {result.linked:,} persons are also seen at a hospital trust")
    if any(result.faults.values()):
        lines.append("  injected faults: " + ", ".join(f"{k} {v:,}" for k, v in result.faults.items()))
    return lines
