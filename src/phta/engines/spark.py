"""The Spark engine: runs compiled SQLGlot trees over a store's Parquet export.

Used by ``phta.execution`` for nodes whose data outgrow one machine; DuckDB stays the default.
A query arrives as a SQLGlot tree with placeholders and a separate set of values; the tree is
rendered with SQLGlot's ``spark`` dialect and the values are bound by Spark itself
(``spark.sql(text, args=...)``), so no value ever becomes SQL text.

Rows come back as plain tuples holding the Python types DuckDB's driver returns for the same
columns: ``int``, ``float``, ``Decimal``, ``str``, ``bool``, ``datetime.date``, naive
``datetime.datetime`` (OMOP timestamps carry no zone), lists and ``None``.

Errors are re-raised as ``SparkQueryError`` carrying Spark's error condition and SQLSTATE; the
text of a Spark runtime error can quote data values (a failed cast names the value), so it is
kept out of the exception (security property 3).
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from phta.cdm.store import Store
from phta.engines import spark_session, spark_views
from phta.engines.errors import EngineError
from phta.engines.params import bind
from phta.engines.spark_decorrelate import decorrelate_for_spark, keep_person_in_domain

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DIALECT = "spark"


class SparkQueryError(EngineError):
    """Spark refused or failed a query. Carries Spark's error condition, never data values."""

    def __init__(self, message: str, condition: str | None = None, sqlstate: str | None = None):
        super().__init__(message)
        self.condition = condition
        self.sqlstate = sqlstate


