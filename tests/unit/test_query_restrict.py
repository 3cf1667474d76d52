"""phta.query.restrict: person-keyed tables are read without the excluded persons, by a bound list."""

from __future__ import annotations

import sqlglot

from phta.query.compiler import Statement
from phta.query.restrict import PARAM, exclude_persons, person_tables


def _statement(sql: str) -> Statement:
    return Statement(sqlglot.parse_one(sql, read="duckdb"), {"p1": 7}, "duckdb")


def test_every_person_keyed_table_is_wrapped_and_the_ids_are_bound():
    s = _statement("WITH pe AS (SELECT person_id FROM condition_occurrence co WHERE co.condition_concept_id = $p1) "
                   "SELECT p.person_id FROM person p JOIN pe ON pe.person_id = p.person_id "
                   "JOIN observation_period ON observation_period.person_id = p.person_id, concept c")
    out = exclude_persons(s, (90001, 90002))
    text = out.sql()
    assert "90001" not in text and out.params == {"p1": 7, PARAM: [90001, 90002]}
    for table, alias in (("condition_occurrence", "co"), ("person", "p"), ("observation_period", "observation_period")):
        assert f"FROM {table} WHERE NOT person_id IN (SELECT UNNEST(${PARAM}))) AS {alias}" in text
    assert "FROM concept AS c" in text or "concept AS c" in text  # vocabulary tables are left alone
    assert "JOIN pe ON" in text  # a CTE reference is not a store table


def test_no_exclusions_leave_the_statement_unchanged():
    s = _statement("SELECT person_id FROM person")
    assert exclude_persons(s, ()) is s


def test_the_person_tables_come_from_the_cdm_schema():
    assert {"person", "observation_period", "drug_exposure", "death", "phta_record_key"} <= person_tables()
    assert not {"concept", "concept_ancestor", "care_site", "provider"} & person_tables()
