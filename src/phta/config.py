"""Deployment settings, read from the environment with embedded defaults.

Every setting has a default that works on a fresh machine (``make demo``); production overrides
them with environment variables. Documented in docs/configuration.md (a test checks every
setting listed here is documented there).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from phta.node_names import node_key

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SPARK_MASTER = "local[2]"
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
MB = 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 2 * MB  # a cohort definition or a form is kilobytes
DEFAULT_MAX_UPLOAD_BYTES = 64 * MB  # the airlock's files (each type has its own smaller limit)
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
    "PHTA_UNSAFE_DSL_WITHOUT_SANDBOX": (
        "Development only: `1` runs DSL query files even where the operating-system sandbox "
        "(bubblewrap, user namespaces, seccomp) is unavailable, with only the in-process audit hook "
        "and resource limits, and logs a warning each time. Never set it beside patient data.",
        "unset (DSL files are refused where the sandbox is unavailable)",
    ),
    "PHTA_TRUSTED_PROXIES": (
        "Addresses or networks (CIDR) of the reverse proxies in front of the web app, separated by "
        "commas. `X-Forwarded-For`, `Forwarded` and `X-Real-IP` are believed only on connections "
        "from these; from anyone else they are ignored (throttling and the audit chain use the "
        "connection's address).",
        "none",
    ),
    "PHTA_AUDIT_CHECKPOINT_MAX_LAG": (
        "Seconds the newest signed audit checkpoint may lag the audit chain's head before "
        "`phta audit verify` fails (entries no checkpoint covers: checkpoints trimmed or deleted).",
        "300",
    ),
    "PHTA_AUDIT_ANCHOR_URL": (
        "URL that `phta audit anchor --post` sends the newest signed checkpoint to (JSON, POST), "
        "to keep a copy outside the data directory.",
        "none",
    ),
    "PHTA_MAX_REQUEST_BYTES": (
        "Largest request body the web app reads (JSON, forms); larger ones get 413 before they are "
        "read. JSON bodies are also refused (400) when nested more than 100 levels deep.",
        str(DEFAULT_MAX_REQUEST_BYTES),
    ),
    "PHTA_MAX_UPLOAD_BYTES": (
        "Largest file-upload request (`multipart/form-data`, e.g. outputs for the airlock); larger "
        "ones get 413.",
        str(DEFAULT_MAX_UPLOAD_BYTES),
    ),
    "PHTA_API_DOCS": (
        "`true` serves the interactive API docs at `/docs` (Swagger UI from the package's own "
        "files, nothing from another site); `false` turns them off (production). `/openapi.json` "
        "is always served.",
        "true",
    ),
    "PHTA_SECURE_COOKIES": (
        "`true` marks the session and CSRF cookies `Secure` on every response (set it when TLS "
        "ends at a proxy); `false` marks them `Secure` only when the request's scheme is https "
        "(which `X-Forwarded-Proto` sets when it comes from a proxy in `PHTA_TRUSTED_PROXIES`).",
        "false",
    ),
    "PHTA_AIRLOCK_ESCALATION_DAYS": (
        "Working days (England and Wales) an airlock request whose two output checkers disagreed "
        "waits for a third checker before it escalates to the output-checking lead.",
        str(5),
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
    #: reverse proxies whose forwarded-address headers are believed (PHTA_TRUSTED_PROXIES)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    #: seconds the newest audit checkpoint may lag the chain's head (PHTA_AUDIT_CHECKPOINT_MAX_LAG)
    audit_checkpoint_max_lag: int = 300
    #: where ``phta audit anchor --post`` sends the newest checkpoint (PHTA_AUDIT_ANCHOR_URL)
    audit_anchor_url: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    api_docs: bool = True
    secure_cookies: bool = False
    #: working days a checkers' disagreement waits for a third checker before the lead decides
    airlock_escalation_days: int = 5
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
        # keys normalised here too: settings built in code (not by load_settings) may spell them as given
        engines = {node_key(k): v for k, v in self.node_engines.items()}
        for name in names:
            if name and node_key(name) in engines:
                return engines[node_key(name)]
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
        out[node_key(node)] = _engine(engine, f"PHTA_NODE_ENGINES ({node})")
    return out


def _networks(text: str, setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        try:
            out.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise SettingsError(f"{setting}: {entry!r} is not an IP address or network") from None
    return tuple(out)


def _seconds(value: str, setting: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        raise SettingsError(f"{setting}: {value!r} is not a whole number of seconds") from None
    if seconds < 0:
        raise SettingsError(f"{setting}: {value!r} must not be negative")
    return seconds


def _bytes(env: dict[str, str], setting: str, default: int) -> int:
    text = env.get(setting, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1024:
        raise SettingsError(f"{setting}: {text!r} is not a number of bytes (at least 1024)")
    return int(text)


def _flag(env: dict[str, str], setting: str, default: bool) -> bool:
    text = env.get(setting, "").strip().lower()
    if not text:
        return default
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise SettingsError(f"{setting}: {text!r} is not true or false")
    return text in ("true", "1", "yes")


def _whole_days(value: str, setting: str) -> int:
    try:
        days = int(value.strip())
    except ValueError:
        days = -1
    if days < 1:
        raise SettingsError(f"{setting}: {value!r} is not a whole number of working days (1 or more)")
    return days


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
        trusted_proxies=_networks(env.get("PHTA_TRUSTED_PROXIES", ""), "PHTA_TRUSTED_PROXIES"),
        audit_checkpoint_max_lag=_seconds(
            env.get("PHTA_AUDIT_CHECKPOINT_MAX_LAG") or "300", "PHTA_AUDIT_CHECKPOINT_MAX_LAG"
        ),
        audit_anchor_url=env.get("PHTA_AUDIT_ANCHOR_URL") or None,
        max_request_bytes=_bytes(env, "PHTA_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
        max_upload_bytes=_bytes(env, "PHTA_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
        api_docs=_flag(env, "PHTA_API_DOCS", True),
        secure_cookies=_flag(env, "PHTA_SECURE_COOKIES", False),
        airlock_escalation_days=_whole_days(env.get("PHTA_AIRLOCK_ESCALATION_DAYS", "5"),
                                            "PHTA_AIRLOCK_ESCALATION_DAYS"),
        query_budget=_budget(env.get("PHTA_QUERY_BUDGET") or str(DEFAULT_QUERY_BUDGET), "PHTA_QUERY_BUDGET"),
        query_budgets=_query_budgets(env.get("PHTA_QUERY_BUDGETS", "")),
    )
