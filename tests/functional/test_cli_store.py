"""``phta load omop`` and ``phta store info|export-parquet`` through the real CLI."""

import json

import duckdb
from typer.testing import CliRunner

from phta.cli.main import app
from tests.omop_files import PERSON, snapshot, valid_folder, write

WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=WIDE)


def test_load_prints_reconciliation_and_info_summarises(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", PERSON + "1,8507,1970,0,0\n2,8532,1980,0,0\n3,8532,19x0,0,0\n")
    store = tmp_path / "store"
    result = _run("load", "omop", src, "--store", store, "--create", "--node-name", "Test Trust")
    assert result.exit_code == 0, result.output
    assert "Reconciliation: rows read = loaded + quarantined" in result.output
    assert "person.csv" in result.output and "total" in result.output
    assert "Source OMOP CDM v5.4" in result.output

    info = _run("store", "info", store, "--json")
    assert info.exit_code == 0, info.output
    summary = json.loads(info.output)
    assert summary["node_name"] == "Test Trust"
    assert summary["cdm_version"] == "5.4"
    counts = {t["table"]: t["rows"] for t in summary["tables"]}
    assert counts["person"] == 2 and counts["condition_occurrence"] == 4
    cond = next(t for t in summary["tables"] if t["table"] == "condition_occurrence")
    assert (cond["date_min"], cond["date_max"]) == ("2012-05-01", "2016-01-01")
    assert summary["load_history"][0]["rows_quarantined"] == 1
    assert summary["quarantine"] == [{"load_id": 1, "file": "person.csv", "field": "year_of_birth",
                                      "reason": "not a whole number (integer field)",
                                      "entries": 1, "first_line": 4}]

    text = _run("store", "info", store)
    assert text.exit_code == 0
    assert "Test Trust" in text.output and "Quarantine" in text.output and "person.csv" in text.output


def test_failed_load_exits_1_names_file_and_line_and_leaves_store_unchanged(tmp_path):
    store = tmp_path / "store"
    assert _run("load", "omop", valid_folder(tmp_path / "a"), "--store", store, "--create").exit_code == 0
    before = snapshot(store)
    src = valid_folder(tmp_path / "b")
    write(src, "person.csv", PERSON + "9,8507,1970,0,0\n10,8507")
    result = _run("load", "omop", src, "--store", store)
    assert result.exit_code == 1
    assert "person.csv, line 3:" in result.output
    assert "The store is unchanged." in result.output
    assert snapshot(store) == before


def test_load_without_store_and_create_fails(tmp_path):
    result = _run("load", "omop", valid_folder(tmp_path / "src"), "--store", tmp_path / "none")
    assert result.exit_code == 1
    assert "pass --create" in result.output


def test_export_parquet_writes_one_file_per_non_empty_table(tmp_path):
    store = tmp_path / "store"
    _run("load", "omop", valid_folder(tmp_path / "src"), "--store", store, "--create")
    result = _run("store", "export-parquet", store)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (store / "parquet").iterdir())
    assert files == ["_phta_export.json", "condition_occurrence.parquet", "observation_period.parquet",
                     "person.parquet"]
    manifest = json.loads((store / "parquet" / "_phta_export.json").read_text())
    assert manifest["tables"] == {"condition_occurrence": 4, "observation_period": 3, "person": 3}
    n = duckdb.sql(f"SELECT count(*) FROM '{store / 'parquet' / 'person.parquet'}'").fetchall()
    assert n == [(3,)]
    out = tmp_path / "elsewhere"
    assert _run("store", "export-parquet", store, "--out", out).exit_code == 0
    assert (out / "observation_period.parquet").is_file()


def test_store_commands_on_a_missing_store_fail_clearly(tmp_path):
    for cmd in (["store", "info"], ["store", "export-parquet"]):
        result = _run(*cmd, tmp_path / "nothing")
        assert result.exit_code == 1
        assert "no store at" in result.output


def test_extension_tables_are_summarised_and_exported_but_not_phta_metadata(tmp_path):
    from phta.cdm.extensions import ensure_extension_tables

    store = tmp_path / "store"
    _run("load", "omop", valid_folder(tmp_path / "src"), "--store", store, "--create")
    with duckdb.connect(str(store / "cdm.duckdb")) as con:
        ensure_extension_tables(con)
        con.execute("INSERT INTO variant (person_id, chrom, pos, ref, alt, zygosity) "
                    "VALUES (1, '19', 11089462, 'A', 'T', 'heterozygous')")
    summary = json.loads(_run("store", "info", store, "--json").output)
    assert {"table": "variant", "rows": 1} in summary["tables"]
    assert not any(t["table"].startswith("phta_") for t in summary["tables"])
    assert _run("store", "export-parquet", store).exit_code == 0
    names = sorted(p.name for p in (store / "parquet").iterdir())
    assert "variant.parquet" in names and not any(n.startswith("phta_") for n in names)
