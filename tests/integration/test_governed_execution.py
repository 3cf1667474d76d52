"""The governed execution policy on real stores: governance refuses before anything is compiled,
disclosure control (with cell keys) is applied, and every run is in the audit chain."""

from __future__ import annotations

import dataclasses
import os
import stat

import pytest

from phta.audit import entries, verify_chain
from phta.cdm import record_keys
from phta.disclosure import cell_key, load_policy, record_key
from phta.disclosure.results import ResultError
from phta.execution import ExecutionContext, ExecutionRequest, NotAuthorised, execute
from phta.execution import path as execution_path
from phta.execution.governed import ProtectedCohortResult, protect, purpose_named, run_governed
from phta.execution.network import network_feasibility, region_stores
from phta.governance import is_use_allowed
from phta.governance.principal import Principal
from phta.query import ir, serial
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.functional.labels import without_labels
from tests.integration.test_execution_path import COHORT
from tests.integration.test_execution_path import store as harness_store  # noqa: F401 - fixture

HYPERTENSION = 2001000002
RESEARCHER = Principal(1, "r@test.example", "Ravi", frozenset({"researcher"}))
PUBLIC = Principal(2, "p@test.example", "Pat", frozenset({"public"}))


@pytest.fixture
def database(region_settings):
    return open_database(region_settings)


def _first_store(settings):
    return region_stores(settings)[0].path


def _runs(database):
    return [e for e in entries(database) if e.action == "query.run"]


@pytest.mark.parametrize("principal, purpose", [(None, "network_feasibility"), (PUBLIC, "network_feasibility"),
                                                (RESEARCHER, "project:999"), (RESEARCHER, "no_such_purpose")])
def test_refused_purposes_stop_before_compile_and_are_audited(region_settings, database, monkeypatch,
                                                              principal, purpose):
    compiled = []
    real = execution_path.compiled_cohort
    monkeypatch.setattr(execution_path, "compiled_cohort", lambda *a, **k: compiled.append(1) or real(*a, **k))
    with pytest.raises(NotAuthorised) as refused:
        run_governed(region_settings, database, principal, purpose, build_cohort(HYPERTENSION),
                     _first_store(region_settings))
    assert compiled == []
    reason = is_use_allowed(principal, purpose, database=database).reason
    assert str(refused.value) == reason  # governance's own words, not a later step's
    (run,) = _runs(database)
    assert run.details["outcome"] == "refused" and run.details["purpose"] == purpose
    assert run.details["reason"] == reason


def test_disclosure_is_applied_with_cell_keys_and_no_raw_counts_survive(region_settings, database):
    result = run_governed(region_settings, database, RESEARCHER, "network_feasibility",
                          build_cohort(HYPERTENSION), _first_store(region_settings))
    assert isinstance(result, ProtectedCohortResult)
    assert result.policy_name == "feasibility" and result.disclosure.startswith("feasibility (sha256 ")
    assert result.strata == () and result.attrition == () and result.cell_keys is None and result.membership is None
    assert result.legal_basis.startswith("UK GDPR")
    assert not result.total.suppressed and result.total.value % 10 == 0
    assert result.population_count == result.total.value
    for stratum, output in result.tables:
        assert stratum in ("sex", "age_band", "ethnic_group", "imd_quintile")
        assert output.decisions == ()  # they hold exact values: never shipped under a standing purpose
        for cell in output.cells:
            assert cell.suppressed or cell.value % 10 == 0
    (run,) = _runs(database)
    assert run.details["outcome"] == "completed" and run.details["disclosure_policy"] == "feasibility"
    assert run.details["query_hash"] == result.query_hash and run.actor == RESEARCHER.actor
    assert verify_chain(database).ok


def test_cell_key_policies_refuse_a_result_without_cell_keys(harness_store):  # noqa: F811
    request = ExecutionRequest.build(COHORT, purpose_named("custodian_quality"), harness_store)
    unkeyed = execute(request, ExecutionContext.local_custodian(harness_store))  # store has no record keys
    assert unkeyed.cell_keys is None
    with pytest.raises(ResultError, match="cell_keys"):
        protect(unkeyed, load_policy("feasibility"))
    assert protect(unkeyed, load_policy("project")).total is not None  # no perturbation: no keys needed


def test_cell_keys_are_sums_of_the_members_record_keys(harness_store):  # noqa: F811
    request = ExecutionRequest.build(COHORT, purpose_named("custodian_quality"), harness_store,
                                     ("count", "strata", "attrition", "membership"))
    before = execute(request, ExecutionContext.local_custodian(harness_store))
    assert before.cell_keys is None
    assert record_keys.index_record_keys(harness_store) == 6
    after = execute(request, ExecutionContext.local_custodian(harness_store))
    # counts, strata, attrition and membership are identical with and without the key table
    assert dataclasses.replace(after, cell_keys=None) == before
    con = harness_store.connect(read_only=True)
    keys = dict(con.execute("SELECT person_id, record_key FROM phta_record_key").fetchall())
    con.close()
    assert after.cell_key() == cell_key(keys[m.person_id] for m in after.membership)
    females = [m.person_id for m in after.membership]  # the cohort is female-only
    assert after.cell_key("sex", "female") == cell_key(keys[p] for p in females)


def test_record_keys_are_keyed_pseudonyms_and_the_secret_is_private(harness_store):  # noqa: F811
    store = harness_store
    record_keys.index_record_keys(store)
    first = store.connect(read_only=True).execute("SELECT * FROM phta_record_key ORDER BY person_id").fetchall()
    record_keys.index_record_keys(store)  # idempotent
    again = store.connect(read_only=True).execute("SELECT * FROM phta_record_key ORDER BY person_id").fetchall()
    assert first == again
    secret_file = store.path / record_keys.SECRET_FILE
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    secret = secret_file.read_bytes()
    con = store.connect(read_only=True)
    pseudonyms = dict(con.execute("SELECT person_id, person_source_value FROM person").fetchall())
    con.close()
    for person_id, key in first:
        source = pseudonyms[person_id] or f"person_id:{person_id}"
        assert key == record_key(source, secret)


def test_network_sums_protected_node_counts_and_names_nodes(region_settings, database):
    outcome = network_feasibility(region_settings, database, RESEARCHER, build_cohort(HYPERTENSION))
    assert len(outcome.nodes) == 3 and not outcome.not_taken_part
    published = [r.total.value for _, r in outcome.nodes if not r.total.suppressed]
    assert outcome.total.value == sum(published)
    for stratum, levels in outcome.strata().items():
        for level, cell in levels.items():
            values = [c.value for _, r in outcome.nodes if r.table(stratum)
                      for c in r.table(stratum).cells if c.cell == (level,) and not c.suppressed]
            assert cell.value == sum(values)
    assert len(_runs(database)) == 3
    # the same query again: the same noisy answer (noise is a function of the persons)
    # (labelled as repeating an earlier answer, as a near-identical population would be)
    again = network_feasibility(region_settings, database, RESEARCHER, build_cohort(HYPERTENSION)).to_dict()
    assert without_labels(again) == without_labels(outcome.to_dict())


def test_a_node_lacking_a_concept_does_not_take_part(region_settings, database):
    unknown = ir.Cohort(ir.FirstDate(ir.WhereConcepts(ir.Events("condition"),
                                                      ir.ConceptSet((ir.ConceptItem(123456789),)))))
    outcome = network_feasibility(region_settings, database, RESEARCHER, unknown)
    assert outcome.nodes == [] and len(outcome.not_taken_part) == 3
    assert "123456789" in outcome.not_taken_part[0][1]
    assert serial.content_hash(unknown) == outcome.query_hash
