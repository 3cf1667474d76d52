"""Settings have working defaults, honour the environment, and are all documented."""

from pathlib import Path

import pytest

from phta.config import SETTINGS_DOC, SettingsError, load_settings
from tests.components import REPO_ROOT


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path):
    s = load_settings(tmp_path, env={})
    assert s.data_dir == tmp_path.resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'phta.db'}"
    assert (s.host, s.port) == ("127.0.0.1", 8000)


def test_environment_overrides(tmp_path: Path):
    env = {"PHTA_DATA_DIR": str(tmp_path), "PHTA_DATABASE_URL": "postgresql+psycopg://x/y", "PHTA_PORT": "9000"}
    s = load_settings(env=env)
    assert s.database_url == "postgresql+psycopg://x/y" and s.port == 9000


def test_every_setting_is_documented():
    doc = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in SETTINGS_DOC:
        assert f"`{name}`" in doc, f"{name} is not documented in docs/configuration.md"


def test_engine_defaults_to_duckdb_for_every_node(tmp_path: Path):
    s = load_settings(tmp_path, env={})
    assert s.engine == "duckdb" and s.node_engines == {}
    assert s.engine_for("Queen Elizabeth Hospital", "XR001") == "duckdb"


def test_per_node_engines_override_the_default_by_node_or_store_name(tmp_path: Path):
    s = load_settings(tmp_path, env={"PHTA_NODE_ENGINES": " XR001=spark , big node = spark,XG001=duckdb",
                                     "PHTA_SPARK_PARQUET_URI": "hdfs://nn/phta/{node}/parquet"})
    assert s.node_engines == {"xr001": "spark", "big node": "spark", "xg001": "duckdb"}  # keyed by node_key
    assert s.engine_for("Queen Elizabeth Hospital", "XR001") == "spark"  # by store directory
    assert s.engine_for("big node", "XR009") == "spark"  # by node name
    assert s.engine_for("other", "XR002") == "duckdb"
    assert s.spark_parquet_uri_for("XR001") == "hdfs://nn/phta/XR001/parquet"
    everything = load_settings(tmp_path, env={"PHTA_ENGINE": "spark", "PHTA_NODE_ENGINES": "XG001=duckdb"})
    assert everything.engine_for("a", "XG001") == "duckdb" and everything.engine_for("a", "XR001") == "spark"
    assert everything.spark_parquet_uri_for("XR001") is None


@pytest.mark.parametrize(("env", "names"), [
    ({"PHTA_ENGINE": "postgres"}, ("PHTA_ENGINE", "'postgres'", "duckdb, spark")),
    ({"PHTA_NODE_ENGINES": "XR001=sparks"}, ("PHTA_NODE_ENGINES (XR001)", "'sparks'")),
    ({"PHTA_NODE_ENGINES": "XR001"}, ("PHTA_NODE_ENGINES", "'XR001' is not node=engine")),
    ({"PHTA_NODE_ENGINES": "=spark"}, ("PHTA_NODE_ENGINES", "'=spark' is not node=engine")),
])
def test_a_malformed_engine_setting_is_an_error_naming_it(tmp_path: Path, env, names):
    with pytest.raises(SettingsError) as bad:
        load_settings(tmp_path, env=env)
    for name in names:
        assert name in str(bad.value)


def test_airlock_escalation_days_default_and_bad_values(tmp_path: Path):
    from phta.config import SettingsError

    assert load_settings(tmp_path, env={}).airlock_escalation_days == 5
    assert load_settings(tmp_path, env={"PHTA_AIRLOCK_ESCALATION_DAYS": "3"}).airlock_escalation_days == 3
    for bad in ("0", "three", "-2"):
        with pytest.raises(SettingsError, match="PHTA_AIRLOCK_ESCALATION_DAYS"):
            load_settings(tmp_path, env={"PHTA_AIRLOCK_ESCALATION_DAYS": bad})
