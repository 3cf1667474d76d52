"""Compiled cohorts kept by everything that determines them, so a repeated query skips the compiler.

Feasibility queries are asked again and again: a definition re-run from the form or the API, the
hub's query fanned out to the nodes one process serves, a network count refreshed. Compiling and
rendering costs about a millisecond of Python per cohort, as much as the engine's whole run for a
small cohort at a million persons (BENCHMARKS.md). The key is every input of
:func:`~phta.query.cohort_compiler.compile_cohort`: the cohort *after* the governance rewrite (so
its opt-outs are part of it), the dialect, the physical design (the index features and the
resolved concept sets: re-indexing the store or changing its vocabulary gives a new key) and the
flags. A hit returns the same :class:`CompiledCohort`; its statements are never changed in place
(every consumer copies a tree before it changes it, see :meth:`Statement.sql`), so sharing them is
safe. Nothing about patients is kept: statements hold the query's own values only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from phta.query import ir
from phta.query.cohort_compiler import CompiledCohort, compile_cohort
from phta.query.physical import PhysicalDesign

MAX_ENTRIES = 256

_entries: OrderedDict[tuple, CompiledCohort] = OrderedDict()
_lock = threading.Lock()


def compiled_cohort(cohort: ir.Cohort, dialect: str, physical: PhysicalDesign, *, cell_keys: bool,
                    attrition: bool) -> CompiledCohort:
    """``compile_cohort(cohort, dialect, physical, cell_keys=..., attrition=...)``, from the cache
    when the same inputs were compiled before (least recently used entries are dropped)."""
    descendants = None if physical.descendants is None else tuple(sorted(physical.descendants.items()))
    key = (cohort, dialect, physical.features, descendants, cell_keys, attrition)
    with _lock:
        hit = _entries.get(key)
        if hit is not None:
            _entries.move_to_end(key)
            return hit
    compiled = compile_cohort(cohort, dialect, physical=physical, cell_keys=cell_keys, attrition=attrition)
    with _lock:
        _entries[key] = compiled
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return compiled


def clear() -> None:
    """Forget every compiled cohort (tests; a deployment never needs to)."""
    with _lock:
        _entries.clear()
