"""The execution path: each step runs in order; a failing hook stops the run and nothing is
returned; opt-outs never reach a count; audit receives the hash, never results."""

from __future__ import annotations

import dataclasses

import pytest

from phta.execution import (
    FEASIBILITY,
    LOCAL_CUSTODIAN_QUALITY,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    InMemoryAuditSink,
    NotAuthorised,
    UnknownConcepts,
    execute,
)
from phta.execution.path import RecordLevelPredicate
from phta.execution.policy import exclude_persons
from phta.query import ir, serial
from tests.spec.cohort import harness

T2DM = ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(201826),)))
COHORT = ir.Cohort(ir.FirstDate(T2DM), (ir.Rule("female", ir.Compare("eq", ir.Sex(), ir.Literal("str", "female"))),),
                   strata=("sex", "age_band"))


@pytest.fixture
def store(tmp_path):
    people = [harness.person(i, sex="F" if i % 2 else "M") for i in range(1, 7)]
    conditions = [{"person_id": i, "condition_concept_id": 201826, "condition_start_date": harness.d("2020-01-01")}
                  for i in range(1, 6)]
    tables = harness.complete({"person": people, "condition_occurrence": conditions,
                               "concept": harness.concepts(201826)})
    return harness.build_store(tmp_path / "node", tables)


def run(store, policy=None, purpose=LOCAL_CUSTODIAN_QUALITY, outputs=("count", "strata", "attrition", "membership"),
        query=COHORT):
    request = ExecutionRequest.build(query, purpose, store, outputs)
    return execute(request, ExecutionContext.local_custodian(store), policy)


def test_default_path_returns_typed_result_and_records_no_disclosure(store):
    audit = InMemoryAuditSink()
    result = run(store, ExecutionPolicy(audit=audit))
    assert result.population_count == 3
    assert [(s.rule, s.remaining, s.excluded) for s in result.attrition] == [("index date", 5, 0), ("female", 3, 2)]
    assert result.strata_of("sex") == {"female": 3}
    assert [m.person_id for m in result.membership] == [1, 3, 5]
    assert "no disclosure policy" in result.disclosure
    (event,) = audit.events
    assert event.query_hash == serial.content_hash(COHORT) and event.purpose == "custodian_quality"
    assert event.node == "spec" and event.outcome == "completed" and event.timestamp.tzinfo is not None
    # the audit event carries no results: only these fields
    assert {f.name for f in dataclasses.fields(event)} == {"query_hash", "purpose", "node", "user", "outcome", "timestamp",
                                                          "opt_outs"}  # registers applied: no results


def test_membership_only_when_the_purpose_allows_record_level_output(store):
    result = run(store, purpose=FEASIBILITY, policy=ExecutionPolicy(authorise=lambda r, c: None))
    assert result.membership is None and result.population_count == 3


def test_requested_outputs_only(store):
    result = run(store, outputs=("count",))
    assert result.attrition == () and result.strata == () and result.membership is None


def test_refused_authorisation_stops_and_is_audited(store):
    audit = InMemoryAuditSink()
    request = ExecutionRequest.build(COHORT, LOCAL_CUSTODIAN_QUALITY, store)
    stranger = ExecutionContext("someone", frozenset({"researcher"}), "spec")
    with pytest.raises(NotAuthorised):
        execute(request, stranger, ExecutionPolicy(audit=audit))
    other_node = ExecutionContext("custodian", frozenset({"custodian"}), "another-node")
    with pytest.raises(NotAuthorised, match="not of 'spec'"):
        execute(request, other_node, ExecutionPolicy(audit=audit))
    assert [e.outcome for e in audit.events] == ["refused", "refused"]


def test_a_query_naming_persons_by_id_is_refused_and_audited(store):
    # Person-id predicates would let a caller test whether a named person is in a released
    # population; only the path's own rewrites (opt-outs) may add them, after this check.
    audit = InMemoryAuditSink()
    probe = dataclasses.replace(COHORT, rules=(*COHORT.rules, ir.Rule("who", ir.PersonIn((3,)))))
    request = ExecutionRequest.build(probe, LOCAL_CUSTODIAN_QUALITY, store)
    with pytest.raises(RecordLevelPredicate, match=r"PersonIn\.person_ids") as refused:
        execute(request, ExecutionContext.local_custodian(store), ExecutionPolicy(audit=audit))
    assert "3" not in str(refused.value)
    assert [e.outcome for e in audit.events] == ["refused"]


class Boom(RuntimeError):
    pass


def _fail(*args):
    raise Boom("hook failed")


@pytest.mark.parametrize("hook", ["authorise", "governance_rewrite", "disclosure", "audit"])
def test_a_failing_hook_stops_the_run_and_returns_nothing(store, hook):
    audit = InMemoryAuditSink()
    policy = ExecutionPolicy(audit=audit)
    policy = dataclasses.replace(policy, **{hook: _fail})
    with pytest.raises(Boom):
        run(store, policy)
    assert not [e for e in audit.events if e.outcome == "completed"]


def test_opt_out_rewrite_removes_persons_from_every_count(store):
    opted_out = (1, 3)
    policy = ExecutionPolicy(governance_rewrite=lambda c: exclude_persons(c, opted_out))
    result = run(store, policy)
    assert [m.person_id for m in result.membership] == [5]
    assert result.attrition[0].remaining == 3  # persons 1 and 3 are not even in the first count
    assert result.strata_of("sex") == {"female": 1}


def test_the_hook_sees_the_query_and_its_rewrite_is_what_runs(store):
    seen = []

    def rewrite(cohort):
        seen.append(cohort)
        return dataclasses.replace(cohort, rules=())

    result = run(store, ExecutionPolicy(governance_rewrite=rewrite))
    assert seen == [COHORT] and result.population_count == 5


def test_unknown_concepts_are_named(store):
    query = dataclasses.replace(COHORT, index_date=ir.FirstDate(
        ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(999999),)))))
    with pytest.raises(UnknownConcepts, match=r"ConceptSet\.items: concepts not in this store's vocabulary: \[999999\]"):
        run(store, query=query)


def test_requests_accept_json(store):
    result = run(store, query=serial.to_json(COHORT))
    assert result.population_count == 3


def test_engine_errors_carry_no_data_values(tmp_path):
    from phta.engines import duckdb as duckdb_engine
    from phta.engines.duckdb import EngineError

    store = harness.build_store(tmp_path / "n", harness.complete({"person": [harness.person(1)],
                                                                  "care_site": [{"care_site_id": 1, "care_site_source_value": "secret-value"}]}))
    with pytest.raises(EngineError) as info:
        duckdb_engine.run(store.db_path, [("SELECT CAST(care_site_source_value AS INTEGER) FROM care_site", {})])
    assert "secret-value" not in str(info.value) and "ConversionException" in str(info.value)
