"""``phta cohort check`` and ``phta cohort vocabulary``: a purpose's query vocabulary on the command line.

``check`` validates a definition (PHTA JSON, a DSL file, or ATLAS JSON) against a purpose's
vocabulary without running it, naming the refused query node and its path, as the execution
path would; ``vocabulary`` prints the table (phta.query.purpose_vocabulary). Registered into
the ``cohort`` sub-app by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phta.execution import DefinitionError, load_definition
from phta.query.circe.importer import import_expression
from phta.query.ir import IRError
from phta.query.purpose_vocabulary import FEATURES, VOCABULARY
from phta.query.vocabulary_check import check_vocabulary, features_used

console = Console()
errors = Console(stderr=True)


def _definition(path: Path):
    from phta.cli.circe import is_circe_file  # the detection the run command uses

    if is_circe_file(path):
        return import_expression(path.read_text(encoding="utf-8"))
    return load_definition(path)


def check_command(
    definition: Path = typer.Argument(..., help="A PHTA JSON query (.json), a DSL file (.py) or ATLAS JSON."),
    purpose: str = typer.Option("network_feasibility", "--purpose",
                                help="The purpose to check against: a standing purpose or project:<id>."),
) -> None:
    """Check a cohort definition against a purpose's query vocabulary, without running it."""
    try:
        query = _definition(definition)
        check_vocabulary(query, purpose)
    except (DefinitionError, IRError, OSError, ValueError) as e:
        errors.print(f"[bold red]error:[/] {escape(f'{definition}: {e}')}", markup=True, highlight=False,
                     soft_wrap=True)
        raise typer.Exit(1) from None
    used = sorted({FEATURES[u.feature].title for u in features_used(query)})
    console.print(f"OK: within the query vocabulary of {escape(purpose)}"
                  + (f" (uses: {escape(', '.join(used))})" if used else ""), soft_wrap=True, highlight=False)


def vocabulary_command() -> None:
    """Print each purpose's query vocabulary: which query features it allows."""
    table = Table(title="Query vocabulary per purpose (project: every project:<id>)")
    table.add_column("feature")
    for purpose in VOCABULARY:
        table.add_column(purpose, justify="center")
    for name, feature in FEATURES.items():
        table.add_row(f"{feature.title} ({name})", *("yes" if name in VOCABULARY[p] else "no" for p in VOCABULARY))
    Console().print(table)  # made now, so it takes the terminal's width at the time (COLUMNS)


def register(cohort_app: typer.Typer) -> None:
    cohort_app.command("check")(check_command)
    cohort_app.command("vocabulary")(vocabulary_command)
