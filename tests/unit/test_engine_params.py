"""Bound parameters: checked against the tree's placeholders, lists spread, values never in SQL."""

import datetime as dt
from decimal import Decimal

import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from phta.engines.params import ParameterError, bind


def _tree(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def test_named_values_are_kept_apart_from_the_sql():
    bound = bind(_tree("SELECT * FROM person WHERE year_of_birth > $year"), {"year": 1950})
    assert bound.values == {"year": 1950}
    assert bound.tree.sql("spark") == "SELECT * FROM person WHERE year_of_birth > :year"
    assert bound.tree.sql("duckdb") == "SELECT * FROM person WHERE year_of_birth > $year"


def test_positional_placeholders_become_named_in_order():
    bound = bind(_tree("SELECT * FROM t WHERE a = ? AND b = ?"), [1, "x"])
    assert bound.values == {"p0": 1, "p1": "x"}
    assert bound.tree.sql("spark") == "SELECT * FROM t WHERE a = :p0 AND b = :p1"
    numbered = bind(_tree("SELECT $2, $1, $2"), ["first", "second"])
    assert numbered.tree.sql("spark") == "SELECT :p1, :p0, :p1"
    assert numbered.values == {"p0": "first", "p1": "second"}


def test_a_list_inside_in_is_spread_into_one_placeholder_per_item():
    tree = _tree("SELECT * FROM c WHERE condition_concept_id IN ($ids)")
    bound = bind(tree, {"ids": [201826, 443238]})
    assert bound.values == {"ids__0": 201826, "ids__1": 443238}
    assert bound.tree.sql("spark").endswith("IN (:ids__0, :ids__1)")
    # the caller's tree is left as it was
    assert tree.sql("duckdb").endswith("IN ($ids)")


def test_an_empty_list_matches_nothing_and_not_in_an_empty_list_matches_everything():
    bound = bind(_tree("SELECT 1 FROM c WHERE x IN ($ids)"), {"ids": []})
    assert bound.tree.sql("duckdb") == "SELECT 1 FROM c WHERE FALSE"
    bound = bind(_tree("SELECT 1 FROM c WHERE NOT x IN ($ids)"), {"ids": ()})
    assert bound.tree.sql("duckdb") == "SELECT 1 FROM c WHERE NOT FALSE"


def test_sets_are_spread_in_a_stable_order():
    a = bind(_tree("SELECT 1 WHERE x IN ($ids)"), {"ids": {3, 1, 2}})
    b = bind(_tree("SELECT 1 WHERE x IN ($ids)"), {"ids": frozenset({2, 3, 1})})
    assert a.values == b.values


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT $a", {}, "no value given for parameter(s) a"),
        ("SELECT 1", {"a": 1}, "parameter(s) a not used"),
        ("SELECT $a", {"a": object()}, "parameter a has unsupported type object"),
        ("SELECT $a", {"a": float("nan")}, "parameter a is NaN"),
        ("SELECT $a + 1", {"a": [1, 2]}, "a list may only stand alone inside IN"),
        ("SELECT 1 WHERE x IN ($a, 3)", {"a": [1]}, "a list may only stand alone inside IN"),
        ("SELECT 1 WHERE x IN ($a)", {"a": [1, object()]}, "parameter a[1] has unsupported type"),
        ("SELECT ?", {"a": 1}, "positional placeholders"),
        ("SELECT $a", [1], "named placeholders but positional values"),
        ("SELECT ?, ?", [1], "2 placeholder(s) but 1 value(s)"),
        ("SELECT $1, $3", [1, 2, 3], "2 placeholder(s) but 3 value(s)"),
        ("SELECT $a", "a", "must be a mapping"),
    ],
)
def test_bad_parameters_are_refused_with_the_parameter_named(sql, params, message):
    with pytest.raises(ParameterError) as raised:
        bind(_tree(sql), params)
    assert message in str(raised.value)


@pytest.mark.parametrize("name", ["1a", "a-b", "a b", "a__b", ""])
def test_parameter_names_must_be_plain_identifiers(name):
    tree = exp.select(exp.Placeholder(this=name))
    with pytest.raises(ParameterError, match="parameter name"):
        bind(tree, {name: 1})


def test_every_supported_scalar_type_passes_unchanged():
    values = {
        "i": 1,
        "f": 1.5,
        "d": Decimal("2.5"),
        "s": "x",
        "b": True,
        "n": None,
        "day": dt.date(2020, 1, 1),
        "ts": dt.datetime(2020, 1, 1, 12),
    }
    tree = exp.select(*[exp.Placeholder(this=name) for name in values])
    assert bind(tree, values).values == values


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=30))
def test_spread_lists_put_no_value_into_the_sql_text(ids):
    tree = _tree("SELECT person_id FROM condition_occurrence WHERE condition_concept_id IN ($ids)")
    bound = bind(tree, {"ids": ids})
    assert [bound.values[f"ids__{i}"] for i in range(len(ids))] == ids
    for dialect in ("duckdb", "spark"):
        rendered = sqlglot.parse_one(bound.tree.sql(dialect), read=dialect)
        assert not [lit for lit in rendered.find_all(exp.Literal)], "a value leaked into the SQL"
