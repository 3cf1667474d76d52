"""The base of the IR: :class:`Node`, :class:`IRError`, and the two kinds of value.

See :mod:`phta.query.ir` for the language's shape and null semantics.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from phta.query.domains import Domain

class IRError(ValueError):
    """A query is not well formed. Names the node class, the field and, when known, the JSON path."""

    def __init__(self, node: str, field: str | None, message: str, path: str | None = None):
        self.node, self.field, self.message, self.path = node, field, message, path
        where = f"{node}.{field}" if field else node
        at = f" at {path}" if path else ""
        super().__init__(f"{where}{at}: {message}")

    def at(self, path: str) -> IRError:
        return IRError(self.node, self.field, self.message, path if self.path is None else self.path)


SERIES_TYPES = ("bool", "int", "float", "date", "str")
#: Every integer in a query fits the stores' 64-bit columns; a larger one (``2**70`` as a concept
#: id) is refused here, naming the field, rather than failing inside an engine.
INT64_MAX = 2**63 - 1
NUMERIC = ("int", "float")


class Node:
    """Base of every IR node. Subclasses are frozen dataclasses registered by class name."""

    registry: ClassVar[dict[str, type[Node]]] = {}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if not cls.__name__.startswith("_"):
            Node.registry[cls.__name__] = cls

    def _fail(self, field: str | None, message: str) -> None:
        raise IRError(type(self).__name__, field, message)

    def _expect(self, field: str, value, kind: type | tuple[type, ...]) -> None:
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            names = "/".join(k.__name__ for k in _as_tuple(kind))
            self._fail(field, f"expected {names}, got {type(value).__name__}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
            self._fail(field, f"{value} is out of range (integers in a query fit in 64 bits)")
        if isinstance(value, float) and not math.isfinite(value):
            self._fail(field, f"{value} is not a finite number")

    def children(self) -> list[Node]:
        out: list[Node] = []
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Node):
                out.append(v)
            elif isinstance(v, tuple):
                out.extend(x for x in v if isinstance(x, Node))
        return out

    def walk(self):
        yield self
        for c in self.children():
            yield from c.walk()


def _as_tuple(kind):
    return kind if isinstance(kind, tuple) else (kind,)



class Frame(Node):
    """Events of one OMOP domain for each patient (many rows per patient)."""

    @property
    def domain(self) -> Domain:  # pragma: no cover - overridden
        raise NotImplementedError


class Series(Node):
    """One value per patient, of one of SERIES_TYPES."""

    @property
    def type(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def expect_series(node: Node, field: str, value, types: tuple[str, ...]) -> None:
    if not isinstance(value, Series):
        node._fail(field, f"expected a patient series, got {type(value).__name__}")
    if value.type not in types:
        node._fail(field, f"expected a {' or '.join(types)} series, got {value.type} ({type(value).__name__})")
