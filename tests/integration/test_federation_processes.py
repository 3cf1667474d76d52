"""The network as separate processes on 127.0.0.1: the hub (``phta hub serve``) and one node
agent per store (``phta node serve``), each with its own data directory, keys, operational
database and replay cache. Real tasks end to end, and the faults: a slow node, a node killed
and restarted, a hub restart with tasks in flight, a tampered result, an unknown node."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from phta.audit import entries
from phta.config import load_settings
from phta.execution.network import region_stores
from phta.federation import hub as hub_state
from phta.federation import keys
from phta.federation.node_service import enrol
from phta.federation.protocol import public_key_text, sign
from phta.query import serial
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.asgi_support import api_token

HYPERTENSION = 2001000002
QUERY = {"format": "phta-ir", "definition": serial.to_data(build_cohort(HYPERTENSION))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHTA_")}
    return env | {"PHTA_DATA_DIR": str(data_dir)}


class Network:
    def __init__(self, root: Path, stores) -> None:
        self.root, self.stores = root, stores
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub_dir = root / "hub"
        self.hub_settings = load_settings(self.hub_dir, env={})
        self.hub_dir.mkdir(parents=True)
        self.token = api_token(self.hub_settings, "researcher")
        self.hub_process: subprocess.Popen | None = None
        self.nodes: dict[str, subprocess.Popen] = {}

    def start_hub(self) -> None:
        self.hub_process = subprocess.Popen(
            [sys.executable, "-m", "phta", "hub", "serve", "--port", str(self.port), "--data-dir", str(self.hub_dir)],
            env=_env(self.hub_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/v1/federation/hub-key", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the hub did not start within 60 s")

    def stop_hub(self, sig=signal.SIGKILL) -> None:
        assert self.hub_process is not None
        self.hub_process.send_signal(sig)
        self.hub_process.wait(timeout=30)

    def node_dir(self, code: str) -> Path:
        return self.root / f"node-{code}"

    def enrol_all(self) -> None:
        database = open_database(self.hub_settings)
        for node in self.stores:
            settings = load_settings(self.node_dir(node.code), env={})
            settings.data_dir.mkdir(parents=True)
            enrol(settings, self.url, node.code)
            hub_state.set_node_status(database, node.code, "approved", actor="user:admin")

    def start_node(self, code: str) -> None:
        store = next(n.path for n in self.stores if n.code == code)
        self.nodes[code] = subprocess.Popen(
            [sys.executable, "-m", "phta", "node", "serve", "--store", str(store), "--hub", self.url,
             "--node", code, "--wait", "2", "--data-dir", str(self.node_dir(code))],
            env=_env(self.node_dir(code)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ask(self, deadline: int = 60, request_id: str | None = None) -> dict:
        body = {**QUERY, "deadline_seconds": deadline} | ({"request_id": request_id} if request_id else {})
        with self.client() as client:
            response = client.post("/api/v1/federation/requests", json=body)
        assert response.status_code == 202, response.text
        return response.json()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def answer(self, request_id: str, timeout: float = 90) -> dict:
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            try:
                with self.client() as client:
                    answer = client.get(f"/api/v1/federation/requests/{request_id}").json()
            except httpx.HTTPError:
                time.sleep(0.3)
                continue
            if answer.get("complete"):
                return answer
            time.sleep(0.3)
        raise AssertionError(f"request {request_id} not complete after {timeout} s")

    def runs(self, code: str) -> int:
        database = open_database(load_settings(self.node_dir(code), env={}))
        return sum(1 for e in entries(database) if e.action == "query.run")

    def close(self) -> None:
        for process in [*self.nodes.values(), self.hub_process]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.nodes.values(), self.hub_process]:
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


pytestmark = pytest.mark.slow  # processes: the hub and three agents


@pytest.fixture(scope="module")
def network(tmp_path_factory, keyed_region):
    root = tmp_path_factory.mktemp("federation")
    settings = load_settings(root / "region", env={})
    settings.data_dir.mkdir(parents=True)
    settings.stores_dir.symlink_to(keyed_region, target_is_directory=True)
    net = Network(root, region_stores(settings))
    try:
        net.start_hub()
        net.enrol_all()
        for node in net.stores:
            net.start_node(node.code)
        yield net
    finally:
        net.close()


def test_a_request_runs_end_to_end_on_three_node_processes(network):
    assert len(network.stores) >= 3
    answer = network.answer(network.ask()["request_id"])
    assert answer["missing"] == [] and answer["refused"] == [] and answer["rejected"] == []
    total = answer["total"]
    assert total["value"] % 10 == 0 and (total["value"] > 0 or total["below_threshold_at"])
    assert answer["sites"] is None  # no node's policy shares per-site figures
    assert set(answer["strata"]) == {"sex", "age_band", "ethnic_group", "imd_quintile"}
    with network.client() as client:
        page = client.get("/network").text
    for node in network.stores:
        assert f'id="node-{node.code}"' in page
    metrics = httpx.get(f"{network.url}/metrics").text
    assert 'phta_federation_nodes{status="approved"} 3' in metrics


def test_phta_network_query_prints_the_protected_answer(network, tmp_path):
    definition = tmp_path / "cohort.json"
    definition.write_text(serial.to_json(build_cohort(HYPERTENSION)), encoding="utf-8")
    env = _env(tmp_path) | {"PHTA_API_TOKEN": network.token}
    done = subprocess.run([sys.executable, "-m", "phta", "network", "query", str(definition), "--hub", network.url],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["complete"] and answer["missing"] == [] and answer["total"]["value"] % 10 == 0
    assert network.token not in done.stdout + done.stderr
    refused = subprocess.run([sys.executable, "-m", "phta", "network", "query", str(definition), "--hub", network.url],
                             env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "PHTA_API_TOKEN" in refused.stderr


def test_the_same_request_id_twice_duplicates_nothing(network):
    first = network.ask(request_id="retry-1")["request_id"]
    before = {n.code: network.runs(n.code) for n in network.stores}
    network.answer(first)
    network.ask(request_id="retry-1")  # a client retry
    again = network.answer(first)
    after = {n.code: network.runs(n.code) for n in network.stores}
    assert all(after[c] - before[c] <= 1 for c in before)  # each node ran it once at most
    assert again["missing"] == []
    other = api_token(network.hub_settings, "innovator")  # another applicant: not their request
    with httpx.Client(base_url=network.url, headers={"Authorization": f"Bearer {other}"}) as client:
        assert client.get(f"/api/v1/federation/requests/{first}").status_code == 404
        taken = client.post("/api/v1/federation/requests", json={**QUERY, "request_id": "retry-1"})
        assert taken.status_code == 400 and "already in use" in taken.json()["error"]


def test_a_slow_node_does_not_block_the_answer_and_its_late_result_changes_nothing(network):
    slow = network.stores[0].code
    network.nodes[slow].send_signal(signal.SIGSTOP)
    try:
        request_id = network.ask(deadline=4)["request_id"]
        answer = network.answer(request_id)
    finally:
        network.nodes[slow].send_signal(signal.SIGCONT)
    assert answer["missing"] == [slow]
    deadline = time.monotonic() + 60
    database = open_database(network.hub_settings)
    from sqlalchemy import select

    from phta.store.models import FederationResult, FederationTask
    while time.monotonic() < deadline:
        with database.session() as s:
            late = s.scalars(select(FederationResult).join(FederationTask, FederationTask.task_id == FederationResult.task_id)
                             .where(FederationTask.request_id == request_id, FederationResult.node_code == slow)).all()
            if late:
                assert late[0].late
                break
        time.sleep(0.5)
    else:
        raise AssertionError("the slow node never answered")
    assert network.answer(request_id) == answer  # the release does not change


def test_a_killed_node_restarts_and_finishes_without_double_counting(network):
    victim = network.stores[1].code
    network.nodes[victim].send_signal(signal.SIGKILL)
    network.nodes[victim].wait(timeout=10)
    before = network.runs(victim)
    request_id = network.ask(deadline=60)["request_id"]
    time.sleep(1)
    network.start_node(victim)
    answer = network.answer(request_id)
    assert answer["missing"] == [] and network.runs(victim) == before + 1


def test_a_hub_restart_with_tasks_in_flight_loses_nothing_and_duplicates_nothing(network):
    codes = [n.code for n in network.stores]
    for code in codes:
        network.nodes[code].send_signal(signal.SIGSTOP)
    before = {c: network.runs(c) for c in codes}
    request_id = network.ask(deadline=120)["request_id"]
    network.stop_hub(signal.SIGKILL)
    network.start_hub()
    for code in codes:
        network.nodes[code].send_signal(signal.SIGCONT)
    answer = network.answer(request_id)
    assert answer["missing"] == [] and answer["refused"] == []
    assert {c: network.runs(c) - before[c] for c in codes} == dict.fromkeys(codes, 1)


def test_a_tampered_result_and_an_unknown_node_are_refused(network, tmp_path):
    code = network.stores[2].code
    request_id = network.ask()["request_id"]
    answer = network.answer(request_id)
    database = open_database(network.hub_settings)
    from sqlalchemy import select

    from phta.store.models import FederationResult, FederationTask
    with database.session() as s:
        stored = s.scalars(select(FederationResult).join(FederationTask, FederationTask.task_id == FederationResult.task_id)
                           .where(FederationTask.request_id == request_id, FederationResult.node_code == code)).one()
        signed = json.loads(stored.signed_result)
    forged = json.loads(json.dumps(signed))
    forged["body"]["answer"]["total"] = {"value": 12340}
    response = httpx.post(f"{network.url}/api/v1/federation/results", json={"node": code, "result": forged})
    assert response.status_code == 400 and "does not verify" in response.json()["error"]
    assert network.answer(request_id) == answer
    # an unknown node: its own key, never approved
    rogue = keys.node_key(tmp_path)
    poll = sign(rogue, {"protocol": "phta-federation/1", "node": "rogue", "at": "2026-01-01T00:00:00+00:00",
                        "version": "x", "store_fingerprint": "x"})
    response = httpx.get(f"{network.url}/api/v1/federation/tasks",
                         headers={"X-PHTA-Poll": json.dumps(poll)})
    assert response.status_code == 401 and "not an approved node" in response.json()["error"]
    registered = httpx.post(f"{network.url}/api/v1/federation/nodes",
                            json={"code": "rogue", "public_key": public_key_text(rogue.public_key())})
    assert registered.status_code == 202 and registered.json()["status"] == "pending"
    response = httpx.post(f"{network.url}/api/v1/federation/results", json={"node": "rogue", "result": signed})
    assert response.status_code == 400 and "not an approved node" in response.json()["error"]
