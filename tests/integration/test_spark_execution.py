"""Spark inside the one execution path: a node set to ``spark`` runs the same governed request
on its Parquet export, with the same policy hooks (opt-outs, disclosure with cell keys, audit),
and gets exactly the result its DuckDB twin gets. A missing or stale export is refused by name.

The twin is a copy of a keyed-region node's store directory (same data, same opt-out registers,
same ``cellkey.key``), exported to Parquet. Marked ``java`` and ``slow``: one Spark session
(``spark_master``) serves the module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest

from phta.audit import entries
from phta.cdm.parquet_export import MANIFEST, export_parquet
from phta.cdm.store import Store
from phta.engines.errors import EngineError
from phta.engines.spark_views import ParquetExportError
from phta.execution import FEASIBILITY, ExecutionContext, ExecutionRequest, execute, policy_for
from phta.execution.governed import run_governed
from phta.execution.network import NodeStore, network_feasibility, region_stores
from phta.execution.node_engine import DUCKDB, NodeEngine
from phta.governance.principal import Principal
from phta.query import ir
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.functional.labels import without_labels

pytestmark = [pytest.mark.java, pytest.mark.slow]

RESEARCHER = Principal(1, "r@test.example", "Ravi", frozenset({"researcher"}))
HYPERTENSION = 2001000002
ATORVASTATIN = 1545958
QUERIES = {
    "condition": build_cohort(HYPERTENSION),
    "condition, drug, ages": build_cohort(HYPERTENSION, drug_id=ATORVASTATIN, age_min=40, age_max=90),
    "everyone by site": ir.Cohort(ir.Literal("date", dt.date(2020, 1, 1)),
                                  strata=("sex", "age_band", "ethnic_group", "imd_quintile", "site")),
}


@pytest.fixture
def node(region_settings) -> NodeStore:
    return region_stores(region_settings)[0]


@pytest.fixture
def twin(node: NodeStore, tmp_path) -> NodeStore:
    """The node's store copied (cell-key secret and opt-out registers included) and exported."""
    path = tmp_path / node.path.name
    shutil.copytree(node.path, path, ignore=shutil.ignore_patterns("parquet"))
    export_parquet(Store.open(path))
    return NodeStore(node.code, node.name, path)


def _on_spark(settings, twin: NodeStore, master: str):
    return dataclasses.replace(settings, node_engines={twin.path.name: "spark"}, spark_master=master)


@pytest.mark.parametrize("name", QUERIES)
def test_network_feasibility_on_the_spark_twin_is_identical(region_settings, node, twin, spark_master, name):
    database = open_database(region_settings)
    query = QUERIES[name]
    on_duckdb = network_feasibility(region_settings, database, RESEARCHER, query, stores=[node])
    on_spark = network_feasibility(_on_spark(region_settings, twin, spark_master), database, RESEARCHER, query,
                                   stores=[twin])
    assert on_spark.not_taken_part == [] and on_duckdb.not_taken_part == []
    # the same values (the second run may be labelled as repeating the first: same persons)
    assert without_labels(on_spark.to_dict()) == without_labels(on_duckdb.to_dict())
    (_, result), (_, twin_result) = on_duckdb.nodes[0], on_spark.nodes[0]
    assert twin_result.opt_outs == result.opt_outs and {o.kind for o in result.opt_outs} >= {"national"}
    # Disclosure control ran on both (the cell-key method: every published count is rounded).
    assert twin_result.policy_name == result.policy_name == "feasibility"
    assert all(c.suppressed or c.value % 10 == 0 for _, out in twin_result.tables for c in out.cells)
    runs = [e.details for e in entries(database) if e.action == "query.run"]
    assert [r["outcome"] for r in runs] == ["completed", "completed"]
    assert runs[0]["opt_outs"] == runs[1]["opt_outs"] and runs[0]["query_hash"] == runs[1]["query_hash"]


@pytest.mark.parametrize("name", QUERIES)
def test_unprotected_counts_attrition_strata_and_cell_keys_agree_after_opt_outs(node, twin, spark_master, name):
    """Before disclosure: the same counts, attrition, strata and cell keys, with the same persons
    removed by the opt-out rewrite on both engines."""
    outputs = ("count", "strata", "attrition")
    results = {}
    for label, store, engine in (("duckdb", node.path, DUCKDB),
                                 ("spark", twin.path, NodeEngine("spark", spark_master))):
        request = dataclasses.replace(ExecutionRequest.build(QUERIES[name], FEASIBILITY, store, outputs), engine=engine)
        policy = policy_for(FEASIBILITY, request.store)
        results[label] = execute(request, ExecutionContext("c", frozenset({"custodian"}), request.node), policy)
        everyone = execute(request, ExecutionContext("c", frozenset({"custodian"}), request.node))
        assert results[label].opt_outs
        # The narrow cohort happens to hold nobody on a register; the broad ones do.
        assert results[label].population_count <= everyone.population_count
        if name != "condition, drug, ages":
            assert results[label].population_count < everyone.population_count
    assert results["spark"].cell_keys  # the record keys travelled with the export
    assert results["spark"] == results["duckdb"]


def test_a_node_without_an_export_is_refused_naming_the_store_and_the_command(region_settings, node, tmp_path,
                                                                              spark_master):
    path = tmp_path / "unexported"
    shutil.copytree(node.path, path, ignore=shutil.ignore_patterns("parquet"))
    settings = _on_spark(region_settings, NodeStore(node.code, node.name, path), spark_master)
    database = open_database(region_settings)
    with pytest.raises(ParquetExportError) as refused:
        run_governed(settings, database, RESEARCHER, "network_feasibility", QUERIES["condition"], path)
    assert str(path) in str(refused.value) and "phta store export-parquet" in str(refused.value)
    outcome = network_feasibility(settings, database, RESEARCHER, QUERIES["condition"],
                                  stores=[NodeStore(node.code, node.name, path)])
    assert outcome.nodes == []
    assert outcome.not_taken_part == [(NodeStore(node.code, node.name, path),
                                       "the node's Parquet export for Spark is missing or stale "
                                       "(phta store export-parquet)")]


def test_a_store_changed_after_its_export_is_refused_until_re_exported(region_settings, twin, spark_master):
    settings = _on_spark(region_settings, twin, spark_master)
    database = open_database(region_settings)
    query = QUERIES["condition"]
    before = run_governed(settings, database, RESEARCHER, "network_feasibility", query, twin.path)
    with Store.open(twin.path).connect() as con:  # a later load adds a person
        con.execute("INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
                    "ethnicity_concept_id) VALUES (99999999, 8507, 1970, 0, 0)")
    with pytest.raises(ParquetExportError, match="stale") as refused:
        run_governed(settings, database, RESEARCHER, "network_feasibility", query, twin.path)
    assert isinstance(refused.value, EngineError)
    assert str(twin.path) in str(refused.value) and "phta store export-parquet" in str(refused.value)
    export_parquet(Store.open(twin.path))
    after = run_governed(settings, database, RESEARCHER, "network_feasibility", query, twin.path)
    # the new person has no hypertension: same cohort, same value (labelled as repeating it)
    assert after.total.value == before.total.value and "same_as_earlier" in after.total.reasons


def test_an_interrupted_export_is_not_taken_for_a_complete_one(region_settings, twin, spark_master):
    (Store.open(twin.path).parquet_dir / MANIFEST).unlink()
    with pytest.raises(ParquetExportError, match="no complete Parquet export"):
        run_governed(_on_spark(region_settings, twin, spark_master), open_database(region_settings), RESEARCHER,
                     "network_feasibility", QUERIES["condition"], twin.path)
