"""``phta cohort check`` and ``phta cohort vocabulary``, and ``phta cohort run`` refusing what the
purpose's vocabulary refuses (PHTA and ATLAS JSON) before anything is compiled."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from phta.cli.main import app
from phta.query import serial
from phta.query.purpose_vocabulary import FEATURES
from tests import vocabulary_samples as samples
from tests.spec.cohort import harness


@pytest.fixture
def synth_store(tmp_path):
    people = [harness.person(i, sex="F" if i % 2 else "M") for i in range(1, 6)]
    conditions = [{"person_id": i, "condition_concept_id": samples.HYPERTENSION,
                   "condition_start_date": harness.d("2020-01-01")} for i in range(1, 5)]
    tables = harness.complete({"person": people, "condition_occurrence": conditions,
                               "concept": harness.concepts(samples.HYPERTENSION)})
    return harness.build_store(tmp_path / "node", tables).path


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_refuses_naming_the_node_path_and_purpose_and_passes_the_control(tmp_path):
    dob = _write(tmp_path, "dob.json", serial.to_json(samples.PHTA["date_of_birth"]))
    atlas = _write(tmp_path, "atlas.json", json.dumps(samples.ATLAS["exact_date"]))
    ages = _write(tmp_path, "ages.json", serial.to_json(samples.PHTA["age_in_years"]))
    runner = CliRunner()
    refused = runner.invoke(app, ["cohort", "check", str(dob)])
    assert refused.exit_code == 1
    assert "DateOfBirth at rules[0].condition.arg.series" in refused.output
    assert "'network_feasibility'" in refused.output
    refused = runner.invoke(app, ["cohort", "check", str(atlas), "--purpose", "public_statistics"])
    assert refused.exit_code == 1 and "DateFilter at primary[0].filters[0]" in refused.output
    assert "'public_statistics'" in refused.output
    allowed = runner.invoke(app, ["cohort", "check", str(ages)])
    assert allowed.exit_code == 0 and "OK: within the query vocabulary of network_feasibility" in allowed.output
    project = runner.invoke(app, ["cohort", "check", str(dob), "--purpose", "project:4"])
    assert project.exit_code == 0, project.output


def test_vocabulary_prints_every_feature(tmp_path):
    out = CliRunner().invoke(app, ["cohort", "vocabulary"], env={"COLUMNS": "250"})
    assert out.exit_code == 0
    for name in FEATURES:
        assert f"({name})" in out.output


def test_run_under_network_feasibility_refuses_before_compiling(tmp_path, synth_store):
    dob = _write(tmp_path, "dob.json", serial.to_json(samples.PHTA["date_of_birth"]))
    atlas = _write(tmp_path, "atlas.json", json.dumps(samples.ATLAS["free_text"]))
    runner = CliRunner()
    for definition in (dob, atlas):
        result = runner.invoke(app, ["cohort", "run", str(definition), "--store", str(synth_store),
                                     "--purpose", "network_feasibility", "--data-dir", str(tmp_path / "data")])
        assert result.exit_code == 1, result.output
        assert "is not in the query vocabulary of purpose 'network_feasibility'" in result.output
    # the custodian's own checks may use it
    own = runner.invoke(app, ["cohort", "run", str(dob), "--store", str(synth_store), "--json"])
    assert own.exit_code == 0, own.output