class SparkEngine:
    """One store's Parquet export, queried through the process's Spark session.

    ``parquet_location`` is a local directory or any URI the Spark cluster can read
    (``hdfs://nn/phta/node-a/parquet``, ``s3a://bucket/node-a/parquet``).
    """

    def __init__(self, parquet_location: str, master: str | None = None) -> None:
        self.parquet_location = str(parquet_location)
        # A child session: shares the JVM and executors, keeps this store's views to itself.
        self.session: SparkSession = spark_session.get_session(master).newSession()
        self.sources = spark_views.register_views(self.session, self.parquet_location)
        self._empty_pending = {
            n for n, source in self.sources.items() if source == spark_views.EMPTY
        }
        self._lock = threading.Lock()

    @classmethod
    def for_store(
        cls, store: Store, master: str | None = None, parquet_uri: str | None = None
    ) -> SparkEngine:
        """The engine for a store: its export at ``parquet_uri`` (``PHTA_SPARK_PARQUET_URI``)
        if the cluster reads it elsewhere, else the store's own ``parquet/`` directory."""
        return cls(parquet_uri or str(store.parquet_dir), master=master)

    def render(
        self, query: exp.Expression, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The Spark SQL text (with ``:name`` placeholders) and the values to bind."""
        bound = bind(query, params)
        tree = _parenthesise_predicates(keep_person_in_domain(decorrelate_for_spark(bound.tree)))
        return tree.sql(dialect=DIALECT), bound.values

    def execute(
        self, query: exp.Expression, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> list[tuple]:
        """Run ``query`` with ``params`` bound; every row as a tuple of Python values."""
        return self.execute_with_columns(query, params)[1]

    def execute_with_columns(
        self, query: exp.Expression, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> tuple[list[str], list[tuple]]:
        sql, values = self.render(query, params)
        from pyspark.errors import PySparkException

        try:
            self._create_empty_views_named_in(query)
            frame = self.session.sql(sql, args=values or None)
            frame, zoned = _zone_free(frame)
            rows = _collect(frame)
        except PySparkException as exc:
            raise _query_error(exc) from None
        result = []
        for row in rows:
            values_out = [_python(value) for value in row]
            for index in zoned:
                if values_out[index] is not None:
                    values_out[index] = values_out[index].replace(tzinfo=dt.UTC)
            result.append(tuple(values_out))
        return list(frame.columns), result

    def _create_empty_views_named_in(self, query: exp.Expression) -> None:
        named = {table.name.lower() for table in query.find_all(exp.Table)}
        with self._lock:
            wanted = named & self._empty_pending
            if wanted:
                spark_views.create_empty_views(self.session, wanted)
                self._empty_pending -= wanted


# Predicates Spark's grammar reads differently when they are bare operands of a comparison.
_PREDICATES = (exp.Exists, exp.In, exp.Between, exp.Is)


def _parenthesise_predicates(tree: exp.Expression) -> exp.Expression:
    """``x = (EXISTS(...))``, ``FALSE = (person_id IN (...))``: Spark's parser reads ``EXISTS``
    only as a predicate of its own (``x = EXISTS(SELECT 1 ...)`` is a syntax error there) and
    binds ``=`` tighter than ``IN`` (``FALSE = person_id IN (1)`` is ``(FALSE = person_id) IN
    (1)``), so such a predicate inside a comparison gets parentheses. Same value; other trees are
    returned as they are."""

    def compared(node: exp.Expression) -> bool:  # AND / OR take predicates as they are
        return isinstance(node.parent, exp.Binary) and not isinstance(node.parent, exp.Connector)

    if not any(compared(e) for e in tree.find_all(*_PREDICATES)):
        return tree
    tree = tree.copy()
    for node in [e for e in tree.find_all(*_PREDICATES) if compared(e)]:
        node.replace(exp.paren(node.copy(), copy=False))
    return tree


def _collect(frame) -> list:
    # PySpark reads results over a loopback socket that it leaves for the garbage collector to
    # close ("closed when garbage-collected", pyspark.util), which Python reports as an unclosed
    # socket. The socket is ours and loopback-only; drop it here, inside the call, silently.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        rows = frame.collect()
        gc.collect(0)
    return rows


def _zone_free(frame) -> tuple[Any, list[int]]:
    """Zoned timestamps (TIMESTAMP_LTZ) cast to UTC wall-clock NTZ, and their column indexes:
    PySpark would otherwise shift them into the Python process's local time zone on collect.
    The caller marks them UTC, as DuckDB returns zone-aware values for TIMESTAMPTZ."""
    from pyspark.sql.types import TimestampType

    fields = frame.schema.fields
    zoned = [i for i, f in enumerate(fields) if isinstance(f.dataType, TimestampType)]
    if zoned:
        # The session time zone is UTC, so the cast yields UTC wall-clock time.
        frame = frame.select(
            *[
                frame[i].cast("timestamp_ntz").alias(f.name) if i in zoned else frame[i]
                for i, f in enumerate(fields)
            ]
        )
    return frame, zoned


def _python(value: Any) -> Any:
    from pyspark.sql import Row

    if isinstance(value, Row):
        return tuple(_python(v) for v in value)
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, dict):
        return {_python(k): _python(v) for k, v in value.items()}
    return value


def _query_error(exc: Exception) -> SparkQueryError:
    condition = _call(exc, "getCondition") or _call(exc, "getErrorClass")
    sqlstate = _call(exc, "getSqlState")
    from pyspark.errors import AnalysisException

    if isinstance(exc, AnalysisException):
        # Analysis runs before any data is read: its message is about the query (an unknown
        # column or table, a type mismatch), so it is safe and useful to keep.
        # The first non-empty line: some conditions start their message with a newline.
        detail = next((line for line in str(exc).splitlines() if line.strip()), "")[:500]
        return SparkQueryError(f"Spark could not compile the query: {detail}", condition, sqlstate)
    return SparkQueryError(
        f"Spark failed while running the query: {condition or type(exc).__name__}"
        f"{f' (SQLSTATE {sqlstate})' if sqlstate else ''}",
        condition,
        sqlstate,
    )


def _call(exc: Exception, method: str) -> str | None:
    getter = getattr(exc, method, None)
    try:
        return getter() if getter else None
    except Exception:
        return None


__all__ = ["DIALECT", "SparkEngine", "SparkQueryError"]
