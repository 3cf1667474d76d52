"""What differs between SQL dialects, as a small table of hooks.

The compiler builds SQLGlot trees and asks the dialect only for the few operations whose form
differs between engines (date arithmetic, date differences, building a date, type names).
A new engine (Spark, issue 6) adds one :class:`Dialect` entry; the compiler does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

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
    # the pseudo-column naming a table row, if the engine has one (lets a query re-read a row)
    row_id: str | None = None
    # the engine computes a CTE again for every reference to it (Spark inlines them): a cascade of
    # rule steps, each read by the next step and by its count, would recompute earlier rules
    inlines_ctes: bool = False
    # a person's latest value (IMD quintile) as MAX_BY(value, (date, value)) rather than a
    # correlated ORDER BY ... LIMIT 1, which Spark runs as a sort per person (1.7 s of a 2.4 s
    # strata query at 1M persons); the same row either way
    latest_by_aggregate: bool = False


@cache
def _data_type(name: str) -> exp.DataType:
    return exp.DataType.build(name)


def cast(expression: exp.Expression, type_name: str) -> exp.Expression:
    """``CAST(expression AS type_name)``, taking ``expression`` as it is (not copied) and the type
    from a cache: ``exp.cast`` would re-parse the type name and copy the operand on every call,
    which was a large share of compiling a cohort (issue 6: compile time is part of every query)."""
    return exp.cast(expression, _data_type(type_name).copy(), copy=False)


def _duckdb_add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    # DuckDB's DATE + INTEGER is a DATE (an INTERVAL would widen it to a TIMESTAMP).
    return exp.Add(this=exp.paren(date, copy=False), expression=cast(days, "INTEGER"))


def _duckdb_days_between(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))


def _duckdb_make_date(y: exp.Expression, m: exp.Expression, d: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="make_date", expressions=[y, m, d])


def _spark_add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    # DATE_ADD(date, INT) is a DATE in Spark; it wants an INT, not a BIGINT, as the day count.
    return exp.DateAdd(this=date, expression=cast(days, "INT"), unit=exp.var("DAY"))


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect(
        name="duckdb",
        add_days=_duckdb_add_days,
        days_between=_duckdb_days_between,
        make_date=_duckdb_make_date,
        types={"bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "str": "VARCHAR",
               "key_sum": "HUGEINT"},
        row_id="rowid",
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
        inlines_ctes=True,
        latest_by_aggregate=True,
    ),
}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise UnsupportedFeature(f"no SQL dialect {name!r}; known: {sorted(DIALECTS)}") from None
