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
``Exists`` of nothing is false, and so is ``HasVariant`` for a person without a matching variant
row (including one never sequenced); an inclusion rule that is missing counts as not met.

The nodes live in :mod:`phta.query.nodes` (base), :mod:`phta.query.frames`,
:mod:`phta.query.series`, :mod:`phta.query.variants` and :mod:`phta.query.cohort`; this module is the one to import.
"""

from __future__ import annotations

from phta.query.cohort import STRATA, Cohort, Rule, age_band_label
from phta.query.frames import ConceptItem, ConceptSet, Events, WhereConcepts, WhereDate, WhereValue
from phta.query.nodes import NUMERIC, SERIES_TYPES, Frame, IRError, Node, Series, expect_series
from phta.query.series import (
    COMPARISONS,
    AddDays,
    AgeAt,
    And,
    Compare,
    Count,
    DateOfBirth,
    DaysBetween,
    EthnicCategory,
    EthnicGroup,
    Exists,
    FirstDate,
    ImdQuintile,
    IndexDate,
    IsMissing,
    LastDate,
    Literal,
    MaxValue,
    MinValue,
    Not,
    ObservationPeriodEnd,
    ObservationPeriodStart,
    Or,
    PersonIn,
    Sex,
    Site,
    YearAgeAt,
)
from phta.query.variants import HasVariant, VariantAllele, VariantRegion

__all__ = [
    "COMPARISONS", "NUMERIC", "SERIES_TYPES", "STRATA", "AddDays", "AgeAt", "And", "Cohort", "Compare",
    "ConceptItem", "ConceptSet", "Count", "DateOfBirth", "DaysBetween", "EthnicCategory", "EthnicGroup",
    "Events", "Exists", "FirstDate", "Frame", "HasVariant", "IRError", "ImdQuintile", "IndexDate", "IsMissing",
    "LastDate", "Literal", "MaxValue", "MinValue", "Node", "Not", "ObservationPeriodEnd",
    "ObservationPeriodStart", "Or", "PersonIn", "Rule", "Series",
    "Sex", "Site", "VariantAllele", "VariantRegion", "WhereConcepts", "WhereDate", "WhereValue", "YearAgeAt", "age_band_label",
    "expect_series",
]
