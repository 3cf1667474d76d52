"""Concept ids a submitted cohort names that the region's vocabulary does not hold.

An ATLAS definition carries the concept ids of the vocabulary it was written on; an id the
region does not have matches no one, and the counts come back 0 with nothing to say why. The
feasibility pages and the ATLAS API name such ids, by concept set, beside the counts. The
region's node stores are loaded with the embedded vocabulary (``phta.cdm.vocabulary``), so that
is what the ids are checked against; each node still checks its own store when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from phta.cdm import vocabulary
from phta.query.ir_circe import CirceCohort


@dataclass(frozen=True)
class UnknownInSet:
    concept_set: int  # the ATLAS concept set's id
    concept_ids: tuple[int, ...]

    def as_dict(self) -> dict:
        return {"concept_set": self.concept_set, "concept_ids": list(self.concept_ids)}


@cache
def _known() -> frozenset[int]:
    return frozenset(row["concept_id"] for row in vocabulary.concepts().values())


def unknown_in_atlas(query: CirceCohort) -> list[UnknownInSet]:
    """Per concept set, the ids (included or excluded) the region's vocabulary lacks."""
    found = []
    for cs in query.concept_sets:
        missing = sorted({item.concept_id for item in cs.items} - _known())
        if missing:
            found.append(UnknownInSet(cs.id, tuple(missing)))
    return found
