"""Restrict a compiled statement to persons outside a set, in its syntax tree.

This is the opt-out rewrite for queries that have no cohort universe to narrow (ATLAS / Circe
cohorts and their negative-control outcomes): every reference to a person-keyed table (each
OMOP CDM table with a ``person_id`` column, and the record-key table) is replaced by a subquery
over the same table without the excluded persons, under the same alias. Every criterion,
window, era and count of the statement then sees only the remaining persons, exactly as if they
had been deleted from the store. The ids travel as one bound list parameter (unnested, as
:mod:`phta.query.compiler` does for ``PersonIn``), never as spliced text.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import sqlglot.expressions as exp

from phta.cdm import schema
from phta.query.compiler import RECORD_KEY_TABLE, Statement

#: the bound parameter holding the excluded person ids (distinct from compiler names ``p<n>``)
PARAM = "excluded_person_ids"


@cache
def person_tables() -> frozenset[str]:
    """Tables whose rows belong to one person: every CDM table with ``person_id``, and record keys."""
    cdm = {name.lower() for version in schema.SUPPORTED_VERSIONS
           for name, table in schema.tables(version).items() if "person_id" in table.field_names}
    return frozenset(cdm | {RECORD_KEY_TABLE})


def _without_persons(table: exp.Table, dialect: str) -> exp.Subquery:
    if dialect == "duckdb":  # one list parameter, unnested (as the compiler's PersonIn on DuckDB)
        ids = exp.select(exp.Unnest(expressions=[exp.Placeholder(this=PARAM)])).subquery()
        excluded = exp.In(this=exp.column("person_id"), query=ids)
    else:  # an IN list the engine's binding spreads into one placeholder per id (phta.engines.params)
        excluded = exp.In(this=exp.column("person_id"), expressions=[exp.Placeholder(this=PARAM)])
    inner = exp.select(exp.Star()).from_(exp.table_(table.name)).where(exp.not_(excluded))
    return inner.subquery(alias=table.alias or table.name)


def exclude_persons(statement: Statement, person_ids: tuple[int, ...]) -> Statement:
    """``statement`` with every person-keyed table read without ``person_ids``."""
    if not person_ids:
        return statement
    tree = statement.tree.copy()
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = person_tables() - ctes

    def swap(node: exp.Expression) -> exp.Expression:
        # A qualified name (db.table) is not a CDM table of the store; leave it for the engine to refuse.
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name.lower() in tables:
            return _without_persons(node, statement.dialect)
        return node

    # transform() does not descend into a replacement, so the inner table is not wrapped again
    tree = tree.transform(swap)
    if PARAM in statement.params:
        raise ValueError(f"statement already binds {PARAM!r}: it was restricted twice")
    return replace(statement, tree=tree, params={**statement.params, PARAM: sorted(int(i) for i in person_ids)})
