"""The cohort language's intermediate representation (IR): frozen, validated dataclass nodes.

Two kinds of value, as in ehrQL:

- **frames** (:class:`Frame`): many rows per patient — events from one OMOP domain, narrowed by
  concept sets, value ranges and date windows;
- **series** (:class:`Series`): one value per patient, of a known type (``bool``, ``int``,
  ``float``, ``date``, ``str``) — aggregates of frames, patient attributes, date arithmetic and
  boolean logic.

A :class:`Cohort` combines an index date, named inclusion rules (for attrition), an end date and
strata. Every node validates itself on construction and raises :class:`IRError` naming the node
class and field, so a bad query never reaches a compiler. Circe import (issue 5) adds node kinds
(episode-level entry events, correlated criteria, era collapse) beside these; nothing here assumes
one event per patient except the :class:`Cohort` node itself.

Null semantics (shared by every engine): comparisons, arithmetic and ages of a missing value are
missing; ``And``/``Or``/``Not`` follow three-valued (Kleene) logic; ``Count`` of nothing is 0,
``Exists`` of nothing is false; an inclusion rule that is missing counts as not met.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, fields
from typing import ClassVar

from phta.query.domains import DOMAINS, Domain


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


# --- concept sets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConceptItem(Node):
    """One concept of a concept set (Circe's item shape: descendants and exclusion per item)."""

    concept_id: int
    descendants: bool = False
    excluded: bool = False

    def __post_init__(self):
        self._expect("concept_id", self.concept_id, int)
        if self.concept_id <= 0:
            self._fail("concept_id", f"concept ids are positive integers, got {self.concept_id}")
        self._expect("descendants", self.descendants, bool)
        self._expect("excluded", self.excluded, bool)


@dataclass(frozen=True)
class ConceptSet(Node):
    """Concepts = included items (and their descendants) minus excluded items (and theirs).

    A concept is always its own descendant, whether or not concept_ancestor has the self row."""

    items: tuple[ConceptItem, ...]

    def __post_init__(self):
        self._expect("items", self.items, tuple)
        for item in self.items:
            if not isinstance(item, ConceptItem):
                self._fail("items", f"expected ConceptItem, got {type(item).__name__}")
        if not any(not i.excluded for i in self.items):
            self._fail("items", "a concept set needs at least one included concept")

    def concept_ids(self) -> set[int]:
        return {i.concept_id for i in self.items}


# --- frames: many rows per patient --------------------------------------------------------------


class Frame(Node):
    """Events of one OMOP domain for each patient."""

    @property
    def domain(self) -> Domain:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True)
class Events(Frame):
    """All events of an OMOP domain (``condition``, ``drug``, ``measurement``, ...)."""

    domain_name: str

    def __post_init__(self):
        self._expect("domain_name", self.domain_name, str)
        if self.domain_name not in DOMAINS:
            self._fail("domain_name", f"unknown domain {self.domain_name!r}; known: {sorted(DOMAINS)}")

    @property
    def domain(self) -> Domain:
        return DOMAINS[self.domain_name]


class _FrameFilter(Frame):
    source: Frame

    @property
    def domain(self) -> Domain:
        return self.source.domain

    def _check_source(self):
        if not isinstance(self.source, Frame):
            self._fail("source", f"expected an event frame, got {type(self.source).__name__}")


@dataclass(frozen=True)
class WhereConcepts(_FrameFilter):
    """Events whose concept is in the concept set."""

    source: Frame
    concepts: ConceptSet

    def __post_init__(self):
        self._check_source()
        self._expect("concepts", self.concepts, ConceptSet)


@dataclass(frozen=True)
class WhereValue(_FrameFilter):
    """Events whose numeric value lies in [low, high] (either bound optional) and, if given, whose
    unit concept is one of ``unit_concept_ids``. Events without a value never match."""

    source: Frame
    low: float | None = None
    high: float | None = None
    unit_concept_ids: tuple[int, ...] = ()

    def __post_init__(self):
        self._check_source()
        if self.source.domain.value is None:
            self._fail("source", f"domain {self.source.domain.name!r} has no numeric values")
        for name in ("low", "high"):
            v = getattr(self, name)
            if v is not None:
                self._expect(name, v, (int, float))
        if self.low is not None and self.high is not None and self.low > self.high:
            self._fail("low", f"impossible range: low {self.low} > high {self.high}")
        self._expect("unit_concept_ids", self.unit_concept_ids, tuple)
        for u in self.unit_concept_ids:
            self._expect("unit_concept_ids", u, int)
        if self.low is None and self.high is None and not self.unit_concept_ids:
            self._fail(None, "give a low bound, a high bound or units")


