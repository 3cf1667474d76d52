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
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
DEFAULT_QUERY_BUDGET = 500
#: built-in per-purpose budgets (PHTA_QUERY_BUDGETS adds to and overrides them); None: unlimited
DEFAULT_QUERY_BUDGETS: dict[str, int | None] = {"custodian_quality": None}

# name -> (description, default shown in docs)
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "PHTA_DATA_DIR": ("Directory holding the operational database, node stores and keys.", "./data"),
    "PHTA_DATABASE_URL": (
        "SQLAlchemy URL of the operational store (SQLite by default, PostgreSQL in production).",
        "sqlite:///<PHTA_DATA_DIR>/phta.db",
    ),
    "PHTA_HOST": ("Interface `phta serve` binds to.", DEFAULT_HOST),
    "PHTA_PORT": ("Port `phta serve` listens on.", str(DEFAULT_PORT)),
    "PHTA_ENGINE": (
        "The engine every node's queries run on: `duckdb` (the node's store file) or `spark` (the "
        "store's Parquet export, on `PHTA_SPARK_MASTER`).",
        DEFAULT_ENGINE,
    ),
    "PHTA_NODE_ENGINES": (
        "Per-node engine overrides, `node=engine` separated by commas (`rhh=spark,bch=duckdb`); "
        "a node is named by its node name or its store directory's name.",
        "",
    ),
    "PHTA_SPARK_MASTER": (
        "Spark master for nodes that use the Spark engine: `local[N]` runs Spark inside the node's "
        "process; `spark://host:7077`, `yarn` or `k8s://https://host:443` use a cluster.",
        DEFAULT_SPARK_MASTER,
    ),
    "PHTA_SPARK_PARQUET_URI": (
        "Where the Spark engine reads the node's Parquet export (`hdfs://...`, `s3a://...`, or a "
        "path every executor mounts); `{node}` in it stands for the node's name; empty means the "
        "store's own `parquet/` directory.",
        "",
    ),
    "PHTA_DISCLOSURE_POLICY": (
        "The deployment's disclosure-control policy for the airlock's table checks and `phta outputs "
        "check`: a YAML/JSON policy file (per-node overrides may only be stricter) or a built-in name.",
        "project (built-in)",
    ),
    "PHTA_QUERY_BUDGET": (
        "Queries each user may run per purpose per UTC day (a network request counts once, however "
        "many nodes answer it); `unlimited` for no limit. Applies to every purpose without an override.",
        "500",
    ),
    "PHTA_QUERY_BUDGETS": (
        "Per-purpose daily query budgets, `purpose=N` (or `purpose=unlimited`) separated by commas "
        "(`network_feasibility=300,project=2000`); `project` stands for every `project:<id>` purpose. "
        "A custodian's own quality checks are unlimited unless set here.",
        "custodian_quality=unlimited",
    ),
    "PHTA_LINKAGE_KEY": (
        "Regional linkage key (hex) for NHS-number pseudonyms; held by nodes, never by the hub.",
        "read from <PHTA_DATA_DIR>/keys/linkage.key (created 0600)",
    ),
}


class SettingsError(ValueError):
    """A setting's value is malformed; the message names the setting."""


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
    engine: str = DEFAULT_ENGINE
    node_engines: dict[str, str] = field(default_factory=dict)
    #: queries per user, purpose and UTC day (None: unlimited), and per-purpose overrides
    query_budget: int | None = DEFAULT_QUERY_BUDGET
    query_budgets: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_QUERY_BUDGETS))
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def stores_dir(self) -> Path:
        """Where the node stores (one directory per node) live."""
        return self.data_dir / "stores"

    def engine_for(self, *names: str | None) -> str:
        """The engine of the node known by any of ``names`` (node name, store directory name)."""
        for name in names:
            if name and name in self.node_engines:
                return self.node_engines[name]
        return self.engine

    def query_budget_for(self, purpose: str) -> int | None:
        """The daily budget of ``purpose`` (``project:<id>`` falls back to ``project``); None: unlimited."""
        for key in (purpose, "project" if purpose.startswith("project:") else None):
            if key is not None and key in self.query_budgets:
                return self.query_budgets[key]
        return self.query_budget

    def spark_parquet_uri_for(self, node: str) -> str | None:
        """Where the cluster reads this node's export (None: the store's own directory)."""
        return self.spark_parquet_uri.replace("{node}", node) if self.spark_parquet_uri else None


def _engine(value: str, setting: str) -> str:
    if value not in ENGINES:
        raise SettingsError(f"{setting}: unknown engine {value!r}; known: {', '.join(ENGINES)}")
    return value


def _node_engines(text: str) -> dict[str, str]:
    """``node=engine,node=engine`` -> {node: engine}; a malformed entry is an error, not ignored."""
    out: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        node, sep, engine = (part.strip() for part in entry.partition("="))
        if not sep or not node:
            raise SettingsError(f"PHTA_NODE_ENGINES: {entry!r} is not node=engine")
        out[node] = _engine(engine, f"PHTA_NODE_ENGINES ({node})")
    return out


def _budget(value: str, setting: str) -> int | None:
    value = value.strip()
    if value == "unlimited":
        return None
    if not value.isdigit():
        raise SettingsError(f"{setting}: expected a whole number of queries or 'unlimited', got {value!r}")
    return int(value)


def _query_budgets(text: str) -> dict[str, int | None]:
    """``purpose=N,purpose=unlimited`` over the built-in defaults; a malformed entry is an error."""
    out = dict(DEFAULT_QUERY_BUDGETS)
    for entry in filter(None, (e.strip() for e in text.split(","))):
        purpose, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or not purpose:
            raise SettingsError(f"PHTA_QUERY_BUDGETS: {entry!r} is not purpose=N")
        out[purpose] = _budget(value, f"PHTA_QUERY_BUDGETS ({purpose})")
    return out


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
        engine=_engine(env.get("PHTA_ENGINE") or DEFAULT_ENGINE, "PHTA_ENGINE"),
        node_engines=_node_engines(env.get("PHTA_NODE_ENGINES", "")),
        query_budget=_budget(env.get("PHTA_QUERY_BUDGET") or str(DEFAULT_QUERY_BUDGET), "PHTA_QUERY_BUDGET"),
        query_budgets=_query_budgets(env.get("PHTA_QUERY_BUDGETS", "")),
    )
