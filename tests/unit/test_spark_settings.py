"""Spark settings: loopback-only local mode for tests, a cluster's own defaults in production."""

from pathlib import Path

from phta.config import load_settings
from phta.engines.spark_session import is_local, session_conf


def test_local_mode_listens_on_loopback_only_and_runs_small():
    conf = session_conf("local[2]")
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    assert int(conf["spark.sql.shuffle.partitions"]) <= 8
    assert conf["spark.sql.session.timeZone"] == "UTC"


def test_a_cluster_keeps_its_own_network_and_sizing_but_gets_the_sql_semantics():
    conf = session_conf("spark://spark-master.node.internal:7077")
    assert "spark.driver.bindAddress" not in conf and "spark.sql.shuffle.partitions" not in conf
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.timestampType"] == "TIMESTAMP_NTZ"
    assert conf["spark.sql.ansi.enabled"] == "true"


def test_local_masters_are_recognised():
    assert is_local("local") and is_local("local[2]") and is_local("local[*]")
    assert not is_local("yarn") and not is_local("k8s://https://k8s:443")


def test_spark_master_setting(tmp_path: Path):
    assert load_settings(tmp_path, env={}).spark_master == "local[2]"
    env = {"PHTA_SPARK_MASTER": "spark://10.0.0.5:7077"}
    assert load_settings(tmp_path, env=env).spark_master == "spark://10.0.0.5:7077"
    assert load_settings(tmp_path, env={}).spark_parquet_uri is None
    env = {"PHTA_SPARK_PARQUET_URI": "hdfs://nn/phta/node-a/parquet"}
    assert load_settings(tmp_path, env=env).spark_parquet_uri == "hdfs://nn/phta/node-a/parquet"
