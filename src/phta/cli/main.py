"""The ``phta`` command line: thin commands that parse, call one function and render.

Each part contributes a Typer sub-app from its own module here; this file only assembles them.
"""

from __future__ import annotations

import typer

from phta import __version__
from phta.cli import (
    audit,
    beacon,
    cohort,
    concepts,
    demo,
    evaluate,
    federation,
    frontdoor,
    ingest,
    optouts,
    outputs,
    quality,
    serve,
    store,
    synth,
    users,
)

app = typer.Typer(
    name="phta",
    help="PHTA: the Precision Health Technologies Accelerator platform.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.add_typer(outputs.app, name="outputs")
app.add_typer(store.load_app, name="load")
app.add_typer(store.app, name="store")
assert ingest.load_app is store.load_app  # ingest adds its commands to the load and store groups
app.add_typer(quality.app, name="quality")
app.command("synth")(synth.synth)
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(cohort.app, name="cohort")
app.add_typer(concepts.app, name="concepts")
app.add_typer(optouts.app, name="optouts")
app.add_typer(frontdoor.app, name="frontdoor")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(federation.node_app, name="node")
app.add_typer(federation.hub_app, name="hub")
app.add_typer(federation.network_app, name="network")
app.add_typer(beacon.app, name="beacon")


@app.command("version")
def version() -> None:
    """Print the PHTA version."""
    typer.echo(__version__)


def main() -> None:
    app()
