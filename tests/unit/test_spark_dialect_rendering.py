"""How SQLGlot renders the constructs docs/spark.md warns the compiler author about.

Rendering only (no Spark needed); the results of running them are pinned in
tests/integration/test_spark_engine.py. A SQLGlot upgrade that changes one of these fails here,
and docs/spark.md needs the same update.
"""

import sqlglot
from sqlglot import exp


def duck(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def test_qualify_becomes_a_subquery_that_swallows_the_order_by():
    spark = duck("SELECT x FROM t QUALIFY ROW_NUMBER() OVER (ORDER BY x) = 1 ORDER BY x").sql(
        "spark"
    )
    assert spark.startswith("SELECT x FROM (SELECT x, ROW_NUMBER()")
    assert spark.endswith("WHERE _w = 1"), "the outer query has lost its ORDER BY"


def test_quantile_cont_is_rendered_in_a_form_spark_rejects_but_median_is_portable():
    assert (
        duck("SELECT QUANTILE_CONT(x, 0.5) FROM t").sql("spark")
        == "SELECT PERCENTILE_CONT(x, 0.5) FROM t"
    )
    assert exp.select(exp.Median(this=exp.column("x"))).sql("spark") == "SELECT MEDIAN(x)"


def test_safe_division_guards_duckdb_only_but_an_explicit_nullif_guards_both():
    safe = exp.Div(this=exp.column("a"), expression=exp.column("b"), safe=True)
    assert safe.sql("duckdb") == "a / NULLIF(b, 0)" and safe.sql("spark") == "a / b"
    explicit = exp.Div(
        this=exp.column("a"),
        expression=exp.Nullif(this=exp.column("b"), expression=exp.Literal.number(0)),
    )
    assert explicit.sql("duckdb") == explicit.sql("spark") == "a / NULLIF(b, 0)"


def test_ascending_order_gets_nulls_last_spelled_out_for_spark():
    tree = exp.select("x").from_("t").order_by(exp.Ordered(this=exp.column("x"), nulls_first=False))
    assert tree.sql("duckdb") == "SELECT x FROM t ORDER BY x"
    assert tree.sql("spark") == "SELECT x FROM t ORDER BY x NULLS LAST"


def test_date_add_renders_an_interval_on_duckdb_and_date_add_on_spark():
    tree = exp.DateAdd(this=exp.column("d"), expression=exp.Literal.number(30), unit=exp.var("DAY"))
    assert tree.sql("duckdb") == "d + INTERVAL 30 DAY"
    assert tree.sql("spark") == "DATE_ADD(d, 30)"


def test_placeholders_render_per_dialect():
    tree = exp.select(exp.Placeholder(this="ids"))
    assert (tree.sql("duckdb"), tree.sql("spark")) == ("SELECT $ids", "SELECT :ids")


def test_string_literals_are_escaped_per_dialect():
    literal = exp.convert("o'k\\")
    assert literal.sql("duckdb") == "'o''k\\'"
    assert literal.sql("spark") == "'o\\'k\\\\'"


def test_exists_or_in_compared_to_a_value_gets_parentheses_for_spark_only_where_needed():
    from phta.engines.spark import _parenthesise_predicates as _parenthesise_exists

    compared = sqlglot.parse_one("SELECT TRUE = EXISTS(SELECT 1 FROM t) AS v", read="duckdb")
    assert _parenthesise_exists(compared).sql("spark") == "SELECT TRUE = (EXISTS(SELECT 1 FROM t)) AS v"
    assert compared.sql("spark") == "SELECT TRUE = EXISTS(SELECT 1 FROM t) AS v"  # input unchanged
    alone = sqlglot.parse_one("SELECT 1 FROM p WHERE EXISTS(SELECT 1 FROM t) AND x", read="duckdb")
    assert _parenthesise_exists(alone) is alone
    compared_in = sqlglot.parse_one("SELECT FALSE = (p.person_id IN (1, 2)) AS v FROM person AS p", read="duckdb")
    assert "FALSE = (p.person_id IN (1, 2))" in _parenthesise_exists(compared_in.copy()).sql("spark")
    built = exp.EQ(this=exp.false(), expression=exp.column("person_id").isin(1))  # as the compiler builds it
    assert built.sql("spark") == "FALSE = person_id IN (1)"  # what Spark reads as (FALSE = person_id) IN (1)
    assert _parenthesise_exists(built).sql("spark") == "FALSE = (person_id IN (1))"
