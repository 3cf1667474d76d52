"""The compact embedded vocabulary: OMOP ``concept``, ``concept_ancestor`` and
``concept_relationship`` rows for every code the synthetic region uses (SNOMED CT, ICD-10,
RxNorm ingredients with dm+d/RxNorm products, LOINC, UCUM, NHS ethnic categories).

The CSVs beside this module are built from ``concept_source.csv`` by ``build.py``; see
docs/vocabulary.md for the sources and the concept-id ranges.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from phta.cdm.store import Store

HERE = Path(__file__).parent
TABLE_FILES = {
    "concept": HERE / "concept.csv",
    "concept_ancestor": HERE / "concept_ancestor.csv",
    "concept_relationship": HERE / "concept_relationship.csv",
}


class UnknownConceptError(KeyError):
    """A code the embedded vocabulary does not hold."""


@cache
def concepts() -> dict[str, dict]:
    """``vocabulary:code`` -> concept row (as strings/ints), e.g. ``concepts()["SNOMED:44054006"]``."""
    with TABLE_FILES["concept"].open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {f"{r['vocabulary_id']}:{r['concept_code']}": {**r, "concept_id": int(r["concept_id"])} for r in rows}


def concept_id(ref: str) -> int:
    """The concept id of ``vocabulary:code``; raises ``UnknownConceptError`` naming the code."""
    try:
        return concepts()[ref]["concept_id"]
    except KeyError:
        raise UnknownConceptError(f"the embedded vocabulary has no concept {ref!r}") from None


@cache
def _maps_to() -> dict[int, int]:
    with TABLE_FILES["concept_relationship"].open(encoding="utf-8", newline="") as f:
        return {
            int(r["concept_id_1"]): int(r["concept_id_2"])
            for r in csv.DictReader(f)
            if r["relationship_id"] == "Maps to"
        }


def standard_id(ref: str) -> int:
    """The standard concept a source code maps to (itself when it is standard)."""
    return _maps_to()[concept_id(ref)]


def embedded_connection():
    """An in-memory DuckDB connection holding only the embedded vocabulary's tables: what the
    vocabulary pages read when no node store is loaded yet."""
    import duckdb

    from phta.cdm import schema

    con = duckdb.connect()
    for name in TABLE_FILES:
        con.execute(schema.create_table_sql(schema.tables(schema.CURRENT_VERSION)[name]))
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM read_csv(?, header = true, all_varchar = true)",
                    [str(TABLE_FILES[name])])
    return con


def load_into(store: Store) -> dict[str, int]:
    """Replace the store's vocabulary tables with the embedded vocabulary; returns row counts.

    Uses DuckDB's CSV reader so types follow the store's DDL (ids BIGINT, dates DATE).
    """
    counts: dict[str, int] = {}
    with store.connect() as con:
        con.execute("BEGIN")
        for table, path in TABLE_FILES.items():
            con.execute(f"DELETE FROM {table}")
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM read_csv(?, header = true, all_varchar = true)",
                [str(path)],
            )
            counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.execute("COMMIT")
    from phta.cdm.vocabulary.search_index import build_index  # imports this package

    build_index(store)
    return counts
