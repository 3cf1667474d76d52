"""`phta cohort import` and `phta cohort run` on ATLAS (Circe) JSON, on a real synthetic store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from phta.cli.main import app
from phta.query import serial
from phta.query.circe.importer import import_expression
from tests.spec.circe import synthetic

CORPUS = Path(__file__).parents[1] / "fixtures" / "circe"
runner = CliRunner()


def test_import_prints_the_phta_json():
    definition = CORPUS / "bronchitis_inclusion_rules.json"
    out = runner.invoke(app, ["cohort", "import", str(definition)])
    assert out.exit_code == 0, out.output
    node = serial.from_json(out.stdout)
    assert node == import_expression(definition.read_text(encoding="utf-8"))


def test_import_names_the_json_path_of_an_unsupported_feature(tmp_path):
    doc = json.loads((CORPUS / "first_sinusitis_365_prior.json").read_text(encoding="utf-8"))
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["Gizmo"] = 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    out = runner.invoke(app, ["cohort", "import", str(bad)])
    assert out.exit_code == 1
    assert "$.PrimaryCriteria.CriteriaList[0].ConditionOccurrence.Gizmo" in out.output


def test_run_detects_atlas_json_and_prints_counts_only(tmp_path):
    store = synthetic.build(tmp_path / "store", seed=3, persons=30)
    definition = CORPUS / "bronchitis_inclusion_rules.json"
    out = runner.invoke(app, ["cohort", "run", str(definition), "--store", str(store.path), "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["episodes"] is None  # counts only on the command line
    assert [r["rule"] for r in result["by_event"]["rules"]] == [
        "age 18+", "no prior otitis", "2+ measurements in year before", "any acetaminophen or amoxicillin after"]
    assert result["by_event"]["base"] >= result["by_event"]["final"]
    text = runner.invoke(app, ["cohort", "run", str(definition), "--store", str(store.path)])
    assert text.exit_code == 0 and "Inclusion rules (by person)" in text.output


def test_sql_shows_placeholders_and_bound_values():
    out = runner.invoke(app, ["cohort", "sql", str(CORPUS / "first_sinusitis_365_prior.json")])
    assert out.exit_code == 0, out.output
    assert "-- cohort" in out.stdout and "$p1" in out.stdout
    assert "40481087" not in out.stdout.split("-- parameters")[0]  # concept ids are bound, not spliced


def _with_registers(tmp_path, persons=30):
    """A synthetic Circe store whose persons have pseudonyms, with record keys and an empty
    national register loaded (network feasibility needs it)."""
    import datetime as dt

    from phta.cdm import data_source, optout_register
    from phta.cdm.record_keys import index_record_keys
    from phta.cdm.store import Store
    from tests.integration.circe_optout import NUMBERS, PSEUDONYMISER
    from tests.spec.circe.harness import load_rows

    data = synthetic.tables(3, persons)
    for person in data["person"]:
        person["person_source_value"] = PSEUDONYMISER.pseudonym(NUMBERS[person["person_id"] - 1])
    store = Store.create(tmp_path / "store", node_name="circe-node")
    load_rows(store, data)
    data_source.declare(store, {"hospital"})  # so only the national register applies
    listed = tmp_path / "national.csv"
    listed.write_text(f"nhs_number\n{NUMBERS[0]}\n", encoding="utf-8")
    optout_register.refresh(store, "national", listed, dt.date(2026, 11, 1), PSEUDONYMISER)
    index_record_keys(store)
    return store


def test_run_atlas_json_for_network_feasibility_publishes_protected_counts_only(tmp_path):
    store = _with_registers(tmp_path)
    definition = CORPUS / "bronchitis_inclusion_rules.json"
    args = ["cohort", "run", str(definition), "--store", str(store.path), "--purpose", "network_feasibility"]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["policy_name"] == "feasibility" and result["disclosure"].startswith("feasibility")
    assert [o["kind"] for o in result["opt_outs"]] == ["national"]
    assert set(result["persons"]) >= {"value", "suppressed"}
    assert result["rule_names"] == ["age 18+", "no prior otitis", "2+ measurements in year before",
                                    "any acetaminophen or amoxicillin after"]
    # no record-level rows, no event-mode counts, no raw masks, no cell keys
    for raw in ("episodes", "by_event", "by_person", "person_key", "mask_keys", "episode_count"):
        assert raw not in result
    assert runner.invoke(app, [*args, "--json"]).stdout == out.stdout  # same persons, same noise
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "Inclusion rules (by person)" in text.output and "withheld" in text.output


def test_run_atlas_json_for_a_project_needs_a_member(tmp_path):
    store = _with_registers(tmp_path)
    definition = CORPUS / "bronchitis_inclusion_rules.json"
    args = ["cohort", "run", str(definition), "--store", str(store.path), "--purpose", "project:1"]
    out = runner.invoke(app, args)
    assert out.exit_code == 1 and "--user" in out.output
    out = runner.invoke(app, [*args, "--user", "nobody@test.example", "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 1 and "no account" in out.output


def test_run_atlas_json_refuses_an_unknown_purpose(tmp_path):
    store = synthetic.build(tmp_path / "store", seed=3, persons=10)
    out = runner.invoke(app, ["cohort", "run", str(CORPUS / "bronchitis_inclusion_rules.json"), "--store",
                              str(store.path), "--purpose", "marketing"])
    assert out.exit_code == 1 and "unknown purpose" in out.output


def test_execute_circe_refuses_what_it_cannot_apply(tmp_path):
    """A disclosure hook that does not protect Circe results, or a governance rewrite that changes
    the cohort rather than excluding persons, is refused and audited (fail safe)."""
    from dataclasses import replace

    import pytest

    from phta.execution.circe import CirceNotGoverned, CirceRequest, execute_circe
    from phta.execution.policy import ExecutionPolicy, InMemoryAuditSink
    from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext

    store = synthetic.build(tmp_path / "store", seed=3, persons=30)
    query = import_expression((CORPUS / "bronchitis_inclusion_rules.json").read_text(encoding="utf-8"))
    context = ExecutionContext.local_custodian(store)
    request = CirceRequest(query, LOCAL_CUSTODIAN_QUALITY, store, context.node)
    sink = InMemoryAuditSink()
    passes_raw_counts = ExecutionPolicy(audit=sink, disclosure=lambda result, req: result)
    with pytest.raises(CirceNotGoverned):
        execute_circe(request, context, passes_raw_counts)
    rewrites_the_query = ExecutionPolicy(audit=sink, governance_rewrite=lambda q: replace(q, era_pad=q.era_pad + 1))
    with pytest.raises(CirceNotGoverned):
        execute_circe(request, context, rewrites_the_query)
    assert [e.outcome for e in sink.events] == ["refused", "refused"]
