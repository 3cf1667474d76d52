"""``phta quality check`` finds the faults a ``--dirty`` synthetic store was given, at the injected
rates, and OHDSI Eunomia's known faults; results are stored per run (the trend)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from phta.cdm import quality
from phta.cdm.store import Store
from phta.cdm.synth.generate import generate
from phta.cli.main import app


@pytest.fixture(scope="module")
def dirty_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirty") / "stores"
    result = generate(out, patients=2_000, sites=1, seed=3, key=b"q" * 32, dirty=True)
    return result.store_path(result.sites[0]), result.faults


def _by(results, name, table, field=None):
    return [r for r in results if r["name"] == name and r["table"] == table and (field is None or r["field"] == field)]


def test_finds_each_injected_fault_at_its_rate(dirty_store):
    path, faults = dirty_store
    run = CliRunner().invoke(app, ["quality", "check", "--store", str(path), "--json"])
    assert run.exit_code == 1, run.output  # duplicates fail their zero threshold
    results = json.loads(run.output)["checks"]
    assert _by(results, "isPrimaryKey", "condition_occurrence")[0]["failing_rows"] == faults["duplicate_id"]
    assert _by(results, "standardConceptRecordCompleteness", "condition_occurrence")[0]["failing_rows"] \
        == faults["unmapped_code"]
    assert _by(results, "withinObservationPeriod", "measurement")[0]["failing_rows"] == faults["outside_observation"]
    assert sum(r["failing_rows"] for r in _by(results, "plausibleUnitValueRange", "measurement")) \
        == faults["impossible_value"]
    assert all(set(r) >= {"threshold", "passed", "explanation", "failing_rows", "total_rows"} for r in results)
    assert quality.runs(Store.open(path))[-1]["results"] == results
    history = CliRunner().invoke(app, ["quality", "history", "--store", str(path)])
    assert history.exit_code == 0 and "checks failed" in history.output


def test_a_clean_store_passes_the_fault_checks(tmp_path):
    result = generate(tmp_path / "stores", patients=500, sites=1, seed=4, key=b"q" * 32)
    checks = quality.run_checks(Store.open(result.store_path(result.sites[0])))
    for name in ("isPrimaryKey", "withinObservationPeriod", "plausibleUnitValueRange", "isForeignKey"):
        assert all(c.failing_rows == 0 for c in checks if c.name == name), name


def test_a_missing_store_is_named(tmp_path):
    run = CliRunner().invoke(app, ["quality", "check", "--store", str(tmp_path / "nowhere")])
    assert run.exit_code == 2 and "--store" in run.output
