"""``phta node serve``: the node agent's loop. Outbound only: it long-polls the hub and posts
results; it never listens on a port.

Each turn: post the answers the hub has not acknowledged (the journal's outbox), then poll. A
task is journalled before it runs, so an agent stopped mid-task finishes it on restart. Log
lines name tasks and nodes, never a query's values or a count.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

import httpx

from phta import __version__
from phta.cdm.store import Store
from phta.config import Settings
from phta.federation import keys
from phta.federation.node_agent import NodeAgent, TaskRejected
from phta.federation.poll import signed_poll
from phta.federation.protocol import (
    ProtocolError,
    fingerprint,
    public_key_from_text,
    public_key_text,
)
from phta.federation.replay import Journal
from phta.store import open_database

log = logging.getLogger("phta.federation.node")
API = "/api/v1/federation"


def store_fingerprint(store: Path) -> str:
    """A short name for the store's identity and load state (no data): which store, which loads."""
    opened = Store.open(store)
    facts = {"info": opened.info(), "loads": [h.get("load_id") for h in opened.load_history()]}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def enrol(settings: Settings, hub_url: str, node_code: str, *, expect_fingerprint: str | None = None,
          client: httpx.Client | None = None) -> dict:
    """Generate (once) the node's key pair, pin the hub's key, and register with the hub (pending
    until a hub admin approves). ``expect_fingerprint``: the hub key's fingerprint as the hub
    operator gave it; a different key is refused."""
    if client is None:
        with httpx.Client(base_url=hub_url, timeout=30) as own:
            return enrol(settings, hub_url, node_code, expect_fingerprint=expect_fingerprint, client=own)
    hub = client.get(f"{API}/hub-key").raise_for_status().json()
    if expect_fingerprint and fingerprint(public_key_from_text(hub["public_key"])) != expect_fingerprint:
        raise ProtocolError("the hub's key does not have the fingerprint you were given")
    keys.pin_hub_key(settings.data_dir, hub["public_key"])
    public = public_key_text(keys.node_key(settings.data_dir).public_key())
    response = client.post(f"{API}/nodes", json={"code": node_code, "public_key": public})
    if response.status_code != 202:
        raise ProtocolError(f"the hub refused the registration: {response.json().get('error', response.status_code)}")
    return response.json()


def agent_for(settings: Settings, store: Path, node_code: str) -> NodeAgent:
    hub_key = keys.pinned_hub_key(settings.data_dir)
    if hub_key is None:
        raise ProtocolError("no hub key is pinned: run `phta node enrol` first")
    return NodeAgent(settings, open_database(settings), store, node_code, hub_key, keys.node_key(settings.data_dir))


def serve(settings: Settings, store: Path, hub_url: str, node_code: str, *, wait: float = 20.0,
          stop: threading.Event | None = None, client: httpx.Client | None = None) -> None:
    stop = stop or threading.Event()
    agent = agent_for(settings, store, node_code)
    journal = Journal(settings.data_dir)
    if client is None:
        with httpx.Client(base_url=hub_url, timeout=wait + 30) as own:
            return serve(settings, store, hub_url, node_code, wait=wait, stop=stop, client=own)
    health = {"version": __version__, "store_fingerprint": store_fingerprint(store)}
    for signed in journal.unanswered():  # stopped mid-task last time: finish those first
        _handle(agent, json.loads(signed))
    while not stop.is_set():
        try:
            _post_outbox(client, journal, node_code)
            poll = signed_poll(agent.signing_key, node_code, **health)
            response = client.get(f"{API}/tasks", params={"wait": wait},
                                  headers={"X-PHTA-Poll": json.dumps(poll, separators=(",", ":"))})
            if response.status_code != 200:
                log.warning("the hub refused the poll (%s); retrying", response.status_code)
                stop.wait(5)
                continue
            for signed in response.json().get("tasks", []):
                _handle(agent, signed)
            _post_outbox(client, journal, node_code)
        except httpx.HTTPError as e:
            log.warning("hub unreachable (%s); retrying", type(e).__name__)
            stop.wait(2)


def _handle(agent: NodeAgent, signed: object) -> None:
    try:
        result = agent.handle(signed)
    except TaskRejected as e:
        log.warning("task not answered: %s", e)
        return
    if result is None:
        log.info("task waits for the custodian's approval")


def _post_outbox(client: httpx.Client, journal: Journal, node_code: str) -> None:
    for task_id, result in journal.unposted():
        response = client.post(f"{API}/results", json={"node": node_code, "result": json.loads(result)})
        if response.status_code == 200:
            journal.posted(task_id)
        elif 400 <= response.status_code < 500:  # refused for good (e.g. a task the hub never sent)
            journal.posted(task_id)
            log.warning("the hub refused the result of task %s (%s)", task_id, response.status_code)
        else:
            log.warning("the hub did not accept the result of task %s (%s)", task_id, response.status_code)
