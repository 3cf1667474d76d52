"""``phta beacon query``: ask the hub's Beacon a question from the command line.

The same request and answer as ``/api/beacon/v2/g_variants`` and ``/individuals``: through the
governed path on every node store of the region (``PHTA_DATA_DIR``'s stores), as the public
(a yes/no answer) or, with ``--user EMAIL``, as that registered user (protected counts). Each
query takes one unit of the asker's daily ``public_beacon`` budget."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from phta.beacon.requests import BeaconRequest, BeaconRequestError, cohort_of
from phta.beacon.responses import answer_document
from phta.beacon.service import answer
from phta.config import SettingsError, load_settings
from phta.execution.budget import BudgetExhausted
from phta.execution.policy import NotAuthorised
from phta.governance.accounts import user_by_email
from phta.governance.principal import principal_for
from phta.query.vocabulary_check import VocabularyRefused
from phta.store import open_database

app = typer.Typer(help="The GA4GH Beacon v2 over the region's germline variants.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
CLI_ADDRESS = "cli"  # anonymous command-line questions share one budget, as one client address would


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(1)


@app.command("query")
def query(
    gene: str = typer.Option(None, "--gene", help="geneId: an HGNC symbol, e.g. BRCA1."),
    chrom: str = typer.Option(None, "--chrom", help="referenceName: a GRCh38 chromosome (17 or chr17)."),
    start: str = typer.Option(None, "--start", help="Beacon start, 0-based: one position, or 'min,max' (bracket)."),
    end: str = typer.Option(None, "--end", help="Beacon end, 0-based exclusive: one position, or 'min,max' (bracket)."),
    ref: str = typer.Option(None, "--ref", help="referenceBases (a sequence query)."),
    alt: str = typer.Option(None, "--alt", help="alternateBases (a sequence query)."),
    filters: list[str] = typer.Option([], "--filter", help="A filtering term (CURIE): NCIT:C16576, SNOMED:195967001; repeatable."),
    individuals: bool = typer.Option(False, "--individuals", help="Ask /individuals (filters only) instead of /g_variants."),
    user: str = typer.Option(None, "--user", help="Ask as this registered user (protected counts); default: the public."),
    as_json: bool = typer.Option(False, "--json", help="Print the Beacon v2 response document."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Data directory (default PHTA_DATA_DIR)."),
) -> None:
    """Is a variant (or a set of filtering terms) found in the region? Yes/no, or counts with --user."""
    parameters = {k: v for k, v in {"geneId": gene, "referenceName": chrom, "start": start, "end": end,
                                    "referenceBases": ref, "alternateBases": alt}.items() if v is not None}
    request = BeaconRequest(parameters, tuple(filters), "count" if user else "boolean")
    try:
        settings = load_settings(data_dir)
        database = open_database(settings)
        principal = None
        if user:
            with database.session() as session:
                account = user_by_email(session, user)
                principal = principal_for(account) if account is not None else None
            if principal is None:
                raise _fail(f"--user: no account {user!r} in the operational database")
        cohort = cohort_of(request, need_variant=not individuals)
        result = answer(settings, database, principal, cohort, requested=request.granularity, client_address=CLI_ADDRESS)
    except (BeaconRequestError, SettingsError, BudgetExhausted, NotAuthorised, VocabularyRefused) as e:
        raise _fail(str(e)) from None
    entry = "individual" if individuals else "genomicVariant"
    if as_json:
        typer.echo(json.dumps(answer_document(entry, request, result), indent=2))
        return
    if result.granularity == "boolean":
        console.print("found" if result.exists else
                      f"not found in {result.threshold} or more persons at any node (not the same as absent)")
        return
    for site in result.sites:
        shown = site.count if site.count else f"<{result.threshold}" if site.taken_part else "did not take part"
        console.print(f"{escape(site.name)}: {shown}", highlight=False)
    console.print(f"overall: {result.count if result.count else f'<{result.threshold} at every node'}", highlight=False)
