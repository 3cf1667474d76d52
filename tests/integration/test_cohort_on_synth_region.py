"""On a generated synthetic region, the tutorial's cohort gives the same answer on DuckDB (through
the execution path) and on the reference engine reading the same store's tables."""

from __future__ import annotations

import re

import duckdb
import pytest

from phta.cdm.store import Store
from phta.cdm.synth.generate import generate
from phta.execution.dsl_sandbox import compile_dsl_source
from phta.query.domains import DOMAINS
from tests.components import REPO_ROOT
from tests.spec.cohort import harness

KEY = b"k" * 32


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("region") / "region", patients=1_500, sites=2, seed=11, key=KEY)


def tutorial_cohort():
    text = (REPO_ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    source = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "population = cohort(" in b)
    return compile_dsl_source(source, "t2dm.py")


def read_tables(db_path) -> dict[str, list[dict]]:
    names = ["person", "care_site", "concept_ancestor", *(d.table for d in DOMAINS.values())]
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        out = {}
        for name in names:
            cur = con.execute(f"SELECT * FROM {name}")
            cols = [c[0] for c in cur.description]
            out[name] = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        return out
    finally:
        con.close()


def test_tutorial_cohort_agrees_with_the_reference_engine(region):
    cohort = tutorial_cohort()
    counts = []
    for site in region.sites:
        store_path = region.store_path(site)
        store = Store.open(store_path)
        on_duckdb = harness.cohort_result(store, cohort)
        on_reference = harness.reference_cohort(read_tables(store.db_path), cohort)
        assert on_duckdb.membership == on_reference.membership
        assert on_duckdb.attrition == on_reference.attrition
        assert on_duckdb.strata == on_reference.strata
        counts.append(on_duckdb.population_count)
    assert max(counts) > 0  # the comparison is not vacuous
