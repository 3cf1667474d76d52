"""``--dirty``: realistic faults, injected at a stated rate into a GP store's rows, so data-quality
checks and the loader have something true to find. Counts of each kind go to the run manifest.

Kinds (each applied to ``rate`` of the rows it concerns):
- ``duplicate_id``: a condition_occurrence row repeated with the same condition_occurrence_id;
- ``outside_observation``: a measurement dated 1-365 days after the person's observation ends;
- ``impossible_value``: a measurement value no body can have (negative, or 10x the maximum);
- ``unmapped_code``: a condition with condition_concept_id 0 and a source code the vocabulary lacks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FAULT_KINDS = ("duplicate_id", "outside_observation", "impossible_value", "unmapped_code")
UNMAPPED_SOURCE_CODES = np.array(["XE0Uc", "C10..", "G20..", "H33..", "1J0.."])  # Read v2-style codes, not in the vocabulary


def inject(tables: dict[str, dict[str, np.ndarray]], obs_end_of: Callable[[np.ndarray], np.ndarray], rate: float,
           rng: np.random.Generator) -> dict[str, int]:
    """Alter the finished id-assigned tables of one GP block in place; returns counts per kind."""
    counts = dict.fromkeys(FAULT_KINDS, 0)
    cond = tables.get("condition_occurrence")
    if cond:
        n = len(cond["condition_occurrence_id"])
        unmapped = rng.random(n) < rate
        cond["condition_concept_id"] = np.where(unmapped, 0, cond["condition_concept_id"])
        cond["condition_source_concept_id"] = np.where(unmapped, 0, cond["condition_source_concept_id"])
        cond["condition_source_value"] = np.where(
            unmapped, UNMAPPED_SOURCE_CODES[rng.integers(0, len(UNMAPPED_SOURCE_CODES), n)], cond["condition_source_value"])
        counts["unmapped_code"] = int(unmapped.sum())
        dup = np.flatnonzero(rng.random(n) < rate)
        for k, v in cond.items():
            cond[k] = np.concatenate([v, v[dup]])
        counts["duplicate_id"] = int(dup.size)
    meas = tables.get("measurement")
    if meas:
        n = len(meas["measurement_id"])
        u = rng.random(n)
        outside = u < rate
        impossible = (u >= rate) & (u < 2 * rate)  # disjoint from "outside", so each is counted once
        pid = meas["person_id"]
        meas["measurement_date"] = np.where(outside, obs_end_of(pid) + rng.integers(1, 366, n), meas["measurement_date"])
        wild = np.where(rng.random(n) < 0.5, -meas["value_as_number"], meas["value_as_number"] * 10 + 1000)
        meas["value_as_number"] = np.where(impossible, wild, meas["value_as_number"])
        counts["outside_observation"] = int(outside.sum())
        counts["impossible_value"] = int(impossible.sum())
    return counts
