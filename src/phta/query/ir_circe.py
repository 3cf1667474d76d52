"""IR node kinds for OHDSI Circe (ATLAS) cohort semantics: episode-level cohorts.

The core IR (:mod:`phta.query.ir`) has one index date per patient. Circe's model is a pipeline
over *events*: entry (primary) events -> qualified events (additional criteria, qualified limit)
-> included events (inclusion rules, expression limit) -> cohort episodes (end strategy,
censoring) -> eras (collapse with pad) -> censor window. These nodes state that pipeline as
frozen, validated data, registered in the same :class:`~phta.query.ir.Node` registry so the
canonical JSON and hash (:mod:`phta.query.serial`) work unchanged.

Dates are ISO strings (``"2000-04-01"``) so the canonical JSON round-trips without special
cases. Criterion attributes are generic filter nodes naming a Circe attribute; which attributes a
criterion kind accepts, and which column each one reads, is the data table in
:mod:`phta.query.circe.domains`, shared by the importer, the SQL compiler and the reference engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from phta.query.ir import Node

DATE_OPS = ("lt", "lte", "eq", "!eq", "gt", "gte", "bt", "!bt")
NUMBER_OPS = DATE_OPS
TEXT_OPS = ("startsWith", "contains", "endsWith", "!startsWith", "!contains", "!endsWith")
LIMITS = ("First", "Last", "All")
GROUP_TYPES = ("ALL", "ANY", "AT_LEAST", "AT_MOST")
OCCURRENCE_TYPES = (0, 1, 2)  # Circe: 0 exactly, 1 at most, 2 at least
COUNT_COLUMNS = ("DOMAIN_CONCEPT", "START_DATE", "VISIT_ID", "END_DATE", "DURATION", "DOMAIN_SOURCE_CONCEPT",
                 "VISIT_DETAIL_ID", "UNIT", "VALUE_AS_NUMBER", "QUANTITY", "DAYS_SUPPLY", "REFILLS",
                 "RANGE_LOW", "RANGE_HIGH", "ERA_OCCURRENCES", "GAP_DAYS")


def _check_date(node: Node, field: str, value) -> None:
    node._expect(field, value, str)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        node._fail(field, f"not an ISO date (YYYY-MM-DD): {value!r}")


# --- concept sets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CirceConceptItem(Node):
    concept_id: int
    descendants: bool = False
    mapped: bool = False
    excluded: bool = False

    def __post_init__(self):
        self._expect("concept_id", self.concept_id, int)
        for f in ("descendants", "mapped", "excluded"):
            self._expect(f, getattr(self, f), bool)


@dataclass(frozen=True)
class CirceConceptSet(Node):
    """A numbered concept set (Circe codeset): included items minus excluded items, each with
    descendants and mapped (``Maps to``) concepts when asked. An empty set matches nothing."""

    id: int
    items: tuple[CirceConceptItem, ...] = ()

    def __post_init__(self):
        self._expect("id", self.id, int)
        self._expect("items", self.items, tuple)
        for i in self.items:
            if not isinstance(i, CirceConceptItem):
                self._fail("items", f"expected CirceConceptItem, got {type(i).__name__}")


# --- criterion filters --------------------------------------------------------------------------


class CriterionFilter(Node):
    """A filter on one Circe attribute of a criterion (the attribute names the column)."""

    attribute: str


@dataclass(frozen=True)
class DateFilter(CriterionFilter):
    attribute: str
    op: str
    value: str
    extent: str | None = None

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        if self.op not in DATE_OPS:
            self._fail("op", f"expected one of {DATE_OPS}, got {self.op!r}")
        _check_date(self, "value", self.value)
        if self.op.endswith("bt"):
            if self.extent is None:
                self._fail("extent", "a between range needs an extent")
            _check_date(self, "extent", self.extent)


@dataclass(frozen=True)
class NumberFilter(CriterionFilter):
    attribute: str
    op: str
    value: float
    extent: float | None = None

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        if self.op not in NUMBER_OPS:
            self._fail("op", f"expected one of {NUMBER_OPS}, got {self.op!r}")
        self._expect("value", self.value, (int, float))
        if self.op.endswith("bt"):
            if self.extent is None:
                self._fail("extent", "a between range needs an extent")
            self._expect("extent", self.extent, (int, float))


@dataclass(frozen=True)
class ConceptFilter(CriterionFilter):
    """The attribute's concept is one of ``concept_ids`` (or none of them when ``exclude``)."""

    attribute: str
    concept_ids: tuple[int, ...]
    exclude: bool = False

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        self._expect("concept_ids", self.concept_ids, tuple)
        for c in self.concept_ids:
            self._expect("concept_ids", c, int)
        self._expect("exclude", self.exclude, bool)


