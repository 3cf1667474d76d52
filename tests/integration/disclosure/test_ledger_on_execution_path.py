"""The release ledger on the execution path: differencing attacks through the governed path are
withheld (and audited, with no count in the reason); an equal number of harmless control
releases are not; repeating the same query is not a new release.

The attacks (now answered with the earlier value, never refused) build their nested cohorts with a real criterion, as a researcher could: "cohort A"
versus "cohort A born before a date" chosen so that only a handful of A's members are left out
(the execution path refuses queries that name persons by id). They run on
the session's keyed synthetic region (3 node stores), each test with its own data directory and
so its own, empty ledgers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sqlite3

import duckdb
import pytest

from phta.audit import entries
from phta.cdm.store import Store
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
from phta.governance import airlock
from phta.governance.principal import Principal
from phta.query import ir
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.integration.test_execution_path import COHORT
from tests.spec.cohort import harness

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


def born_before_latest(store, cohort, k: int) -> tuple:
    """``cohort`` restricted to people born before the month of the k-th latest-born member's
    birth: a nested cohort written with criteria only, in network feasibility's vocabulary (age in
    years on the 1st of a month, not a date of birth). Returns it with how many members it leaves
    out (at least k; more where birthdays share a month). Dates of birth are read as the compiler
    defines them."""
    ids = members(store, cohort)
    with duckdb.connect(str(Store.open(store).db_path), read_only=True) as con:
        births = sorted((r[0] for r in con.execute(
            "SELECT make_date(year_of_birth, coalesce(month_of_birth, 1), coalesce(day_of_birth, 1)) "
            "FROM person WHERE list_contains(?, person_id)", [ids]).fetchall()), reverse=True)
    latest = births[k - 1]
    # the last 1st of a month before that birth: members born on or before it stay
    cut = latest.replace(day=1) if latest.day > 1 else (latest.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    # aged at least 1 on the 1st of that month a year later <=> born on or before the cut
    rule = ir.Rule("born before", ir.Compare("ge", ir.AgeAt(ir.Literal("date", cut.replace(year=cut.year + 1))),
                                             ir.Literal("int", 1)))
    return dataclasses.replace(cohort, rules=(*cohort.rules, rule)), sum(b > cut for b in births)


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


# --- attacks: each near-identical population gets the EARLIER answer, so the difference is zero ---

def test_nested_cohorts_get_the_earlier_answer(region_settings, database, node):
    cohort = build_cohort(HYPERTENSION)
    assert len(members(node.path, cohort)) > 40  # big enough that each count on its own is published
    nested, left_out = born_before_latest(node.path, cohort, 3)
    assert left_out < 10
    first = release(region_settings, database, cohort, node.path)
    second = release(region_settings, database, nested, node.path)
    assert second.total.value == first.total.value  # the difference says nothing about the left-out persons
    assert "same_as_earlier" in second.total.reasons and "same_as_earlier" not in first.total.reasons
    assert not withheld_runs(database)  # and nobody is refused


def test_a_complement_across_purposes_gets_the_earlier_answer(region_settings, database, node):
    """Released for one use (public statistics), then its near-complement for another."""
    cohort = build_cohort(HYPERTENSION)
    nested, left_out = born_before_latest(node.path, cohort, 4)
    assert left_out < 10
    earlier = release(region_settings, database, nested, node.path, purpose="public_statistics", principal=None)
    later = release(region_settings, database, cohort, node.path)
    assert later.total.value == earlier.total.value and "same_as_earlier" in later.total.reasons
    assert not withheld_runs(database)


def test_strata_cells_are_compared_not_only_whole_cohorts(region_settings, database, node):
    """Two cohorts far apart overall (all hypertension vs females with hypertension plus males
    born before a date) whose MALE cells differ by a few persons: the cell repeats its answer."""
    cohort = build_cohort(HYPERTENSION)
    nested, _ = born_before_latest(node.path, cohort, 3)
    first = release(region_settings, database, cohort, node.path)
    second = release(region_settings, database, nested, node.path)
    for (stratum, out_1), (_, out_2) in zip(first.tables, second.tables, strict=True):
        for a, b in zip(out_1.cells, out_2.cells, strict=True):
            assert a.cell == b.cell and a.suppressed == b.suppressed
            assert a.value == b.value, (stratum, a.cell)  # every cell within the threshold repeats


def test_network_feasibility_answers_every_node_with_the_earlier_value(region_settings, database):
    cohort = build_cohort(HYPERTENSION)
    stores = region_stores(region_settings)
    first = network_feasibility(region_settings, database, RESEARCHER, cohort)
    assert len(first.nodes) == len(stores) and not first.not_taken_part
    nested, left_out = born_before_latest(stores[0].path, cohort, 1)
    assert left_out < 10
    second = network_feasibility(region_settings, database, RESEARCHER, nested)
    assert not second.not_taken_part and len(second.nodes) == len(stores)
    assert second.total.value == first.total.value


# --- controls: as many harmless releases, none withheld -------------------------------------------

def test_repeating_the_same_query_is_not_a_new_release(region_settings, database, node):
    cohort = build_cohort(HYPERTENSION)
    answers, recorded = [], []
    for _ in range(3):
        answers.append(release(region_settings, database, cohort, node.path).total.value)
        with sqlite3.connect(ledger_path(region_settings.data_dir, node_name(node.path))) as db:
            recorded.append(db.execute("SELECT count(*) FROM population").fetchone()[0])
    assert answers[0] == answers[1] == answers[2]  # cell-key noise: same persons, same answer
    assert not withheld_runs(database)
    assert recorded[0] == recorded[1] == recorded[2] >= 1  # recorded once (total and strata cells)


def test_disjoint_cohorts_are_released(region_settings, database, node):
    release(region_settings, database, build_cohort(HYPERTENSION, sex="female"), node.path)
    release(region_settings, database, build_cohort(HYPERTENSION, sex="male"), node.path)
    assert not withheld_runs(database)


def test_nested_cohorts_far_apart_are_released(region_settings, database, node):
    cohort = build_cohort(HYPERTENSION)
    nested, left_out = born_before_latest(node.path, cohort, 25)
    assert left_out >= 25
    release(region_settings, database, cohort, node.path)
    release(region_settings, database, nested, node.path, purpose="public_statistics", principal=None)
    assert not withheld_runs(database)


def test_custodian_quality_checks_are_not_releases(region_settings, database, node):
    organisation = "Synthetic Node Trust"
    airlock.set_node_setting(database, node_name(node.path), custodian_signoff=False,
                             custodian_organisation=organisation, actor="test")
    custodian = Principal(3, "c@test.example", "Cora", frozenset({"data_custodian"}), organisation)
    cohort = build_cohort(HYPERTENSION)
    nested, _ = born_before_latest(node.path, cohort, 2)
    release(region_settings, database, cohort, node.path, purpose="custodian_quality", principal=custodian)
    release(region_settings, database, nested, node.path, purpose="custodian_quality", principal=custodian)
    assert not ledger_path(region_settings.data_dir, node_name(node.path)).exists()


# --- the hook itself, on a tiny store ------------------------------------------------------------

# COHORT's members on the tiny store are persons 1, 3 and 5 (born 1981, 1983, 1985); this one
# leaves out person 1 by a criterion.
WITHOUT_ONE = dataclasses.replace(COHORT, rules=(*COHORT.rules, ir.Rule(
    "born after 1982", ir.Compare("gt", ir.DateOfBirth(), ir.Literal("date", dt.date(1982, 1, 1))))))


@pytest.fixture
def harness_store(tmp_path):
    people = [harness.person(i, sex="F" if i % 2 else "M", born=f"{1980 + i}-01-01") for i in range(1, 7)]
    conditions = [{"person_id": i, "condition_concept_id": 201826, "condition_start_date": harness.d("2020-01-01")}
                  for i in range(1, 6)]
    tables = harness.complete({"person": people, "condition_occurrence": conditions,
                               "concept": harness.concepts(201826)})
    return harness.build_store(tmp_path / "node", tables)


def _tiny_run(store, data_dir, policy, query, disclosure=None, audit=None):
    audit = audit if audit is not None else InMemoryAuditSink()
    hooks = ExecutionPolicy(audit=audit, release_check=ledger_check(data_dir, policy, project="project:7"))
    if disclosure is not None:
        hooks = dataclasses.replace(hooks, disclosure=disclosure)
    request = ExecutionRequest.build(query, LOCAL_CUSTODIAN_QUALITY, store, ("count",))
    return execute(request, ExecutionContext.local_custodian(store), hooks), audit


def test_the_hook_names_the_earlier_population_to_reuse(harness_store, tmp_path):
    policy = Policy(threshold=2, differencing="review")
    first, _ = _tiny_run(harness_store, tmp_path, policy, COHORT)
    assert first.population_count == 3
    second, audit = _tiny_run(harness_store, tmp_path, policy, WITHOUT_ONE)
    reused = dict(second.reused)
    assert reused[("*",)].count == 3 and reused[("*",)].source == "earlier"
    assert [e.outcome for e in audit.events] == ["completed"]


def test_a_ledger_without_cell_keys_withholds_with_what_to_try_next(harness_store, tmp_path):
    """A population recorded before the ledger kept cell keys cannot be answered again under a
    perturbing policy: withheld, saying so and what to try, never a count."""
    _tiny_run(harness_store, tmp_path, Policy(threshold=2), COHORT)  # the tiny store has no record keys
    with pytest.raises(ReleaseWithheld) as withheld:
        _tiny_run(harness_store, tmp_path, Policy(threshold=2, perturbation="cell_key"), WITHOUT_ONE)
    assert "Try a broader" in str(withheld.value) and not re.findall(r"\d", str(withheld.value))


def test_a_result_that_fails_disclosure_is_not_recorded(harness_store, tmp_path):
    def broken(result, request):
        raise RuntimeError("disclosure control failed")

    policy = Policy(threshold=2)
    with pytest.raises(RuntimeError):
        _tiny_run(harness_store, tmp_path, policy, COHORT, disclosure=broken)
    # nothing left, so nothing recorded: a nested cohort is still free to go
    smaller, audit = _tiny_run(harness_store, tmp_path, policy, WITHOUT_ONE)
    assert smaller.population_count == 2 and audit.events[-1].outcome == "completed"
    assert ("*",) not in dict(smaller.reused)  # a new population, not an earlier one
