"""Deployment settings, read from the environment with embedded defaults.

Every setting has a default that works on a fresh machine (``make demo``); production overrides
them with environment variables. Documented in docs/configuration.md (a test checks every
setting listed here is documented there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SPARK_MASTER = "local[2]"

# name -> (description, default shown in docs)
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "PHTA_DATA_DIR": ("Directory holding the operational database, node stores and keys.", "./data"),
    "PHTA_DATABASE_URL": (
        "SQLAlchemy URL of the operational store (SQLite by default, PostgreSQL in production).",
        "sqlite:///<PHTA_DATA_DIR>/phta.db",
    ),
    "PHTA_HOST": ("Interface `phta serve` binds to.", DEFAULT_HOST),
    "PHTA_PORT": ("Port `phta serve` listens on.", str(DEFAULT_PORT)),
    "PHTA_SPARK_MASTER": (
        "Spark master for nodes that use the Spark engine: `local[N]` runs Spark inside the node's "
        "process; `spark://host:7077`, `yarn` or `k8s://https://host:443` use a cluster.",
        DEFAULT_SPARK_MASTER,
    ),
    "PHTA_SPARK_PARQUET_URI": (
        "Where the Spark engine reads the node's Parquet export (`hdfs://...`, `s3a://...`, or a "
        "path every executor mounts); empty means the store's own `parquet/` directory.",
        "",
    ),
    "PHTA_DISCLOSURE_POLICY": (
        "The deployment's disclosure-control policy for the airlock's table checks and `phta outputs "
        "check`: a YAML/JSON policy file (per-node overrides may only be stricter) or a built-in name.",
        "project (built-in)",
    ),
    "PHTA_LINKAGE_KEY": (
        "Regional linkage key (hex) for NHS-number pseudonyms; held by nodes, never by the hub.",
        "read from <PHTA_DATA_DIR>/keys/linkage.key (created 0600)",
    ),
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    spark_master: str = DEFAULT_SPARK_MASTER
    spark_parquet_uri: str | None = None
    #: the deployment's disclosure policy file (or built-in name); None: the built-in ``project``
    disclosure_policy: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def stores_dir(self) -> Path:
        """Where the node stores (one directory per node) live."""
        return self.data_dir / "stores"


def load_settings(data_dir: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    root = Path(data_dir or env.get("PHTA_DATA_DIR") or "data").resolve()
    url = env.get("PHTA_DATABASE_URL") or f"sqlite:///{root / 'phta.db'}"
    return Settings(
        data_dir=root,
        database_url=url,
        host=env.get("PHTA_HOST", DEFAULT_HOST),
        port=int(env.get("PHTA_PORT", DEFAULT_PORT)),
        spark_master=env.get("PHTA_SPARK_MASTER") or DEFAULT_SPARK_MASTER,
        spark_parquet_uri=env.get("PHTA_SPARK_PARQUET_URI") or None,
        disclosure_policy=env.get("PHTA_DISCLOSURE_POLICY") or None,
    )
