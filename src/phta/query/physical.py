"""What the compiler may assume about a store's physical design (pure data, no I/O).

The execution path fills this in per query (:mod:`phta.execution.physical`): which helper tables
the store's index offers (built by :mod:`phta.cdm.physical`) and the descendants of the query's
concept sets, resolved once from the store's ``concept_ancestor``. The compiler then emits plain
``IN`` lists (which DuckDB pushes into the scan, where zone maps of the concept-clustered event
tables skip row groups) and joins the per-person facts table instead of correlated look-ups.
With the default (nothing known) the compiler emits SQL that runs on any OMOP store; both forms
give identical results (the spec and differential tests run both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PERSON_FACTS = "person_facts"  # feature name recorded by phta.cdm.physical
FACTS_TABLE = "phta_person_facts"


@dataclass(frozen=True)
class PhysicalDesign:
    features: frozenset[str] = frozenset()
    # ancestor concept id -> its descendants (itself included), from the store's concept_ancestor;
    # None means "not resolved": the compiler then joins concept_ancestor in the query.
    descendants: Mapping[int, tuple[int, ...]] | None = field(default=None)

    @property
    def person_facts(self) -> bool:
        return PERSON_FACTS in self.features


NONE = PhysicalDesign()
