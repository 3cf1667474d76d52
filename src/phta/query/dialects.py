"""What differs between SQL dialects, as a small table of hooks.

The compiler builds SQLGlot trees and asks the dialect only for the few operations whose form
differs between engines (date arithmetic, date differences, building a date, type names).
A new engine (Spark, issue 6) adds one :class:`Dialect` entry; the compiler does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot.expressions as exp


class UnsupportedFeature(NotImplementedError):
    """The dialect cannot express a node kind; names both."""


@dataclass(frozen=True)
class Dialect:
    name: str  # the SQLGlot dialect used to render the tree
    add_days: Callable[[exp.Expression, exp.Expression], exp.Expression]
    days_between: Callable[[exp.Expression, exp.Expression], exp.Expression]
    make_date: Callable[[exp.Expression, exp.Expression, exp.Expression], exp.Expression]
    # series type -> SQL type name for casts; "key_sum" is the exact integer type of a sum of
    # cell keys (up to 2**32 per person, so wider than BIGINT for a large enough cohort)
    types: dict[str, str]


def _duckdb_add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    # DuckDB's DATE + INTEGER is a DATE (an INTERVAL would widen it to a TIMESTAMP).
    return exp.Add(this=exp.paren(date, copy=False), expression=exp.cast(days, "INTEGER"))


def _duckdb_days_between(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))


def _duckdb_make_date(y: exp.Expression, m: exp.Expression, d: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="make_date", expressions=[y, m, d])


def _spark_add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    # DATE_ADD(date, INT) is a DATE in Spark; it wants an INT, not a BIGINT, as the day count.
    return exp.DateAdd(this=date, expression=exp.cast(days, "INT"), unit=exp.var("DAY"))


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect(
        name="duckdb",
        add_days=_duckdb_add_days,
        days_between=_duckdb_days_between,
        make_date=_duckdb_make_date,
        types={"bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "str": "VARCHAR",
               "key_sum": "HUGEINT"},
    ),
    # Spark SQL (docs/spark.md): DateDiff(DAY) renders DATEDIFF(DAY, start, end) and MAKE_DATE
    # exists, so only date + days and the string type differ from DuckDB.
    "spark": Dialect(
        name="spark",
        add_days=_spark_add_days,
        days_between=_duckdb_days_between,
        make_date=_duckdb_make_date,
        types={"bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "str": "STRING",
               "key_sum": "DECIMAL(38, 0)"},  # Spark has no 128-bit integer; DECIMAL(38, 0) is exact
    ),
}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise UnsupportedFeature(f"no SQL dialect {name!r}; known: {sorted(DIALECTS)}") from None
