"""Concept sets: items with include-descendants, exclusions and mapped codes; their resolution
against a store's vocabulary; import and export as ATLAS concept-set JSON and as an
OpenCodelists-style CSV (``code,term``).

Resolution follows OHDSI Circe: the set is every included item (with its descendants when
``include_descendants``, and the source codes that map to any of those when ``include_mapped``)
minus the same expansion of every excluded item. Reads the vocabulary only (reference data).
Errors name the place: the JSON path (``items[2].concept.CONCEPT_ID``) or the CSV line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import duckdb

from phta.cdm.vocabulary.search import (
    CONCEPT_SELECT,
    Concept,
    by_code,
    concepts_from_rows,
    vocabulary_id,
)

MAX_ITEMS = 5000


class ConceptSetError(ValueError):
    """A concept set (or its file) that cannot be read; the message names the place."""


@dataclass(frozen=True)
class ConceptSetItem:
    concept_id: int
    include_descendants: bool = False
    include_mapped: bool = False
    excluded: bool = False


@dataclass(frozen=True)
class ConceptSetDefinition:
    name: str
    items: tuple[ConceptSetItem, ...]

    def with_item(self, item: ConceptSetItem) -> ConceptSetDefinition:
        kept = tuple(i for i in self.items if i.concept_id != item.concept_id)
        return ConceptSetDefinition(self.name, (*kept, item))

    def without(self, concept_id: int) -> ConceptSetDefinition:
        return ConceptSetDefinition(self.name, tuple(i for i in self.items if i.concept_id != concept_id))


# --- ATLAS concept-set JSON -----------------------------------------------------------------------

def _bool(value, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConceptSetError(f"{path}: expected true or false, got {type(value).__name__}")
    return value


def from_atlas_json(text: str) -> ConceptSetDefinition:
    """Read an ATLAS concept set: ``{"items": [...]}`` (an expression) or ``{"name": ...,
    "expression": {"items": [...]}}`` (a concept set as ATLAS exports it)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConceptSetError(f"not JSON: line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(data, dict):
        raise ConceptSetError("expected a JSON object with 'items' (or 'expression.items')")
    name = data.get("name") if isinstance(data.get("name"), str) else "Imported concept set"
    base = "expression." if "expression" in data else ""
    expression = data.get("expression", data)
    if not isinstance(expression, dict) or not isinstance(expression.get("items"), list):
        raise ConceptSetError(f"{base}items: expected a list of concept set items")
    if len(expression["items"]) > MAX_ITEMS:
        raise ConceptSetError(f"{base}items: {len(expression['items'])} items; at most {MAX_ITEMS}")
    items = []
    for n, raw in enumerate(expression["items"]):
        path = f"{base}items[{n}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("concept"), dict):
            raise ConceptSetError(f"{path}.concept: expected an object with CONCEPT_ID")
        cid = raw["concept"].get("CONCEPT_ID")
        if not isinstance(cid, int) or isinstance(cid, bool):
            raise ConceptSetError(f"{path}.concept.CONCEPT_ID: expected a whole number")
        items.append(ConceptSetItem(cid, _bool(raw.get("includeDescendants"), f"{path}.includeDescendants"),
                                    _bool(raw.get("includeMapped"), f"{path}.includeMapped"),
                                    _bool(raw.get("isExcluded"), f"{path}.isExcluded")))
    return ConceptSetDefinition(name[:200], tuple(items))


def _atlas_concept(c: Concept) -> dict:
    return {"CONCEPT_ID": c.concept_id, "CONCEPT_NAME": c.concept_name, "STANDARD_CONCEPT": c.standard_concept or "N",
            "INVALID_REASON": c.invalid_reason or "V", "CONCEPT_CODE": c.concept_code, "DOMAIN_ID": c.domain_id,
            "VOCABULARY_ID": c.vocabulary_id, "CONCEPT_CLASS_ID": c.concept_class_id}


def to_atlas(con: duckdb.DuckDBPyConnection, cs: ConceptSetDefinition) -> dict:
    """The set as ATLAS exports one (``name`` + ``expression.items``, concepts filled in)."""
    known = concepts_by_id(con, [i.concept_id for i in cs.items])
    return {"name": cs.name, "expression": {"items": [
        {"concept": _atlas_concept(known[i.concept_id]) if i.concept_id in known else {"CONCEPT_ID": i.concept_id},
         "isExcluded": i.excluded, "includeDescendants": i.include_descendants, "includeMapped": i.include_mapped}
        for i in cs.items]}}


# --- checking and resolving -----------------------------------------------------------------------

def concepts_by_id(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, Concept]:
    rows = con.execute(f"SELECT {CONCEPT_SELECT} FROM main.concept c WHERE c.concept_id IN (SELECT unnest(?::BIGINT[]))",
                       [list(ids)]).fetchall()
    return {c.concept_id: c for c in concepts_from_rows(rows)}


def check(con: duckdb.DuckDBPyConnection, cs: ConceptSetDefinition) -> None:
    """Raise ``ConceptSetError`` naming every item whose concept the store's vocabulary lacks."""
    known = concepts_by_id(con, [i.concept_id for i in cs.items])
    missing = [f"items[{n}] (concept {i.concept_id})" for n, i in enumerate(cs.items) if i.concept_id not in known]
    if missing:
        raise ConceptSetError("not in this store's vocabulary: " + ", ".join(missing[:10])
                              + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))


