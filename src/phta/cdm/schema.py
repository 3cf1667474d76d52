"""The OMOP CDM schema as data: tables, fields, types, required flags and keys.

Loaded from ``omop_schema.json`` (derived from the OHDSI reference CSVs by ``schema_build``)
so every table and field of CDM v5.4 (and v5.3, for loading older exports) is known without
hand-written table definitions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from phta.cdm.schema_build import SCHEMA_FILE

CURRENT_VERSION = "5.4"
SUPPORTED_VERSIONS = ("5.3", "5.4")


@dataclass(frozen=True)
class Field:
    name: str
    datatype: str  # as the OHDSI spec writes it, lower-cased: integer, varchar(50), date, ...
    required: bool
    primary_key: bool
    foreign_key: tuple[str, str] | None

    @property
    def kind(self) -> str:
        """The logical kind: integer, bigint, float, date, datetime or text."""
        if self.datatype.startswith("varchar"):
            return "text"
        return self.datatype

    @property
    def max_length(self) -> int | None:
        match = re.fullmatch(r"varchar\((\d+)\)", self.datatype)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Table:
    name: str
    schema: str  # CDM, VOCAB or RESULTS
    required: bool
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def primary_key(self) -> Field | None:
        return next((f for f in self.fields if f.primary_key), None)


@cache
def _raw() -> dict:
    return json.loads(Path(SCHEMA_FILE).read_text(encoding="utf-8"))


@cache
def tables(version: str = CURRENT_VERSION) -> dict[str, Table]:
    """All tables of a CDM version, by lower-case name, in specification order."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported OMOP CDM version {version!r}; supported: {SUPPORTED_VERSIONS}")
    out: dict[str, Table] = {}
    for name, spec in _raw()["versions"][version].items():
        out[name] = Table(
            name=name,
            schema=spec["schema"],
            required=spec["required"],
            fields=tuple(
                Field(
                    name=f["name"],
                    datatype=f["datatype"],
                    required=f["required"],
                    primary_key=f["primary_key"],
                    foreign_key=tuple(f["foreign_key"]) if f["foreign_key"] else None,
                )
                for f in spec["fields"]
            ),
        )
    return out


def table(name: str, version: str = CURRENT_VERSION) -> Table:
    try:
        return tables(version)[name.lower()]
    except KeyError:
        raise KeyError(f"OMOP CDM v{version} has no table {name!r}") from None


DUCKDB_TYPES = {
    "integer": "BIGINT",  # OMOP ids outgrow 32 bits in large networks; BIGINT costs little
    "bigint": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "text": "VARCHAR",
}


def duckdb_type(field: Field) -> str:
    return DUCKDB_TYPES[field.kind]


def create_table_sql(tbl: Table) -> str:
    """DuckDB DDL for one table. Identifiers come from the fixed specification, never from users."""
    cols = ",\n  ".join(
        f"\"{f.name}\" {duckdb_type(f)}{' NOT NULL' if f.required else ''}" for f in tbl.fields
    )
    return f"CREATE TABLE IF NOT EXISTS {tbl.name} (\n  {cols}\n)"


def ddl(version: str = CURRENT_VERSION) -> list[str]:
    """DuckDB DDL for every table of the CDM version, in specification order."""
    return [create_table_sql(t) for t in tables(version).values()]
