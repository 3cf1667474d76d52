"""Rewrite the one SQL shape Spark cannot run: a subquery correlated two or more levels up.

Spark resolves an outer column only from the query directly around a subquery. A cohort
compiler naturally nests correlated subqueries (events within N days of the person's *first*
event: the inner MIN(...) refers to the person row two levels up), which Spark refuses with
UNRESOLVED_COLUMN. For those trees only, two rewrites, each exact:

1. **Pull the correlation one level in.** When a query's WHERE has a top-level conjunct
   ``e1.person_id = p.person_id`` (``e1`` its own table, ``p`` an outer one), every row it keeps
   has those two equal, so a subquery nested *inside* it may read ``e1.person_id`` where it read
   ``p.person_id``: the reference is then one level up, which Spark resolves. A row the conjunct
   rejects is rejected whatever the subquery returns (FALSE AND anything is FALSE). This is the
   cohort compiler's shape (events dated relative to the first date of *other* events, both
   correlated on the person) and leaves the plan's shape as compiled.
2. Anything still correlated two levels up: SQLGlot's own optimizer rules qualify every column
   and turn correlated subqueries into joins on the correlation keys.

Other trees are left exactly as compiled. Results stay identical (the spec and differential
tests run the rewritten trees on Spark against the reference engine).

One more rewrite, for speed, on every tree (:func:`keep_person_in_domain`): Spark decorrelates a
subquery correlated both on ``e.person_id = b.person_id`` and on a range of an outer date (events
within a year of the index date) by joining the inner table to the distinct values of the
*non-equality* outer columns alone (the index dates), with no key: a nested-loop join of every
distinct index date with every matching event (asthma with two steroid courses in a year: 12 s at
1M persons). Written ``e.person_id + 0 = b.person_id`` (the inner side an expression, which
Spark does not pull up as a plain equality) the person is part of that domain, and the join is a
hash join on person (0.8 s). ``x + 0`` is ``x`` for an integer id, and missing if it is.
"""

from __future__ import annotations

import itertools

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


def _local_aliases(select: exp.Select) -> set[str]:
    sources = [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or [])]
    return {
        table.alias_or_name
        for source in sources
        if source is not None
        for table in [source.this]
        if isinstance(table, exp.Table | exp.Subquery)
    }


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    """The top-level AND terms of ``condition``, through any parentheses."""
    condition = condition.unnest()
    if isinstance(condition, exp.And):
        return [*_conjuncts(condition.this), *_conjuncts(condition.expression)]
    return [condition]


def _correlation_keys(select: exp.Select) -> dict[tuple[str, str], exp.Column]:
    """``{(outer alias, column): local column}`` from the WHERE's top-level ``local = outer``."""
    where = select.args.get("where")
    if where is None:
        return {}
    local = _local_aliases(select)
    keys: dict[tuple[str, str], exp.Column] = {}
    for conjunct in _conjuncts(where.this):
        if not isinstance(conjunct, exp.EQ):
            continue
        left, right = conjunct.this, conjunct.expression
        if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
            continue
        for mine, theirs in ((left, right), (right, left)):
            if mine.table in local and theirs.table and theirs.table not in local:
                keys[(theirs.table, theirs.name)] = mine
    return keys


def _one_row_per_person(tree: exp.Expression) -> set[str]:
    """Names of the sources with one row per person_id: the ``person`` table and any CTE that
    selects from ``person`` alone (no join, no grouping), such as the compiler's ``base``."""
    names = {"person"}
    for cte in tree.find_all(exp.CTE):
        body = cte.this
        source = body.args.get("from_") or body.args.get("from")
        if (isinstance(body, exp.Select) and source is not None and isinstance(source.this, exp.Table)
                and source.this.name == "person" and not body.args.get("joins") and not body.args.get("group")):
            names.add(cte.alias)
    return names


def _person_aliases(tree: exp.Expression) -> dict[str, str]:
    """``{alias: source}`` for aliases that name only a one-row-per-person source."""
    per_person = _one_row_per_person(tree)
    tables: dict[str, set[str]] = {}
    for table in tree.find_all(exp.Table):
        tables.setdefault(table.alias_or_name, set()).add(table.name)
    return {alias: next(iter(names)) for alias, names in tables.items()
            if len(names) == 1 and names <= per_person}