@dataclass(frozen=True)
class CodesetFilter(CriterionFilter):
    """The attribute's concept is in concept set ``codeset_id`` (``None``: is not null), negated
    when ``exclude`` (Circe's ConceptSetSelection / *SourceConcept)."""

    attribute: str
    codeset_id: int | None
    exclude: bool = False

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        if self.codeset_id is not None:
            self._expect("codeset_id", self.codeset_id, int)
        self._expect("exclude", self.exclude, bool)


@dataclass(frozen=True)
class TextFilter(CriterionFilter):
    attribute: str
    op: str
    text: str

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        if self.op not in TEXT_OPS:
            self._fail("op", f"expected one of {TEXT_OPS}, got {self.op!r}")
        self._expect("text", self.text, str)


@dataclass(frozen=True)
class FlagFilter(CriterionFilter):
    """A boolean attribute (Measurement.Abnormal)."""

    attribute: str
    value: bool

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        self._expect("value", self.value, bool)


@dataclass(frozen=True)
class PeriodFilter(CriterionFilter):
    """ObservationPeriod.UserDefinedPeriod: periods covering the given date(s), whose event dates
    become those dates (Circe replaces the period's start/end with them)."""

    attribute: str
    start: str | None = None
    end: str | None = None

    def __post_init__(self):
        self._expect("attribute", self.attribute, str)
        if self.start is None and self.end is None:
            self._fail(None, "give a start date, an end date or both")
        for f in ("start", "end"):
            if getattr(self, f) is not None:
                _check_date(self, f, getattr(self, f))


# --- criteria -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateAdjustment(Node):
    start_with: str = "START_DATE"
    start_offset: int = 0
    end_with: str = "END_DATE"
    end_offset: int = 0

    def __post_init__(self):
        for f in ("start_with", "end_with"):
            if getattr(self, f) not in ("START_DATE", "END_DATE"):
                self._fail(f, "expected START_DATE or END_DATE")
        for f in ("start_offset", "end_offset"):
            self._expect(f, getattr(self, f), int)


