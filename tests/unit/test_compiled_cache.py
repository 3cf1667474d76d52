"""The execution path's cache of compiled cohorts: a hit only for exactly the same inputs."""

import pytest

from phta.execution import compiled_cache
from phta.execution.compiled_cache import compiled_cohort
from phta.query import ir
from phta.query.physical import PhysicalDesign

DIABETES = ir.ConceptSet((ir.ConceptItem(201826, True),))


def _cohort(min_age: int = 18, person_ids: tuple[int, ...] = ()) -> ir.Cohort:
    rules = [ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", min_age)))]
    if person_ids:  # as an opt-out rewrite adds
        rules.append(ir.Rule("not opted out", ir.Not(ir.PersonIn(person_ids))))
    return ir.Cohort(ir.FirstDate(ir.WhereConcepts(ir.Events("condition"), DIABETES)), tuple(rules), strata=("sex",))


@pytest.fixture(autouse=True)
def empty_cache():
    compiled_cache.clear()
    yield
    compiled_cache.clear()


def compile_(cohort, dialect="duckdb", design=PhysicalDesign(), cell_keys=False, attrition=True):
    return compiled_cohort(cohort, dialect, design, cell_keys=cell_keys, attrition=attrition)


def test_the_same_inputs_give_the_same_compiled_cohort():
    first = compile_(_cohort())
    assert compile_(_cohort()) is first  # an equal query built again: same statements


@pytest.mark.parametrize("change", [
    {"cohort": _cohort(min_age=19)},
    {"cohort": _cohort(person_ids=(7, 9))},
    {"dialect": "spark"},
    {"design": PhysicalDesign(features=frozenset({"person_facts"}))},
    {"design": PhysicalDesign(descendants={201826: (201826, 443238)})},
    {"cell_keys": True},
    {"attrition": False},
])
def test_any_other_input_compiles_again(change):
    base = compile_(_cohort())
    other = compile_(**{"cohort": _cohort(), **change})
    assert other is not base
    assert compile_(**{"cohort": _cohort(), **change}) is other  # and is kept under its own key


def test_the_least_recently_used_entry_is_dropped(monkeypatch):
    monkeypatch.setattr(compiled_cache, "MAX_ENTRIES", 2)
    a, b = compile_(_cohort(18)), compile_(_cohort(19))
    assert compile_(_cohort(18)) is a  # a is now the most recently used
    compile_(_cohort(20))  # drops b
    assert compile_(_cohort(18)) is a
    assert compile_(_cohort(19)) is not b


def test_a_cached_cohort_is_staged_and_rendered_once():
    compiled = compile_(_cohort())
    setup, results = compiled.staged()
    texts = [s.sql() for s in (*setup, *results)]
    again_setup, again_results = compile_(_cohort()).staged()
    assert again_setup is setup and again_results is results
    assert [s.sql() for s in (*again_setup, *again_results)] == texts
    assert all(s.sql() is t for s, t in zip((*setup, *results), texts, strict=True))  # not rendered again
