"""A readable Python front-end to the cohort language (ehrQL-like).

    from phta.query.dsl import *

    t2dm = conditions.where(codes(201826, descendants=True))
    population = cohort(
        index_date=t2dm.first_date(),
        rules={"adult at diagnosis": patients.age_at(index_date) >= 18},
        strata=["sex", "age_band"],
    )

Every object here only builds IR nodes; nothing reads data. A DSL *file* is user code and is run
by :mod:`phta.execution.dsl_sandbox` in a separate, locked-down process; only the JSON IR of its
``population`` comes back. Mistakes raise :class:`DSLError` naming the line of the user's file.
"""

from __future__ import annotations

import datetime as _dt
import sys as _sys
from typing import Any as _Any

from phta.query import ir as _ir

__all__ = [
    "DSLError",
    "codes",
    "cohort",
    "conditions",
    "date",
    "days",
    "devices",
    "drugs",
    "has_variant",
    "index_date",
    "measurements",
    "observations",
    "patients",
    "procedures",
    "visits",
]


class DSLError(Exception):
    """A mistake in a DSL query, with the line of the user's file where it was made."""


def _user_line() -> str:
    frame = _sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return ""
    return f"{frame.f_code.co_filename}, line {frame.f_lineno}: "


def _error(message: str) -> DSLError:
    return DSLError(_user_line() + message)


def _build(cls, *args, **kwargs):
    try:
        return cls(*args, **kwargs)
    except _ir.IRError as e:
        raise _error(str(e)) from None


_TYPE_WORDS = {"bool": "a true/false value", "int": "a whole number", "float": "a number",
               "date": "a date", "str": "text"}


def _literal(value, like: str | None = None) -> _ir.Series:
    if isinstance(value, Series):
        return value.node
    if isinstance(value, bool):
        return _ir.Literal("bool", value)
    if isinstance(value, int):
        return _ir.Literal("float" if like == "float" else "int", value)
    if isinstance(value, float):
        return _ir.Literal("float", value)
    if isinstance(value, _dt.datetime):
        raise _error("use a date, not a datetime")
    if isinstance(value, _dt.date):
        return _ir.Literal("date", value)
    if isinstance(value, str):
        return _ir.Literal("str", value)
    raise _error(f"cannot use a {type(value).__name__} in a query")


class Series:
    """One value per patient."""

    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so no hashing

    def __init__(self, node: _ir.Series):
        self.node = node

    def __repr__(self):
        return f"<{self.node.type} series: {type(self.node).__name__}>"

    def __bool__(self):
        raise _error("a patient series has no single truth value: combine conditions with & | ~, "
                     "not 'and', 'or', 'not' or 'if'")

    def _compare(self, op: str, other) -> Series:
        right = _literal(other, self.node.type)
        if right.type != self.node.type and not {right.type, self.node.type} <= {"int", "float"}:
            raise _error(f"cannot compare {_TYPE_WORDS[self.node.type]} with {_TYPE_WORDS[right.type]}")
        return Series(_build(_ir.Compare, op, self.node, right))

    def __eq__(self, other):  # type: ignore[override]
        return self._compare("eq", other)

    def __ne__(self, other):  # type: ignore[override]
        return self._compare("ne", other)

    def __lt__(self, other):
        return self._compare("lt", other)

    def __le__(self, other):
        return self._compare("le", other)

    def __gt__(self, other):
        return self._compare("gt", other)

    def __ge__(self, other):
        return self._compare("ge", other)

    def _bool_args(self, other, word: str) -> tuple[_ir.Series, _ir.Series]:
        right = _literal(other)
        for side in (self.node, right):
            if side.type != "bool":
                raise _error(f"'{word}' joins true/false conditions, not {_TYPE_WORDS[side.type]}")
        return self.node, right

    def __and__(self, other):
        return Series(_build(_ir.And, self._bool_args(other, "&")))

    def __or__(self, other):
        return Series(_build(_ir.Or, self._bool_args(other, "|")))

    def __invert__(self):
        if self.node.type != "bool":
            raise _error(f"'~' negates a true/false condition, not {_TYPE_WORDS[self.node.type]}")
        return Series(_build(_ir.Not, self.node))

    def __add__(self, other):
        if isinstance(other, Days) and self.node.type == "date":
            return Series(_build(_ir.AddDays, self.node, _ir.Literal("int", other.n)))
        raise _error(f"can only add days(n) to a date, not {type(other).__name__} to {_TYPE_WORDS[self.node.type]}")

    def __sub__(self, other):
        if isinstance(other, Days) and self.node.type == "date":
            return Series(_build(_ir.AddDays, self.node, _ir.Literal("int", -other.n)))
        if self.node.type == "date" and isinstance(other, Series | _dt.date):
            return Series(_build(_ir.DaysBetween, _literal(other), self.node))
        raise _error(f"cannot subtract {type(other).__name__} from {_TYPE_WORDS[self.node.type]}")

    def is_missing(self) -> Series:
        return Series(_build(_ir.IsMissing, self.node))


