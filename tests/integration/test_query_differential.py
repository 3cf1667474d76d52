"""Differential tests: on random small stores, DuckDB and the reference engine agree on random
well-typed queries (series and whole cohorts), and every query round-trips through JSON."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from phta.cdm.physical import build_index, index_status
from phta.cdm.store import Store
from phta.query import serial
from tests.integration.query_strategies import any_series, cohorts, tables
from tests.spec.cohort import harness

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def empty_store_file():
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "template", node_name="diff")
        yield store.db_path


def _store(template: Path, tmp: str, data: dict) -> Store:
    path = Path(tmp) / "store"
    path.mkdir()
    shutil.copy(template, path / template.name)
    con = Store.open(path).connect()
    try:
        for name, rows in data.items():
            for row in rows:
                cols = list(row)
                con.execute(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                            [row[c] for c in cols])
    finally:
        con.close()
    return Store.open(path)


@SETTINGS
@given(data=tables(), query=any_series())
def test_series_agree(empty_store_file, data, query):
    assert serial.from_json(serial.to_json(query)) == query
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(empty_store_file, tmp, data)
        assert harness.duckdb_series(store, query) == harness.reference_series(data, query)


@SETTINGS
@given(data=tables(), query=cohorts())
def test_cohorts_agree(empty_store_file, data, query):
    assert serial.from_json(serial.to_json(query)) == query
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(empty_store_file, tmp, data)
        on_duckdb = harness.duckdb_cohort(store, query)
        on_reference = harness.reference_cohort(data, query)
        assert on_duckdb.membership == on_reference.membership
        assert on_duckdb.attrition == on_reference.attrition
        assert on_duckdb.strata == on_reference.strata
        assert on_duckdb.population_count == on_reference.population_count


INDEXED_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@INDEXED_SETTINGS
@given(data=tables(), query=cohorts())
def test_cohorts_agree_on_indexed_store(empty_store_file, data, query):
    """The physical design (clustered events, person facts, resolved concept sets) changes no result."""
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(empty_store_file, tmp, data)
        build_index(store)
        assert index_status(store) == {"clustered_events", "person_facts"}
        on_duckdb = harness.duckdb_cohort(store, query)
        on_reference = harness.reference_cohort(data, query)
        assert on_duckdb.membership == on_reference.membership
        assert on_duckdb.attrition == on_reference.attrition
        assert on_duckdb.strata == on_reference.strata


@SETTINGS
@given(data=tables(), query=any_series())
def test_series_agree_on_indexed_store(empty_store_file, data, query):
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(empty_store_file, tmp, data)
        build_index(store)
        assert harness.duckdb_series(store, query, indexed=True) == harness.reference_series(data, query)
