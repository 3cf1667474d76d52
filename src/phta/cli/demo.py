"""``phta demo``: prepare the demo data on first run, print what to open, and serve.

Preparation steps are registered in ``DEMO_STEPS``; each is idempotent (does nothing when its
data is already there) and returns lines to print for the newcomer (sample users, stores, links).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from phta.config import Settings, load_settings
from phta.governance.demo_users import seed_demo_project, seed_demo_users
from phta.store import open_database

DemoStep = Callable[[Settings, Console], list[str]]


def _data_dir_step(settings: Settings, console: Console) -> list[str]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return [f"Data directory: {settings.data_dir}"]


DEMO_REGION = {"patients": 20_000, "sites": 4, "seed": 1}


def _synthetic_region_step(settings: Settings, console: Console) -> list[str]:
    """Generate a modest synthetic region under the stores directory, once."""
    from phta.cdm.synth import MANIFEST, SynthResult
    from phta.cli import synth

    out = settings.stores_dir
    if (out / MANIFEST).exists():
        return [f"Synthetic region: already in {out}"]
    result: SynthResult = synth.run(out, DEMO_REGION["patients"], DEMO_REGION["sites"], DEMO_REGION["seed"],
                                    False, settings.data_dir, console)
    return synth.describe(result)


def _record_keys_step(settings: Settings, console: Console) -> list[str]:
    """Record keys for cell-key noise in every node store that lacks them (older demo data)."""
    from phta.cdm.record_keys import has_record_keys, index_record_keys
    from phta.cdm.store import Store
    from phta.execution.network import region_stores

    built = 0
    for node in region_stores(settings):
        store = Store.open(node.path)
        if not has_record_keys(store):
            index_record_keys(store)
            built += 1
    return [f"Record keys (cell-key noise): built for {built} store(s)"] if built else []


def _demo_users_step(settings: Settings, console: Console) -> list[str]:
    database = open_database(settings)
    return seed_demo_users(database) + seed_demo_project(database)


def _frontdoor_step(settings: Settings, console: Console) -> list[str]:
    from phta.frontdoor.demo import seed_demo_frontdoor

    return seed_demo_frontdoor(open_database(settings))


def _optouts_step(settings: Settings, console: Console) -> list[str]:
    from phta.cli import optouts

    return optouts.demo_step(settings, console)


def _airlock_step(settings: Settings, console: Console) -> list[str]:
    from phta.execution.airlock_demo import seed_demo_airlock

    lines = seed_demo_airlock(open_database(settings), settings.disclosure_policy, settings.airlock_escalation_days)
    # the release ledger has nothing to seed; say where it is and what it does, so a repeated
    # answer labelled "same as an earlier answer" is no surprise
    return [*lines, f"Release ledger: every feasibility or project count is compared with earlier ones at its node "
                    f"({settings.data_dir / 'ledgers'}); a near-identical population gets the earlier answer, "
                    "labelled, so differences reveal nobody and nobody is refused"]


def _library_step(settings: Settings, console: Console) -> list[str]:
    from phta.catalogue.demo import seed_demo_library

    return seed_demo_library(settings, open_database(settings))


def _atlas_step(settings: Settings, console: Console) -> list[str]:
    """Nothing to seed (the page carries its example); say where ATLAS definitions run."""
    return ["ATLAS cohorts: sign in as the demo researcher, open /feasibility/atlas and "
            "'Fill in an example' (or paste your own ATLAS JSON)",
            # the vocabulary and the budget: nothing to seed, say what a researcher will meet
            f"Query vocabulary and budget: feasibility queries use ages and calendar months, not dates of birth "
            f"or exact dates (phta cohort vocabulary); each researcher has {_budget(settings)} feasibility "
            f"queries a day, shown at /budget",
            "Concepts (no sign-in): /concepts searches the vocabulary (try 'diabtes type 2' or 'E11'); a concept's "
            "page shows its hierarchy and mapped codes, and the demo researcher can ask for its protected "
            "person count per node; /concept-sets builds, imports and exports concept sets"]


def _beacon_step(settings: Settings, console: Console) -> list[str]:
    """Nothing to seed (the Beacon reads the region's variant tables); say where it answers."""
    return ["GA4GH Beacon v2: /api/beacon/v2/info; variant search at /beacon (a yes/no for the public, "
            "protected counts by site when signed in); `phta beacon query --gene BRCA1` from the command line"]


def _budget(settings: Settings) -> str:
    limit = settings.query_budget_for("network_feasibility")
    return "unlimited" if limit is None else str(limit)


def _evaluation_step(settings: Settings, console: Console) -> list[str]:
    from phta.cli import evaluate

    return evaluate.demo_step(settings, console)


def _citizen_step(settings: Settings, console: Console) -> list[str]:
    """Nothing to seed: say where a citizen looks (no sign-in)."""
    return ["Citizens (no sign-in): /register (the demo project: its company co-applicant and conditions), "
            "/opt-out and /privacy"]
def _audit_step(settings: Settings, console: Console) -> list[str]:
    """Nothing to seed; say how the audit chain is checked and anchored outside the data dir."""
    from phta.audit.checkpoints import anchor_record

    newest = anchor_record(settings.data_dir)
    covered = f" (newest signed checkpoint: entry {newest['seq']})" if newest else ""
    return [f"Audit chain{covered}: `phta audit verify` checks it; `phta audit anchor` prints the "
            "newest checkpoint to keep outside the data directory (`--post` sends it to "
            "PHTA_AUDIT_ANCHOR_URL)"]


def _network_step(settings: Settings, console: Console) -> list[str]:
    from phta.cli.demo_network import enrol_demo_nodes

    return enrol_demo_nodes(settings, console)


DEMO_STEPS: list[DemoStep] = [
    _data_dir_step,
    _synthetic_region_step,
    _record_keys_step,
    _optouts_step,
    _demo_users_step,
    _airlock_step,
    _frontdoor_step,
    _library_step,
    _atlas_step,
    _beacon_step,
    _evaluation_step,
    _citizen_step,
    _audit_step,
    _network_step,
]


def prepare_demo(settings: Settings, console: Console) -> list[str]:
    lines: list[str] = []
    for step in DEMO_STEPS:
        lines.extend(step(settings, console))
    return lines


def demo(
    data_dir: Path = typer.Option(None, help="Data directory (default PHTA_DATA_DIR or ./data)."),
    port: int = typer.Option(None, help="Port to listen on (default 8000)."),
    prepare_only: bool = typer.Option(False, help="Prepare the demo data, print it, and exit."),
) -> None:
    """Bring up the demo: sample data, sample users for each role, and the web app."""
    console = Console()
    settings = load_settings(data_dir)
    console.rule("[bold]PHTA demo")
    for line in prepare_demo(settings, console):
        console.print(line)
    url = f"http://{settings.host}:{port or settings.port}/"
    console.print(f"\n[bold green]Open {url} in your browser.[/] Press Ctrl+C to stop.")
    if settings.api_docs:  # served from the package's own files: works offline
        console.print(f"The JSON API's interactive docs: {url}docs\n")
    if prepare_only:
        return
    import uvicorn

    from phta.cli.demo_network import start_agents, stop_agents
    from phta.web.app import create_app
    from phta.web.client_address import SERVER_OPTIONS

    app = create_app(settings)  # migrates the store before the agents' first poll
    agents = start_agents(settings, url.rstrip("/"))
    try:
        # a short graceful shutdown: the agents' long polls would otherwise hold Ctrl-C up to 20 s
        uvicorn.run(app, host=settings.host, port=port or settings.port, timeout_graceful_shutdown=2,
                    **SERVER_OPTIONS)
    finally:  # Ctrl-C stops the hub, then every agent it started
        stop_agents(agents)
