"""``phta node`` (a hospital's agent), ``phta hub`` (the hub) and ``phta network`` (ask the network).

Thin: parse, call ``phta.federation``, print. Secrets (the API token) come from the environment
(``PHTA_API_TOKEN``), never from the command line, and are never printed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import typer

from phta.config import load_settings
from phta.federation import hub as hub_state
from phta.federation import keys
from phta.federation.node_agent import ApprovalQueue, decide_queued
from phta.federation.node_policy import PolicyFileError, load_node_policy
from phta.federation.protocol import ProtocolError, fingerprint, public_key_text
from phta.store import open_database

node_app = typer.Typer(help="Run this hospital's node agent (outbound only).", no_args_is_help=True)
hub_app = typer.Typer(help="Run the hub and manage its nodes.", no_args_is_help=True)
hub_nodes_app = typer.Typer(help="The nodes known to the hub.", no_args_is_help=True)
hub_app.add_typer(hub_nodes_app, name="nodes")
network_app = typer.Typer(help="Ask the hospital network.", no_args_is_help=True)

_DATA_DIR = typer.Option(None, "--data-dir", help="Data directory (default PHTA_DATA_DIR or ./data).")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


def _node_code(store: Path, node: str | None) -> str:
    from phta.cdm.store import Store

    return node or Store.open(store).info()["node_name"] or store.name


@node_app.command("enrol")
def node_enrol(
    store: Path = typer.Option(..., "--store", help="This node's store directory."),
    hub: str = typer.Option(..., "--hub", help="The hub's URL."),
    hub_fingerprint: str = typer.Option(None, "--hub-fingerprint", help="The hub key's fingerprint, as given to you."),
    node: str = typer.Option(None, "--node", help="This node's code (default: the store's node name)."),
    data_dir: Path = _DATA_DIR,
) -> None:
    """Make this node's key pair, pin the hub's key and register (pending the hub admin's approval)."""
    from phta.federation.node_service import enrol

    settings = load_settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        answer = enrol(settings, hub, _node_code(store, node), expect_fingerprint=hub_fingerprint)
    except (ProtocolError, httpx.HTTPError) as e:
        raise _fail(str(e)) from None
    typer.echo(f"registered {answer['code']} ({answer['status']}); node key fingerprint {answer['fingerprint']}")


@node_app.command("serve")
def node_serve(
    store: Path = typer.Option(..., "--store", help="This node's store directory."),
    hub: str = typer.Option(..., "--hub", help="The hub's URL."),
    node: str = typer.Option(None, "--node", help="This node's code (default: the store's node name)."),
    wait: float = typer.Option(20.0, "--wait", help="Seconds each long poll may wait at the hub."),
    data_dir: Path = _DATA_DIR,
) -> None:
    """Poll the hub for signed tasks, run them through this node's governed path, post signed answers."""
    from phta.federation.node_service import serve

    settings = load_settings(data_dir)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve(settings, store, hub, _node_code(store, node), wait=wait, stop=stop)
    except (ProtocolError, PolicyFileError) as e:
        raise _fail(str(e)) from None


@node_app.command("queue")
def node_queue(data_dir: Path = _DATA_DIR) -> None:
    """List the tasks waiting for the custodian's approval, with their queries."""
    for task in ApprovalQueue(load_settings(data_dir).data_dir).waiting():
        typer.echo(f"{task.task_id}  {task.task_type}  purpose {task.purpose}  by {task.grant.get('requester')}")
        typer.echo(json.dumps(task.query, indent=2, sort_keys=True))


@node_app.command("decide")
def node_decide(
    task_id: str = typer.Argument(..., help="The queued task's id."),
    approve: bool = typer.Option(..., "--approve/--refuse", help="Run it, or refuse it."),
    store: Path = typer.Option(..., "--store", help="This node's store directory."),
    node: str = typer.Option(None, "--node", help="This node's code (default: the store's node name)."),
    actor: str = typer.Option(..., "--actor", help="Who decides (recorded in the audit chain)."),
    data_dir: Path = _DATA_DIR,
) -> None:
    """Approve or refuse a queued task; the signed answer is posted on the agent's next turn."""
    from phta.federation.node_service import agent_for

    settings = load_settings(data_dir)
    try:
        result = decide_queued(agent_for(settings, store, _node_code(store, node)), task_id, approve=approve,
                               actor=actor)
    except (KeyError, ProtocolError) as e:
        raise _fail(str(e)) from None
    typer.echo(f"{task_id}: {result['body']['status']}")


@node_app.command("policy")
def node_policy(data_dir: Path = _DATA_DIR) -> None:
    """Print this node's federation policy (edit federation-policy.json in the data directory)."""
    try:
        typer.echo(json.dumps(load_node_policy(load_settings(data_dir).data_dir).to_data(), indent=2))
    except PolicyFileError as e:
        raise _fail(str(e)) from None


@hub_app.command("serve")
def hub_serve(
    host: str = typer.Option(None, help="Interface to bind (default PHTA_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default PHTA_PORT or 8000)."),
    data_dir: Path = _DATA_DIR,
) -> None:
    """Serve the hub: the web app, whose federation routes take node polls and results."""
    from phta.cli.serve import serve

    settings = load_settings(data_dir)
    public = keys.hub_key(settings.data_dir).public_key()
    typer.echo(f"hub key fingerprint {fingerprint(public)} (give it to each node's custodian)")
    serve(host=host, port=port, data_dir=data_dir)


@hub_app.command("key")
def hub_key(data_dir: Path = _DATA_DIR) -> None:
    """Print the hub's public key and its fingerprint."""
    public = keys.hub_key(load_settings(data_dir).data_dir).public_key()
    typer.echo(f"{public_key_text(public)}  fingerprint {fingerprint(public)}")


@hub_nodes_app.command("list")
def hub_nodes_list(data_dir: Path = _DATA_DIR) -> None:
    """The nodes known to the hub: status, key fingerprint, last seen."""
    for n in hub_state.nodes(open_database(load_settings(data_dir))):
        seen = n.last_seen_at.isoformat() if n.last_seen_at else "never"
        typer.echo(f"{n.code}  {n.status}  {n.fingerprint}  last seen {seen}  {n.version or ''}")


def _set_status(code: str, status: str, actor: str, data_dir: Path | None) -> None:
    try:
        node = hub_state.set_node_status(open_database(load_settings(data_dir)), code, status, actor=actor)
    except hub_state.HubError as e:
        raise _fail(str(e)) from None
    typer.echo(f"{node.code}: {node.status} (key fingerprint {node.fingerprint})")


@hub_nodes_app.command("approve")
def hub_nodes_approve(code: str = typer.Argument(..., help="The node's code."),
                      actor: str = typer.Option(..., "--actor", help="Who approves (recorded in the audit chain)."),
                      data_dir: Path = _DATA_DIR) -> None:
    """Approve a registered node's key: compare its fingerprint with the node custodian's first."""
    _set_status(code, "approved", actor, data_dir)


@hub_nodes_app.command("revoke")
def hub_nodes_revoke(code: str = typer.Argument(..., help="The node's code."),
                     actor: str = typer.Option(..., "--actor", help="Who revokes (recorded in the audit chain)."),
                     data_dir: Path = _DATA_DIR) -> None:
    """Revoke a node's key: it gets no more tasks and its results no longer count."""
    _set_status(code, "revoked", actor, data_dir)


@network_app.command("query")
def network_query(
    definition: Path = typer.Argument(..., help="A PHTA JSON query (.json) or an ATLAS cohort (JSON)."),
    task: str = typer.Option("count", "--task", help="The task: count (stratified feasibility count)."),
    hub: str = typer.Option("http://127.0.0.1:8000", "--hub", help="The hub's URL."),
    deadline: int = typer.Option(30, "--deadline", help="Seconds the hub waits for slow nodes."),
) -> None:
    """Ask every approved node, through the hub; prints the protected network answer as JSON.
    Authenticates with the API token in PHTA_API_TOKEN (scope 'query')."""
    from phta.query.circe.importer import looks_like_circe

    if task != "count":
        raise _fail(f"unknown task {task!r}; this version answers: count")
    token = os.environ.get("PHTA_API_TOKEN")
    if not token:
        raise _fail("set PHTA_API_TOKEN to an API token with the 'query' scope")
    try:
        doc = json.loads(definition.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise _fail(f"{definition}: {e}") from None
    body = {"format": "atlas", "definition": doc} if looks_like_circe(doc) else \
        {"format": "phta-ir", "definition": doc.get("query", doc) if isinstance(doc, dict) else doc}
    body["deadline_seconds"] = deadline
    client = httpx.Client(base_url=hub, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    response = client.post("/api/v1/federation/requests", json=body)
    if response.status_code != 202:
        raise _fail(response.json().get("error", f"the hub answered {response.status_code}"))
    request_id = response.json()["request_id"]
    while True:
        answer = client.get(f"/api/v1/federation/requests/{request_id}").json()
        if answer.get("complete"):
            break
        time.sleep(0.5)
    typer.echo(json.dumps(answer, indent=2, sort_keys=True))