@dataclass(frozen=True)
class WhereDate(_FrameFilter):
    """Events whose start (or end) date lies in [anchor + start_days, anchor + end_days].

    ``anchor`` is a date series (often :class:`IndexDate`); a missing bound is open. Events or
    anchors without a date never match."""

    source: Frame
    anchor: Series
    start_days: int | None = None
    end_days: int | None = None
    event_date: str = "start"

    def __post_init__(self):
        self._check_source()
        _expect_series(self, "anchor", self.anchor, ("date",))
        for name in ("start_days", "end_days"):
            v = getattr(self, name)
            if v is not None:
                self._expect(name, v, int)
        if self.start_days is None and self.end_days is None:
            self._fail(None, "give start_days, end_days or both")
        if self.start_days is not None and self.end_days is not None and self.start_days > self.end_days:
            self._fail(
                "start_days",
                f"impossible window: starts {self.start_days} days after the anchor but ends {self.end_days}",
            )
        if self.event_date not in ("start", "end"):
            self._fail("event_date", f"expected 'start' or 'end', got {self.event_date!r}")


# --- series: one value per patient --------------------------------------------------------------


class Series(Node):
    @property
    def type(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def _expect_series(node: Node, field: str, value, types: tuple[str, ...]) -> None:
    if not isinstance(value, Series):
        node._fail(field, f"expected a patient series, got {type(value).__name__}")
    if value.type not in types:
        node._fail(field, f"expected a {' or '.join(types)} series, got {value.type} ({type(value).__name__})")


@dataclass(frozen=True)
class Literal(Series):
    """A constant: ``value_type`` says how to read ``value`` (dates are ISO strings in JSON)."""

    value_type: str
    value: bool | int | float | str | dt.date

    def __post_init__(self):
        kinds = {"bool": bool, "int": int, "float": (int, float), "str": str, "date": dt.date}
        if self.value_type not in kinds:
            self._fail("value_type", f"expected one of {SERIES_TYPES}, got {self.value_type!r}")
        self._expect("value", self.value, kinds[self.value_type])
        if self.value_type == "date" and isinstance(self.value, dt.datetime):
            self._fail("value", "expected a date, got a datetime")

    @property
    def type(self) -> str:
        return self.value_type


class _FrameAggregate(Series):
    frame: Frame
    result_type: ClassVar[str]

    def __post_init__(self):
        if not isinstance(self.frame, Frame):
            self._fail("frame", f"expected an event frame, got {type(self.frame).__name__}")

    @property
    def type(self) -> str:
        return self.result_type


@dataclass(frozen=True)
class Exists(_FrameAggregate):
    """True if the patient has at least one event in the frame."""

    frame: Frame
    result_type: ClassVar[str] = "bool"


@dataclass(frozen=True)
class Count(_FrameAggregate):
    """Number of the patient's events in the frame (0 if none)."""

    frame: Frame
    result_type: ClassVar[str] = "int"


@dataclass(frozen=True)
class FirstDate(_FrameAggregate):
    """Earliest event start date (missing if none)."""

    frame: Frame
    result_type: ClassVar[str] = "date"


@dataclass(frozen=True)
class LastDate(_FrameAggregate):
    """Latest event start date (missing if none)."""

    frame: Frame
    result_type: ClassVar[str] = "date"


class _ValueAggregate(_FrameAggregate):
    result_type: ClassVar[str] = "float"

    def __post_init__(self):
        super().__post_init__()
        if self.frame.domain.value is None:
            self._fail("frame", f"domain {self.frame.domain.name!r} has no numeric values")


@dataclass(frozen=True)
class MinValue(_ValueAggregate):
    """Smallest numeric value among the events (missing if none has a value)."""

    frame: Frame


@dataclass(frozen=True)
class MaxValue(_ValueAggregate):
    """Largest numeric value among the events (missing if none has a value)."""

    frame: Frame


class _Attribute(Series):
    result_type: ClassVar[str]

    @property
    def type(self) -> str:
        return self.result_type


@dataclass(frozen=True)
class Sex(_Attribute):
    """``male``, ``female`` or ``unknown`` (from person.gender_concept_id)."""

    result_type: ClassVar[str] = "str"


@dataclass(frozen=True)
class DateOfBirth(_Attribute):
    """From year/month/day_of_birth (missing month or day taken as 1)."""

    result_type: ClassVar[str] = "date"


@dataclass(frozen=True)
class EthnicCategory(_Attribute):
    """NHS ethnic category code (A–Z) from person.race_source_value; missing if not recorded."""

    result_type: ClassVar[str] = "str"


@dataclass(frozen=True)
class EthnicGroup(_Attribute):
    """ONS 5-group rollup of the ethnic category (White, Mixed, Asian, Black, Other, Unknown)."""

    result_type: ClassVar[str] = "str"


@dataclass(frozen=True)
class ImdQuintile(_Attribute):
    """IMD quintile (1 = most deprived) from the patient's latest IMD observation (ties: highest)."""

    result_type: ClassVar[str] = "int"


@dataclass(frozen=True)
class Site(_Attribute):
    """The site (care_site_source_value, an ODS code) the patient is registered at."""

    result_type: ClassVar[str] = "str"


@dataclass(frozen=True)
class IndexDate(_Attribute):
    """The cohort's index date; only meaningful inside a :class:`Cohort`'s rules, end and strata."""

    result_type: ClassVar[str] = "date"


@dataclass(frozen=True)
class PersonIn(Series):
    """True if the patient's person_id is in the list (used by governance rewrites, e.g. opt-outs)."""

    person_ids: tuple[int, ...]

    def __post_init__(self):
        self._expect("person_ids", self.person_ids, tuple)
        for p in self.person_ids:
            self._expect("person_ids", p, int)

    @property
    def type(self) -> str:
        return "bool"


@dataclass(frozen=True)
class AgeAt(Series):
    """Exact age in completed years on a date (birthday counted on the day)."""

    date: Series

    def __post_init__(self):
        _expect_series(self, "date", self.date, ("date",))

    @property
    def type(self) -> str:
        return "int"


@dataclass(frozen=True)
class YearAgeAt(Series):
    """Circe's age: YEAR(date) - year_of_birth, ignoring month and day."""

    date: Series

    def __post_init__(self):
        _expect_series(self, "date", self.date, ("date",))

    @property
    def type(self) -> str:
        return "int"


@dataclass(frozen=True)
class AddDays(Series):
    """A date plus a whole number of days (negative to go back)."""

    date: Series
    days: Series

    def __post_init__(self):
        _expect_series(self, "date", self.date, ("date",))
        _expect_series(self, "days", self.days, ("int",))

    @property
    def type(self) -> str:
        return "date"


@dataclass(frozen=True)
class DaysBetween(Series):
    """Days from ``start`` to ``end`` (negative if end is earlier)."""

    start: Series
    end: Series

    def __post_init__(self):
        _expect_series(self, "start", self.start, ("date",))
        _expect_series(self, "end", self.end, ("date",))

    @property
    def type(self) -> str:
        return "int"


COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


@dataclass(frozen=True)
class Compare(Series):
    """``left op right`` for two series of the same type (int and float compare with each other)."""

    op: str
    left: Series
    right: Series

    def __post_init__(self):
        if self.op not in COMPARISONS:
            self._fail("op", f"expected one of {COMPARISONS}, got {self.op!r}")
        _expect_series(self, "left", self.left, SERIES_TYPES)
        _expect_series(self, "right", self.right, SERIES_TYPES)
        lt, rt = self.left.type, self.right.type
        if lt != rt and not (lt in NUMERIC and rt in NUMERIC):
            self._fail("right", f"cannot compare a {lt} with a {rt}")
        if self.op not in ("eq", "ne") and lt == "bool":
            self._fail("op", "booleans support only eq and ne")

    @property
    def type(self) -> str:
        return "bool"


@dataclass(frozen=True)
class IsMissing(Series):
    """True if the series has no value for the patient."""

    series: Series

    def __post_init__(self):
        _expect_series(self, "series", self.series, SERIES_TYPES)

    @property
    def type(self) -> str:
        return "bool"


@dataclass(frozen=True)
class And(Series):
    args: tuple[Series, ...]

    def __post_init__(self):
        self._expect("args", self.args, tuple)
        if len(self.args) < 2:
            self._fail("args", "needs at least two conditions")
        for a in self.args:
            _expect_series(self, "args", a, ("bool",))

    @property
    def type(self) -> str:
        return "bool"


@dataclass(frozen=True)
class Or(Series):
    args: tuple[Series, ...]

    def __post_init__(self):
        self._expect("args", self.args, tuple)
        if len(self.args) < 2:
            self._fail("args", "needs at least two conditions")
        for a in self.args:
            _expect_series(self, "args", a, ("bool",))

    @property
    def type(self) -> str:
        return "bool"


@dataclass(frozen=True)
class Not(Series):
    arg: Series

    def __post_init__(self):
        _expect_series(self, "arg", self.arg, ("bool",))

    @property
    def type(self) -> str:
        return "bool"


# --- the cohort ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule(Node):
    """A named inclusion rule; rules are applied in order and reported as attrition."""

    name: str
    condition: Series

    def __post_init__(self):
        self._expect("name", self.name, str)
        if not self.name.strip():
            self._fail("name", "a rule needs a name (it labels the attrition table)")
        _expect_series(self, "condition", self.condition, ("bool",))


STRATA = ("sex", "age_band", "ethnic_group", "imd_quintile", "site")


@dataclass(frozen=True)
class Cohort(Node):
    """Patients with an index date who meet every rule, followed from the index date to the end.

    ``universe`` (optional) restricts who can be counted at all before attrition starts (where
    governance rewrites put opt-outs, so the exclusion is not itself a visible count). Strata are
    marginal counts over the members; age bands use exact age at the index date, with band lower
    bounds ``age_bands`` (a person below the first bound is in no band and counted as 'below')."""

    index_date: Series
    rules: tuple[Rule, ...] = ()
    end_date: Series | None = None
    strata: tuple[str, ...] = ()
    age_bands: tuple[int, ...] = (0, 18, 40, 65, 80)
    universe: Series | None = None

    def __post_init__(self):
        _expect_series(self, "index_date", self.index_date, ("date",))
        if any(isinstance(n, IndexDate) for n in self.index_date.walk()):
            self._fail("index_date", "the index date cannot be defined in terms of itself")
        self._expect("rules", self.rules, tuple)
        names = set()
        for r in self.rules:
            if not isinstance(r, Rule):
                self._fail("rules", f"expected Rule, got {type(r).__name__}")
            if r.name in names:
                self._fail("rules", f"two rules are named {r.name!r}")
            names.add(r.name)
        if self.end_date is not None:
            _expect_series(self, "end_date", self.end_date, ("date",))
        self._expect("strata", self.strata, tuple)
        for s in self.strata:
            if s not in STRATA:
                self._fail("strata", f"unknown stratum {s!r}; known: {STRATA}")
        self._expect("age_bands", self.age_bands, tuple)
        if not self.age_bands or list(self.age_bands) != sorted(set(self.age_bands)):
            self._fail("age_bands", "age band bounds must be distinct and increasing")
        for b in self.age_bands:
            self._expect("age_bands", b, int)
        if self.universe is not None:
            _expect_series(self, "universe", self.universe, ("bool",))
            if any(isinstance(n, IndexDate) for n in self.universe.walk()):
                self._fail("universe", "the universe cannot depend on the index date")

    def concept_sets(self) -> list[ConceptSet]:
        return [n for n in self.walk() if isinstance(n, ConceptSet)]


def age_band_label(age: int | None, bounds: tuple[int, ...]) -> str:
    """The band an age falls in: '18-39', '80+', 'below 0' or 'unknown'. Shared by all engines."""
    if age is None:
        return "unknown"
    if age < bounds[0]:
        return f"below {bounds[0]}"
    for lo, hi in itertools.pairwise(bounds):
        if lo <= age < hi:
            return f"{lo}-{hi - 1}"
    return f"{bounds[-1]}+"
