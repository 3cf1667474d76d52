"""The differential tests on Spark: on random small stores, the Spark engine (reading the store's
Parquet export) and the reference engine agree on random well-typed queries -- series through the
Spark engine itself, whole cohorts through the one execution path with the node set to Spark.

Marked ``java`` and ``slow`` and run in CI. One Spark session serves the whole run
(``spark_master``); each example pays for an export, a set of views and a few Spark queries
(seconds), so the example counts are lower than DuckDB's (test_query_differential.py), but the
strategies are the same.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from phta.cdm.parquet_export import export_parquet
from phta.cdm.store import Store
from phta.engines.spark import SparkEngine
from phta.execution.node_engine import NodeEngine
from phta.query.compiler import compile_series_table, python_value
from tests.integration.query_strategies import any_series, cohorts, store_from_template, tables
from tests.spec.cohort import harness

pytestmark = [pytest.mark.java, pytest.mark.slow]

SPARK_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def template_store_file(tmp_path_factory) -> Path:
    """An empty store file, copied for every example (much faster than creating the schema)."""
    return Store.create(tmp_path_factory.mktemp("template") / "template", node_name="diff").db_path


def _exported(template: Path, path: Path, data: dict) -> Store:
    store = store_from_template(template, path, data)
    export_parquet(store)
    return store


@SPARK_SETTINGS
@given(data=tables(), query=any_series())
def test_series_agree_on_spark(template_store_file, spark_master, data, query):
    with tempfile.TemporaryDirectory() as tmp:
        store = _exported(template_store_file, Path(tmp) / "store", data)
        stmt = compile_series_table({"v": query}, dialect="spark")
        rows = SparkEngine.for_store(store, master=spark_master).execute(stmt.tree, stmt.params)
        on_spark = {r[0]: python_value(query.type, r[1]) for r in rows}
        assert on_spark == harness.reference_series(data, query)


@SPARK_SETTINGS
@given(data=tables(), query=cohorts())
def test_cohorts_agree_on_spark_through_the_execution_path(template_store_file, spark_master, data, query):
    with tempfile.TemporaryDirectory() as tmp:
        store = _exported(template_store_file, Path(tmp) / "store", data)
        on_spark = harness.cohort_result(store, query, engine=NodeEngine("spark", spark_master))
        on_reference = harness.reference_cohort(data, query)
        assert on_spark.membership == on_reference.membership
        assert on_spark.attrition == on_reference.attrition
        assert on_spark.strata == on_reference.strata
        assert on_spark.population_count == on_reference.population_count
