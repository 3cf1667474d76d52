"""Cell-key statements for Circe cohorts: the persons' record keys summed per published cell.

Built from the compiled statements' syntax trees (so the Circe compiler stays one pipeline):
the cohort's persons (one key sum) and the by-person inclusion masks (a key sum per mask, next
to the count). Keys are summed as 32-bit integers, as :mod:`phta.query.compiler` does for PHTA
cohorts; the caller takes the sum modulo 2**32. A person without a record key adds 0.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot.expressions as exp

from phta.query.compiler import RECORD_KEY_TABLE, Statement
from phta.query.dialects import cast, get_dialect

_KEY_RESOLUTION = 2**32


def _key_sum(alias: str, dialect: str) -> exp.Expression:
    key = cast(exp.Mul(this=exp.column("record_key", alias), expression=exp.Literal.number(_KEY_RESOLUTION)),
               "BIGINT")
    # the dialect's exact type for a sum of keys (HUGEINT on DuckDB, DECIMAL(38, 0) on Spark)
    return exp.alias_(cast(exp.Sum(this=exp.Coalesce(this=key, expressions=[exp.Literal.number(0)])),
                           get_dialect(dialect).types["key_sum"]), "key_sum")


def _join_keys(select: exp.Select, person_id: exp.Column) -> exp.Select:
    return select.join(exp.table_(RECORD_KEY_TABLE, alias="rk"), join_type="left",
                       on=exp.column("person_id", "rk").eq(person_id))


def person_key_sum(cohort: Statement) -> Statement:
    """One row (key_sum): the key sum of the distinct persons of the cohort statement's rows."""
    persons = exp.select("person_id").distinct().from_(cohort.tree.copy().subquery("cohort_rows_out"))
    tree = _join_keys(exp.select(_key_sum("rk", cohort.dialect)).from_(persons.subquery("m")), exp.column("person_id", "m"))
    return replace(cohort, tree=tree)


def mask_key_sums(masks: Statement) -> Statement:
    """Rows (inclusion_rule_mask, n, key_sum): the masks statement with each mask's key sum.

    The masks statement counts one row per (person, event) of its FROM subquery, grouped by mask;
    the key sum joins that subquery's person_id to the record keys."""
    tree = masks.tree.copy()
    source = tree.args.get("from") or tree.args.get("from_")
    alias = source.this.alias_or_name if source is not None else ""
    if not alias:
        raise ValueError("the masks statement no longer reads an aliased subquery; update cell_keys.py")
    tree = _join_keys(tree.select(_key_sum("rk", masks.dialect), copy=False), exp.column("person_id", alias))
    return replace(masks, tree=tree)
