"""The one error every engine raises when it cannot run a statement.

The execution path (and the network around it) treats a DuckDB failure, a Spark failure and a
missing or stale Parquet export alike: the node could not run the query. Messages never carry
row values (security property 3).
"""

from __future__ import annotations


class EngineError(RuntimeError):
    """The engine could not run a statement. The message never carries row values."""
