"""Small constructors of SQLGlot nodes for the Circe compiler.

The Circe compiler builds its statements as SQLGlot trees node by node (no SQL text is parsed):
these helpers make the few shapes it needs (columns, aliased subqueries, SELECTs, joins, unions,
row numbers, CASEs) without SQLGlot's builder methods, which parse strings and copy their
operands on every call. A node has one parent, so every helper returns new nodes; a part used
twice is built twice (or copied).

Orderings carry DuckDB's null order explicitly (nulls last), so a tree rendered for another
dialect sorts as it does on DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlglot.expressions as exp


def ident(name: str) -> exp.Identifier:
    return exp.Identifier(this=name, quoted=False)


def col(name: str, table: str | None = None) -> exp.Column:
    if table is None:
        return exp.Column(this=ident(name))
    return exp.Column(this=ident(name), table=ident(table))


def star(table: str | None = None) -> exp.Expression:
    return exp.Star() if table is None else exp.Column(this=exp.Star(), table=ident(table))


def num(value: int | float) -> exp.Literal:
    return exp.Literal.number(value)


def alias(expression: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=expression, alias=ident(name))


def table(name: str, as_: str | None = None) -> exp.Table:
    if as_ is None:
        return exp.Table(this=ident(name))
    return exp.Table(this=ident(name), alias=exp.TableAlias(this=ident(as_)))


def sub(query: exp.Expression, as_: str) -> exp.Subquery:
    """``(query) AS as_``: a query read as a table."""
    return exp.Subquery(this=query, alias=exp.TableAlias(this=ident(as_)))


def paren(expression: exp.Expression) -> exp.Paren:
    return exp.Paren(this=expression)


def and_(conditions: Iterable[exp.Expression | None]) -> exp.Expression | None:
    """The conjunction of the conditions given (None when there are none)."""
    out = None
    for c in conditions:
        if c is None:
            continue
        out = c if out is None else exp.And(this=out, expression=c)
    return out


def or_(conditions: Sequence[exp.Expression]) -> exp.Expression:
    out = conditions[0]
    for c in conditions[1:]:
        out = exp.Or(this=out, expression=c)
    return paren(out)


def eq(a: exp.Expression, b: exp.Expression) -> exp.EQ:
    return exp.EQ(this=a, expression=b)


def cmp(op: str, a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """``a op b`` for ``op`` one of ``< <= = <> > >=``."""
    return _COMPARISONS[op](this=a, expression=b)


_COMPARISONS = {"<": exp.LT, "<=": exp.LTE, "=": exp.EQ, "<>": exp.NEQ, ">": exp.GT, ">=": exp.GTE}


def not_(expression: exp.Expression) -> exp.Not:
    return exp.Not(this=expression)


def is_null(expression: exp.Expression, negate: bool = False) -> exp.Expression:
    test = exp.Is(this=expression, expression=exp.Null())
    return exp.Not(this=test) if negate else test


def in_query(expression: exp.Expression, query: exp.Expression, negate: bool = False) -> exp.Expression:
    test = exp.In(this=expression, query=exp.Subquery(this=query))
    return exp.Not(this=test) if negate else test


def in_list(expression: exp.Expression, values: list[exp.Expression], negate: bool = False) -> exp.Expression:
    test = exp.In(this=expression, expressions=values)
    return exp.Not(this=test) if negate else test


def select(columns: Iterable[exp.Expression], source: exp.Expression | None = None, *,
           joins: Iterable[exp.Join] = (), where: exp.Expression | None = None,
           group: Sequence[exp.Expression] = (), having: exp.Expression | None = None,
           order: Sequence[exp.Ordered] = (), distinct: bool = False) -> exp.Select:
    s = exp.Select(expressions=list(columns))
    if source is not None:
        s.set("from_", exp.From(this=source))
    joins = list(joins)
    if joins:
        s.set("joins", joins)
    if where is not None:
        s.set("where", exp.Where(this=where))
    if group:
        s.set("group", exp.Group(expressions=list(group)))
    if having is not None:
        s.set("having", exp.Having(this=having))
    if order:
        s.set("order", exp.Order(expressions=list(order)))
    if distinct:
        s.set("distinct", exp.Distinct())
    return s


def join(source: exp.Expression, on: exp.Expression | None, side: str | None = None) -> exp.Join:
    """``[side] JOIN source ON on`` (side: ``"LEFT"`` or None for an inner join)."""
    j = exp.Join(this=source, on=on)
    if side:
        j.set("side", side)
    return j


def union_all(queries: Sequence[exp.Expression]) -> exp.Expression:
    out = queries[0]
    for q in queries[1:]:
        out = exp.Union(this=out, expression=q, distinct=False)
    return out


def union(queries: Sequence[exp.Expression]) -> exp.Expression:
    out = queries[0]
    for q in queries[1:]:
        out = exp.Union(this=out, expression=q, distinct=True)
    return out


def ordered(expression: exp.Expression, desc: bool = False) -> exp.Ordered:
    return exp.Ordered(this=expression, desc=desc, nulls_first=False)


def window(function: exp.Expression, partition: Sequence[exp.Expression], order: Sequence[exp.Ordered] = (),
           spec: exp.WindowSpec | None = None) -> exp.Window:
    w = exp.Window(this=function, partition_by=list(partition), over="OVER")
    if order:
        w.set("order", exp.Order(expressions=list(order)))
    if spec is not None:
        w.set("spec", spec)
    return w


def row_number(partition: Sequence[exp.Expression], order: Sequence[exp.Ordered]) -> exp.Window:
    return window(exp.RowNumber(), partition, order)


def case(whens: Sequence[tuple[exp.Expression, exp.Expression]], default: exp.Expression | None = None) -> exp.Case:
    c = exp.Case(ifs=[exp.If(this=cond, true=value) for cond, value in whens])
    if default is not None:
        c.set("default", default)
    return c


def count(expression: exp.Expression, distinct: bool = False) -> exp.Count:
    if distinct:
        return exp.Count(this=exp.Distinct(expressions=[expression]))
    return exp.Count(this=expression)


def with_ctes(query: exp.Select, ctes: Sequence[tuple[str, exp.Expression]]) -> exp.Select:
    query.set("with_", exp.With(expressions=[exp.CTE(this=q, alias=exp.TableAlias(this=ident(n))) for n, q in ctes]))
    return query