@dataclass(frozen=True)
class DomainCriterion(Node):
    """Events of one Circe criterion kind (``ConditionOccurrence``, ``DrugExposure``, ...).

    ``first``: only the person's first such event ever (in the concept set), before any other
    filter — Circe's ordinal = 1. ``correlated``: a criteria group the event itself must meet."""

    kind: str
    codeset_id: int | None = None
    first: bool = False
    filters: tuple[CriterionFilter, ...] = ()
    correlated: CriteriaGroup | None = None
    date_adjustment: DateAdjustment | None = None

    def __post_init__(self):
        from phta.query.circe.domains import CRITERIA  # data table; imported late to avoid a cycle

        if self.kind not in CRITERIA:
            self._fail("kind", f"unknown Circe criterion {self.kind!r}; known: {sorted(CRITERIA)}")
        spec = CRITERIA[self.kind]
        if self.codeset_id is not None:
            self._expect("codeset_id", self.codeset_id, int)
            if spec.concept is None:
                self._fail("codeset_id", f"{self.kind} has no concept column")
        self._expect("first", self.first, bool)
        if self.first and not spec.has_first:
            self._fail("first", f"{self.kind} has no First option")
        self._expect("filters", self.filters, tuple)
        for f in self.filters:
            if not isinstance(f, CriterionFilter):
                self._fail("filters", f"expected a criterion filter, got {type(f).__name__}")
            allowed = spec.attributes.get(f.attribute)
            if allowed is None:
                self._fail("filters", f"{self.kind} has no attribute {f.attribute!r}")
            if type(f).__name__ != allowed.filter:
                self._fail("filters", f"{self.kind}.{f.attribute} takes a {allowed.filter}, got {type(f).__name__}")
        if self.correlated is not None and not isinstance(self.correlated, CriteriaGroup):
            self._fail("correlated", "expected a CriteriaGroup")
        if self.date_adjustment is not None and not isinstance(self.date_adjustment, DateAdjustment):
            self._fail("date_adjustment", "expected a DateAdjustment")
        if self.kind == "CustomEra" and not isinstance(self, CustomEraCriterion):
            self._fail("kind", "a CustomEra criterion is a CustomEraCriterion (it needs its member criteria)")


@dataclass(frozen=True)
class CustomEraCriterion(DomainCriterion):
    """Circe's ``CustomEra`` criterion: eras built from the events of ``members`` (any criteria,
    unioned), events within ``gap_days`` of each other joined; the eras are then filtered like any
    criterion's events (``First``, attributes, correlated criteria, date adjustment)."""

    members: tuple[DomainCriterion, ...] = ()
    gap_days: int = 0

    def __post_init__(self):
        super().__post_init__()
        if self.kind != "CustomEra":
            self._fail("kind", "a CustomEraCriterion has kind 'CustomEra'")
        self._expect("members", self.members, tuple)
        if not self.members:
            self._fail("members", "a custom era needs at least one member criterion (Circe refuses an empty list)")
        for m in self.members:
            if not isinstance(m, DomainCriterion):
                self._fail("members", f"expected DomainCriterion, got {type(m).__name__}")
            if m.kind == "Episode":
                self._fail("members", CUSTOM_ERA_EPISODE)
        self._expect("gap_days", self.gap_days, int)


# Circe's episode.sql ends in a line comment without a newline, and customEra.sql wraps each member
# as "from (<member SQL>) C": the comment swallows ") C", so Circe's SQL fails. Refused, not guessed.
CUSTOM_ERA_EPISODE = ("Circe cannot build a custom era from Episode events (episode.sql ends in a line comment "
                      "that comments out the closing ') C' of customEra.sql, so its SQL fails)")


@dataclass(frozen=True)
class Endpoint(Node):
    """``days`` before (coeff -1) or after (coeff 1) the index; ``None`` days: unbounded (the
    observation period's start or end unless the observation period is ignored)."""

    days: int | None
    coeff: int

    def __post_init__(self):
        if self.days is not None:
            self._expect("days", self.days, int)
        if self.coeff not in (-1, 1):
            self._fail("coeff", f"expected -1 or 1, got {self.coeff!r}")


@dataclass(frozen=True)
class Window(Node):
    start: Endpoint
    end: Endpoint
    use_index_end: bool = False
    use_event_end: bool = False

    def __post_init__(self):
        for f in ("start", "end"):
            if not isinstance(getattr(self, f), Endpoint):
                self._fail(f, "expected an Endpoint")
        self._expect("use_index_end", self.use_index_end, bool)
        self._expect("use_event_end", self.use_event_end, bool)


