"""Every spec case on Spark too: compiled with the ``spark`` dialect, run by ``SparkEngine`` on
the case's store exported to Parquet; results must equal the chapter's expected values.

Marked ``java`` and ``slow`` (a store, an export and views per case: minutes on 2 cores).
Without Java these skip locally and fail under CI=true. One Spark session (the
``spark_master`` fixture) serves every case.
"""

import pytest

from phta.cdm.summary import export_parquet
from phta.engines.spark import SparkEngine
from phta.execution import LOCAL_CUSTODIAN_QUALITY, ExecutionRequest
from phta.execution.path import build_result
from phta.query import ir, serial
from phta.query.cohort_compiler import compile_cohort
from phta.query.compiler import compile_series_table, python_value
from phta.query.reference import CohortRows
from tests.spec.cohort import harness
from tests.spec.cohort.chapters import all_cases

pytestmark = [pytest.mark.java, pytest.mark.slow]

CASES = list(all_cases())
IDS = [f"{ch.__name__.rsplit('.', 1)[-1]}:{case.title}" for ch, case in CASES]
OUTPUTS = frozenset({"count", "strata", "attrition", "membership"})


@pytest.mark.parametrize(("chapter", "case"), CASES, ids=IDS)
def test_case_on_spark(chapter, case, tmp_path, spark_master):
    tables = harness.complete(case.tables)
    query = case.build()
    store = harness.build_store(tmp_path / "store", tables)
    export_parquet(store)
    engine = SparkEngine.for_store(store, master=spark_master)
    if isinstance(query, ir.Series):
        stmt = compile_series_table({"v": query}, dialect="spark")
        got = {r[0]: python_value(query.type, r[1]) for r in engine.execute(stmt.tree, stmt.params)}
        assert got == case.expected
        return
    compiled = compile_cohort(query, dialect="spark")
    membership, attrition, strata = (
        engine.execute(s.tree, s.params)
        for s in (compiled.membership, compiled.attrition, compiled.strata)
    )
    rows = CohortRows(
        membership=[
            (r[0], python_value("date", r[1]), python_value("date", r[2])) for r in membership
        ],
        attrition=[int(v or 0) for v in attrition[0]],
        strata=[(r[0], r[1], int(r[2])) for r in strata],
    )
    request = ExecutionRequest(query, LOCAL_CUSTODIAN_QUALITY, store, "spec", OUTPUTS)
    result = build_result(rows, query, request, serial.content_hash(query))
    # Compiled without attrition (every rule at once): the same members and strata rows.
    at_once = compile_cohort(query, dialect="spark", attrition=False)
    assert at_once.attrition is None
    assert sorted(engine.execute(at_once.membership.tree, at_once.membership.params)) == sorted(membership)
    assert sorted(engine.execute(at_once.strata.tree, at_once.strata.params), key=str) == sorted(strata, key=str)
    assert [
        (m.person_id, m.start_date, m.end_date) for m in result.membership
    ] == case.expected_members
    if case.expected_attrition is not None:
        assert [s.remaining for s in result.attrition] == case.expected_attrition
    for stratum, expected in case.expected_strata.items():
        assert result.strata_of(stratum) == expected
