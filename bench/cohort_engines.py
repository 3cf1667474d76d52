"""Time the tutorial cohort on one synthetic-region store: DuckDB through the execution path vs
the pure-Python reference engine (the oracle), and check they agree.

    .venv/bin/python bench/cohort_engines.py data/region/XG001
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

import duckdb

from phta.cdm.store import Store
from phta.execution import LOCAL_CUSTODIAN_QUALITY, ExecutionContext, ExecutionRequest, execute
from phta.execution.dsl_sandbox import compile_dsl_source
from phta.execution.path import build_result
from phta.query import serial
from phta.query.domains import DOMAINS
from phta.query.reference import ReferenceEngine

ROOT = Path(__file__).resolve().parents[1]


def main(store_dir: str, repeats: int = 3) -> None:
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    source = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "population = cohort(" in b)
    t0 = time.perf_counter()
    cohort = compile_dsl_source(source, "t2dm.py")
    sandbox = time.perf_counter() - t0
    store = Store.open(store_dir)
    request = ExecutionRequest.build(cohort, LOCAL_CUSTODIAN_QUALITY, store)
    context = ExecutionContext.local_custodian(store)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        on_duckdb = execute(request, context)
        times.append(time.perf_counter() - t0)
    con = duckdb.connect(str(store.db_path), read_only=True)
    tables = {}
    for name in ["person", "care_site", "concept_ancestor", "observation_period", *(d.table for d in DOMAINS.values())]:
        cur = con.execute(f"SELECT * FROM {name}")
        cols = [c[0] for c in cur.description]
        tables[name] = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    con.close()
    t0 = time.perf_counter()
    rows = ReferenceEngine(tables).cohort(cohort)
    reference = time.perf_counter() - t0
    on_reference = build_result(rows, cohort, request, serial.content_hash(cohort))
    assert on_reference.attrition == on_duckdb.attrition and on_reference.strata == on_duckdb.strata
    persons = len(tables["person"])
    print(f"store {store_dir}: {persons} persons, population {on_duckdb.population_count}")
    print(f"DSL sandbox compile: {sandbox:.2f} s")
    print(f"DuckDB via execute(), median of {repeats}: {statistics.median(times):.3f} s")
    print(f"reference engine, 1 run: {reference:.3f} s (ratio {reference / statistics.median(times):.1f}x)")


if __name__ == "__main__":
    main(sys.argv[1])
