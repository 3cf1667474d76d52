"""Only subqueries correlated two levels up are rewritten for Spark; other trees pass untouched.
Rewrites keep values (the Spark spec and differential tests run them against the reference)."""

import sqlglot
from sqlglot import exp

from phta.engines.spark_decorrelate import (
    decorrelate_for_spark,
    has_deep_correlation,
    keep_person_in_domain,
)

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


# Correlated two levels up on a visit, not on the person: neither key nor person column to pull in.
DEEP_NOT_ON_PERSON = (
    DEEP.replace("WHERE e2.person_id = p.person_id", "WHERE e2.visit_occurrence_id = v.visit_occurrence_id")
    .replace("p.person_id", "v.person_id").replace("FROM person AS p ORDER BY v.person_id", "FROM visit_occurrence AS v")
)


def test_a_person_key_two_levels_up_is_read_from_the_middle_query_instead():
    tree = sqlglot.parse_one(DEEP, read="duckdb")
    before = tree.sql("spark")
    rewritten = decorrelate_for_spark(tree)
    assert not has_deep_correlation(rewritten)
    assert tree.sql("spark") == before  # the input is not changed
    text = rewritten.sql("spark")
    assert "e2.person_id = e1.person_id" in text and "JOIN" not in text


def test_another_column_of_the_outer_person_comes_from_the_person_joined_on_the_key():
    tree = sqlglot.parse_one(DEEP.replace("WHERE e2.person_id = p.person_id",
                                          "WHERE e2.person_id = p.person_id "
                                          "AND e2.condition_start_date >= MAKE_DATE(p.year_of_birth, 1, 1)"),
                             read="duckdb")
    rewritten = decorrelate_for_spark(tree)
    assert not has_deep_correlation(rewritten)
    text = rewritten.sql("spark")
    assert "JOIN person AS p__in0 ON p__in0.person_id = e1.person_id" in text
    assert "MAKE_DATE(p__in0.year_of_birth, 1, 1)" in text


def test_other_deep_correlation_is_unnested_into_joins():
    tree = sqlglot.parse_one(DEEP_NOT_ON_PERSON, read="duckdb")
    rewritten = decorrelate_for_spark(tree)
    assert not has_deep_correlation(rewritten)
    assert "JOIN" in rewritten.sql("spark")


def test_a_bare_string_subquery_alias_is_made_readable_and_keeps_its_text():
    inner = exp.select("x").from_("t")
    odd = exp.select("x").from_(exp.Subquery(this=inner, alias="s"))  # alias as a bare string
    assert decorrelate_for_spark(odd).sql("spark") == odd.sql("spark")


def test_deep_correlation_under_a_bare_string_alias_is_found_and_rewritten():
    # The compiler's strata and cell-key statements wrap their UNION this way.
    deep = sqlglot.parse_one(DEEP, read="duckdb")
    wrapped = exp.select("person_id").from_(exp.Subquery(this=deep, alias="s"))
    rewritten = decorrelate_for_spark(wrapped)
    assert "e2.person_id = e1.person_id" in rewritten.sql("spark")
    assert not has_deep_correlation(rewritten)


def test_a_person_column_of_a_cte_over_person_alone_comes_from_that_cte_joined_on_the_key():
    cohort_shape = """
    WITH base AS (SELECT *, DATE '2020-01-01' AS index_date FROM person AS p)
    SELECT b.person_id,
      (SELECT MIN(op1.observation_period_start_date) FROM observation_period AS op1
       WHERE op1.person_id = b.person_id
         AND op1.observation_period_start_date <= (
           SELECT MIN(op2.observation_period_start_date) FROM observation_period AS op2
           WHERE op2.person_id = b.person_id AND op2.observation_period_start_date <= MAKE_DATE(b.year_of_birth, 1, 1)))
      AS end_date
    FROM base AS b
    """
    rewritten = decorrelate_for_spark(sqlglot.parse_one(cohort_shape, read="duckdb"))
    assert not has_deep_correlation(rewritten)
    text = rewritten.sql("spark")
    assert "JOIN base AS b__in0 ON b__in0.person_id = op1.person_id" in text
    assert "MAKE_DATE(b__in0.year_of_birth, 1, 1)" in text


WINDOWED = """
SELECT b.person_id FROM base AS b
WHERE (SELECT COUNT(*) FROM drug_exposure AS e2
       WHERE e2.person_id = b.person_id AND e2.drug_exposure_start_date >= b.index_date) >= 2
"""


def test_a_key_beside_an_outer_range_is_kept_in_spark_s_domain():
    # Spark would join the distinct index dates alone to every event (a nested loop); with the
    # inner side an expression the person stays in the domain and the join is on person.
    tree = sqlglot.parse_one(WINDOWED, read="duckdb")
    before = tree.sql()
    rewritten = keep_person_in_domain(tree)
    assert "(e2.person_id + 0) = b.person_id" in rewritten.sql()
    assert tree.sql() == before  # the caller's tree is not changed


def test_a_key_alone_is_left_as_it_is():
    tree = sqlglot.parse_one(SHALLOW, read="duckdb")
    assert keep_person_in_domain(tree).sql() == tree.sql()