class Days:
    def __init__(self, n: int):
        if not isinstance(n, int) or isinstance(n, bool):
            raise _error(f"days() takes a whole number, got {n!r}")
        self.n = n


def days(n: int) -> Days:
    """A number of days, to add to or subtract from a date: ``index_date + days(30)``."""
    return Days(n)


def date(iso: str) -> Series:
    """A date constant: ``date("2020-04-01")``."""
    try:
        return Series(_ir.Literal("date", _dt.date.fromisoformat(iso)))
    except (TypeError, ValueError):
        raise _error(f"not an ISO date (YYYY-MM-DD): {iso!r}") from None


def codes(*concept_ids: int, descendants: bool = False, exclude: tuple | list = (),
          exclude_descendants: bool = False) -> _ir.ConceptSet:
    """A concept set: these OMOP concept ids (and, if asked, their descendants), minus ``exclude``."""
    items = [_build(_ir.ConceptItem, c, descendants, False) for c in concept_ids]
    items += [_build(_ir.ConceptItem, c, exclude_descendants, True) for c in exclude]
    return _build(_ir.ConceptSet, tuple(items))


class Events:
    """Many rows per patient: the events of one OMOP domain, narrowed step by step."""

    def __init__(self, node: _ir.Frame):
        self.node = node

    def __repr__(self):
        return f"<events of {self.node.domain.name}>"

    def where(self, concepts: _ir.ConceptSet) -> Events:
        if not isinstance(concepts, _ir.ConceptSet):
            raise _error(f"where() takes codes(...), got {type(concepts).__name__}")
        return Events(_build(_ir.WhereConcepts, self.node, concepts))

    def where_value(self, low: float | None = None, high: float | None = None, units=()) -> Events:
        return Events(_build(_ir.WhereValue, self.node, low, high, tuple(units)))

    def between_days(self, anchor, start: int | None, end: int | None, on: str = "start") -> Events:
        """Events dated from ``anchor + start`` to ``anchor + end`` days (either may be None)."""
        return Events(_build(_ir.WhereDate, self.node, _date_series(anchor), start, end, on))

    def before(self, anchor, days: int | None = None, on: str = "start") -> Events:
        """Events on or before ``anchor`` (within ``days`` before it, if given)."""
        return self.between_days(anchor, None if days is None else -days, 0, on)

    def after(self, anchor, days: int | None = None, on: str = "start") -> Events:
        """Events on or after ``anchor`` (within ``days`` after it, if given)."""
        return self.between_days(anchor, 0, days, on)

    def exists(self) -> Series:
        return Series(_build(_ir.Exists, self.node))

    def count(self) -> Series:
        return Series(_build(_ir.Count, self.node))

    def first_date(self) -> Series:
        return Series(_build(_ir.FirstDate, self.node))

    def last_date(self) -> Series:
        return Series(_build(_ir.LastDate, self.node))

    def min_value(self) -> Series:
        return Series(_build(_ir.MinValue, self.node))

    def max_value(self) -> Series:
        return Series(_build(_ir.MaxValue, self.node))


def _date_series(value) -> _ir.Series:
    node = _literal(value)
    if node.type != "date":
        raise _error(f"expected a date, got {_TYPE_WORDS[node.type]}")
    return node


