"""The DuckDB engine: runs compiled statements against a store, read-only.

No policy lives here: :mod:`phta.execution` decides whether a statement may run and what of its
result may leave. The engine only opens the store read-only, binds parameters and fetches rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from phta.engines.errors import EngineError

__all__ = ["EngineError", "Rows", "run"]


@dataclass(frozen=True)
class Rows:
    columns: tuple[str, ...]
    rows: list[tuple]


def run(db_path: Path, statements: Iterable[tuple[str, dict]]) -> list[Rows]:
    """Run each (sql, params) on one read-only connection and return their rows, in order."""
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as e:
        raise EngineError(f"cannot open {db_path} read-only: {type(e).__name__}") from None
    try:
        out = []
        for sql, params in statements:
            cur = con.execute(sql, params)
            out.append(Rows(tuple(d[0] for d in cur.description), cur.fetchall()))
        return out
    except duckdb.Error as e:
        # A DuckDB message can quote a data value (e.g. a failed conversion), so only its kind
        # leaves the engine: no record-level data in exceptions.
        raise EngineError(f"DuckDB could not run the query ({type(e).__name__})") from None
    finally:
        con.close()
