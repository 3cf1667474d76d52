"""Acceptance: the Eunomia GiBleed dataset loads through ``phta load omop`` with exact
reconciliation, and the published figures hold in the store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from phta.cdm.store import Store
from phta.cli.main import app

CELECOXIB = 1118084  # RxNorm ingredient


@pytest.fixture(scope="module")
def gibleed_store(eunomia_csv: Path, tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("gibleed") / "store"
    result = CliRunner().invoke(
        app,
        ["load", "omop", str(eunomia_csv), "--store", str(store), "--create",
         "--node-name", "GiBleed", "--skip-unknown-files"],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    assert "Reconciliation" in result.output
    return store


def _data_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def test_every_table_loads_and_reconciles(gibleed_store: Path, eunomia_csv: Path):
    (history,) = Store.open(gibleed_store).load_history()
    report = history["report"]
    assert report["reconciled"] is True
    assert history["source_cdm_version"] == "5.3"
    # Only the two non-OMOP tables of the export are skipped (and said so); the rest all load.
    assert report["skipped_unknown_files"] == ["COHORT_ATTRIBUTE.csv", "ONTIME.csv"]
    loaded = {f["file"]: f for f in report["files"]}
    assert len(loaded) == 36
    for path in sorted(eunomia_csv.glob("*.csv")):
        if path.name in report["skipped_unknown_files"]:
            continue
        f = loaded[path.name]
        assert f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"]
        assert f["rows_read"] == _data_rows(path), path.name
        assert f["rows_quarantined"] == 0, path.name
        with duckdb.connect(str(gibleed_store / "cdm.duckdb"), read_only=True) as con:
            assert con.execute(f"SELECT count(*) FROM {f['table']}").fetchone()[0] == f["rows_loaded"]
    assert history["rows_read"] == history["rows_loaded"] == 411_134
    assert history["rows_quarantined"] == 0


def test_published_figures(gibleed_store: Path):
    with duckdb.connect(str(gibleed_store / "cdm.duckdb"), read_only=True) as con:
        persons = con.execute("SELECT count(*) FROM person").fetchone()[0]
        celecoxib_users = con.execute(
            """SELECT count(DISTINCT person_id) FROM drug_exposure
            WHERE drug_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                      WHERE ancestor_concept_id = ?)""",
            [CELECOXIB],
        ).fetchone()[0]
        cdm_source = con.execute("SELECT cdm_version, cdm_version_concept_id FROM cdm_source").fetchall()
    assert persons == 2694
    assert celecoxib_users == 1844
    assert cdm_source == [("v5.3.1", 756265)]


def test_v53_visit_columns_are_mapped_to_their_v54_names(gibleed_store: Path, eunomia_csv: Path):
    source = duckdb.sql(
        "SELECT count(ADMITTING_SOURCE_CONCEPT_ID), count(DISCHARGE_TO_CONCEPT_ID) FROM read_csv(?)",
        params=[str(eunomia_csv / "VISIT_OCCURRENCE.csv")],
    ).fetchall()
    with duckdb.connect(str(gibleed_store / "cdm.duckdb"), read_only=True) as con:
        stored = con.execute(
            "SELECT count(admitted_from_concept_id), count(discharged_to_concept_id) FROM visit_occurrence"
        ).fetchall()
    assert stored == source == [(1037, 1037)]


def test_findings_of_gibleed_are_recorded(gibleed_store: Path):
    (history,) = Store.open(gibleed_store).load_history()
    findings = history["report"]["findings"]
    # Known properties of this export: repeated drug_exposure ids, observation periods of
    # persons absent from person.
    assert findings["drug_exposure"]["duplicate_primary_key"] > 0
    assert findings["observation_period"]["unknown_person"] > 0
    assert findings["person"]["duplicate_primary_key"] == 0
    json.dumps(findings)


def test_info_and_parquet_export_of_gibleed(gibleed_store: Path, tmp_path: Path):
    runner = CliRunner()
    info = json.loads(runner.invoke(app, ["store", "info", str(gibleed_store), "--json"]).output)
    drug = next(t for t in info["tables"] if t["table"] == "drug_exposure")
    assert drug["rows"] == 67_707 and drug["date_min"] < drug["date_max"]
    result = runner.invoke(app, ["store", "export-parquet", str(gibleed_store), "--out", str(tmp_path)])
    assert result.exit_code == 0
    n = duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'person.parquet'}'").fetchall()[0][0]
    assert n == 2694
