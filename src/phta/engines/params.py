"""Bound parameters in SQLGlot trees, checked and prepared the same way for every engine.

A compiled query is a SQLGlot tree whose values are ``exp.Placeholder`` nodes (named, or
positional ``?``) plus a separate set of values. Values never enter the SQL text: each engine
hands them to its driver's own binding (DuckDB's ``$name``/``?``, Spark's ``:name`` args).

``bind`` does the dialect-independent part:

- positional placeholders become named ones (``p0``, ``p1``, ...) so engines bind one way only;
- a list value used as the single element of an ``IN (...)`` list is spread into one placeholder
  per element (``ids__0``, ``ids__1``, ...), because SQL drivers bind scalars, not lists;
- every placeholder must have a value and every value a placeholder; value types are checked.

The input tree is never changed; the result holds a copy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlglot import exp

# Scalar types a driver can bind with a definite SQL type.
SCALAR_TYPES = (bool, int, float, str, Decimal, dt.date, dt.datetime)
LIST_TYPES = (list, tuple, set, frozenset)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ParameterError(ValueError):
    """A parameter is missing, unused, misnamed, of an unsupported type, or a list out of place."""


@dataclass(frozen=True)
class BoundQuery:
    """A tree whose placeholders are all named, and a scalar value for each name."""

    tree: exp.Expression
    values: dict[str, Any]


def bind(
    tree: exp.Expression, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> BoundQuery:
    """Check ``params`` against the placeholders of ``tree`` and prepare both for an engine."""
    tree = tree.copy()
    given = _named(tree, params)
    placeholders = list(tree.find_all(exp.Placeholder))
    used = {p.name for p in placeholders}
    missing = sorted(used - given.keys())
    if missing:
        raise ParameterError(f"no value given for parameter(s) {', '.join(missing)}")
    unused = sorted(given.keys() - used)
    if unused:
        raise ParameterError(f"parameter(s) {', '.join(unused)} not used by the query")

    values: dict[str, Any] = {}
    for placeholder in placeholders:
        name = placeholder.name
        value = given[name]
        if isinstance(value, LIST_TYPES):
            _spread_list(placeholder, name, value, values)
        else:
            values[name] = _scalar(name, value)
    return BoundQuery(tree, values)


def _named(
    tree: exp.Expression, params: Mapping[str, Any] | Sequence[Any] | None
) -> dict[str, Any]:
    """Parameters by name. Positional placeholders (``?`` in tree order, or numbered ``$1``)
    are renamed p0, p1, ... so every engine binds by name only."""
    placeholders = list(tree.find_all(exp.Placeholder))
    positional = [p for p in placeholders if _position(p) is not None]
    named = [p for p in placeholders if _position(p) is None]
    if params is None:
        params = {}
    if isinstance(params, Mapping):
        if positional:
            raise ParameterError(
                "the query has positional placeholders (?) but named values were given"
            )
        for name in params:
            if not isinstance(name, str) or not NAME.fullmatch(name) or "__" in name:
                raise ParameterError(
                    f"parameter name {name!r} must be a letter or _ then letters, digits, single _"
                )
        return dict(params)
    if isinstance(params, str | bytes):
        raise ParameterError(
            "parameters must be a mapping of names to values or a sequence of values"
        )
    if named:
        raise ParameterError("the query has named placeholders but positional values were given")
    anonymous = iter(range(len(positional)))
    for placeholder in positional:
        index = _position(placeholder)
        index = next(anonymous) if index == -1 else index
        if not 0 <= index < len(params):
            raise ParameterError(
                f"the query has {len(positional)} placeholder(s) but {len(params)} value(s) were given"
            )
        placeholder.set("this", f"p{index}")
    used = {p.name for p in positional}
    if len(used) != len(params):
        raise ParameterError(
            f"the query has {len(positional)} placeholder(s) but {len(params)} value(s) were given"
        )
    return {f"p{index}": value for index, value in enumerate(params)}


def _position(placeholder: exp.Placeholder) -> int | None:
    """-1 for ``?``, N-1 for ``$N``, None for a named placeholder."""
    this = placeholder.args.get("this")
    if this is None:
        return -1
    text = str(this)
    return int(text) - 1 if text.isdigit() else None


def _spread_list(
    placeholder: exp.Placeholder, name: str, value: Any, values: dict[str, Any]
) -> None:
    parent = placeholder.parent
    if not (isinstance(parent, exp.In) and parent.expressions == [placeholder]):
        raise ParameterError(
            f"parameter {name} is a list; a list may only stand alone inside IN (...)"
        )
    items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    if not items:
        # IN () is not SQL; an empty list matches nothing, which FALSE says in every dialect
        # (NOT IN an empty list is TRUE: NOT FALSE).
        parent.replace(exp.false())
        return
    spread = []
    for index, item in enumerate(items):
        item_name = f"{name}__{index}"
        values[item_name] = _scalar(f"{name}[{index}]", item)
        spread.append(exp.Placeholder(this=item_name))
    parent.set("expressions", spread)


def _scalar(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, SCALAR_TYPES):
        raise ParameterError(
            f"parameter {name} has unsupported type {type(value).__name__}; "
            "use int, float, Decimal, str, bool, date, datetime or None"
        )
    if isinstance(value, float) and value != value:
        raise ParameterError(f"parameter {name} is NaN, which SQL engines compare differently")
    return value