_RESOLVE = f"""
WITH items AS (
    SELECT unnest($ids::BIGINT[]) AS concept_id, unnest($desc::BOOLEAN[]) AS descendants,
           unnest($mapped::BOOLEAN[]) AS mapped, unnest($excluded::BOOLEAN[]) AS excluded),
expanded AS (
    SELECT excluded, mapped, concept_id AS cid FROM items
    UNION
    SELECT i.excluded, i.mapped, a.descendant_concept_id FROM items i
    JOIN main.concept_ancestor a ON a.ancestor_concept_id = i.concept_id WHERE i.descendants),
with_mapped AS (
    SELECT excluded, cid FROM expanded
    UNION
    SELECT e.excluded, r.concept_id_1 FROM expanded e
    JOIN main.concept_relationship r ON r.concept_id_2 = e.cid AND r.relationship_id = 'Maps to'
    WHERE e.mapped)
SELECT {CONCEPT_SELECT} FROM main.concept c
WHERE c.concept_id IN (SELECT cid FROM with_mapped WHERE NOT excluded)
  AND c.concept_id NOT IN (SELECT cid FROM with_mapped WHERE excluded)
ORDER BY c.vocabulary_id, c.concept_code, c.concept_id"""


def resolve(con: duckdb.DuckDBPyConnection, cs: ConceptSetDefinition) -> list[Concept]:
    """Every concept the set stands for (Circe's semantics), ordered by vocabulary and code."""
    if not cs.items:
        return []
    rows = con.execute(_RESOLVE, {
        "ids": [i.concept_id for i in cs.items], "desc": [i.include_descendants for i in cs.items],
        "mapped": [i.include_mapped for i in cs.items], "excluded": [i.excluded for i in cs.items]}).fetchall()
    return concepts_from_rows(rows)


# --- OpenCodelists-style CSV ----------------------------------------------------------------------

def to_csv(concepts: list[Concept]) -> str:
    """``code,term`` rows (OpenCodelists' download form); a ``vocabulary`` column is added when the
    codes come from more than one vocabulary, so that the file reads back unambiguously."""
    several = len({c.vocabulary_id for c in concepts}) > 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "term", "vocabulary"] if several else ["code", "term"])
    for c in concepts:
        writer.writerow([c.concept_code, c.display_name, c.vocabulary_id] if several
                        else [c.concept_code, c.display_name])
    return out.getvalue()


def from_csv(con: duckdb.DuckDBPyConnection, text: str, *, vocabulary: str | None = None,
             name: str = "Imported codelist") -> ConceptSetDefinition:
    """A set of the codes in a ``code,term`` CSV (each code as it is: a codelist is already
    expanded). The vocabulary comes from a ``vocabulary`` column or ``vocabulary``; a code held by
    several vocabularies without one, or by none, is an error naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    header = {h.strip().lower(): h for h in (reader.fieldnames or [])}
    if "code" not in header:
        raise ConceptSetError(f"line 1: expected a 'code' column (and 'term'); found {sorted(header)}")
    default_vocab = vocabulary_id(vocabulary) if vocabulary else None
    items: list[ConceptSetItem] = []
    for row in reader:
        line = reader.line_num
        code = (row.get(header["code"]) or "").strip()
        if not code:
            raise ConceptSetError(f"line {line}: the code is empty")
        vocab = (row.get(header["vocabulary"]) or "").strip() if "vocabulary" in header else ""
        vocab = vocabulary_id(vocab) if vocab else default_vocab
        found = [c for c in by_code(con, code, vocab) if c.concept_code.upper() == code.upper()] \
            or by_code(con, code, vocab)
        if not found:
            raise ConceptSetError(f"line {line}: code {code!r} is not in this store's vocabulary"
                                  + (f" ({vocab})" if vocab else ""))
        if len({c.vocabulary_id for c in found}) > 1:
            raise ConceptSetError(f"line {line}: code {code!r} is in several vocabularies "
                                  f"({', '.join(sorted({c.vocabulary_id for c in found}))}); "
                                  "give a vocabulary column or option")
        items.append(ConceptSetItem(found[0].concept_id))
        if len(items) > MAX_ITEMS:
            raise ConceptSetError(f"line {line}: more than {MAX_ITEMS} codes")
    return ConceptSetDefinition(name, tuple(dict.fromkeys(items)))
