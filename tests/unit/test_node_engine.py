"""Which engine a node's requests run on: from the settings, by node name or store directory."""

from __future__ import annotations

import dataclasses
import datetime as dt

from phta.cdm.store import Store
from phta.config import load_settings
from phta.execution import LOCAL_CUSTODIAN_QUALITY, ExecutionRequest
from phta.execution.node_engine import DUCKDB, NodeEngine, node_engine
from phta.query import ir


def test_settings_choose_spark_with_master_and_export_location_for_the_named_node(tmp_path):
    store = Store.create(tmp_path / "XR001", node_name="Queen Elizabeth Hospital")
    settings = load_settings(tmp_path, env={"PHTA_NODE_ENGINES": "XR001=spark", "PHTA_SPARK_MASTER": "yarn",
                                            "PHTA_SPARK_PARQUET_URI": "s3a://bucket/{node}/parquet"})
    engine = node_engine(settings, "Queen Elizabeth Hospital", store)
    assert engine == NodeEngine("spark", "yarn", "s3a://bucket/Queen Elizabeth Hospital/parquet")
    assert engine.dialect == "spark" and engine.location(store) == "s3a://bucket/Queen Elizabeth Hospital/parquet"
    assert NodeEngine("spark", "local[2]").location(store) == str(store.parquet_dir)
    other = Store.create(tmp_path / "XR002", node_name="Other")
    assert node_engine(settings, "Other", other) == DUCKDB


def test_a_request_built_with_settings_carries_the_node_engine_and_without_them_duckdb(tmp_path):
    store = Store.create(tmp_path / "XR001", node_name="Queen Elizabeth Hospital")
    cohort = ir.Cohort(ir.Literal("date", dt.date(2020, 1, 1)))
    settings = load_settings(tmp_path, env={"PHTA_ENGINE": "spark"})
    assert ExecutionRequest.build(cohort, LOCAL_CUSTODIAN_QUALITY, store).engine == DUCKDB
    on_spark = ExecutionRequest.build(cohort, LOCAL_CUSTODIAN_QUALITY, store, settings=settings)
    assert on_spark.engine == NodeEngine("spark", "local[2]", None)
    assert dataclasses.replace(on_spark, engine=DUCKDB).engine.dialect == "duckdb"
