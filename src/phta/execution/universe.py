"""The node's whole population for a query: how many persons it could count, and their cell key.

Query-set restriction (docs/disclosure-control.md) treats the node's whole population (its
persons less those the opt-out registers remove) as released: a population within the threshold
of it ("everyone except X", a complement tracker) is answered with the whole population's own
protected value, so "everyone" and "everyone but the target" read the same. Computed at the node
from the store, with the same opt-out restriction the query ran under; only a count and a key sum
come back, and they stay at the node (the ledger hook reads them, nothing publishes them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot.expressions as exp

from phta.cdm.record_keys import has_record_keys
from phta.engines import duckdb as duckdb_engine
from phta.query import ir
from phta.query.compiler import RECORD_KEY_TABLE, Statement
from phta.query.restrict import exclude_persons

KEY_RESOLUTION = 2**32


@dataclass(frozen=True)
class Universe:
    size: int
    cell_key: float | None  # None when the store has no record keys


def excluded_by_rewrite(cohort: ir.Cohort) -> tuple[int, ...]:
    """The person ids a governance rewrite excluded from a PHTA cohort's universe. A requested
    query may not name persons (``reject_record_level_predicates``), so every ``PersonIn`` left
    after the rewrite is the opt-out rewrite's own."""
    if cohort.universe is None:
        return ()
    return tuple(sorted({i for node in cohort.universe.walk() if isinstance(node, ir.PersonIn)
                         for i in node.person_ids}))


def node_universe(store, excluded: Iterable[int]) -> Universe:
    """Persons of ``store`` less ``excluded``, and the sum of their record keys (mod 1)."""
    keyed = has_record_keys(store)
    person = exp.table_("person", alias="p")
    key = exp.cast(exp.Mul(this=exp.column("record_key", "rk"), expression=exp.Literal.number(KEY_RESOLUTION)),
                   "BIGINT")
    key_sum = exp.cast(exp.Sum(this=exp.Coalesce(this=key, expressions=[exp.Literal.number(0)])), "HUGEINT")
    select = exp.select(exp.Count(this=exp.Star()), key_sum if keyed else exp.Literal.number(0)).from_(person)
    if keyed:
        select = select.join(exp.table_(RECORD_KEY_TABLE, alias="rk"), join_type="left",
                             on=exp.column("person_id", "rk").eq(exp.column("person_id", "p")))
    statement = exclude_persons(Statement(select, {}, "duckdb"), tuple(excluded))
    (rows,) = duckdb_engine.run(store.db_path, [(statement.sql(), statement.params)])
    size, total = rows.rows[0]
    return Universe(int(size), (int(total or 0) % KEY_RESOLUTION) / KEY_RESOLUTION if keyed else None)
