"""ATLAS / Circe cohorts in the opt-out property (tests/integration/test_optout_property.py).

A seeded synthetic Circe store (tests/spec/circe/synthetic.py) whose persons carry regional
pseudonyms, national and type 1 registers naming some of them (and people from elsewhere), and
a pruned copy without the opted-out persons that shares the node's ``cellkey.key`` (so the same
persons get the same record keys and therefore the same noise). The surfaces run a Circe
expression on the node store under ``policy_for(purpose, store)`` and return what they publish;
the expected value is the same surface's output on the pruned copy with no opt-out policy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from phta.cdm import data_source, optout_register
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.record_keys import SECRET_FILE, cell_key_secret, index_record_keys
from phta.cli.main import app as cli
from phta.disclosure import load_policy
from phta.execution import ExecutionContext, ExecutionPolicy, Purpose, policy_for
from phta.execution.circe import CirceRequest, execute_circe
from phta.execution.circe_disclosure import protect_circe
from phta.query.circe.importer import import_expression
from phta.query.vocabulary_check import first_refused
from tests.integration.query_strategies import store_from_template
from tests.integration.web_optout import without
from tests.spec.circe import synthetic
from tests.spec.circe.harness import load_rows

PERSONS = 25
AS_OF = dt.date(2026, 11, 1)
PSEUDONYMISER = Pseudonymiser(bytes(range(32)))
NUMBERS = [str(n) for n in reserved_range_nhs_numbers(PERSONS + 6)]  # persons 1..25 and six elsewhere
FEASIBILITY_POLICY = load_policy("feasibility")  # cell-key noise, rounding, suppression


def circe_store(template: Path, path: Path, data: dict):
    store = store_from_template(template, path, {})
    load_rows(store, data)  # relaxes the NOT NULLs Circe's end-date defaults need to see
    return store


def stores(template: Path, tmp: Path, seed: int, registers: dict[str, set[int]], sources, kinds: set[str]):
    """(node store, pruned copy): registers hold NUMBERS positions; ``kinds`` are those that apply."""
    data = synthetic.tables(seed, PERSONS)
    for person in data["person"]:
        person["person_source_value"] = PSEUDONYMISER.pseudonym(NUMBERS[person["person_id"] - 1])
    store = circe_store(template, tmp / "node", data)
    if sources is not None:
        data_source.declare(store, sources)
    for kind, positions in registers.items():
        listed = tmp / f"{kind}.csv"
        listed.write_text("nhs_number\n" + "".join(f"{NUMBERS[i]}\n" for i in sorted(positions)), encoding="utf-8")
        optout_register.refresh(store, kind, listed, AS_OF, PSEUDONYMISER)
    opted_out = {i + 1 for k in kinds for i in registers[k]} & set(range(1, PERSONS + 1))
    pruned = circe_store(template, tmp / "pruned", without(data, opted_out))
    cell_key_secret(store)
    shutil.copy(store.path / SECRET_FILE, pruned.path / SECRET_FILE)  # the same node secret
    index_record_keys(store)
    index_record_keys(pruned)
    return store, pruned


def _protected(result) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(dataclasses.replace(result, opt_outs=())), default=str))


def _run(store, purpose_code: str, expression: dict, policy: ExecutionPolicy):
    request = CirceRequest(import_expression(expression), Purpose(purpose_code, "test", True), store, "optout-node")
    return execute_circe(request, ExecutionContext("tester", frozenset({"custodian"}), "optout-node"), policy)


def via_execution_path(store, purpose_code, expression, db):
    """Every unprotected number (episodes, both counting modes, masks, cell keys), and the opt-outs."""
    result = _run(store, purpose_code, expression, policy_for(purpose_code, store, database=db))
    return dataclasses.replace(result, opt_outs=(), disclosure=""), result.opt_outs


def via_disclosure_hook(store, purpose_code, expression, db):
    """What a governed purpose publishes: persons and the rule table, noise keyed by the persons."""
    base = ExecutionPolicy(disclosure=lambda result, request: protect_circe(result, FEASIBILITY_POLICY))
    result = _run(store, purpose_code, expression, policy_for(purpose_code, store, database=db, base=base))
    return _protected(result), result.opt_outs


def via_cohort_run_cli(store, purpose_code, expression, db):
    """`phta cohort run ATLAS.json --json --purpose network_feasibility` (opt-outs + feasibility policy)."""
    if purpose_code != "network_feasibility":
        return None
    definition = store.path.parent / "atlas.json"
    definition.write_text(json.dumps(expression), encoding="utf-8")
    out = CliRunner().invoke(cli, ["cohort", "run", str(definition), "--store", str(store.path), "--json",
                                   "--purpose", purpose_code])
    if first_refused(import_expression(expression), purpose_code) is not None:
        # outside the purpose's vocabulary: refused before anything is counted
        assert out.exit_code == 1 and "query vocabulary" in out.output, out.output
        return None
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    applied = tuple((o["kind"], o["as_of"]) for o in got.pop("opt_outs"))
    got["opt_outs"] = []
    return got, applied


def expected(surface, pruned, purpose_code, expression):
    """The surface's output on the pruned copy, with no opt-out policy at all."""
    if surface is via_execution_path:
        return dataclasses.replace(_run(pruned, purpose_code, expression, ExecutionPolicy()), disclosure="")
    protected = _run(pruned, purpose_code, expression,
                     ExecutionPolicy(disclosure=lambda result, request: protect_circe(result, FEASIBILITY_POLICY)))
    return _protected(protected)


SURFACES = {"execution path": via_execution_path, "disclosure hook": via_disclosure_hook,
            "phta cohort run ATLAS.json": via_cohort_run_cli}