@dataclass(frozen=True)
class Occurrence(Node):
    occurrence_type: int  # 0 exactly, 1 at most, 2 at least
    count: int
    distinct: bool = False
    count_column: str | None = None

    def __post_init__(self):
        if self.occurrence_type not in OCCURRENCE_TYPES:
            self._fail("occurrence_type", f"expected 0 (exactly), 1 (at most) or 2 (at least), "
                       f"got {self.occurrence_type!r}")
        self._expect("count", self.count, int)
        if self.count < 0:
            self._fail("count", "a count cannot be negative")
        self._expect("distinct", self.distinct, bool)
        if self.count_column is not None and self.count_column not in COUNT_COLUMNS:
            self._fail("count_column", f"expected one of {COUNT_COLUMNS}")


@dataclass(frozen=True)
class CorrelatedCriterion(Node):
    criterion: DomainCriterion
    start_window: Window
    occurrence: Occurrence
    end_window: Window | None = None
    restrict_visit: bool = False
    ignore_observation_period: bool = False

    def __post_init__(self):
        if not isinstance(self.criterion, DomainCriterion):
            self._fail("criterion", "expected a DomainCriterion")
        if not isinstance(self.start_window, Window):
            self._fail("start_window", "expected a Window")
        if self.end_window is not None and not isinstance(self.end_window, Window):
            self._fail("end_window", "expected a Window")
        if not isinstance(self.occurrence, Occurrence):
            self._fail("occurrence", "expected an Occurrence")
        self._expect("restrict_visit", self.restrict_visit, bool)
        self._expect("ignore_observation_period", self.ignore_observation_period, bool)
        if self.occurrence.distinct:
            from phta.query.circe.domains import (
                count_token,  # data table; imported late to avoid a cycle
            )

            try:
                count_token(self.criterion, self.occurrence.count_column)
            except ValueError as e:
                self._fail("occurrence", str(e))


DEMOGRAPHIC_ATTRIBUTES = {"Age": "NumberFilter", "Gender": "ConceptFilter", "GenderCS": "CodesetFilter",
                          "Race": "ConceptFilter", "RaceCS": "CodesetFilter", "Ethnicity": "ConceptFilter",
                          "EthnicityCS": "CodesetFilter", "OccurrenceStartDate": "DateFilter",
                          "OccurrenceEndDate": "DateFilter"}


@dataclass(frozen=True)
class DemographicCriterion(Node):
    """Person attributes at the index event (age = YEAR(index start) - year_of_birth)."""

    filters: tuple[CriterionFilter, ...] = ()

    def __post_init__(self):
        self._expect("filters", self.filters, tuple)
        for f in self.filters:
            want = DEMOGRAPHIC_ATTRIBUTES.get(getattr(f, "attribute", None))
            if want is None or type(f).__name__ != want:
                self._fail("filters", f"not a demographic filter: {type(f).__name__}")


@dataclass(frozen=True)
class CriteriaGroup(Node):
    group_type: str
    criteria: tuple[CorrelatedCriterion, ...] = ()
    demographics: tuple[DemographicCriterion, ...] = ()
    groups: tuple[CriteriaGroup, ...] = ()
    count: int | None = None

    def __post_init__(self):
        if self.group_type not in GROUP_TYPES:
            self._fail("group_type", f"expected one of {GROUP_TYPES}, got {self.group_type!r}")
        if self.group_type.startswith("AT_"):
            self._expect("count", self.count, int)
        for f, kind in (("criteria", CorrelatedCriterion), ("demographics", DemographicCriterion),
                        ("groups", CriteriaGroup)):
            self._expect(f, getattr(self, f), tuple)
            for x in getattr(self, f):
                if not isinstance(x, kind):
                    self._fail(f, f"expected {kind.__name__}, got {type(x).__name__}")

    def is_empty(self) -> bool:
        return not (self.criteria or self.demographics or self.groups)


@dataclass(frozen=True)
class CirceInclusionRule(Node):
    name: str
    group: CriteriaGroup

    def __post_init__(self):
        self._expect("name", self.name, str)
        if not isinstance(self.group, CriteriaGroup):
            self._fail("group", "expected a CriteriaGroup")


