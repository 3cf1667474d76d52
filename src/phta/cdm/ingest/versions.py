"""OMOP CDM v5.3 -> v5.4: which source version an export is, renamed fields, and defaults.

The store is always v5.4. A v5.3 export differs from v5.4 in three ways that matter to a loader:

1. Renamed fields (``RENAMED_IN_54``). Derived by comparing the two versions' field lists in
   ``phta.cdm.schema``: in every table present in both versions, each field that exists only in
   v5.3 has exactly one counterpart that exists only in v5.4 (tests/unit/test_cdm_versions.py
   proves the table is complete and correct against the schema).
2. Fields new in v5.4, or required only since v5.4, that a v5.3 export cannot fill: they get the
   documented defaults in ``DEFAULTS_FOR_53`` (docs/cdm-store.md lists them).
3. Tables that exist only in v5.3 (``attribute_definition``): their rows cannot be represented in a
   v5.4 store and are quarantined, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phta.cdm import schema

# (table, v5.3 field) -> v5.4 field
RENAMED_IN_54: dict[tuple[str, str], str] = {
    ("visit_occurrence", "admitting_source_concept_id"): "admitted_from_concept_id",
    ("visit_occurrence", "admitting_source_value"): "admitted_from_source_value",
    ("visit_occurrence", "discharge_to_concept_id"): "discharged_to_concept_id",
    ("visit_occurrence", "discharge_to_source_value"): "discharged_to_source_value",
    ("visit_detail", "admitting_source_concept_id"): "admitted_from_concept_id",
    ("visit_detail", "admitting_source_value"): "admitted_from_source_value",
    ("visit_detail", "discharge_to_concept_id"): "discharged_to_concept_id",
    ("visit_detail", "discharge_to_source_value"): "discharged_to_source_value",
    ("visit_detail", "visit_detail_parent_id"): "parent_visit_detail_id",
}

# Misspellings found in real exports, accepted in any version. The OHDSI v5.3.1 DDL misspelled
# cost.revenue_code_source_value, so exports made with it (e.g. Eunomia) carry the typo.
SPELLING_VARIANTS: dict[tuple[str, str], str] = {
    ("cost", "reveue_code_source_value"): "revenue_code_source_value",
}

CDM_V54_CONCEPT_ID = 756265  # OMOP concept "OMOP CDM Version 5.4.0" (vocabulary "CDM")


@dataclass(frozen=True)
class Default:
    """A value for a field a v5.3 export cannot provide. ``sql`` is a fixed expression over the
    already-parsed columns of the same row (``_rn`` is the row's position in its file)."""

    sql: str
    doc: str


# Applied only when the source is v5.3 and the value is missing (absent column or empty cell).
DEFAULTS_FOR_53: dict[tuple[str, str], Default] = {
    ("cdm_source", "cdm_version_concept_id"): Default(
        str(CDM_V54_CONCEPT_ID), "756265, the concept of OMOP CDM v5.4 (the store's form)"
    ),
    ("cdm_source", "cdm_source_abbreviation"): Default(
        "left(cdm_source_name, 25)", "the first 25 characters of cdm_source_name"
    ),
    ("cdm_source", "cdm_holder"): Default("'unknown'", "the text 'unknown'"),
    ("cdm_source", "cdm_release_date"): Default("current_date", "the date of the load"),
    ("cdm_source", "source_release_date"): Default(
        "coalesce(cdm_release_date, current_date)", "cdm_release_date, else the date of the load"
    ),
    ("cdm_source", "vocabulary_version"): Default("'unknown'", "the text 'unknown'"),
    ("metadata", "metadata_id"): Default("_rn", "the row's position in its file (1, 2, ...)"),
}

# v5.3-only columns prove a v5.3 export; v5.4-only columns (of tables in both) prove v5.4.
_V53_TABLES = schema.tables("5.3")
_V54_TABLES = schema.tables("5.4")
ONLY_53_TABLES = frozenset(set(_V53_TABLES) - set(_V54_TABLES))


def only_in(version: str, table: str) -> frozenset[str]:
    """Fields of ``table`` present in ``version`` but not in the other supported version."""
    other = "5.3" if version == "5.4" else "5.4"
    mine, theirs = schema.tables(version).get(table), schema.tables(other).get(table)
    if mine is None or theirs is None:
        return frozenset()
    return frozenset(mine.field_names) - frozenset(theirs.field_names)


def known_table(name: str) -> bool:
    return name in _V54_TABLES or name in _V53_TABLES


@dataclass(frozen=True)
class VersionEvidence:
    version: str
    how: str  # human-readable: which file/column or value decided it


def version_from_headers(headers: dict[str, tuple[str, list[str]]]) -> tuple[list[str], list[str]]:
    """Evidence from headers. ``headers``: table -> (file name, lower-cased column names).

    Returns (reasons for v5.3, reasons for v5.4), each naming file and column."""
    for53: list[str] = []
    for54: list[str] = []
    for tbl, (fname, cols) in headers.items():
        if tbl in ONLY_53_TABLES:
            for53.append(f"{fname} (table only in v5.3)")
        elif tbl in ("episode", "episode_event"):
            for54.append(f"{fname} (table only in v5.4)")
        s53, s54 = only_in("5.3", tbl), only_in("5.4", tbl)
        for col in cols:
            if col in s53:
                for53.append(f"{fname} column {col}")
            elif col in s54:
                for54.append(f"{fname} column {col}")
    return for53, for54


def version_from_text(value: str | None) -> str | None:
    """'v5.3.1', '5.4', 'CDM v5.4.0' -> '5.3' / '5.4'; None when not a supported version."""
    if not value:
        return None
    match = re.search(r"(\d+)\.(\d+)", value)
    if not match:
        return None
    version = f"{match.group(1)}.{match.group(2)}"
    return version if version in schema.SUPPORTED_VERSIONS else None


def target_field(table: str, column: str, source_version: str) -> str | None:
    """The v5.4 field a source column maps to, or None when the column is unknown."""
    column = SPELLING_VARIANTS.get((table, column), column)
    if source_version == "5.3":
        column = RENAMED_IN_54.get((table, column), column)
    target = _V54_TABLES.get(table)
    if target is None or column not in target.field_names:
        return None
    return column


def default_for(table: str, field: str, source_version: str) -> Default | None:
    if source_version != "5.3":
        return None
    return DEFAULTS_FOR_53.get((table, field))
