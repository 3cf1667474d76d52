"""Only subqueries correlated two levels up are rewritten for Spark; other trees pass untouched."""

import sqlglot
from sqlglot import exp

from phta.engines.spark_decorrelate import decorrelate_for_spark, has_deep_correlation

DEEP = """
SELECT p.person_id,
  (SELECT COUNT(*) FROM condition_occurrence AS e1
   WHERE e1.person_id = p.person_id
     AND e1.condition_start_date >= (SELECT MIN(e2.condition_start_date) FROM condition_occurrence AS e2
                                     WHERE e2.person_id = p.person_id)) AS v
FROM person AS p ORDER BY p.person_id
"""
SHALLOW = """
SELECT p.person_id,
  (SELECT COUNT(*) FROM condition_occurrence AS e1 WHERE e1.person_id = p.person_id) AS v
FROM person AS p ORDER BY p.person_id
"""


def test_a_reference_two_levels_up_is_detected():
    assert has_deep_correlation(sqlglot.parse_one(DEEP, read="duckdb"))
    assert not has_deep_correlation(sqlglot.parse_one(SHALLOW, read="duckdb"))


def test_shallow_trees_are_returned_unchanged():
    tree = sqlglot.parse_one(SHALLOW, read="duckdb")
    assert decorrelate_for_spark(tree) is tree


def test_the_rewrite_leaves_no_deep_correlation_and_keeps_the_original():
    tree = sqlglot.parse_one(DEEP, read="duckdb")
    before = tree.sql("spark")
    rewritten = decorrelate_for_spark(tree)
    assert not has_deep_correlation(rewritten)
    assert tree.sql("spark") == before
    assert "JOIN" in rewritten.sql("spark")


def test_a_tree_sqlglot_cannot_scope_is_passed_through():
    inner = exp.select("x").from_("t")
    odd = exp.select("x").from_(exp.Subquery(this=inner, alias="s"))  # alias as a bare string
    assert decorrelate_for_spark(odd) is odd
