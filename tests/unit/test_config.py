"""Settings have working defaults, honour the environment, and are all documented."""

from pathlib import Path

from phta.config import SETTINGS_DOC, load_settings
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
