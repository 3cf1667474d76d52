"""The embedded OMOP CDM schema matches the OHDSI reference CSVs, table by table, field by field."""

import csv

import duckdb
import pytest

from phta.cdm import schema


@pytest.mark.parametrize("version", ["5.3", "5.4"])
def test_every_table_and_field_matches_the_reference(reference_dir, version):
    ref = reference_dir / "omop-cdm-5.4"
    with (ref / f"OMOP_CDMv{version}_Table_Level.csv").open(encoding="utf-8-sig") as f:
        ref_tables = [r["cdmTableName"].lower() for r in csv.DictReader(f)]
    with (ref / f"OMOP_CDMv{version}_Field_Level.csv").open(encoding="utf-8-sig") as f:
        ref_fields = list(csv.DictReader(f))
    ours = schema.tables(version)
    assert set(ref_tables) <= set(ours)
    assert len(ref_fields) == sum(len(t.fields) for t in ours.values())
    for row in ref_fields:
        field = ours[row["cdmTableName"].lower()].field(row["cdmFieldName"].lower().strip('"'))
        assert field.datatype == row["cdmDatatype"].lower()
        assert field.required == (row["isRequired"] == "Yes")
        assert field.primary_key == (row["isPrimaryKey"] == "Yes")
        if row["isForeignKey"] == "Yes" and row["fkTableName"] not in ("", "NA"):
            assert field.foreign_key == (row["fkTableName"].lower(), row["fkFieldName"].lower())


def test_duckdb_ddl_creates_every_v54_table_with_its_columns():
    con = duckdb.connect()
    for statement in schema.ddl():
        con.execute(statement)
    for name, tbl in schema.tables().items():
        cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
        assert cols == list(tbl.field_names)
        notnull = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall() if r[2] == "NO"}
        assert notnull == {f.name for f in tbl.fields if f.required}


def test_v54_has_the_tables_new_in_54():
    assert {"episode", "episode_event", "cohort"} <= set(schema.tables("5.4"))
    assert schema.table("visit_occurrence").field("admitted_from_concept_id")
    assert "admitting_source_concept_id" in schema.table("visit_occurrence", "5.3").field_names
