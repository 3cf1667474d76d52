"""Build the compact OMOP CDM schema file (``omop_schema.json``) from the OHDSI reference CSVs.

The OHDSI specification CSVs (``OMOP_CDMv5.x_{Table,Field}_Level.csv``) stay in
``shared/reference``; the package carries only the structural facts it needs at run time
(tables, fields, types, required flags, keys), derived here. ``tests/spec/test_cdm_schema.py``
checks the derived file against the reference CSVs field by field, so it cannot drift.

Regenerate with::

    python -m phta.cdm.schema_build ../shared/reference/omop-cdm-5.4
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("omop_schema.json")
VERSIONS = ("5.3", "5.4")


def read_reference(reference_dir: Path, version: str) -> dict:
    """Read one CDM version's table- and field-level CSVs into the compact form."""
    tables_csv = reference_dir / f"OMOP_CDMv{version}_Table_Level.csv"
    fields_csv = reference_dir / f"OMOP_CDMv{version}_Field_Level.csv"
    with tables_csv.open(encoding="utf-8-sig", newline="") as f:
        table_rows = list(csv.DictReader(f))
    with fields_csv.open(encoding="utf-8-sig", newline="") as f:
        field_rows = list(csv.DictReader(f))
    tables: dict[str, dict] = {}
    for row in table_rows:
        name = row["cdmTableName"].strip().lower()
        tables[name] = {
            "schema": row["schema"].strip().upper(),
            "required": row["isRequired"].strip() == "Yes",
            "fields": [],
        }
    for row in field_rows:
        table = row["cdmTableName"].strip().lower()
        tables.setdefault(table, {"schema": "CDM", "required": False, "fields": []})
        fk_table = row["fkTableName"].strip()
        tables[table]["fields"].append(
            {
                "name": row["cdmFieldName"].strip().lower().strip('"'),
                "datatype": row["cdmDatatype"].strip().lower(),
                "required": row["isRequired"].strip() == "Yes",
                "primary_key": row["isPrimaryKey"].strip() == "Yes",
                "foreign_key": (
                    [fk_table.lower(), row["fkFieldName"].strip().lower()]
                    if row["isForeignKey"].strip() == "Yes" and fk_table not in ("", "NA")
                    else None
                ),
            }
        )
    return tables


def build(reference_dir: Path) -> dict:
    return {
        "source": "OHDSI/CommonDataModel inst/csv (see shared/reference/README.md)",
        "versions": {v: read_reference(reference_dir, v) for v in VERSIONS},
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    data = build(Path(args[0]))
    SCHEMA_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
