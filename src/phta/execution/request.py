"""What a caller asks of the execution path: the query, the purpose, the target and outputs."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from phta.cdm.store import Store
from phta.config import Settings
from phta.execution.node_engine import DUCKDB, NodeEngine, node_engine
from phta.query import ir, serial

OUTPUTS = ("count", "strata", "attrition", "membership")


@dataclass(frozen=True)
class Purpose:
    code: str
    description: str
    record_level_allowed: bool  # may record-level output (membership) be returned, locally


LOCAL_CUSTODIAN_QUALITY = Purpose("custodian_quality", "a custodian's checks of their own node's data", True)
FEASIBILITY = Purpose("network_feasibility", "network feasibility counts (aggregates only)", False)


class RequestError(ValueError):
    """The request is malformed (not the query: that raises ir.IRError)."""


@dataclass(frozen=True)
class ExecutionRequest:
    query: ir.Cohort
    purpose: Purpose
    store: Store
    node: str
    outputs: frozenset[str] = frozenset({"count", "strata", "attrition"})
    engine: NodeEngine = DUCKDB  # the engine this node runs on (phta.execution.node_engine)

    @classmethod
    def build(cls, query: ir.Node | str | dict, purpose: Purpose, store: Store | str | Path,
              outputs=("count", "strata", "attrition"), *, settings: Settings | None = None) -> ExecutionRequest:
        """The request; with ``settings``, on the engine they give this node (else DuckDB)."""
        node = serial.from_json(query) if isinstance(query, str | dict) else query
        if not isinstance(node, ir.Cohort):
            raise RequestError(f"expected a Cohort query, got {type(node).__name__}")
        unknown = set(outputs) - set(OUTPUTS)
        if unknown:
            raise RequestError(f"unknown outputs {sorted(unknown)}; known: {OUTPUTS}")
        store = store if isinstance(store, Store) else Store.open(store)
        name = store.info()["node_name"] or store.path.name
        engine = node_engine(settings, name, store) if settings is not None else DUCKDB
        return cls(node, purpose, store, name, frozenset(outputs), engine)


@dataclass(frozen=True)
class ExecutionContext:
    user: str
    roles: frozenset[str]
    node: str | None

    @classmethod
    def local_custodian(cls, store: Store | str | Path) -> ExecutionContext:
        """The person at this machine, as custodian of the store they point at."""
        store = store if isinstance(store, Store) else Store.open(store)
        return cls(getpass.getuser(), frozenset({"custodian"}), store.info()["node_name"] or store.path.name)
