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


def test_run_refuses_a_network_purpose_for_atlas_json(tmp_path):
    """Opt-outs and disclosure control are not yet built for Circe results, so a purpose that
    needs them is refused rather than run without them (security property 2)."""
    store = synthetic.build(tmp_path / "store", seed=3, persons=30)
    definition = CORPUS / "bronchitis_inclusion_rules.json"
    out = runner.invoke(app, ["cohort", "run", str(definition), "--store", str(store.path),
                              "--purpose", "network_feasibility"])
    assert out.exit_code == 1
    assert "not yet built" in out.output


def test_execute_circe_refuses_a_policy_with_opt_outs_or_disclosure(tmp_path):
    import datetime as dt

    import pytest

    from phta.execution.circe import CirceNotGoverned, CirceRequest, execute_circe
    from phta.execution.policy import ExecutionPolicy, InMemoryAuditSink
    from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext
    from phta.execution.results import AppliedOptOut

    store = synthetic.build(tmp_path / "store", seed=3, persons=30)
    query = import_expression((CORPUS / "bronchitis_inclusion_rules.json").read_text(encoding="utf-8"))
    request = CirceRequest(query, LOCAL_CUSTODIAN_QUALITY, store, store.path.name)
    context = ExecutionContext.local_custodian(store)
    sink = InMemoryAuditSink()
    with_opt_outs = ExecutionPolicy(audit=sink, opt_outs=(AppliedOptOut("national", dt.date(2026, 1, 1)),))
    with pytest.raises(CirceNotGoverned):
        execute_circe(request, context, with_opt_outs)
    with_disclosure = ExecutionPolicy(audit=sink, disclosure=lambda result, req: result)
    with pytest.raises(CirceNotGoverned):
        execute_circe(request, context, with_disclosure)
    assert [e.outcome for e in sink.events] == ["refused", "refused"]
