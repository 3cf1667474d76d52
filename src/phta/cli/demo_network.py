"""The demo's hospital network: one node agent process per synthetic node, enrolled with the
demo's hub (the web app ``phta demo`` serves), stopped with it (Ctrl-C stops them all).

Enrolment happens in-process during preparation (the hub and the nodes share one machine and
one operator here): each node gets its own data directory (``<data dir>/nodes/<code>``) with its
own key pair, pins the hub's key, and is registered and approved at the hub (audited as
``demo``). A real region enrols over HTTP with fingerprints compared out of band
(docs/federation.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from phta.config import Settings
from phta.federation import hub, keys
from phta.federation.protocol import public_key_text
from phta.store import open_database


def node_dir(settings: Settings, code: str) -> Path:
    return settings.data_dir / "nodes" / code


def enrol_demo_nodes(settings: Settings, console: Console) -> list[str]:
    from phta.execution.network import region_stores

    database = open_database(settings)
    hub_public = public_key_text(keys.hub_key(settings.data_dir).public_key())
    known = {n.code: n for n in hub.nodes(database)}
    enrolled = []
    for node in region_stores(settings):
        directory = node_dir(settings, node.code)
        directory.mkdir(parents=True, exist_ok=True)
        keys.pin_hub_key(directory, hub_public)
        public = public_key_text(keys.node_key(directory).public_key())
        if known.get(node.code) is None or known[node.code].status != "approved":
            hub.register_node(database, node.code, public)
            hub.set_node_status(database, node.code, "approved", actor="demo")
            enrolled.append(node.code)
    lines = [f"Hospital network: {len(region_stores(settings))} node agents (separate processes) poll this hub; "
             "see /network (signed in) and /metrics"]
    if enrolled:
        lines.append(f"  enrolled and approved: {', '.join(enrolled)}")
    return lines


def start_agents(settings: Settings, hub_url: str) -> list[subprocess.Popen]:
    """One ``phta node serve`` per node store; the caller stops them (stop_agents)."""
    from phta.execution.network import region_stores

    agents = []
    for node in region_stores(settings):
        directory = node_dir(settings, node.code)
        env = {**os.environ, "PHTA_DATA_DIR": str(directory)}
        agents.append(subprocess.Popen(  # noqa: S603 - our own interpreter and arguments, no shell
            [sys.executable, "-m", "phta", "node", "serve", "--store", str(node.path), "--hub", hub_url,
             "--node", node.code, "--data-dir", str(directory)], env=env))
    return agents


def stop_agents(agents: list[subprocess.Popen]) -> None:
    for agent in agents:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
    for agent in agents:
        try:
            agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
