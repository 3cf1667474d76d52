"""Event frames (many rows per patient) and concept sets."""

from __future__ import annotations

from dataclasses import dataclass

from phta.query.domains import DOMAINS, Domain
from phta.query.nodes import Frame, Node, Series, expect_series

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
        expect_series(self, "anchor", self.anchor, ("date",))
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
