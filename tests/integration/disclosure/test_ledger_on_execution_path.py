"""The release ledger on the execution path: differencing attacks through the governed path are
withheld (and audited, with no count in the reason); an equal number of harmless control
releases are not; repeating the same query is not a new release.

The attacks build their nested cohorts with ``exclude_persons`` (a universe that leaves out a few
named persons): the sharpest form of "cohort A" versus "cohort A without a handful". They run on
the session's keyed synthetic region (3 node stores), each test with its own data directory and
so its own, empty ledgers.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3

import pytest

from phta.audit import entries
from phta.disclosure import Policy
from phta.execution import (
    LOCAL_CUSTODIAN_QUALITY,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    InMemoryAuditSink,
    ReleaseWithheld,
    execute,
)
from phta.execution.governed import run_governed
from phta.execution.ledger import ledger_check, ledger_path
from phta.execution.network import network_feasibility, region_stores
from phta.execution.policy import exclude_persons
from phta.governance.principal import Principal
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.integration.test_execution_path import COHORT
from tests.integration.test_execution_path import store as harness_store  # noqa: F401 - fixture

HYPERTENSION = 2001000002
RESEARCHER = Principal(1, "r@test.example", "Ravi", frozenset({"researcher"}))
FEASIBILITY = "network_feasibility"


@pytest.fixture
def database(region_settings):
    return open_database(region_settings)


@pytest.fixture
def node(region_settings):
    return region_stores(region_settings)[0]


def members(store, cohort) -> list[int]:
    """The cohort's person ids, as the node's custodian sees them (test set-up only)."""
    request = ExecutionRequest.build(cohort, LOCAL_CUSTODIAN_QUALITY, store, outputs=("count", "membership"))
    result = execute(request, ExecutionContext.local_custodian(store))
    return [m.person_id for m in result.membership]


def node_name(store) -> str:
    """The node name the execution path (and so the ledger) knows the store by."""
    return ExecutionRequest.build(build_cohort(HYPERTENSION), LOCAL_CUSTODIAN_QUALITY, store).node


def release(settings, database, cohort, store, purpose=FEASIBILITY, principal=RESEARCHER):
    return run_governed(settings, database, principal, purpose, cohort, store)


def withheld_runs(database) -> list:
    return [e for e in entries(database)
            if e.action == "query.run" and e.details["outcome"].startswith("withheld")]


def assert_reason_reveals_no_count(error: ReleaseWithheld) -> None:
    # the only number in the reason is the policy's threshold, never the difference or a size
    assert re.findall(r"\d+", str(error)) == ["10"], str(error)


# --- attacks ------------------------------------------------------------------------------------

def test_nested_cohorts_are_withheld(region_settings, database, node):
    cohort = build_cohort(HYPERTENSION)
    ids = members(node.path, cohort)
    assert len(ids) > 40  # big enough that each count on its own is published
    release(region_settings, database, cohort, node.path)
    with pytest.raises(ReleaseWithheld) as withheld:
        release(region_settings, database, exclude_persons(cohort, tuple(ids[:3])), node.path)
    assert withheld.value.outcome == "block"
    assert_reason_reveals_no_count(withheld.value)
    (run,) = withheld_runs(database)
    assert run.details["outcome"] == "withheld (block): differencing"
    assert run.details["node"] == node_name(node.path) and run.actor == RESEARCHER.actor


def test_a_complement_across_purposes_is_withheld(region_settings, database, node):
    """Released for one use (public statistics), then its near-complement for another."""
    cohort = build_cohort(HYPERTENSION)
    ids = members(node.path, cohort)
    release(region_settings, database, exclude_persons(cohort, tuple(ids[-4:])), node.path,
            purpose="public_statistics", principal=None)
    with pytest.raises(ReleaseWithheld) as withheld:
        release(region_settings, database, cohort, node.path)
    assert_reason_reveals_no_count(withheld.value)
    assert len(withheld_runs(database)) == 1


def test_network_feasibility_lists_the_withholding_node_and_shows_no_count_for_it(region_settings, database):
    cohort = build_cohort(HYPERTENSION)
    stores = region_stores(region_settings)
    first = network_feasibility(region_settings, database, RESEARCHER, cohort)
    assert len(first.nodes) == len(stores) and not first.not_taken_part
    ids = members(stores[0].path, cohort)
    second = network_feasibility(region_settings, database, RESEARCHER, exclude_persons(cohort, (ids[0],)))
    withheld = {n.code: why for n, why in second.not_taken_part}
    assert stores[0].code in withheld and "release ledger" in withheld[stores[0].code]
    assert stores[0].code not in {n.code for n, _ in second.nodes}
    assert "nodes" in second.to_dict() and all(n["code"] != stores[0].code for n in second.to_dict()["nodes"])


# --- controls: as many harmless releases, none withheld -------------------------------------------

def test_repeating_the_same_query_is_not_a_new_release(region_settings, database, node):
    cohort = build_cohort(HYPERTENSION)
    answers = [release(region_settings, database, cohort, node.path).total for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]  # cell-key noise: same persons, same answer
    assert not withheld_runs(database)
    with sqlite3.connect(ledger_path(region_settings.data_dir, node_name(node.path))) as db:
        assert db.execute("SELECT count(*) FROM population").fetchone() == (1,)


def test_disjoint_cohorts_are_released(region_settings, database, node):
    release(region_settings, database, build_cohort(HYPERTENSION, sex="female"), node.path)
    release(region_settings, database, build_cohort(HYPERTENSION, sex="male"), node.path)
    assert not withheld_runs(database)


def test_nested_cohorts_far_apart_are_released(region_settings, database, node):
    cohort = build_cohort(HYPERTENSION)
    ids = members(node.path, cohort)
    release(region_settings, database, cohort, node.path)
    release(region_settings, database, exclude_persons(cohort, tuple(ids[:25])), node.path,
            purpose="public_statistics", principal=None)
    assert not withheld_runs(database)


def test_custodian_quality_checks_are_not_releases(region_settings, database, node):
    custodian = Principal(3, "c@test.example", "Cora", frozenset({"data_custodian"}))
    cohort = build_cohort(HYPERTENSION)
    ids = members(node.path, cohort)
    release(region_settings, database, cohort, node.path, purpose="custodian_quality", principal=custodian)
    release(region_settings, database, exclude_persons(cohort, tuple(ids[:2])), node.path,
            purpose="custodian_quality", principal=custodian)
    assert not ledger_path(region_settings.data_dir, node_name(node.path)).exists()


# --- the hook itself, on a tiny store ------------------------------------------------------------

def _tiny_run(store, data_dir, policy, query, disclosure=None, audit=None):
    audit = audit if audit is not None else InMemoryAuditSink()
    hooks = ExecutionPolicy(audit=audit, release_check=ledger_check(data_dir, policy, project="project:7"))
    if disclosure is not None:
        hooks = dataclasses.replace(hooks, disclosure=disclosure)
    request = ExecutionRequest.build(query, LOCAL_CUSTODIAN_QUALITY, store, ("count",))
    return execute(request, ExecutionContext.local_custodian(store), hooks), audit


def test_review_policy_holds_the_result_and_the_audit_says_so(harness_store, tmp_path):  # noqa: F811 - the fixture
    policy = Policy(threshold=2, differencing="review")
    first, _ = _tiny_run(harness_store, tmp_path, policy, COHORT)
    assert first.population_count == 3
    audit = InMemoryAuditSink()
    with pytest.raises(ReleaseWithheld) as held:
        _tiny_run(harness_store, tmp_path, policy, exclude_persons(COHORT, (1,)), audit=audit)
    assert held.value.outcome == "review" and "held for an output checker" in str(held.value)
    assert [e.outcome for e in audit.events] == ["withheld (review): differencing"]


def test_a_result_that_fails_disclosure_is_not_recorded(harness_store, tmp_path):  # noqa: F811 - the fixture
    def broken(result, request):
        raise RuntimeError("disclosure control failed")

    policy = Policy(threshold=2)
    with pytest.raises(RuntimeError):
        _tiny_run(harness_store, tmp_path, policy, COHORT, disclosure=broken)
    # nothing left, so nothing recorded: a nested cohort is still free to go
    smaller, audit = _tiny_run(harness_store, tmp_path, policy, exclude_persons(COHORT, (1,)))
    assert smaller.population_count == 2 and audit.events[-1].outcome == "completed"
