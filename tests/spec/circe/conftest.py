"""The engines the Circe spec runs on: every conformance case and differential test takes
``circe_engine`` and runs once on DuckDB and once on Spark (marked ``java`` and ``slow``: a Spark
run costs seconds where DuckDB's costs milliseconds)."""

from __future__ import annotations

import pytest

from phta.execution.node_engine import DUCKDB, NodeEngine

SPARK = pytest.param("spark", marks=[pytest.mark.java, pytest.mark.slow])


@pytest.fixture(params=["duckdb", SPARK])
def circe_engine(request) -> NodeEngine:
    if request.param == "duckdb":
        return DUCKDB
    return NodeEngine("spark", request.getfixturevalue("spark_master"))
