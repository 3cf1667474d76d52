"""The node agent on real node stores: each node has its own data directory, operational
database (its audit chain), keys, replay cache and release ledger. Tasks are signed by the hub;
answers are signed by the node; only protected values leave. Attack tests sit beside their
harmless controls."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from phta.audit import entries, verify_chain
from phta.config import load_settings
from phta.execution.network import region_stores
from phta.federation import keys
from phta.federation.aggregate import combine, verified_result
from phta.federation.node_agent import ApprovalQueue, NodeAgent, TaskRejected
from phta.federation.node_policy import NodePolicy, save_node_policy
from phta.federation.protocol import ProtocolError, Task, sign
from phta.query import ir, serial
from phta.query.simple_cohort import build_cohort
from phta.store import open_database

HYPERTENSION = 2001000002
GRANT = {"requester": "user:1", "roles": ["researcher"], "project": None}


@pytest.fixture
def network(region_settings, tmp_path):
    """A hub key and one agent per node store, each with a data directory of its own."""
    hub = keys.hub_key(tmp_path / "hub")
    agents = {}
    for node in region_stores(region_settings):
        settings = load_settings(tmp_path / f"node-{node.code}", env={})
        settings.data_dir.mkdir(parents=True)
        database = open_database(settings)
        keys.pin_hub_key(settings.data_dir, keys.public_key_text(hub.public_key()))
        agents[node.code] = NodeAgent(settings, database, node.path, node.code,
                                      keys.pinned_hub_key(settings.data_dir), keys.node_key(settings.data_dir))
    return hub, agents


def _task(node: str, query: ir.Cohort | None = None, *, wire: dict | None = None, **overrides) -> Task:
    """A task for ``node``: ``query`` as PHTA IR, or ``wire`` as the task's query object itself."""
    query = query or build_cohort(HYPERTENSION)
    args = {"task_type": "feasibility_count", "target_node": node,
            "query": wire or {"format": "phta-ir", "definition": serial.to_data(query)},
            "purpose": "network_feasibility", "grant": GRANT} | overrides
    return Task.new(**args)


def _node_keys(agents) -> dict:
    return {code: agent.signing_key.public_key() for code, agent in agents.items()}


def _ask(hub, agents, query=None) -> dict:
    answers = {}
    for code, agent in agents.items():
        task = _task(code, query)
        answers[code] = verified_result(agent.handle(sign(hub, task.to_body())), task.task_id, code, _node_keys(agents))
    return answers


def test_a_signed_task_runs_through_the_governed_path_and_only_protected_values_leave(network):
    hub, agents = network
    answers = _ask(hub, agents)
    for code, result in answers.items():
        assert result.status == "completed", result.reason
        total = result.answer["total"]
        assert set(total) in ({"value"}, {"below"})
        assert total.get("value", 10) % 10 == 0 and total.get("value", 1) != 0
        for levels in result.answer["strata"].values():
            for cell in levels.values():
                assert ("value" in cell and cell["value"] > 0 and cell["value"] % 10 == 0) or cell == {"below": 10}
        runs = [e for e in entries(agents[code].database) if e.action == "query.run"]
        assert [r.details["outcome"] for r in runs] == ["completed"]  # the node's own audit chain
        assert verify_chain(agents[code].database).ok
    combined = combine(list(agents), answers)
    assert combined.total == sum(r.answer["total"].get("value", 0) for r in answers.values())
    assert combined.sites is None  # no node's policy shares per-site figures by default


def test_an_atlas_task_runs_through_the_governed_circe_path(network):
    from tests.functional.test_feasibility_atlas_web import DEFINITION

    hub, agents = network
    code, agent = next(iter(agents.items()))
    definition = json.loads(DEFINITION) if isinstance(DEFINITION, str) else DEFINITION
    task = _task(code, wire={"format": "atlas", "definition": definition})
    result = verified_result(agent.handle(sign(hub, task.to_body())), task.task_id, code, _node_keys(agents))
    assert result.status == "completed", result.reason
    assert result.answer["total"]["value"] % 10 == 0 and result.answer["policy"]["name"] == "feasibility"
    (run,) = [e for e in entries(agent.database) if e.action == "query.run"]
    assert "national" in {o["kind"] for o in run.details["opt_outs"]}  # the node's opt-outs applied


def test_an_invalid_query_is_refused_naming_the_place(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    task = _task(code, wire={"format": "phta-ir", "definition": {"type": "Cohort", "bogus": 1}})
    result = agent.handle(sign(hub, task.to_body()))
    assert result["body"]["status"] == "refused" and "bogus" in result["body"]["reason"]


def test_small_counts_leave_as_below_threshold_never_zero(network):
    hub, agents = network
    nobody = dataclasses.replace(build_cohort(HYPERTENSION), rules=(
        ir.Rule("impossible", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 119))),))
    answers = _ask(hub, agents, nobody)
    for result in answers.values():
        assert result.answer["total"] == {"below": 10}
    assert combine(list(agents), answers).below_threshold_at == list(agents)


