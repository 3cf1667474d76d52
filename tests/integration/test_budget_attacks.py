"""The daily query budget against the red-team attack classes, written in network feasibility's
own vocabulary (so the vocabulary lets every query through, and the budget is what bounds them):
narrowing a date of birth by bisection, trackers (A versus A or B), complements, and combining
rare attributes (variant + age + site). Each needs many queries; the budget admits exactly its
limit and refuses the rest (audited), while a harmless user alongside is unaffected.

The bisection runs for real on one node (its counts are what the attacker would see); the other
classes go through the same network entry point with compiling replaced by a sentinel, because
what is tested is admission, not the counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from phta.audit import entries
from phta.execution.budget import REFUSED_ACTION, BudgetExhausted
from phta.execution.network import network_feasibility, region_stores
from phta.governance.principal import Principal
from phta.query import ir
from phta.query.simple_cohort import build_cohort, conditions
from phta.query.vocabulary_check import first_refused
from phta.store import open_database

ATTACKER = Principal(21, "mallory@test.example", "Mallory", frozenset({"researcher"}))
HONEST = Principal(22, "hana@test.example", "Hana", frozenset({"researcher"}))
HYPERTENSION = 2001000002
FIRST_MONTH, MONTHS = dt.date(1930, 1, 1), 960  # 80 years of birth months


def _month(i: int) -> dt.date:
    return dt.date(FIRST_MONTH.year + i // 12, i % 12 + 1, 1)


def born_on_or_before(day: dt.date) -> ir.Series:
    """Date of birth <= ``day`` (the 1st of a month), said in the vocabulary: aged at least 1 on the
    same day a year later."""
    return ir.Compare("ge", ir.AgeAt(ir.Literal("date", day.replace(year=day.year + 1))), ir.Literal("int", 1))


def _with(cohort: ir.Cohort, *conditions_: ir.Series) -> ir.Cohort:
    rules = tuple(ir.Rule(f"extra {i}", c) for i, c in enumerate(conditions_))
    return dataclasses.replace(cohort, rules=(*cohort.rules, *rules))


def _has(concept_id: int) -> ir.Series:
    return ir.Exists(ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(concept_id, True),))))


def tracker_queries() -> list[ir.Cohort]:
    """Everyone (a census cohort) with B, and with B or the target's profile A, for each condition
    B: the difference is A's count, padded past the threshold by B."""
    census = ir.Cohort(ir.Literal("date", dt.date(2025, 1, 1)))
    profile = ir.And((_has(HYPERTENSION), ir.Compare("eq", ir.Sex(), ir.Literal("str", "female")),
                      born_on_or_before(dt.date(1961, 8, 1)), ir.Not(born_on_or_before(dt.date(1961, 7, 1)))))
    out = []
    for c in conditions():
        out += [_with(census, _has(c.concept_id)), _with(census, ir.Or((_has(c.concept_id), profile)))]
    return out


def complement_queries() -> list[ir.Cohort]:
    """Everyone with a condition, and everyone with it except the target's profile."""
    out = []
    for c in conditions():
        whole = build_cohort(c.concept_id)
        out += [whole, _with(whole, ir.Not(ir.And((ir.Compare("eq", ir.Sex(), ir.Literal("str", "female")),
                                                    born_on_or_before(dt.date(1961, 8, 1))))))]
    return out


def rare_combination_queries() -> list[ir.Cohort]:
    """A variant carrier at each site of each age in years: one of them is the target."""
    carriers = build_cohort(HYPERTENSION, variant="BRCA1+BRCA2")
    return [_with(carriers, ir.Compare("eq", ir.AgeAt(ir.IndexDate()), ir.Literal("int", age)),
                  ir.Compare("eq", ir.Site(), ir.Literal("str", site)))
            for age in range(30, 80) for site in ("M85001", "M85002", "RRK")]


class Compiled(Exception):
    pass


@pytest.fixture
def no_compile(monkeypatch):
    def sentinel(*args, **kwargs):
        raise Compiled

    monkeypatch.setattr("phta.execution.path.compiled_cohort", sentinel)


def _admitted(settings, database, principal, queries, stores) -> int:
    """How many of ``queries`` the network entry point admits before the budget refuses one."""
    for n, query in enumerate(queries):
        try:
            network_feasibility(settings, database, principal, query, stores=stores)
        except Compiled:
            continue
        except BudgetExhausted:
            return n
    return len(queries)


@pytest.mark.parametrize("attack", [tracker_queries, complement_queries, rare_combination_queries])
def test_each_attack_class_is_in_the_vocabulary_and_bounded_by_the_budget(region_settings, no_compile, attack):
    queries = attack()
    assert all(first_refused(q, "network_feasibility") is None for q in queries)  # the vocabulary lets them be
    limit = 25
    assert len(queries) > limit
    settings = dataclasses.replace(region_settings, query_budget=limit)
    database = open_database(settings)
    stores = region_stores(settings)[:1]
    assert _admitted(settings, database, ATTACKER, queries, stores) == limit
    assert _admitted(settings, database, HONEST, queries[:3], stores) == 3  # control: another user
    (refusal,) = [e for e in entries(database) if e.action == REFUSED_ACTION]
    assert refusal.actor == ATTACKER.actor


def test_date_of_birth_bisection_hits_the_budget(region_settings):
    """Narrowing a hypertensive woman's birth month: ceil(log2(960)) = 10 queries per target and
    condition even at month precision (the vocabulary allows no finer). A budget of 6 stops it
    part-way: the attacker is left with 2**4 = 16 candidate months, not one."""
    needed = math.ceil(math.log2(MONTHS))
    limit = 6
    settings = dataclasses.replace(region_settings, query_budget=limit)
    database = open_database(settings)
    stores = region_stores(settings)[:1]
    target = build_cohort(HYPERTENSION, sex="female")
    lo, hi, asked = 0, MONTHS, 0  # the birth month is in [lo, hi)
    with pytest.raises(BudgetExhausted) as refused:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            query = _with(target, born_on_or_before(_month(mid)))
            assert first_refused(query, "network_feasibility") is None
            answer = network_feasibility(settings, database, ATTACKER, query, stores=stores)
            asked += 1
            # The attacker's rule: a total at or above the threshold means "the target is born before"
            lo, hi = (lo, mid + 1) if not answer.total.suppressed else (mid + 1, hi)
    assert asked == limit < needed
    assert hi - lo >= 2 ** (needed - limit - 1)
    assert "used up: 6 of 6" in str(refused.value)
    runs = [e for e in entries(database) if e.action == "query.run" and e.actor == ATTACKER.actor]
    assert len(runs) == limit  # one node, one run per admitted query; the refused one ran nowhere
