"""The canonical JSON form of the IR and its content hash.

Canonical form: ``{"phta_query": VERSION, "query": NODE}`` where each node is an object with a
``"type"`` tag (the node class name) and its fields; tuples are lists, dates ISO strings; keys
sorted, no insignificant whitespace. The hash is the SHA-256 of that text, so two equal queries
always have the same hash whatever produced them (DSL, web builder, Circe import).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import types
import typing
from dataclasses import fields
from functools import cache

from phta.query import strict_json
from phta.query.ir import IRError, Literal, Node

FORMAT_VERSION = 1


def to_data(node: Node) -> dict:
    out: dict = {"type": type(node).__name__}
    for f in fields(node):  # type: ignore[arg-type]
        out[f.name] = _value_to_data(getattr(node, f.name))
    return out


def _value_to_data(v):
    if isinstance(v, Node):
        return to_data(v)
    if isinstance(v, tuple):
        return [_value_to_data(x) for x in v]
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def to_json(node: Node) -> str:
    return json.dumps({"phta_query": FORMAT_VERSION, "query": to_data(node)},
                      sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(node: Node) -> str:
    return hashlib.sha256(to_json(node).encode("utf-8")).hexdigest()


def from_json(text: str | bytes | dict) -> Node:
    """Parse and validate a JSON query; errors name the node, the field and the JSON path."""
    try:
        doc = strict_json.loads(text) if isinstance(text, str | bytes) else text
    except strict_json.JsonInputError as e:
        raise IRError("document", None, e.message, e.path) from None
    if not isinstance(doc, dict) or "query" not in doc:
        raise IRError("document", None, 'expected an object {"phta_query": 1, "query": {...}}')
    version = doc.get("phta_query")
    if version != FORMAT_VERSION:
        raise IRError("document", "phta_query", f"unsupported format version {version!r}; expected {FORMAT_VERSION}")
    return from_data(doc["query"], "$.query")


def from_data(data, path: str = "$") -> Node:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise IRError("node", "type", "expected an object with a string 'type' tag", path)
    name = data["type"]
    cls = Node.registry.get(name)
    if cls is None or name.startswith("_"):
        raise IRError(name, "type", f"unknown node type {name!r}", path)
    hints = _hints(cls)
    unknown = set(data) - set(hints) - {"type"}
    if unknown:
        raise IRError(name, sorted(unknown)[0], "unknown field", path)
    kwargs = {}
    for fname, hint in hints.items():
        if fname not in data:
            continue
        kwargs[fname] = _data_to_value(data[fname], hint, f"{path}.{fname}", name, fname)
    if cls is Literal and kwargs.get("value_type") == "date" and isinstance(kwargs.get("value"), str):
        try:
            kwargs["value"] = dt.date.fromisoformat(kwargs["value"])
        except ValueError:
            raise IRError(name, "value", f"not an ISO date: {kwargs['value']!r}", path) from None
    try:
        return cls(**kwargs)
    except IRError as e:
        raise e.at(path) from None
    except TypeError as e:  # a required field is missing
        raise IRError(name, None, str(e).split(".__init__() ")[-1], path) from None


@cache
def _hints(cls) -> dict:
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in fields(cls)}


def _data_to_value(v, hint, path, node, field):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if v is None:
            return None
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        node_opts = [a for a in options if isinstance(a, type) and issubclass(a, Node)]
        if node_opts and isinstance(v, dict):
            return from_data(v, path)
        return v  # scalar unions (e.g. Literal.value) are checked by the node itself
    if origin is tuple:
        if not isinstance(v, list):
            raise IRError(node, field, f"expected a list, got {type(v).__name__}", path)
        (item,) = typing.get_args(hint)[:1]
        return tuple(_data_to_value(x, item, f"{path}[{i}]", node, field) for i, x in enumerate(v))
    if isinstance(hint, type) and issubclass(hint, Node):
        return from_data(v, path)
    return v
