"""ATLAS (Circe) cohorts through the governed path on a keyed region: governance refuses before
anything is compiled, opt-outs and the purpose's disclosure policy apply, every run is audited;
and `phta cohort run ATLAS.json --purpose project:<id> --user EMAIL` runs under a project's grant."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from phta.audit import entries, verify_chain
from phta.cli.main import app as cli
from phta.execution import NotAuthorised, governed
from phta.execution import circe as execution_circe
from phta.execution.circe_results import ProtectedCirceResult
from phta.execution.governed import run_governed_circe
from phta.execution.network import region_stores
from phta.execution.network_atlas import atlas_network_feasibility
from phta.execution.policy import ReleaseWithheld
from phta.governance import is_use_allowed, projects, review
from phta.governance.principal import Principal
from phta.query.circe.importer import import_expression
from phta.store import open_database
from tests.airlock_support import principal
from tests.functional.test_feasibility_atlas_web import DEFINITION
from tests.governance_support import complete_request, make_user

RESEARCHER = Principal(1, "r@test.example", "Ravi", frozenset({"researcher"}))
PUBLIC = Principal(2, "p@test.example", "Pat", frozenset({"public"}))
QUERY = import_expression(DEFINITION)


@pytest.fixture
def database(region_settings):
    return open_database(region_settings)


def _runs(database):
    return [e for e in entries(database) if e.action == "query.run"]


@pytest.mark.parametrize("principal, purpose", [(None, "network_feasibility"), (PUBLIC, "network_feasibility"),
                                                (RESEARCHER, "project:999")])
def test_refused_purposes_stop_before_compile_and_are_audited(region_settings, database, monkeypatch,
                                                              principal, purpose):
    compiled = []
    real = execution_circe.compile_circe
    monkeypatch.setattr(execution_circe, "compile_circe", lambda *a, **k: compiled.append(1) or real(*a, **k))
    with pytest.raises(NotAuthorised) as refused:
        run_governed_circe(region_settings, database, principal, purpose, QUERY, region_stores(region_settings)[0].path)
    assert compiled == []
    assert str(refused.value) == is_use_allowed(principal, purpose, database=database).reason
    (run,) = _runs(database)
    assert run.details["outcome"] == "refused" and run.details["purpose"] == purpose


def test_feasibility_is_protected_with_opt_outs_and_audited(region_settings, database):
    result = run_governed_circe(region_settings, database, RESEARCHER, "network_feasibility", QUERY,
                                region_stores(region_settings)[0].path)
    assert isinstance(result, ProtectedCirceResult)
    assert result.policy_name == "feasibility" and result.legal_basis.startswith("UK GDPR")
    assert "national" in {o.kind for o in result.opt_outs}
    assert not result.persons.suppressed and result.persons.value % 10 == 0
    # the per-cell decisions hold exact values (the LP interval, where rounding changed a count):
    # they never leave under a standing purpose; the cells are perturbed and rounded
    assert result.inclusion.decisions == ()
    assert all(c.suppressed or c.value % 10 == 0 for c in result.inclusion.cells)
    (run,) = _runs(database)
    assert run.details["outcome"] == "completed" and run.details["disclosure_policy"] == "feasibility"
    assert "national" in {o["kind"] for o in run.details["opt_outs"]}
    assert verify_chain(database).ok


def _approved_project_on(settings, email: str, node_name: str) -> int:
    """As tests.airlock_support.approved_project, with a grant covering this region node."""
    db = open_database(settings)
    expert = make_user(settings, "committee_member", email="expert-atlas@hub.example", organisation="PHTA Hub")
    lay = make_user(settings, "committee_member", email="lay-atlas@public.example", lay_member=True)
    answers = {**complete_request("ATLAS project"), "nodes": node_name}
    pid = projects.create_draft(db, principal(settings, email), answers)
    projects.save(db, principal(settings, email), pid, answers, submit=True)
    review.record_review(db, principal(settings, expert), pid, "approve")
    review.record_review(db, principal(settings, lay), pid, "approve")
    assert projects.get(db, pid).grant_active
    return pid


def test_cohort_run_atlas_json_for_a_project_member(region_settings, tmp_path):
    email = make_user(region_settings, "researcher", email="atlas-member@uni.example")
    node = region_stores(region_settings)[0]
    pid = _approved_project_on(region_settings, email, node.code)  # grants name nodes by code
    definition = tmp_path / "atlas.json"
    definition.write_text(DEFINITION, encoding="utf-8")
    store = region_stores(region_settings)[0].path
    args = ["cohort", "run", str(definition), "--store", str(store), "--purpose", f"project:{pid}", "--json",
            "--data-dir", str(region_settings.data_dir)]
    out = CliRunner().invoke(cli, [*args, "--user", email])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["purpose"] == f"project:{pid}" and result["policy_name"]
    assert "episodes" not in result and "by_event" not in result
    other = make_user(region_settings, "researcher", email="not-a-member@uni.example")
    refused = CliRunner().invoke(cli, [*args, "--user", other])
    assert refused.exit_code == 1 and "not a member" in refused.output


def test_atlas_releases_are_recorded_in_the_node_ledger_and_repeats_are_not_blocked(region_settings, database):
    node = region_stores(region_settings)[0]
    answers, recorded = [], []
    for _ in range(2):
        answers.append(run_governed_circe(region_settings, database, RESEARCHER, "network_feasibility", QUERY,
                                          node.path))
        ledgers = list((region_settings.data_dir / "ledgers").glob("*.sqlite"))
        assert len(ledgers) == 1
        with sqlite3.connect(ledgers[0]) as db:
            recorded.append(db.execute("SELECT count(*) FROM population").fetchone()[0])
    # same persons, same protected answer; a repeat is labelled like any near-identical population
    # (labelling only one of them would tell them apart)
    assert answers[0].persons.value == answers[1].persons.value
    assert "same_as_earlier" in answers[1].persons.reasons
    assert recorded[0] == recorded[1] >= 1  # the persons and the rule cells, recorded once
    assert [r.details["outcome"] for r in _runs(database)] == ["completed", "completed"]


def test_a_withheld_atlas_release_is_audited_and_the_network_names_the_node(region_settings, database, monkeypatch):
    def check(candidate):
        assert all(isinstance(p, int) for p in candidate.person_ids)  # node-local ids, never leave
        raise ReleaseWithheld("Withheld by the release ledger: differencing risk (threshold 10)", "block")

    monkeypatch.setattr(governed, "ledger_check", lambda data_dir, policy, project: check)
    outcome = atlas_network_feasibility(region_settings, database, RESEARCHER, QUERY)
    assert not outcome.nodes and len(outcome.not_taken_part) == len(region_stores(region_settings))
    assert all("release ledger" in why for _, why in outcome.not_taken_part)
    assert {r.details["outcome"] for r in _runs(database)} == {"withheld (block): differencing"}


def test_an_atlas_request_takes_the_engine_the_settings_give_its_node(tmp_path):
    """ATLAS cohorts run on the node's engine (issue 16): a node set to Spark gets a Spark request
    (compiled for Spark, run on its export); control: without a setting, DuckDB."""
    from phta.cdm.store import Store
    from phta.config import load_settings
    from phta.execution.circe import CirceRequest
    from phta.execution.request import FEASIBILITY
    from phta.query.circe.importer import import_expression

    store = Store.create(tmp_path / "XR001", node_name="XR001")
    cohort = import_expression({"ConceptSets": [], "PrimaryCriteria": {"CriteriaList": [{"Death": {}}]}})
    spark = load_settings(tmp_path / "data", env={"PHTA_NODE_ENGINES": "XR001=spark"})
    request = CirceRequest.build(cohort, FEASIBILITY, store, settings=spark)
    assert (request.node, request.engine.kind) == ("XR001", "spark")
    plain = load_settings(tmp_path / "data", env={})
    assert CirceRequest.build(cohort, FEASIBILITY, store, settings=plain).engine.kind == "duckdb"
    assert CirceRequest.build(cohort, FEASIBILITY, store).engine.kind == "duckdb"


def test_a_spark_node_without_an_export_refuses_an_atlas_cohort_and_audits_it(tmp_path):
    """Fail safe on Spark: no Parquet export, no run (named error, before Spark starts); the path
    audits nothing as completed."""
    from phta.cdm.store import Store
    from phta.engines.spark_views import ParquetExportError
    from phta.execution.circe import CirceRequest, execute_circe
    from phta.execution.node_engine import NodeEngine
    from phta.execution.policy import ExecutionPolicy
    from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext
    from phta.query.circe.importer import import_expression

    store = Store.create(tmp_path / "XR001", node_name="XR001")
    cohort = import_expression({"ConceptSets": [], "PrimaryCriteria": {"CriteriaList": [{"Death": {}}]}})
    events = []
    policy = ExecutionPolicy(audit=events.append)
    request = CirceRequest(cohort, LOCAL_CUSTODIAN_QUALITY, store, "XR001", NodeEngine("spark", "local[2]"))
    with pytest.raises(ParquetExportError, match="export-parquet"):
        execute_circe(request, ExecutionContext("tester", frozenset({"custodian"}), "XR001"), policy)
    assert [e.outcome for e in events if e.outcome == "completed"] == []