def test_a_tampered_task_is_not_answered(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    signed = sign(hub, _task(code).to_body())
    signed["body"]["purpose"] = "project:1"
    with pytest.raises(TaskRejected, match="does not verify"):
        agent.handle(signed)
    assert [e for e in entries(agent.database) if e.action == "query.run"] == []


def test_a_task_signed_by_another_hub_is_not_answered(network, tmp_path):
    _, agents = network
    impostor = keys.hub_key(tmp_path / "impostor")
    code, agent = next(iter(agents.items()))
    with pytest.raises(TaskRejected):
        agent.handle(sign(impostor, _task(code).to_body()))


def test_a_replayed_task_is_never_run_twice_also_after_the_agent_restarts(network):
    """A replay of the same signed task gets the same signed answer back (what already left):
    nothing is run again, nothing new leaves, the ledger and audit see one run."""
    hub, agents = network
    code, agent = next(iter(agents.items()))
    signed = sign(hub, _task(code).to_body())
    first = agent.handle(signed)
    assert first["body"]["status"] == "completed"
    restarted = dataclasses.replace(agent, database=open_database(agent.settings))
    again = restarted.handle(json.loads(json.dumps(signed)))
    assert again == first
    runs = [e for e in entries(agent.database) if e.action == "query.run"]
    assert len(runs) == 1  # ran once, never twice
    fresh = restarted.handle(sign(hub, _task(code).to_body()))  # control: a new task runs
    assert fresh["body"]["status"] == "completed"


def test_an_expired_task_is_refused(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    old = _task(code, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    result = agent.handle(sign(hub, old.to_body()))
    assert result["body"] == result["body"] | {"status": "refused", "reason": "the task has expired"}


def test_a_task_for_another_node_is_refused(network):
    hub, agents = network
    (_, agent), (b, _) = list(agents.items())[:2]
    result = agent.handle(sign(hub, _task(b).to_body()))
    assert result["body"]["status"] == "refused" and repr(b) in result["body"]["reason"]


def test_an_unknown_protocol_version_is_refused_naming_it(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    body = _task(code).to_body() | {"protocol": "phta-federation/2"}
    result = agent.handle(sign(hub, body))
    assert result["body"]["status"] == "refused"
    assert "'phta-federation/2'" in result["body"]["reason"] and "phta-federation/1" in result["body"]["reason"]


def test_the_nodes_own_policy_refuses_what_it_does_not_allow(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    result = agent.handle(sign(hub, _task(code, purpose="project:4").to_body()))
    assert result["body"]["status"] == "refused" and "'project:4'" in result["body"]["reason"]


def test_governance_at_the_node_refuses_a_requester_without_the_role(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    task = _task(code, grant={"requester": "user:2", "roles": ["public"]})
    result = agent.handle(sign(hub, task.to_body()))
    assert result["body"]["status"] == "refused" and "roles" in result["body"]["reason"]


def test_custodian_approval_queues_the_task_and_every_policy_change_is_audited(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    save_node_policy(agent.data_dir, NodePolicy(approval_required=True), database=agent.database,
                     actor="user:9")
    (change,) = [e for e in entries(agent.database) if e.action == "federation.node_policy"]
    assert change.details["after"]["approval_required"] is True and change.actor == "user:9"
    task = _task(code)
    assert agent.handle(sign(hub, task.to_body())) is None
    queue = ApprovalQueue(agent.data_dir)
    assert [t.task_id for t in queue.waiting()] == [task.task_id]
    assert [e for e in entries(agent.database) if e.action == "query.run"] == []  # nothing ran yet
    approved = queue.decide(task.task_id, approve=True)
    assert agent.run(approved, share=False)["body"]["status"] == "completed"
    assert queue.waiting() == []


def test_a_tampered_result_or_one_from_an_unknown_node_is_not_counted(network):
    hub, agents = network
    code, agent = next(iter(agents.items()))
    task = _task(code)
    signed = agent.handle(sign(hub, task.to_body()))
    forged = json.loads(json.dumps(signed))
    forged["body"]["answer"]["total"] = {"value": 990}
    with pytest.raises(ProtocolError, match="does not verify"):
        verified_result(forged, task.task_id, code, _node_keys(agents))
    with pytest.raises(ProtocolError, match="not an approved node"):
        verified_result(signed, task.task_id, "rogue", _node_keys(agents))
    with pytest.raises(ProtocolError, match="another node or task"):
        verified_result(signed, "another-task", code, _node_keys(agents))
    assert verified_result(signed, task.task_id, code, _node_keys(agents)).status == "completed"  # control


def test_missing_sites_are_named_and_site_figures_need_every_sites_consent(network):
    hub, agents = network
    codes = list(agents)
    for agent in agents.values():
        save_node_policy(agent.data_dir, NodePolicy(share_site_figures=True), database=agent.database, actor="user:9")
    answers = _ask(hub, {c: agents[c] for c in codes[:2]})
    combined = combine(codes, answers)
    assert combined.missing == [codes[2]]
    assert [s["node"] for s in combined.sites] == codes[:2]
    answers[codes[1]] = dataclasses.replace(
        answers[codes[1]], answer=answers[codes[1]].answer | {"share_site_figures": False})
    assert combine(codes, answers).sites is None


def _rephrasings(n: int) -> list[ir.Cohort]:
    """The same persons reached by different criteria: an age rule that everyone meets, written
    with a different bound each time."""
    base = dataclasses.replace(build_cohort(HYPERTENSION), strata=())  # the total is what is compared
    return [dataclasses.replace(base, rules=(
        ir.Rule(f"aged at most {119 + i // 50} or at least {i % 50} at index",
                ir.Or((ir.Compare("le", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 119 + i // 50)),
                       ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", i % 50))))),))
        for i in range(n)]


@pytest.mark.slow
def test_rephrasings_of_one_population_get_one_protected_count_at_every_node(network):
    hub, agents = network
    queries = _rephrasings(100)
    assert len({serial.content_hash(q) for q in queries}) == 100
    seen: dict[str, set] = {code: set() for code in agents}
    for query in queries:
        for code, result in _ask(hub, agents, query).items():
            assert result.status == "completed", result.reason
            seen[code].add(json.dumps(result.answer["total"]))
    assert all(len(totals) == 1 for totals in seen.values()), seen