class _Patients:
    """One row per patient: demographic facts (see docs/cohort-language.md)."""

    @property
    def sex(self) -> Series:
        return Series(_ir.Sex())

    @property
    def date_of_birth(self) -> Series:
        return Series(_ir.DateOfBirth())

    @property
    def ethnic_category(self) -> Series:
        return Series(_ir.EthnicCategory())

    @property
    def ethnic_group(self) -> Series:
        return Series(_ir.EthnicGroup())

    @property
    def imd_quintile(self) -> Series:
        return Series(_ir.ImdQuintile())

    @property
    def site(self) -> Series:
        return Series(_ir.Site())

    def age_at(self, when) -> Series:
        """Exact age in completed years on a date."""
        return Series(_build(_ir.AgeAt, _date_series(when)))

    def observation_start_at(self, when) -> Series:
        """Start of the observation period that contains the date (missing if none does)."""
        return Series(_build(_ir.ObservationPeriodStart, _date_series(when)))

    def observation_end_at(self, when) -> Series:
        """End of the observation period that contains the date (missing if none does)."""
        return Series(_build(_ir.ObservationPeriodEnd, _date_series(when)))

    def year_age_at(self, when) -> Series:
        """Circe's age: the calendar year of the date minus the year of birth."""
        return Series(_build(_ir.YearAgeAt, _date_series(when)))


def _words(value, field: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    raise _error(f"has_variant() {field} takes a word or a list of words, got {type(value).__name__}")


def has_variant(*genes: str, significance=(), zygosity=(), allele: tuple | None = None,
                hgvs: str | None = None) -> Series:
    """True for a person with a germline variant in one of ``genes`` (HGNC symbols) matching the
    other criteria on the same row: ClinVar ``significance`` word(s), ``zygosity`` word(s), an
    exact VCF ``allele`` ``(chrom, pos, ref, alt)``, an ``hgvs`` description. False for everyone
    else, including persons never sequenced (see docs/cohort-language.md)."""
    if len(genes) == 1 and isinstance(genes[0], list | tuple):
        genes = tuple(genes[0])
    built_allele = None
    if allele is not None:
        if not isinstance(allele, list | tuple) or len(allele) != 4:
            raise _error("has_variant() allele takes (chrom, pos, ref, alt)")
        built_allele = _build(_ir.VariantAllele, *allele)
    return Series(_build(_ir.HasVariant, tuple(genes), _words(significance, "significance"),
                         _words(zygosity, "zygosity"), built_allele, hgvs))


patients = _Patients()
index_date = Series(_ir.IndexDate())
conditions = Events(_ir.Events("condition"))
drugs = Events(_ir.Events("drug"))
procedures = Events(_ir.Events("procedure"))
measurements = Events(_ir.Events("measurement"))
observations = Events(_ir.Events("observation"))
visits = Events(_ir.Events("visit"))
devices = Events(_ir.Events("device"))


def cohort(index_date: Series, rules: dict[str, Series] | None = None, end_date: Series | None = None,
           strata: list[str] | tuple[str, ...] = (), age_bands: list[int] | tuple[int, ...] = (0, 18, 40, 65, 80),
           ) -> _ir.Cohort:
    """A population: patients with an index date who meet every rule (in order, for attrition)."""
    built: list[_ir.Rule] = []
    for name, condition in (rules or {}).items():
        if not isinstance(condition, Series):
            raise _error(f"rule {name!r} must be a condition (a true/false series), got {type(condition).__name__}")
        built.append(_build(_ir.Rule, name, condition.node))
    return _build(
        _ir.Cohort,
        index_date=_date_series(index_date),
        rules=tuple(built),
        end_date=None if end_date is None else _date_series(end_date),
        strata=tuple(strata),
        age_bands=tuple(age_bands),
    )


def population_of(namespace: dict[str, _Any], filename: str) -> _ir.Cohort:
    """The ``population`` a DSL file defined (called after the file ran, in the sandbox)."""
    population = namespace.get("population")
    if population is None:
        raise DSLError(f"{filename}: define `population = cohort(...)`")
    if not isinstance(population, _ir.Cohort):
        raise DSLError(f"{filename}: `population` must be made with cohort(...), got {type(population).__name__}")
    return population
