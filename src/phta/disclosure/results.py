"""Typed aggregate results: the only things disclosure control inspects and the network ships.

Each type carries exactly what the checks need and nothing record-level: distinct-person counts
per cell, contributor counts and the few largest contributions per magnitude cell (dominance and
p% need them), the number of persons at or beyond each percentile, residual degrees of freedom.
All are frozen, validated on construction, and round-trip through JSON (``to_json``/``from_json``)
with a ``kind`` tag so a node's result can be rebuilt and re-checked at the hub.

Tables are N-dimensional: ``dimensions`` name the axes and their levels, cell values are held in
row-major order (the last dimension varies fastest), and margins are not stored but derived from
the unrounded cells (so totals are exact before they are rounded independently).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from dataclasses import fields as dataclass_fields
from typing import Any, ClassVar, Literal

TOTAL = "Total"


class ResultError(ValueError):
    """A result is malformed; the message names the field and the cell."""


@dataclass(frozen=True)
class Dimension:
    """One axis of a table: its name (e.g. ``sex``) and its levels in order."""

    name: str
    levels: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(str(level) for level in self.levels))
        if not self.name:
            raise ResultError("dimension: name must not be empty")
        if not self.levels:
            raise ResultError(f"dimension {self.name!r}: needs at least one level")
        if len(set(self.levels)) != len(self.levels):
            raise ResultError(f"dimension {self.name!r}: levels repeat")
        if TOTAL in self.levels:
            raise ResultError(f"dimension {self.name!r}: level {TOTAL!r} is reserved for margins")


def _shape(dimensions: tuple[Dimension, ...]) -> tuple[int, ...]:
    return tuple(len(d.levels) for d in dimensions)


def _check_cell_count(kind: str, dimensions: tuple[Dimension, ...], name: str, values: tuple) -> None:
    if not dimensions:
        raise ResultError(f"{kind}: needs at least one dimension")
    expected = math.prod(_shape(dimensions))
    if len(values) != expected:
        raise ResultError(f"{kind}.{name}: {len(values)} values for {expected} cells")


@dataclass(frozen=True)
class _Table:
    """Shared addressing of N-D table cells (index tuples <-> level labels)."""

    dimensions: tuple[Dimension, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return _shape(self.dimensions)

    def indices(self) -> Iterator[tuple[int, ...]]:
        return itertools.product(*(range(n) for n in self.shape))

    def flat(self, index: tuple[int, ...]) -> int:
        position = 0
        for i, n in zip(index, self.shape, strict=True):
            position = position * n + i
        return position

    def labels(self, index: tuple[int, ...]) -> tuple[str, ...]:
        """Level labels of a cell; ``-1`` on an axis means summed over it (``Total``)."""
        return tuple(
            TOTAL if i < 0 else d.levels[i] for i, d in zip(index, self.dimensions, strict=True)
        )

    def describe(self, index: tuple[int, ...]) -> str:
        return ", ".join(f"{d.name}={label}" for d, label in zip(self.dimensions, self.labels(index), strict=True))


@dataclass(frozen=True)
class FrequencyTable(_Table):
    """Counts of distinct persons per cell (1-D, 2-D or N-D), margins derived from cells.

    ``structural_zeros`` lists cells that cannot occur (e.g. pregnancy among men): they are known
    to everyone, so they are never suppressed and never used to hide another cell.
    ``publish_margins`` is False for outputs shown without totals (e.g. a time series).
    """

    kind: ClassVar[str] = "frequency_table"
    counts: tuple[int, ...] = ()
    structural_zeros: frozenset[tuple[int, ...]] = frozenset()
    publish_margins: bool = True
    title: str = ""
    cell_keys: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        object.__setattr__(self, "counts", tuple(self.counts))
        object.__setattr__(self, "structural_zeros", frozenset(tuple(z) for z in self.structural_zeros))
        _check_cell_count(self.kind, self.dimensions, "counts", self.counts)
        for index in self.indices():
            value = self.counts[self.flat(index)]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ResultError(
                    f"{self.kind}.counts[{self.describe(index)}]: must be a whole number >= 0, got {value!r}"
                )
        for zero in self.structural_zeros:
            if len(zero) != len(self.shape) or any(not 0 <= i < n for i, n in zip(zero, self.shape, strict=True)):
                raise ResultError(f"{self.kind}.structural_zeros: {zero!r} is not a cell")
            if self.counts[self.flat(zero)] != 0:
                raise ResultError(
                    f"{self.kind}.structural_zeros[{self.describe(zero)}]: declared structural but count is not 0"
                )
        if self.cell_keys is not None:
            object.__setattr__(self, "cell_keys", tuple(float(k) for k in self.cell_keys))
            _check_cell_count(self.kind, self.dimensions, "cell_keys", self.cell_keys)
            if any(not 0.0 <= k < 1.0 for k in self.cell_keys):
                raise ResultError(f"{self.kind}.cell_keys: every cell key must be in [0, 1)")

    def count(self, index: tuple[int, ...]) -> int:
        return self.counts[self.flat(index)]


@dataclass(frozen=True)
class MagnitudeTable(_Table):
    """Sums (or means) of a non-count quantity per cell, with what dominance rules need.

    ``contributors`` counts distinct persons contributing to each cell; ``top_values`` holds each
    cell's largest individual contributions in descending order (at least two where the cell has
    two contributors); ``negative_contributors`` counts contributions below zero, for which
    dominance is undefined.
    """

    kind: ClassVar[str] = "magnitude_table"
    sums: tuple[float, ...] = ()
    contributors: tuple[int, ...] = ()
    top_values: tuple[tuple[float, ...], ...] = ()
    negative_contributors: tuple[int, ...] | None = None
    statistic: Literal["sum", "mean"] = "sum"
    publish_margins: bool = True
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        object.__setattr__(self, "sums", tuple(float(s) for s in self.sums))
        object.__setattr__(self, "contributors", tuple(self.contributors))
        object.__setattr__(self, "top_values", tuple(tuple(float(v) for v in t) for t in self.top_values))
        if self.negative_contributors is None:
            object.__setattr__(self, "negative_contributors", tuple(0 for _ in self.sums))
        object.__setattr__(self, "negative_contributors", tuple(self.negative_contributors))
        if self.statistic not in ("sum", "mean"):
            raise ResultError(f"{self.kind}.statistic: must be 'sum' or 'mean', got {self.statistic!r}")
        for name in ("sums", "contributors", "top_values", "negative_contributors"):
            _check_cell_count(self.kind, self.dimensions, name, getattr(self, name))
        for index in self.indices():
            at = self.flat(index)
            n, top = self.contributors[at], self.top_values[at]
            where = f"{self.kind}[{self.describe(index)}]"
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ResultError(f"{where}.contributors: must be a whole number >= 0")
            if len(top) > n or len(top) < min(n, 2):
                raise ResultError(f"{where}.top_values: need the largest min(contributors, 2) or more values")
            if list(top) != sorted(top, reverse=True):
                raise ResultError(f"{where}.top_values: must be in descending order")
            if not math.isfinite(self.sums[at]):
                raise ResultError(f"{where}.sums: must be finite")

    def value(self, index: tuple[int, ...]) -> float:
        """The statistic as it would be published (sum, or mean over contributors)."""
        at = self.flat(index)
        if self.statistic == "mean":
            return self.sums[at] / self.contributors[at] if self.contributors[at] else 0.0
        return self.sums[at]


@dataclass(frozen=True)
class PercentilePoint:
    """One percentile: ``p`` in [0, 100]; 0 is the minimum and 100 the maximum.

    ``at_or_below`` and ``at_or_above`` count the persons whose value is at or below / at or
    above this one: when either is under the threshold the value describes a few individuals.
    """

    p: float
    value: float
    at_or_below: int
    at_or_above: int


@dataclass(frozen=True)
class Percentiles:
    kind: ClassVar[str] = "percentiles"
    variable: str
    persons: int
    points: tuple[PercentilePoint, ...]
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "points", tuple(p if isinstance(p, PercentilePoint) else PercentilePoint(**p) for p in self.points)
        )
        for point in self.points:
            if not 0 <= point.p <= 100:
                raise ResultError(f"percentiles[{self.variable}].p: {point.p} is outside 0..100")
            if not (0 <= point.at_or_below <= self.persons and 0 <= point.at_or_above <= self.persons):
                raise ResultError(f"percentiles[{self.variable}] p={point.p}: person counts exceed {self.persons}")


@dataclass(frozen=True)
class Coefficient:
    term: str
    estimate: float
    std_error: float


@dataclass(frozen=True)
class ModelCoefficients:
    """A fitted model's coefficients; residual degrees of freedom decide whether it may leave."""

    kind: ClassVar[str] = "model_coefficients"
    model: str
    coefficients: tuple[Coefficient, ...]
    residual_df: int
    persons: int
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "coefficients", tuple(c if isinstance(c, Coefficient) else Coefficient(**c) for c in self.coefficients)
        )
        if self.residual_df < 0 or self.persons < 0:
            raise ResultError(f"model_coefficients[{self.model}]: residual_df and persons must be >= 0")


