"""Rewrite the one SQL shape Spark cannot run: a subquery correlated two or more levels up.

Spark resolves an outer column only from the query directly around a subquery. A cohort
compiler naturally nests correlated subqueries (events within N days of the person's *first*
event: the inner MIN(...) refers to the person row two levels up), which Spark refuses with
UNRESOLVED_COLUMN. For those trees only, SQLGlot's own optimizer rules qualify every column and
turn correlated subqueries into joins on the correlation keys; other trees are left exactly as
compiled. Results stay identical (the spec tests run the rewritten trees against DuckDB's).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.optimizer.unnest_subqueries import unnest_subqueries

from phta.engines.spark_views import known_tables


def has_deep_correlation(tree: exp.Expression) -> bool:
    """Whether a subquery refers to a table alias that its immediate outer query does not define."""
    try:
        scopes = traverse_scope(tree)
    except Exception:
        # SQLGlot cannot analyse this tree's scopes (e.g. an alias built as a bare string);
        # it goes to Spark unchanged, and Spark names any column it cannot resolve.
        return False
    for scope in scopes:
        parent = scope.parent
        if parent is None or not scope.external_columns:
            continue
        for column in scope.external_columns:
            if column.table and column.table not in parent.sources:
                return True
    return False


def _schema() -> dict[str, dict[str, str]]:
    return {table: dict(columns) for table, columns in known_tables().items()}


def decorrelate_for_spark(tree: exp.Expression) -> exp.Expression:
    """``tree`` itself if Spark can run it, else an equivalent tree without deep correlation."""
    if not has_deep_correlation(tree):
        return tree
    qualified = qualify(
        tree.copy(), schema=_schema(), dialect="spark", validate_qualify_columns=False
    )
    return unnest_subqueries(qualified)
