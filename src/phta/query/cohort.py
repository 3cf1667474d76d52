"""The cohort: index date, named inclusion rules, end date, strata and universe."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from phta.query.frames import ConceptSet
from phta.query.nodes import Node, Series, expect_series
from phta.query.series import IndexDate


@dataclass(frozen=True)
class Rule(Node):
    """A named inclusion rule; rules are applied in order and reported as attrition."""

    name: str
    condition: Series

    def __post_init__(self):
        self._expect("name", self.name, str)
        if not self.name.strip():
            self._fail("name", "a rule needs a name (it labels the attrition table)")
        expect_series(self, "condition", self.condition, ("bool",))


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
        expect_series(self, "index_date", self.index_date, ("date",))
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
            expect_series(self, "end_date", self.end_date, ("date",))
        self._expect("strata", self.strata, tuple)
        for i, s in enumerate(self.strata):
            if s not in STRATA:
                self._fail("strata", f"unknown stratum {s!r}; known: {STRATA}")
            if s in self.strata[:i]:
                self._fail("strata", f"stratum {s!r} is listed twice")
        self._expect("age_bands", self.age_bands, tuple)
        if not self.age_bands or list(self.age_bands) != sorted(set(self.age_bands)):
            self._fail("age_bands", "age band bounds must be distinct and increasing")
        for b in self.age_bands:
            self._expect("age_bands", b, int)
        if self.universe is not None:
            expect_series(self, "universe", self.universe, ("bool",))
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
