"""`phta cohort run` and `phta cohort sql` on a real store, with JSON and DSL definitions."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from phta.cli.main import app
from phta.query import ir, serial
from tests.spec.cohort import harness

DSL = """from phta.query.dsl import *
t2dm = conditions.where(codes(201826))
population = cohort(
    index_date=t2dm.first_date(),
    rules={"female": patients.sex == "female"},
    strata=["sex", "age_band"],
)
"""


@pytest.fixture
def store(tmp_path):
    people = [harness.person(i, sex="F" if i % 2 else "M") for i in range(1, 6)]
    conditions = [{"person_id": i, "condition_concept_id": 201826, "condition_start_date": harness.d("2020-01-01")}
                  for i in range(1, 5)]
    tables = harness.complete({"person": people, "condition_occurrence": conditions,
                               "concept": harness.concepts(201826)})
    return harness.build_store(tmp_path / "node", tables)


def test_run_a_dsl_file_prints_tables(store, tmp_path):
    definition = tmp_path / "t2dm.py"
    definition.write_text(DSL)
    result = CliRunner().invoke(app, ["cohort", "run", str(definition), "--store", str(store.path)])
    assert result.exit_code == 0, result.output
    assert "Population: 2" in result.output
    assert "Attrition" in result.output and "female" in result.output and "Strata" in result.output


def test_run_json_gives_machine_output(store, tmp_path):
    cohort = ir.Cohort(ir.FirstDate(ir.Events("condition")), strata=("sex",))
    definition = tmp_path / "all.json"
    definition.write_text(serial.to_json(cohort))
    result = CliRunner().invoke(app, ["cohort", "run", str(definition), "--store", str(store.path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["population_count"] == 4 and out["membership"] is None
    assert {s["value"]: s["count"] for s in out["strata"]} == {"female": 2, "male": 2}


def test_sql_prints_placeholders_and_parameters(tmp_path):
    definition = tmp_path / "t2dm.py"
    definition.write_text(DSL)
    result = CliRunner().invoke(app, ["cohort", "sql", str(definition)])
    assert result.exit_code == 0, result.output
    assert "-- membership" in result.output and "$p1" in result.output
    # the concept id is bound; "female" becomes a test of the gender concept, not a bound word
    assert '-- parameters: {"p1": 201826}' in result.output and "gender_concept_id = 8532" in result.output


def test_errors_name_the_file_and_line(tmp_path, store):
    bad = tmp_path / "bad.py"
    bad.write_text("from phta.query.dsl import *\nx = conditions.first_date() > 5\n")
    result = CliRunner().invoke(app, ["cohort", "run", str(bad), "--store", str(store.path)])
    assert result.exit_code == 1
    assert "bad.py, line 2: cannot compare a date with a whole number" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"phta_query": 1, "query": {"type": "Cohort", "index_date": {"type": "Sex"}}}')
    result = CliRunner().invoke(app, ["cohort", "sql", str(broken)])
    assert result.exit_code == 1 and "Cohort.index_date at $.query: expected a date series" in result.output
    result = CliRunner().invoke(app, ["cohort", "run", str(broken).replace("broken", "missing"), "--store", str(store.path)])
    assert result.exit_code == 1 and "no such file" in result.output


def test_run_on_a_node_set_to_spark_without_an_export_names_the_store_and_the_command(store, tmp_path):
    """Checked before Spark starts, so this needs no Java."""
    definition = tmp_path / "t2dm.py"
    definition.write_text(DSL)
    args = ["cohort", "run", str(definition), "--store", str(store.path)]
    result = CliRunner().invoke(app, args, env={"PHTA_NODE_ENGINES": f"{store.path.name}=spark"})
    assert result.exit_code == 1
    assert str(store.path) in result.output and "phta store export-parquet" in result.output
    result = CliRunner().invoke(app, args, env={"PHTA_ENGINE": "sparkk"})
    assert result.exit_code == 1 and "PHTA_ENGINE: unknown engine 'sparkk'" in result.output


def test_a_dsl_file_is_refused_where_the_sandbox_is_missing_and_json_still_works(store, tmp_path, monkeypatch):
    from phta.execution import dsl_sandbox, os_sandbox

    monkeypatch.setattr(os_sandbox, "BWRAP", "bwrap-is-not-installed-here")
    monkeypatch.delenv(dsl_sandbox.UNSAFE_SETTING, raising=False)
    dsl_sandbox.check_support.cache_clear()
    try:
        definition = tmp_path / "t2dm.py"
        definition.write_text(DSL)
        result = CliRunner().invoke(app, ["cohort", "sql", str(definition)])
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert "DSL query files are disabled on this machine: bubblewrap is not installed" in result.output
        as_json = tmp_path / "t2dm.json"
        as_json.write_text(serial.to_json(ir.Cohort(index_date=ir.FirstDate(ir.Events("condition")))))
        assert CliRunner().invoke(app, ["cohort", "sql", str(as_json)]).exit_code == 0
    finally:
        dsl_sandbox.check_support.cache_clear()