# --- end strategies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DateOffsetEnd(Node):
    """End = start (or end) date + offset days, clipped to the observation period's end."""

    date_field: str = "StartDate"
    offset: int = 0

    def __post_init__(self):
        if self.date_field not in ("StartDate", "EndDate"):
            self._fail("date_field", "expected StartDate or EndDate")
        self._expect("offset", self.offset, int)


@dataclass(frozen=True)
class ContinuousExposureEnd(Node):
    """End = end of the drug era (exposures of the concept set joined across ``gap_days``)
    containing the entry date, plus ``offset``; exposure ends default to start + days_supply, else
    start + 1, or start + ``days_supply_override`` when given."""

    drug_codeset_id: int
    gap_days: int = 0
    offset: int = 0
    days_supply_override: int | None = None

    def __post_init__(self):
        self._expect("drug_codeset_id", self.drug_codeset_id, int)
        self._expect("gap_days", self.gap_days, int)
        self._expect("offset", self.offset, int)
        if self.days_supply_override is not None:
            self._expect("days_supply_override", self.days_supply_override, int)


# --- the cohort ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CirceCohort(Node):
    """A Circe cohort expression as PHTA IR (see docs/circe-compatibility.md for the semantics)."""

    concept_sets: tuple[CirceConceptSet, ...]
    primary: tuple[DomainCriterion, ...]
    prior_days: int = 0
    post_days: int = 0
    primary_limit: str = "First"
    additional: CriteriaGroup | None = None
    qualified_limit: str = "First"
    inclusion_rules: tuple[CirceInclusionRule, ...] = ()
    expression_limit: str = "First"
    end_strategy: DateOffsetEnd | ContinuousExposureEnd | None = None
    censoring: tuple[DomainCriterion, ...] = ()
    era_pad: int = 0
    censor_start: str | None = None
    censor_end: str | None = None

    def __post_init__(self):
        self._expect("concept_sets", self.concept_sets, tuple)
        ids = set()
        for cs in self.concept_sets:
            if not isinstance(cs, CirceConceptSet):
                self._fail("concept_sets", f"expected CirceConceptSet, got {type(cs).__name__}")
            if cs.id in ids:
                self._fail("concept_sets", f"two concept sets have id {cs.id}")
            ids.add(cs.id)
        self._expect("primary", self.primary, tuple)
        if not self.primary:
            self._fail("primary", "a cohort needs at least one entry event criterion")
        for c in (*self.primary, *self.censoring):
            if not isinstance(c, DomainCriterion):
                self._fail("primary", f"expected DomainCriterion, got {type(c).__name__}")
        for f in ("prior_days", "post_days", "era_pad"):
            self._expect(f, getattr(self, f), int)
        for f in ("primary_limit", "qualified_limit", "expression_limit"):
            if getattr(self, f) not in LIMITS:
                self._fail(f, f"expected one of {LIMITS}, got {getattr(self, f)!r}")
        if self.additional is not None and not isinstance(self.additional, CriteriaGroup):
            self._fail("additional", "expected a CriteriaGroup")
        self._expect("inclusion_rules", self.inclusion_rules, tuple)
        if self.end_strategy is not None and not isinstance(self.end_strategy, DateOffsetEnd | ContinuousExposureEnd):
            self._fail("end_strategy", "expected DateOffsetEnd or ContinuousExposureEnd")
        for f in ("censor_start", "censor_end"):
            if getattr(self, f) is not None:
                _check_date(self, f, getattr(self, f))
        used = {n.codeset_id for n in self.walk() if isinstance(n, DomainCriterion | CodesetFilter)}
        if isinstance(self.end_strategy, ContinuousExposureEnd):
            used.add(self.end_strategy.drug_codeset_id)
        missing = sorted(i for i in used - ids if i is not None)
        if missing:
            self._fail("concept_sets", f"criteria use concept sets {missing} that are not defined")
