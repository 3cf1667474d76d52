"""Every spec case runs on DuckDB (a real store, with and without the physical design of
``phta store index``) and on the reference engine; all must agree with the expected per-patient
results written in the chapter."""

import pytest

from phta.query import ir
from tests.spec.cohort import harness
from tests.spec.cohort.chapters import all_cases

CASES = list(all_cases())
IDS = [f"{ch.__name__.rsplit('.', 1)[-1]}:{case.title}" for ch, case in CASES]


@pytest.fixture(params=["duckdb", "duckdb-indexed", "reference"])
def engine(request):
    return request.param


@pytest.mark.parametrize(("chapter", "case"), CASES, ids=IDS)
def test_case(chapter, case, engine, tmp_path):
    tables = harness.complete(case.tables)
    query = case.build()
    store = None
    if engine == "duckdb":
        store = harness.build_store(tmp_path / "store", tables)
    elif engine == "duckdb-indexed":
        store = harness.build_indexed_store(tmp_path / "store", tables)
    if isinstance(query, ir.Series):
        if store is not None:
            got = harness.duckdb_series(store, query, indexed=engine == "duckdb-indexed")
        else:
            got = harness.reference_series(tables, query)
        assert got == case.expected
        return
    assert isinstance(query, ir.Cohort)
    if store is not None:
        result = harness.cohort_result(store, query)
    else:
        result = harness.reference_cohort(tables, query)
    members = [(m.person_id, m.start_date, m.end_date) for m in result.membership]
    assert members == case.expected_members
    if case.expected_attrition is not None:
        assert [s.remaining for s in result.attrition] == case.expected_attrition
    for stratum, expected in case.expected_strata.items():
        assert result.strata_of(stratum) == expected
