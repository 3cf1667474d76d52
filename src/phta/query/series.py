"""Patient series (one value per patient): aggregates, attributes, arithmetic and logic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from phta.query.nodes import NUMERIC, SERIES_TYPES, Frame, Series, expect_series


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
        expect_series(self, "date", self.date, ("date",))

    @property
    def type(self) -> str:
        return "int"


@dataclass(frozen=True)
class YearAgeAt(Series):
    """Circe's age: YEAR(date) - year_of_birth, ignoring month and day."""

    date: Series

    def __post_init__(self):
        expect_series(self, "date", self.date, ("date",))

    @property
    def type(self) -> str:
        return "int"


@dataclass(frozen=True)
class AddDays(Series):
    """A date plus a whole number of days (negative to go back)."""

    date: Series
    days: Series

    def __post_init__(self):
        expect_series(self, "date", self.date, ("date",))
        expect_series(self, "days", self.days, ("int",))

    @property
    def type(self) -> str:
        return "date"


@dataclass(frozen=True)
class DaysBetween(Series):
    """Days from ``start`` to ``end`` (negative if end is earlier)."""

    start: Series
    end: Series

    def __post_init__(self):
        expect_series(self, "start", self.start, ("date",))
        expect_series(self, "end", self.end, ("date",))

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
        expect_series(self, "left", self.left, SERIES_TYPES)
        expect_series(self, "right", self.right, SERIES_TYPES)
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
        expect_series(self, "series", self.series, SERIES_TYPES)

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
            expect_series(self, "args", a, ("bool",))

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
            expect_series(self, "args", a, ("bool",))

    @property
    def type(self) -> str:
        return "bool"


@dataclass(frozen=True)
class Not(Series):
    arg: Series

    def __post_init__(self):
        expect_series(self, "arg", self.arg, ("bool",))

    @property
    def type(self) -> str:
        return "bool"


class _ObservationPeriodBound(Series):
    date: Series

    def __post_init__(self):
        expect_series(self, "date", self.date, ("date",))

    @property
    def type(self) -> str:
        return "date"


@dataclass(frozen=True)
class ObservationPeriodStart(_ObservationPeriodBound):
    """Start of the observation period containing the date (earliest, if several overlap it);
    missing if the date is in none. Circe's observation window is built on this."""

    date: Series


@dataclass(frozen=True)
class ObservationPeriodEnd(_ObservationPeriodBound):
    """End of the observation period containing the date (latest, if several overlap it);
    missing if the date is in none."""

    date: Series
