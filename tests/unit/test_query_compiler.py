"""The compiler binds every user value as a parameter; dialect hooks are isolated."""

import datetime as dt

import pytest

from phta.query import ir
from phta.query.cohort_compiler import compile_cohort
from phta.query.compiler import compile_series_table
from phta.query.dialects import UnsupportedFeature, get_dialect


def test_user_values_are_bound_never_spliced():
    sneaky = "x'; DROP TABLE person; --"
    node = ir.And((
        ir.Compare("eq", ir.EthnicGroup(), ir.Literal("str", sneaky)),
        ir.Exists(ir.WhereDate(ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(424242, True),))),
                               ir.Literal("date", dt.date(2020, 1, 1)), -30, 7)),
    ))
    stmt = compile_series_table({"v": node})
    sql = stmt.sql()
    assert sneaky not in sql and "424242" not in sql and "2020" not in sql
    assert set(stmt.params.values()) >= {sneaky, 424242, dt.date(2020, 1, 1), -30, 7}
    assert all(f"${name}" in sql for name in stmt.params)


@pytest.mark.parametrize(("word", "op", "fragment"), [
    ("female", "eq", "(p.gender_concept_id = 8532 AND NOT p.gender_concept_id IS NULL)"),
    ("male", "ne", "NOT (p.gender_concept_id = 8507 AND NOT p.gender_concept_id IS NULL)"),
    ("unknown", "eq", "(p.gender_concept_id IS NULL OR NOT p.gender_concept_id IN (8507, 8532))"),
    ("x'; DROP TABLE person; --", "eq", "(FALSE)"),
])
def test_a_sex_comparison_tests_the_gender_concept_not_its_name(word, op, fragment):
    # An integer filter the engine pushes into the person scan; the word itself is not in the SQL.
    stmt = compile_series_table({"v": ir.Compare(op, ir.Literal("str", word), ir.Sex())})
    assert fragment in stmt.sql() and word not in stmt.sql() and "CASE" not in stmt.sql()


def test_cohort_statements_share_parameters():
    cohort = ir.Cohort(ir.FirstDate(ir.Events("condition")),
                       (ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),),
                       strata=("sex",))
    compiled = compile_cohort(cohort)
    assert compiled.rule_names == ("adult",)
    for stmt in (compiled.membership, compiled.attrition, compiled.strata):
        assert "$p1" in stmt.sql() and stmt.params == {"p1": 18}


def test_index_date_outside_a_cohort_is_an_error():
    with pytest.raises(ir.IRError, match="IndexDate"):
        compile_series_table({"v": ir.IndexDate()})


def test_unknown_dialect_is_named():
    with pytest.raises(UnsupportedFeature, match="no SQL dialect 'oracle'"):
        get_dialect("oracle")


def _base_cte(stmt):
    return next(cte.this for cte in stmt.tree.args["with_"].expressions if cte.alias == "base")


def test_cohort_base_starts_from_the_entry_events():
    # The index date is the first date of a frame independent of the person row: the base reads
    # the entry events grouped by person and joins person (no per-person scalar subquery).
    entry = ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(201826, True),)))
    compiled = compile_cohort(ir.Cohort(ir.FirstDate(entry), (), strata=("sex",)))
    base = _base_cte(compiled.attrition)
    grouped = base.args["from_"].this.this
    assert grouped.args["from_"].this.name == "condition_occurrence" and grouped.args.get("group")
    assert [j.this.name for j in base.args["joins"]] == ["person"]


def test_cohort_base_evaluates_person_dependent_index_dates_per_person():
    # A window anchored on date of birth depends on the person row: the general form, and its
    # parameters are the only ones bound (the abandoned shortcut leaves none behind).
    entry = ir.WhereDate(ir.Events("condition"), ir.DateOfBirth(), 0, 365)
    compiled = compile_cohort(ir.Cohort(ir.LastDate(entry), (), strata=()))
    base = _base_cte(compiled.attrition)
    assert base.args["from_"].this.name == "person" and not base.args.get("joins")
    assert sorted(compiled.attrition.params) == ["p1", "p2"]
    assert all(f"${name}" in compiled.attrition.sql() for name in compiled.attrition.params)


def test_spark_counts_attrition_in_one_pass_and_duckdb_in_a_cascade():
    # Spark inlines CTEs: a cascade's steps would recompute the earlier rules for every later one.
    cohort = ir.Cohort(ir.FirstDate(ir.Events("condition")), (
        ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),
        ir.Rule("seen", ir.Exists(ir.Events("visit"))),
    ))
    spark, duckdb = compile_cohort(cohort, "spark"), compile_cohort(cohort, "duckdb")
    spark_ctes = [cte.alias for cte in spark.attrition.tree.args["with_"].expressions]
    assert spark_ctes == ["base", "ruled"] and "rules_0" not in spark.membership.sql()
    assert "COUNT(CASE WHEN rule_0 AND rule_1 THEN 1 END) AS n_2" in spark.attrition.sql()
    assert [cte.alias for cte in duckdb.attrition.tree.args["with_"].expressions] == ["base", "rules_0", "rules_1", "flags"]


def test_a_cohort_of_every_person_counts_attrition_in_one_pass_on_duckdb_too():
    # A census-date index makes every person a candidate: the cascade's first steps would be
    # copies of the whole person table.
    census = ir.Cohort(ir.Literal("date", dt.date(2024, 12, 31)), (
        ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),
    ), strata=("sex",))
    compiled = compile_cohort(census)
    assert [cte.alias for cte in compiled.attrition.tree.args["with_"].expressions] == ["base", "ruled"]
    setup, results = compiled.staged()
    assert [s.tree.this.name for s in setup] == ["flags", "members"]
    assert results[1].tree is compiled.attrition.tree  # runs whole, beside the staged tables
