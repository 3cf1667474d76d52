"""Differential tests: on random small stores, DuckDB and the reference engine agree on random
well-typed queries (series and whole cohorts), and every query round-trips through JSON."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from phta.cdm.physical import build_index, index_status
from phta.cdm.store import Store
from phta.query import serial
from tests.integration.query_strategies import any_series, cohorts, store_from_template, tables
from tests.spec.cohort import harness

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def empty_store_file():
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "template", node_name="diff")
        yield store.db_path


@SETTINGS
@given(data=tables(), query=any_series())
def test_series_agree(empty_store_file, data, query):
    assert serial.from_json(serial.to_json(query)) == query
    with tempfile.TemporaryDirectory() as tmp:
        store = store_from_template(empty_store_file, Path(tmp) / "store", data)
        assert harness.duckdb_series(store, query) == harness.reference_series(data, query)


@SETTINGS
@given(data=tables(), query=cohorts())
def test_cohorts_agree(empty_store_file, data, query):
    assert serial.from_json(serial.to_json(query)) == query
    with tempfile.TemporaryDirectory() as tmp:
        store = store_from_template(empty_store_file, Path(tmp) / "store", data)
        on_duckdb = harness.cohort_result(store, query)
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
        store = store_from_template(empty_store_file, Path(tmp) / "store", data)
        build_index(store)
        assert index_status(store) == {"clustered_events", "person_facts"}
        on_duckdb = harness.cohort_result(store, query)
        on_reference = harness.reference_cohort(data, query)
        assert on_duckdb.membership == on_reference.membership
        assert on_duckdb.attrition == on_reference.attrition
        assert on_duckdb.strata == on_reference.strata


@SETTINGS
@given(data=tables(), query=any_series())
def test_series_agree_on_indexed_store(empty_store_file, data, query):
    with tempfile.TemporaryDirectory() as tmp:
        store = store_from_template(empty_store_file, Path(tmp) / "store", data)
        build_index(store)
        assert harness.duckdb_series(store, query, indexed=True) == harness.reference_series(data, query)