@dataclass(frozen=True)
class TimeSeries:
    """Distinct-person counts per period; checked as a one-dimensional table without a total."""

    kind: ClassVar[str] = "time_series"
    periods: tuple[str, ...]
    counts: tuple[int, ...]
    title: str = ""
    cell_keys: tuple[float, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        if len(self.periods) != len(self.counts):
            raise ResultError(f"time_series: {len(self.counts)} counts for {len(self.periods)} periods")

    def as_table(self) -> FrequencyTable:
        return FrequencyTable(
            dimensions=(Dimension("period", self.periods),),
            counts=self.counts,
            publish_margins=False,
            title=self.title,
            cell_keys=self.cell_keys,
        )


AggregateResult = FrequencyTable | MagnitudeTable | Percentiles | ModelCoefficients | TimeSeries
_KINDS: dict[str, type] = {
    t.kind: t for t in (FrequencyTable, MagnitudeTable, Percentiles, ModelCoefficients, TimeSeries)
}


def to_dict(result: AggregateResult) -> dict[str, Any]:
    """The JSON form: plain lists and dicts, tagged with ``kind``."""
    out: dict[str, Any] = {"kind": result.kind}
    for name in (f.name for f in fields(result)):
        value = getattr(result, name)
        if name == "dimensions":
            value = [{"name": d.name, "levels": list(d.levels)} for d in value]
        elif name == "structural_zeros":
            value = sorted(list(z) for z in value)
        elif name in ("points", "coefficients"):
            value = [vars(v).copy() for v in value]
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[name] = value
    return out


def from_dict(data: dict[str, Any]) -> AggregateResult:
    """Rebuild a result from its JSON form; a bad document raises ``ResultError`` naming the field."""
    if not isinstance(data, dict) or data.get("kind") not in _KINDS:
        raise ResultError(f"result: 'kind' must be one of {sorted(_KINDS)}")
    cls = _KINDS[data["kind"]]
    fields = dict(data)
    fields.pop("kind")
    unknown = set(fields) - {f.name for f in dataclass_fields(cls)}
    if unknown:
        raise ResultError(f"{cls.kind}: unknown field(s) {sorted(unknown)}")
    if "dimensions" in fields:
        try:
            fields["dimensions"] = tuple(Dimension(d["name"], tuple(d["levels"])) for d in fields["dimensions"])
        except (KeyError, TypeError) as exc:
            raise ResultError(f"{cls.kind}.dimensions: each needs 'name' and 'levels'") from exc
    for name, value in list(fields.items()):
        if name == "structural_zeros":
            fields[name] = frozenset(tuple(z) for z in value)
        elif isinstance(value, list):
            fields[name] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    try:
        return cls(**fields)
    except TypeError as exc:
        raise ResultError(f"{cls.kind}: {exc}") from exc


def to_json(result: AggregateResult) -> str:
    return json.dumps(to_dict(result), sort_keys=True)


def from_json(text: str) -> AggregateResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(f"result JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    return from_dict(data)
