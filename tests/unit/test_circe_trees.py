"""The Circe compiler builds SQLGlot trees node by node: no SQL text is parsed while compiling
(issue 16), for DuckDB and Spark alike, and every value stays a bound placeholder.

Attack: a concept-set name, a text filter or an inclusion-rule name carrying SQL must never reach
the statement text; control: the same cohort with plain values compiles to the same shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
import sqlglot.expressions as exp

from phta.query.circe.compiler import compile_circe
from phta.query.circe.importer import import_expression
from phta.query.circe.negative_controls import NegativeControlOutcome, compile_negative_control

CORPUS = sorted((Path(__file__).parents[1] / "fixtures" / "circe").glob("*.json"))


def _refuse_parsing(mp: pytest.MonkeyPatch) -> None:
    """Fail on any SQL parse (SQLGlot's entry points and its Parser) while ``mp`` is active."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"SQL text parsed while compiling: {args[:1]!r}")

    for module, name in ((sqlglot, "parse_one"), (sqlglot, "parse"), (exp, "maybe_parse"),
                         (sqlglot.parser.Parser, "parse"), (sqlglot.parser.Parser, "parse_into")):
        mp.setattr(module, name, refuse)


def _statements(compiled):
    return (compiled.cohort, compiled.masks_by_event, compiled.masks_by_person, compiled.eras_before_window)


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
@pytest.mark.parametrize("definition", CORPUS, ids=[p.stem for p in CORPUS])
def test_compiling_parses_no_sql_text(definition, dialect):
    cohort = import_expression(json.loads(definition.read_text(encoding="utf-8")))
    compile_circe(cohort, dialect)  # warm-up: the type-name cache of phta.query.dialects.cast
    with pytest.MonkeyPatch.context() as mp:
        _refuse_parsing(mp)
        compiled = compile_circe(cohort, dialect)  # (rendering is SQLGlot's own business, not checked)
    for statement in _statements(compiled):
        assert statement.dialect == dialect
        used = {p.name for p in statement.tree.find_all(exp.Placeholder)}
        assert used == set(statement.params)  # every value bound, none left over


def test_negative_control_outcome_parses_no_sql_text():
    outcome = NegativeControlOutcome((1, 2), ("CONDITION", "DRUG"), "FIRST")
    compile_negative_control(outcome, "spark")
    with pytest.MonkeyPatch.context() as mp:
        _refuse_parsing(mp)
        statement = compile_negative_control(outcome, "spark")
    assert statement.params == {"p1": 1, "p2": 2} and statement.dialect == "spark"


INJECTION = "x' OR 1=1; DROP TABLE person; --"


def _with_text(text: str) -> dict:
    return {"ConceptSets": [{"id": 0, "name": text, "expression": {"items": [
        {"concept": {"CONCEPT_ID": 201826}, "includeDescendants": True}]}}],
        "PrimaryCriteria": {"CriteriaList": [{"Observation": {"CodesetId": 0, "ValueAsString": {
            "Text": text, "Op": "contains"}}}], "ObservationWindow": {"PriorDays": 0, "PostDays": 0}},
        "InclusionRules": [{"name": text, "expression": {"Type": "ALL", "CriteriaList": [],
                                                         "DemographicCriteriaList": [], "Groups": []}}]}


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_values_from_the_definition_never_enter_the_sql_text(dialect):
    attack = compile_circe(import_expression(_with_text(INJECTION)), dialect)
    control = compile_circe(import_expression(_with_text("plain")), dialect)
    for a, c in zip(_statements(attack), _statements(control), strict=True):
        assert "DROP" not in a.sql() and "1=1" not in a.sql()
        assert a.sql() == c.sql()  # the same statement; only the bound values differ
    assert f"%{INJECTION}%" in attack.cohort.params.values()


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
@pytest.mark.parametrize("definition", CORPUS, ids=[p.stem for p in CORPUS])
def test_rendering_changes_no_tree_though_statements_share_the_chain(definition, dialect):
    """The four statements share their CTE nodes (no copies: compile speed); rendering one, in any
    order and twice, must give what a private copy gives and leave every tree as it was."""
    compiled = compile_circe(import_expression(json.loads(definition.read_text(encoding="utf-8"))), dialect)
    statements = _statements(compiled)
    expected = [s.tree.copy().sql(dialect=dialect) for s in statements]
    snapshots = [s.tree.copy() for s in statements]
    for i in [3, 1, 0, 2, 0, 1, 2, 3]:
        assert statements[i].sql() == expected[i]
    for statement, snapshot in zip(statements, snapshots, strict=True):
        assert statement.tree == snapshot


def test_opt_out_restriction_binds_on_both_engines():
    """The opt-out rewrite of a Circe statement: on DuckDB one list parameter (unnested); on Spark an
    IN list the engines' binding spreads into one placeholder per person, so no id becomes SQL text.
    Control: with no one to exclude the statement is unchanged."""
    from phta.engines.params import bind
    from phta.query.restrict import PARAM, exclude_persons

    cohort = import_expression(json.loads(CORPUS[0].read_text(encoding="utf-8")))
    for dialect in ("duckdb", "spark"):
        statement = compile_circe(cohort, dialect).cohort
        assert exclude_persons(statement, ()) is statement
        restricted = exclude_persons(statement, (7, 3))
        assert restricted.params[PARAM] == [3, 7]
        if dialect == "spark":  # DuckDB's driver binds the list itself
            bound = bind(restricted.tree, restricted.params)
            assert {bound.values[f"{PARAM}__0"], bound.values[f"{PARAM}__1"]} == {3, 7}
            text = bound.tree.sql(dialect=dialect)
        else:
            text = restricted.sql()
        assert PARAM in text and " 7" not in text and "(3" not in text
