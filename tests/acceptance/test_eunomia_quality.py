"""Data quality on OHDSI's Eunomia GiBleed: ``phta quality check`` finds the dataset's known
faults — duplicate drug_exposure and measurement ids, observation periods of persons the store
does not have, events outside observation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phta.cli.main import app


@pytest.fixture(scope="module")
def gibleed_store(eunomia_csv: Path, tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("gibleed-quality") / "store"
    result = CliRunner().invoke(app, ["load", "omop", str(eunomia_csv), "--store", str(store), "--create",
                                      "--node-name", "GiBleed", "--skip-unknown-files"])
    assert result.exit_code == 0, result.output
    return store


def test_finds_eunomias_known_faults(gibleed_store: Path):
    run = CliRunner().invoke(app, ["quality", "check", "--store", str(gibleed_store), "--json"])
    assert run.exit_code == 1, run.output
    checks = json.loads(run.output)["checks"]

    def failing(name, table):
        found = [c for c in checks if c["name"] == name and c["table"] == table]
        assert found, (name, table)
        return found[0]

    for table in ("drug_exposure", "measurement"):
        duplicate = failing("isPrimaryKey", table)
        assert duplicate["failing_rows"] > 0 and not duplicate["passed"], table
    unknown = failing("isForeignKey", "observation_period")
    assert unknown["failing_rows"] > 0 and not unknown["passed"]
    assert any(c["name"] == "withinObservationPeriod" and c["failing_rows"] > 0 for c in checks)
    assert all("person_id =" not in c["explanation"] for c in checks)  # explanations name no rows
