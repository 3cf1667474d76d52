"""Disclosure control of ATLAS / Circe cohorts: small cells suppressed, noise keyed by persons
(stable on repeat, so averaging repeated queries gains nothing), raw counts never returned."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from phta.cdm.record_keys import index_record_keys
from phta.disclosure import load_policy
from phta.disclosure.results import TOTAL, ResultError
from phta.execution import ExecutionContext, ExecutionPolicy, Purpose
from phta.execution.circe import CirceRequest, execute_circe
from phta.execution.circe_disclosure import MAX_TABLE_RULES, protect_circe
from phta.execution.circe_results import CirceResult, InclusionStats, ProtectedCirceResult, RuleStat
from phta.query.circe.importer import import_expression
from tests.spec.circe import synthetic

CORPUS = Path(__file__).parents[1] / "fixtures" / "circe"
POLICY = load_policy("feasibility")


def _raw(masks: dict[int, int], persons: int, names=("a", "b"), keys=True) -> CirceResult:
    full = (1 << len(names)) - 1
    stats = InclusionStats("person", sum(masks.values()), masks.get(full, 0),
                           tuple(RuleStat(n, 0, 0) for n in names), tuple(sorted(masks.items())))
    return CirceResult("h", "node", "network_feasibility", persons, persons, 0, stats, stats, None,
                       person_key=0.25 if keys else None,
                       mask_keys=tuple((m, 0.1 * (m + 1)) for m in masks) if keys else None)


def test_a_small_cohort_is_suppressed_and_small_rule_cells_too():
    out = protect_circe(_raw({0: 3, 1: 40, 2: 2, 3: 55}, persons=4), load_policy("project"))
    assert out.persons.suppressed and out.persons.value is None
    cells = {c.cell: c for c in out.inclusion.cells}
    # mask 0 (no rule met: 3 persons) and mask 2 (only rule b: 2 persons) fail the threshold
    assert "threshold" in cells[("not met", "not met")].reasons and "threshold" in cells[("not met", "met")].reasons
    # ... and secondary suppression hides enough others that the margins cannot give them back
    assert any("secondary" in c.reasons for c in out.inclusion.cells)
    published = [c.value for c in out.inclusion.cells if not c.suppressed]
    assert published and all(v % 5 == 0 for v in published)  # rounded to base 5


def test_rule_masks_become_the_right_cells_and_margins():
    out = protect_circe(_raw({0: 11, 1: 40, 2: 17, 3: 55}, persons=55, keys=False), load_policy("custodian"))
    cells = {c.cell: c.value for c in out.inclusion.cells}
    assert cells[("not met", "not met")] == 11 and cells[("met", "not met")] == 40
    assert cells[("not met", "met")] == 17 and out.final().value == 55
    assert out.rule_met(0).value == 95 and out.rule_met(1).value == 72 and out.base().value == 123


def test_the_protected_result_carries_no_raw_counts_and_says_what_it_withheld():
    out = protect_circe(_raw({3: 30}, persons=30), POLICY)
    assert isinstance(out, ProtectedCirceResult)
    assert not hasattr(out, "by_event") and not hasattr(out, "episodes") and not hasattr(out, "mask_keys")
    assert any("event-mode" in w for w in out.withheld)
    many = protect_circe(_raw({0: 30}, persons=30, names=tuple("abcdefg")), POLICY)
    assert many.inclusion is None and len(many.rule_names) == MAX_TABLE_RULES + 1
    assert any("7 rules" in w for w in many.withheld)


def test_noise_is_a_function_of_the_persons_not_of_the_request():
    a = protect_circe(_raw({0: 12, 1: 40, 2: 17, 3: 55}, persons=55), POLICY)
    b = protect_circe(replace(_raw({0: 12, 1: 40, 2: 17, 3: 55}, persons=55), query_hash="other"), POLICY)
    assert (a.persons, a.inclusion.cells) == (b.persons, b.inclusion.cells)
    assert a.base().cell == (TOTAL, TOTAL)


def test_a_governed_circe_run_is_protected_and_repeats_exactly(tmp_path):
    store = synthetic.build(tmp_path / "store", seed=5, persons=60)
    index_record_keys(store)
    query = import_expression((CORPUS / "first_sinusitis_365_prior.json").read_text(encoding="utf-8"))
    request = CirceRequest(query, Purpose("network_feasibility", "test", False), store, "node")
    context = ExecutionContext("tester", frozenset({"custodian"}), "node")
    policy = ExecutionPolicy(authorise=lambda r, c: None,
                             disclosure=lambda result, req: protect_circe(result, POLICY))
    raw = execute_circe(request, context, ExecutionPolicy(authorise=lambda r, c: None))
    assert raw.person_key is not None and raw.episodes is None  # keyed, and no records for this purpose
    first, second = (execute_circe(request, context, policy) for _ in range(2))
    assert first == second
    assert first.disclosure.startswith("feasibility (sha256 ")
    assert raw.person_count >= POLICY.threshold
    assert first.persons.value is not None and first.persons.value % POLICY.rounding_base == 0


def test_a_cell_key_policy_refuses_a_result_without_cell_keys():
    with pytest.raises(ResultError):
        protect_circe(_raw({3: 30}, persons=30, keys=False), POLICY)
    assert protect_circe(_raw({3: 30}, persons=30, keys=False), load_policy("project")).persons.value == 30
