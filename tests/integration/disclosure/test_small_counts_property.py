"""Property: under a standing purpose, one person in or out of a small population changes nothing.

Over random small stores (persons with random sexes and years of birth, a random few with a
condition), for a cohort of fewer than the threshold persons both with and without one chosen
person, every published output — the total, every stratum (its levels and cells) and the
attrition — is identical, through the execution path with the `feasibility` policy's
disclosure hook, cell keys and the node's release ledger. A true 0 is among the populations.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.cdm.record_keys import index_record_keys
from phta.disclosure import load_policy
from phta.execution import (
    LOCAL_CUSTODIAN_QUALITY,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    execute,
)
from phta.execution.governed import protect
from phta.execution.ledger import ledger_check
from phta.query import ir
from phta.query.simple_cohort import FEASIBILITY_STRATA
from tests.spec.cohort import harness

CONDITION = 201826
POLICY = load_policy("feasibility")
_runs = itertools.count()


def published(store, data_dir, outputs=("count", "strata", "attrition")):
    cohort = ir.Cohort(ir.FirstDate(ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(CONDITION),)))),
                       (ir.Rule("aged 18 or more", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),),
                       strata=FEASIBILITY_STRATA)
    hooks = ExecutionPolicy(disclosure=lambda result, request: protect(result, POLICY, request.query),
                            release_check=ledger_check(data_dir, POLICY, project="network_feasibility"))
    request = ExecutionRequest.build(cohort, LOCAL_CUSTODIAN_QUALITY, store, outputs)
    result = execute(request, ExecutionContext.local_custodian(store), hooks)
    return result.total, result.tables, result.attrition, result.population_count


def build(root, persons, with_condition):
    people = [harness.person(pid, sex=sex, born=f"{year}-06-01") for pid, (sex, year) in persons.items()]
    events = [{"person_id": pid, "condition_concept_id": CONDITION, "condition_start_date": harness.d("2021-03-01")}
              for pid in sorted(with_condition)]
    tables = harness.complete({"person": people, "condition_occurrence": events, "concept": harness.concepts(CONDITION)})
    store = harness.build_store(root / f"store-{next(_runs)}", tables)
    index_record_keys(store)
    return store


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    persons=st.dictionaries(st.integers(1, 60), st.tuples(st.sampled_from("FM"), st.integers(1930, 2010)),
                            min_size=2, max_size=25),
    data=st.data(),
)
def test_one_person_in_or_out_of_a_small_population_changes_no_output(tmp_path, persons, data):
    ids = sorted(persons)
    chosen = data.draw(st.sampled_from(ids), label="chosen person")
    others = data.draw(st.sets(st.sampled_from([i for i in ids if i != chosen] or [chosen]),
                               max_size=POLICY.threshold - 2), label="others with the condition")
    others.discard(chosen)
    # each world has its own node ledger (a fresh data directory), as two separate regions would
    without = published(build(tmp_path, persons, others), tmp_path / f"ledger-{next(_runs)}")
    with_ = published(build(tmp_path, persons, others | {chosen}), tmp_path / f"ledger-{next(_runs)}")
    assert without[:3] == with_[:3]
    assert without[0].suppressed and without[1] == () and without[2] == ()
