"""The execution path applies the registers governance says apply, and records which, on the
result, on the audit event and in the audit chain; a policy is bound to its store and purpose."""

from __future__ import annotations

import datetime as dt

import pytest

from phta.audit import entries
from phta.cdm import data_source, optout_register
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.execution import (
    FEASIBILITY,
    LOCAL_CUSTODIAN_QUALITY,
    AppliedOptOut,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    InMemoryAuditSink,
    NotAuthorised,
    execute,
    policy_for,
)
from phta.query import ir
from phta.store import open_database

PSEUDONYMISER = Pseudonymiser(b"k" * 32)
NUMBERS = [str(n) for n in reserved_range_nhs_numbers(4)]
EVERYONE = ir.Cohort(ir.Literal("date", dt.date(2020, 1, 1)), strata=("sex",))


def _store(path, node="XT001") -> Store:
    store = Store.create(path, node_name=node)
    with store.connect() as con:
        for pid in (1, 2, 3):
            con.execute("INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
                        "ethnicity_concept_id, person_source_value) VALUES (?, 8507, 1970, 0, 0, ?)",
                        [pid, PSEUDONYMISER.pseudonym(NUMBERS[pid - 1])])
    return store


def _register(store, tmp_path, kind, numbers, as_of):
    f = tmp_path / f"{kind}.csv"
    f.write_text("nhs_number\n" + "".join(n + "\n" for n in numbers), encoding="utf-8")
    optout_register.refresh(store, kind, f, as_of, PSEUDONYMISER)


def _run(store, purpose, policy):
    request = ExecutionRequest.build(EVERYONE, purpose, store)
    return execute(request, ExecutionContext("custodian-a", frozenset({"custodian"}), request.node), policy)


def test_result_audit_event_and_chain_name_the_registers(tmp_path, settings):
    store = _store(tmp_path / "node")
    data_source.declare(store, {"hospital"})
    _register(store, tmp_path, "national", [NUMBERS[0], NUMBERS[3]], dt.date(2026, 11, 2))
    _register(store, tmp_path, "type1", [NUMBERS[1]], dt.date(2026, 11, 1))  # hospital store: not applied
    db = open_database(settings)

    result = _run(store, FEASIBILITY, policy_for(FEASIBILITY, store, database=db))
    assert result.population_count == 2
    assert result.opt_outs == (AppliedOptOut("national", dt.date(2026, 11, 2)),)
    (run,) = [e for e in entries(db) if e.action == "query.run"]
    assert run.details["opt_outs"] == [{"kind": "national", "as_of": "2026-11-02"}]
    assert run.details["outcome"] == "completed" and run.details["purpose"] == FEASIBILITY.code
    assert "2" not in {str(v) for v in run.details.values()}  # never the count

    sink = InMemoryAuditSink()
    policy = policy_for(FEASIBILITY, store, base=ExecutionPolicy(audit=sink))
    _run(store, FEASIBILITY, policy)
    assert sink.events[0].opt_outs == (AppliedOptOut("national", dt.date(2026, 11, 2)),)


def test_custodian_quality_sees_every_record(tmp_path):
    store = _store(tmp_path / "node")
    _register(store, tmp_path, "national", NUMBERS[:3], dt.date(2026, 11, 2))
    result = _run(store, LOCAL_CUSTODIAN_QUALITY, policy_for(LOCAL_CUSTODIAN_QUALITY, store))
    assert result.population_count == 3 and result.opt_outs == ()


def test_gp_store_applies_type1_and_the_rewrite_hides_the_exclusion(tmp_path):
    store = _store(tmp_path / "node", node="XG001")
    data_source.declare(store, {"gp"})
    _register(store, tmp_path, "national", [], dt.date(2026, 11, 2))
    _register(store, tmp_path, "type1", [NUMBERS[2]], dt.date(2026, 10, 30))
    result = _run(store, FEASIBILITY, policy_for(FEASIBILITY, store))
    assert result.population_count == 2
    assert [a.remaining for a in result.attrition] == [2]  # opted-out people are not an attrition step
    assert {o.kind for o in result.opt_outs} == {"national", "type1"}


def test_a_policy_is_bound_to_its_store_and_purpose(tmp_path):
    store, other = _store(tmp_path / "a"), _store(tmp_path / "b")
    _register(store, tmp_path, "national", [NUMBERS[0]], dt.date(2026, 11, 2))
    data_source.declare(store, {"hospital"})
    policy = policy_for(FEASIBILITY, store)
    with pytest.raises(NotAuthorised, match="another store or purpose"):
        _run(other, FEASIBILITY, policy)
    with pytest.raises(NotAuthorised, match="another store or purpose"):
        _run(store, LOCAL_CUSTODIAN_QUALITY, policy)


def test_refusal_for_a_missing_register_is_audited(tmp_path):
    store = _store(tmp_path / "node")
    data_source.declare(store, {"hospital"})
    sink = InMemoryAuditSink()
    with pytest.raises(NotAuthorised, match="national opt-out register"):
        _run(store, FEASIBILITY, policy_for(FEASIBILITY, store, base=ExecutionPolicy(audit=sink)))
    assert [e.outcome for e in sink.events] == ["refused"]
