"""Rendering a compiled statement leaves its tree as it was.

``Statement.sql`` renders DuckDB statements without SQLGlot's defensive deep copy, and the
statements of one cohort share their CTE nodes (both for compile speed, issue 6). That is only
correct while rendering changes nothing in a tree: these tests render every statement of drawn
cohorts, with and without a physical design, and check each tree is unchanged and its text is what
a rendering of a private copy gives, in any order of rendering.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from phta.query import ir
from phta.query.cohort_compiler import CompiledCohort, compile_cohort
from phta.query.physical import PERSON_FACTS, PhysicalDesign
from tests.integration.query_strategies import research_cohorts

DESIGNS = st.sampled_from([
    PhysicalDesign(),
    PhysicalDesign(features=frozenset({PERSON_FACTS}), descendants={}),
])
DIALECTS = st.sampled_from(["duckdb", "spark"])


def _statements(compiled: CompiledCohort):
    plain = list(compiled.results)
    setup, results = compiled.staged()  # the staged form shares the plain statements' nodes
    return plain + list(setup) + list(results)


@settings(max_examples=60, deadline=None)
@given(cohort=research_cohorts(), design=DESIGNS, dialect=DIALECTS, order=st.randoms(use_true_random=False))
def test_rendering_changes_no_tree_and_matches_a_private_copy(cohort: ir.Cohort, design, dialect, order):
    compiled = compile_cohort(cohort, dialect, physical=design, cell_keys=True)
    statements = _statements(compiled)
    expected = [s.tree.copy().sql(dialect=dialect) for s in statements]
    snapshots = [s.tree.copy() for s in statements]
    positions = list(range(len(statements)))
    order.shuffle(positions)  # shared CTEs: rendering one statement must not change another
    for i in positions + positions:  # and rendering twice gives the same text
        assert statements[i].sql() == expected[i]
    for statement, snapshot in zip(statements, snapshots, strict=True):
        assert statement.tree == snapshot


def test_statements_of_a_cohort_render_alone():
    """Each statement of a cohort renders its own WITH clause even though the CTE nodes are shared."""
    cohort = ir.Cohort(ir.FirstDate(ir.Events("condition")),
                       (ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),),
                       strata=("sex", "age_band"))
    for dialect in ("duckdb", "spark"):
        compiled = compile_cohort(cohort, dialect, cell_keys=True)
        for statement in (compiled.membership, compiled.attrition, compiled.strata, compiled.cell_keys):
            assert statement.sql().startswith("WITH base AS (")
        assert "members AS" not in compiled.attrition.sql() and "members AS" in compiled.strata.sql()


def test_the_staged_form_computes_the_cohort_once_into_temporary_tables():
    cohort = ir.Cohort(ir.FirstDate(ir.Events("condition")),
                       (ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),),
                       strata=("sex",))
    compiled = compile_cohort(cohort, cell_keys=True)
    setup, results = compiled.staged()
    assert [s.sql().split(" AS ")[0] for s in setup] == [
        f"CREATE OR REPLACE TEMPORARY TABLE {name}" for name in ("rules_0", "flags", "members")]
    assert "WITH base AS (" in setup[0].sql()  # base is read by the first step only: no table of its own
    assert [s.params for s in setup] == [{"p1": 18}, {}, {}]  # each binds only its own placeholders
    assert len(results) == 4
    for result in results:
        assert "WITH" not in result.sql() and result.params == {}