def pull_correlation_in(tree: exp.Expression) -> exp.Expression:
    """Rewrite 1 (see the module text): a copy of ``tree``; outermost queries first, so a chain of
    nested subqueries moves its references in one level per step.

    A nested reference to another column of an outer ``person`` row correlated on person_id
    (``p.year_of_birth``) is read from the person joined in on the local key instead: person_id
    is the person table's primary key, so the join matches exactly the outer row. The same holds
    for a CTE selecting from ``person`` alone (the compiler's ``base``: ``b.year_of_birth``)."""
    tree = tree.copy()
    persons = _person_aliases(tree)
    same_person: dict[str, tuple[str, str]] = {}  # joined person alias -> the key column it equals
    counter = itertools.count()
    for select in list(tree.find_all(exp.Select)):
        keys = _correlation_keys(select)
        if not keys:
            continue
        joined: dict[str, str] = {}
        for nested in list(select.find_all(exp.Select)):
            if nested is select or _local_aliases(nested) & {alias for alias, _ in keys}:
                continue  # the same alias defined again inside would mean another table
            if not _inside_where(nested, select):
                continue
            for column in list(nested.find_all(exp.Column)):
                local = keys.get((column.table, column.name))
                if local is not None:
                    column.replace(local.copy())
                    continue
                person_key = keys.get((column.table, "person_id")) or keys.get(same_person.get(column.table, ("", "")))
                if column.table in persons and person_key is not None and column.table not in _local_aliases(nested):
                    alias = joined.get(column.table)
                    if alias is None:
                        alias = joined[column.table] = f"{column.table.split('__in')[0]}__in{next(counter)}"
                        select.join(exp.table_(persons[column.table], alias=alias),
                                    on=exp.column("person_id", alias).eq(person_key.copy()), copy=False)
                        # Deeper queries correlated on this query's key reach the joined person too.
                        persons[alias] = persons[column.table]
                        same_person[alias] = (person_key.table, person_key.name)
                    column.set("table", exp.to_identifier(alias))
    return tree


def _inside_where(nested: exp.Expression, select: exp.Select) -> bool:
    """Whether ``nested`` sits in ``select``'s WHERE (or its SELECT list, whose rows the WHERE
    filters), not in its FROM or JOINs, where the WHERE's conjunct does not yet hold."""
    node = nested
    while node.parent is not None and node.parent is not select:
        node = node.parent
    return node.arg_key in ("where", "expressions")


def _table_aliases(tree: exp.Expression) -> exp.Expression:
    """``tree`` with every subquery alias given as a bare string (``exp.Subquery(alias="s")``,
    which renders fine but which SQLGlot's scope analysis cannot read) made a proper table alias,
    so that deep correlation inside such a subquery is found too. Same SQL text."""
    bare = [s for s in tree.find_all(exp.Subquery) if isinstance(s.args.get("alias"), str)]
    if not bare:
        return tree
    tree = tree.copy()
    for subquery in tree.find_all(exp.Subquery):
        if isinstance(subquery.args.get("alias"), str):
            subquery.set("alias", exp.TableAlias(this=exp.to_identifier(subquery.args["alias"])))
    return tree


def decorrelate_for_spark(tree: exp.Expression) -> exp.Expression:
    """``tree`` itself if Spark can run it, else an equivalent tree without deep correlation."""
    tree = _table_aliases(tree)
    if not has_deep_correlation(tree):
        return tree
    tree = pull_correlation_in(tree)
    if not has_deep_correlation(tree):
        return tree
    qualified = qualify(
        tree.copy(), schema=_schema(), dialect="spark", validate_qualify_columns=False
    )
    return unnest_subqueries(qualified)


def keep_person_in_domain(tree: exp.Expression) -> exp.Expression:
    """A copy of ``tree`` with the inner side of a subquery's ``local.person_id = outer.person_id``
    written ``local.person_id + 0`` wherever the same subquery's WHERE also reads other columns of
    an outer row (see the module text)."""
    tree = tree.copy()
    for select in list(tree.find_all(exp.Select)):
        where = select.args.get("where")
        if where is None or select.parent is None:
            continue
        local = _local_aliases(select)
        conjuncts = _conjuncts(where.this)
        keys = [c for c in conjuncts if _person_key(c, local)]
        reads_outer = any(col.table and col.table not in local
                          for c in conjuncts if not _person_key(c, local) for col in c.find_all(exp.Column))
        if not (keys and reads_outer):
            continue
        for key in keys:
            inner = key.this if key.this.table in local else key.expression
            inner.replace(exp.paren(exp.Add(this=inner.copy(), expression=exp.Literal.number(0)), copy=False))
    return tree


def _person_key(conjunct: exp.Expression, local: set[str]) -> bool:
    """``local.person_id = outer.person_id`` (either way round)."""
    if not isinstance(conjunct, exp.EQ):
        return False
    sides = (conjunct.this, conjunct.expression)
    if not all(isinstance(side, exp.Column) and side.name == "person_id" and side.table for side in sides):
        return False
    return (sides[0].table in local) != (sides[1].table in local)
