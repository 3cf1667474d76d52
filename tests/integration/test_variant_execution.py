"""The variant criterion through the one execution path: opt-outs still remove persons (an
opted-out carrier is never counted), and a store without a ``variant`` table refuses the query
with an error naming the table -- on DuckDB and on a Spark node alike, and in network feasibility
as a node that could not take part."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from phta.cdm import data_source, optout_register
from phta.cdm.extensions import ensure_extension_tables
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.execution import (
    FEASIBILITY,
    LOCAL_CUSTODIAN_QUALITY,
    ExecutionContext,
    ExecutionRequest,
    execute,
    policy_for,
)
from phta.execution.network import NetworkFeasibility, NodeStore, gather
from phta.execution.node_engine import NodeEngine
from phta.query import ir, serial
from phta.query.variants import MissingTable

PSEUDONYMISER = Pseudonymiser(b"v" * 32)
NUMBERS = [str(n) for n in reserved_range_nhs_numbers(4)]
BRCA_WOMEN = ir.Cohort(
    ir.Literal("date", dt.date(2021, 1, 1)),
    (ir.Rule("female", ir.Compare("eq", ir.Sex(), ir.Literal("str", "female"))),
     ir.Rule("BRCA1/2 P/LP", ir.HasVariant(("BRCA1", "BRCA2"), ("Pathogenic", "Likely pathogenic")))),
    strata=("sex",))


def _store(path, *, variants: bool = True) -> Store:
    """Four women; persons 1, 2 and 3 carry a pathogenic BRCA variant, person 4 was never sequenced."""
    store = Store.create(path, node_name="XT001")
    with store.connect() as con:
        for pid in (1, 2, 3, 4):
            con.execute("INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
                        "ethnicity_concept_id, person_source_value) VALUES (?, 8532, 1970, 0, 0, ?)",
                        [pid, PSEUDONYMISER.pseudonym(NUMBERS[pid - 1])])
        if variants:
            ensure_extension_tables(con)
            for pid, gene in ((1, "BRCA1"), (2, "BRCA2"), (3, "BRCA1")):
                con.execute("INSERT INTO variant VALUES (?, '17', 43124027, 'ACT', 'A', ?, NULL, 'heterozygous', "
                            "'Pathogenic')", [pid, gene])
    return store


def _run(store, purpose, engine=None):
    request = ExecutionRequest.build(BRCA_WOMEN, purpose, store)
    if engine is not None:
        request = dataclasses.replace(request, engine=engine)
    context = ExecutionContext("custodian-a", frozenset({"custodian"}), request.node)
    return execute(request, context, policy_for(purpose, store))


def test_an_opted_out_carrier_is_not_counted(tmp_path):
    store = _store(tmp_path / "node")
    data_source.declare(store, {"hospital"})
    f = tmp_path / "national.csv"
    f.write_text(f"nhs_number\n{NUMBERS[0]}\n", encoding="utf-8")
    optout_register.refresh(store, "national", f, dt.date(2026, 11, 2), PSEUDONYMISER)

    everyone = _run(store, LOCAL_CUSTODIAN_QUALITY)  # the custodian's quality checks see every record
    assert everyone.population_count == 3

    feasibility = _run(store, FEASIBILITY)
    # Person 1 opted out: the two other carriers remain, and the opted-out person is not an
    # attrition step either (the rewrite narrows the universe before counting starts).
    assert [step.remaining for step in feasibility.attrition] == [3, 3, 2]
    assert feasibility.opt_outs and feasibility.opt_outs[0].kind == "national"


def test_a_store_without_a_variant_table_names_the_table(tmp_path):
    store = _store(tmp_path / "node", variants=False)
    with pytest.raises(MissingTable, match=r"HasVariant: this store has no 'variant' table: it holds no germline"):
        _run(store, LOCAL_CUSTODIAN_QUALITY)
    # A Spark node is refused the same way, before any export or Spark session is needed.
    with pytest.raises(MissingTable, match=r"'variant' table"):
        _run(store, LOCAL_CUSTODIAN_QUALITY, engine=NodeEngine("spark", "local[1]"))


def test_queries_without_a_variant_criterion_still_run_on_such_a_store(tmp_path):
    store = _store(tmp_path / "node", variants=False)
    request = ExecutionRequest.build(ir.Cohort(ir.Literal("date", dt.date(2021, 1, 1))), LOCAL_CUSTODIAN_QUALITY, store)
    context = ExecutionContext("custodian-a", frozenset({"custodian"}), request.node)
    assert execute(request, context, policy_for(LOCAL_CUSTODIAN_QUALITY, store)).population_count == 4


def test_a_node_without_variants_does_not_take_part_in_network_feasibility(tmp_path):
    with_variants, without = _store(tmp_path / "a"), _store(tmp_path / "b", variants=False)
    nodes = [NodeStore("XT001", "with sequencing", with_variants.path), NodeStore("XG001", "GP data", without.path)]
    outcome = gather(NetworkFeasibility(serial.content_hash(BRCA_WOMEN), "spec"), nodes,
                     lambda node: _run(Store.open(node.path), LOCAL_CUSTODIAN_QUALITY))
    assert [n.code for n, _ in outcome.nodes] == ["XT001"]
    ((node, reason),) = outcome.not_taken_part
    assert node.code == "XG001" and "'variant' table" in reason
    assert json.dumps([reason]).isascii()  # a reason names the table, never a count or a person
