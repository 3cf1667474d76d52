"""``phta concepts search|show|set|index``: the store's vocabulary on the command line.

Thin: open the store read-only, call ``phta.cdm.vocabulary.search`` / ``concept_sets``, print.
Vocabulary tables are reference data, so none of this needs a purpose; person counts are not
shown here (they are patient data: ``phta cohort run`` under a purpose).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phta.cdm.store import Store, StoreError
from phta.cdm.vocabulary import concept_sets as sets
from phta.cdm.vocabulary.concept_sets import ConceptSetDefinition, ConceptSetError, ConceptSetItem
from phta.cdm.vocabulary.search import (
    ConceptNotFound,
    SearchError,
    by_code,
    concept_detail,
    parse_code,
    search,
)
from phta.cdm.vocabulary.search_index import build_index

app = typer.Typer(help="Search the store's vocabulary, show a concept, resolve and convert concept sets.",
                  no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)
errors = Console(stderr=True, soft_wrap=True, highlight=False)

STORE = typer.Option(..., "--store", help="Store directory whose vocabulary to read.")


def _fail(message: str, code: int = 1) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _open(store: Path) -> duckdb.DuckDBPyConnection:
    try:
        return Store.open(store).connect(read_only=True)
    except (StoreError, duckdb.Error) as e:
        _fail(str(e), 2)
        raise  # unreachable: _fail exits


def _concept_id(con, ref: str) -> int:
    """A concept id from ``123``, ``SNOMED:44054006`` or a bare code."""
    if ref.isdigit():
        found = by_code(con, ref)  # a bare number may be an id or a code: an id wins when it exists
        row = con.execute("SELECT 1 FROM concept WHERE concept_id = ?", [int(ref)]).fetchone()
        if row or not found:
            return int(ref)
        return found[0].concept_id
    code = parse_code(ref)
    found = by_code(con, code[1], code[0]) if code else []
    if not found:
        _fail(f"{ref}: no concept with this code in the store's vocabulary")
    return found[0].concept_id


def _table(concepts, title: str) -> Table:
    table = Table(title=title)
    for col in ("concept id", "vocabulary:code", "name", "domain", "standard"):
        table.add_column(col)
    for c in concepts:
        table.add_row(str(c.concept_id), escape(c.ref), escape(c.display_name), c.domain_id, c.standard_concept or "")
    return table


@app.command("search")
def search_command(
    query: str = typer.Argument(..., help="Words of a concept name (typos allowed) or a code (VOCAB:CODE or CODE)."),
    store: Path = STORE,
    limit: int = typer.Option(25, "--limit", help="At most this many results (1-200)."),
    vocabulary: str = typer.Option(None, "--vocabulary", help="Only this vocabulary (SNOMED, ICD10, LOINC, ...)."),
    domain: str = typer.Option(None, "--domain", help="Only this domain (Condition, Drug, Measurement, ...)."),
    standard: bool = typer.Option(False, "--standard", help="Only standard concepts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the vocabulary by text (ranked, typo-tolerant) or by code."""
    with _open(store) as con:
        try:
            found = search(con, query, limit=limit, vocabulary=vocabulary, domain=domain, standard_only=standard)
        except SearchError as e:
            _fail(str(e))
    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in found], indent=2))
    elif not found:
        console.print(f"no concept matches {escape(query)!r}")
    else:
        console.print(_table(found, f"{len(found)} concepts matching {escape(query)!r}"))


@app.command("show")
def show_command(
    concept: str = typer.Argument(..., help="A concept id, VOCAB:CODE, or a code."),
    store: Path = STORE,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a concept: parents, children, number of descendants, codes that map to it."""
    with _open(store) as con:
        try:
            detail = concept_detail(con, _concept_id(con, concept))
        except ConceptNotFound as e:
            _fail(str(e))
    if as_json:
        typer.echo(json.dumps(detail.to_dict(), indent=2))
        return
    c = detail.concept
    console.print(f"[bold]{escape(c.display_name)}[/] ({c.concept_id}, {escape(c.ref)}; {c.domain_id}, "
                  f"{c.concept_class_id}, {'standard' if c.standard_concept == 'S' else 'non-standard'})")
    console.print(f"descendants: {detail.descendant_count}")
    for title, group in (("parents", detail.parents), ("children", detail.children),
                         ("source codes mapped to it", detail.mapped_from), ("maps to", detail.maps_to)):
        if group:
            console.print(_table(group, title))


def _read_set(con, path: Path, vocabulary: str | None) -> ConceptSetDefinition:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        return sets.from_csv(con, text, vocabulary=vocabulary, name=path.stem)
    return sets.from_atlas_json(text)


@app.command("set")
def set_command(
    store: Path = STORE,
    source: Path = typer.Argument(None, help="A concept set to start from: ATLAS JSON (.json) or code,term CSV (.csv)."),
    include: list[str] = typer.Option([], "--include", help="Add a concept (id or VOCAB:CODE), alone."),
    descendants: list[str] = typer.Option([], "--include-descendants", help="Add a concept with its descendants."),
    exclude: list[str] = typer.Option([], "--exclude", help="Exclude a concept and its descendants."),
    mapped: bool = typer.Option(False, "--mapped", help="Also include the source codes mapped to the added concepts."),
    vocabulary: str = typer.Option(None, "--vocabulary", help="The vocabulary of a CSV without a vocabulary column."),
    name: str = typer.Option(None, "--name", help="The set's name."),
    atlas_out: Path = typer.Option(None, "--atlas-out", help="Write the set as ATLAS concept-set JSON."),
    csv_out: Path = typer.Option(None, "--csv-out", help="Write the resolved codes as code,term CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print the resolved concepts as JSON."),
) -> None:
    """Build, import, resolve and export a concept set (ATLAS JSON, code,term CSV)."""
    with _open(store) as con:
        try:
            cs = _read_set(con, source, vocabulary) if source else ConceptSetDefinition(name or "Concept set", ())
            for refs, item in ((include, dict()), (descendants, dict(include_descendants=True)),
                               (exclude, dict(excluded=True, include_descendants=True))):
                for ref in refs:
                    cs = cs.with_item(ConceptSetItem(_concept_id(con, ref), include_mapped=mapped, **item))
            if name:
                cs = ConceptSetDefinition(name, cs.items)
            if not cs.items:
                _fail("the concept set is empty: give a file or --include / --include-descendants")
            sets.check(con, cs)
            resolved = sets.resolve(con, cs)
            atlas = sets.to_atlas(con, cs)
        except (ConceptSetError, OSError, UnicodeDecodeError) as e:
            _fail(f"{source or 'concept set'}: {e}")
    if atlas_out:
        atlas_out.write_text(json.dumps(atlas, indent=2) + "\n", encoding="utf-8")
    if csv_out:
        csv_out.write_text(sets.to_csv(resolved), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps({"name": cs.name, "resolved": [c.to_dict() for c in resolved]}, indent=2))
    else:
        console.print(_table(resolved, f"{escape(cs.name)}: {len(cs.items)} items resolve to {len(resolved)} concepts"))


@app.command("index")
def index_command(store: Path = typer.Argument(..., help="Store directory.")) -> None:
    """Rebuild the vocabulary search index (loading a vocabulary does this already)."""
    try:
        counts = build_index(Store.open(store))
    except StoreError as e:
        _fail(str(e), 2)
    console.print(f"indexed {counts['phta_concept_term']} words in {counts['phta_concept_token']} postings")
