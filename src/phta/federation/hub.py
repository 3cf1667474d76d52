"""The hub's durable side of the federation, in the operational store (migration 0013).

- **Enrolment**: a node registers its public key (pending); a hub admin approves it (audited).
  Only approved nodes get tasks, and only their signatures count.
- **Dispatch**: one network request becomes one signed task per node. The task id is derived from
  the request id and the node, so dispatching the same request again (a client retry, a hub
  restart mid-request) finds the same rows: nothing duplicated.
- **Delivery**: a node's poll takes its queued tasks; a task delivered but not answered within
  ``REDELIVER_AFTER`` is offered again (the node answers a re-delivery from its journal without
  running it twice).
- **Results**: verified against the node's approved key before they are stored, one per task
  (a second copy is ignored); a result after the request's deadline is kept, marked late, and
  not part of that request's release.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from phta.audit import record_event
from phta.federation.aggregate import NetworkAnswer, combine, verified_result
from phta.federation.protocol import (
    ProtocolError,
    Result,
    Task,
    canonical,
    fingerprint,
    public_key_from_text,
    sign,
)
from phta.store import Database
from phta.store.models import FederationNode, FederationResult, FederationTask

#: a delivered task without an answer after this long is offered again: a poll answered into a
#: connection that had just died (a node killed mid-poll) must not lose the task. Safe because a
#: node answers a re-delivery from its journal, and handles tasks one at a time.
REDELIVER_AFTER = dt.timedelta(seconds=15)
TASK_NAMESPACE = uuid.UUID("8d7e3d52-3c1c-4c44-9d55-6a2f4f0e9a17")


class HubError(ValueError):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)  # SQLite hands back naive times


def register_node(database: Database, code: str, public_key: str) -> FederationNode:
    """A node asks to join: pending until approved. Re-registering the same key is a no-op; a
    different key for an approved node is refused (rotation is an admin's step: revoke first)."""
    key = public_key_from_text(public_key)
    with database.session() as s:
        node = s.scalar(select(FederationNode).where(FederationNode.code == code))
        if node is None:
            node = FederationNode(code=code, public_key=public_key, fingerprint=fingerprint(key), status="pending",
                                  registered_at=_now())
            s.add(node)
        elif node.public_key != public_key:
            if node.status == "approved":
                raise HubError(f"node {code!r} is approved with another key; an admin must revoke it first")
            node.public_key, node.fingerprint, node.status = public_key, fingerprint(key), "pending"
        s.flush()
        s.expunge(node)
    record_event(database, actor=f"node:{code}", action="federation.node_registered", target=code,
                 details={"fingerprint": node.fingerprint})
    return node


def set_node_status(database: Database, code: str, status: str, *, actor: str) -> FederationNode:
    if status not in ("approved", "revoked"):
        raise HubError(f"unknown node status {status!r}")
    with database.session() as s:
        node = s.scalar(select(FederationNode).where(FederationNode.code == code))
        if node is None:
            raise HubError(f"no node {code!r} has registered")
        node.status, node.approved_by = status, actor
        s.flush()
        s.expunge(node)
    record_event(database, actor=actor, action=f"federation.node_{status}", target=code,
                 details={"fingerprint": node.fingerprint})
    return node


def nodes(database: Database) -> list[FederationNode]:
    with database.session() as s:
        rows = list(s.scalars(select(FederationNode).order_by(FederationNode.code)))
        s.expunge_all()
    return rows


def approved_keys(database: Database) -> dict[str, Ed25519PublicKey]:
    return {n.code: public_key_from_text(n.public_key) for n in nodes(database) if n.status == "approved"}


def dispatch(database: Database, hub_key: Ed25519PrivateKey, *, request_id: str, query: dict, purpose: str,
             grant: dict, task_type: str = "feasibility_count", targets: list[str] | None = None,
             deadline: dt.timedelta = dt.timedelta(seconds=30), lifetime: dt.timedelta = dt.timedelta(minutes=10),
             privacy: dict | None = None) -> list[str]:
    """Sign and queue one task per approved node (or per ``targets``); idempotent per request."""
    approved = sorted(approved_keys(database))
    chosen = approved if targets is None else targets
    unknown = sorted(set(chosen) - set(approved))
    if unknown:
        raise HubError(f"node {unknown[0]!r} is not an approved node")
    now = _now()
    task_ids = []
    with database.session() as s:
        owners = set(s.scalars(select(FederationTask.requester).where(FederationTask.request_id == request_id)))
        if owners - {str(grant.get("requester", ""))}:
            raise HubError(f"request id {request_id!r} is already in use; choose another")
        for node in chosen:
            task_id = str(uuid.uuid5(TASK_NAMESPACE, f"{request_id}/{node}"))
            task_ids.append(task_id)
            if s.get(FederationTask, task_id) is not None:
                continue
            task = Task.new(task_type=task_type, target_node=node, query=query, purpose=purpose, grant=grant,
                            privacy=privacy, lifetime=lifetime, now=now, task_id=task_id)
            s.add(FederationTask(task_id=task_id, request_id=request_id, node_code=node,
                                 requester=str(grant.get("requester", "")),
                                 signed_task=canonical(sign(hub_key, task.to_body())).decode("utf-8"),
                                 state="queued", created_at=now, deadline_at=now + deadline,
                                 expires_at=task.expires))
    return task_ids


def has_tasks(database: Database, node: str) -> bool:
    """Whether ``node`` has a task to take (read-only: what a long poll checks between takes)."""
    now = _now()
    with database.session() as s:
        waiting = s.execute(select(FederationTask.state, FederationTask.delivered_at, FederationTask.expires_at)
                            .where(FederationTask.node_code == node,
                                   FederationTask.state.in_(("queued", "delivered")))).all()
    return any(_utc(expires) > now and (state == "queued" or _utc(delivered) <= now - REDELIVER_AFTER)
               for state, delivered, expires in waiting)


def take_tasks(database: Database, node: str, *, version: str | None = None,
               store_fingerprint: str | None = None) -> list[dict]:
    """The signed tasks waiting for ``node`` (an approved node), marked delivered; records the
    node's health (last seen, version, store fingerprint)."""
    now = _now()
    with database.session() as s:
        row = s.scalar(select(FederationNode).where(FederationNode.code == node))
        if row is None or row.status != "approved":
            raise HubError(f"node {node!r} is not an approved node")
        row.last_seen_at, row.version = now, version or row.version
        row.store_fingerprint = store_fingerprint or row.store_fingerprint
        waiting = s.scalars(select(FederationTask).where(FederationTask.node_code == node,
                                                          FederationTask.state.in_(("queued", "delivered")))
                            .order_by(FederationTask.created_at)).all()
        out = []
        for task in waiting:
            if _utc(task.expires_at) <= now:
                continue
            if task.state == "delivered" and _utc(task.delivered_at) > now - REDELIVER_AFTER:
                continue
            task.state, task.delivered_at = "delivered", now
            out.append(json.loads(task.signed_task))
    return out


def accept_result(database: Database, node: str, signed: object) -> Result:
    """Verify and store a node's signed result; a duplicate is ignored (idempotent)."""
    if not isinstance(signed, dict) or not isinstance(signed.get("body"), dict):
        raise ProtocolError("result: expected a signed envelope")
    task_id = str(signed["body"].get("task_id", ""))
    result = verified_result(signed, task_id, node, approved_keys(database))
    now = _now()
    with database.session() as s:
        task = s.get(FederationTask, task_id)
        if task is None or task.node_code != node:
            raise ProtocolError("result: no such task for this node")
        if s.get(FederationResult, task_id) is None:
            s.add(FederationResult(task_id=task_id, node_code=node, status=result.status,
                                   signed_result=canonical(signed).decode("utf-8"), received_at=now,
                                   late=now > _utc(task.deadline_at)))
            task.state = "answered"
    return result


def request_state(database: Database, request_id: str,
                  requester: str | None = None) -> tuple[list[str], dict[str, Result], bool]:
    """(nodes asked, their on-time verified results, whether the deadline has passed or all
    answered). With ``requester``, another requester's request is "not found" (never "not yours")."""
    keys = approved_keys(database)
    with database.session() as s:
        tasks = s.scalars(select(FederationTask).where(FederationTask.request_id == request_id)).all()
        if not tasks or (requester is not None and any(t.requester != requester for t in tasks)):
            raise HubError(f"no network request {request_id!r}")
        results = {r.task_id: r for r in s.scalars(select(FederationResult).where(
            FederationResult.task_id.in_([t.task_id for t in tasks])))}
        expected = [t.node_code for t in tasks]
        answers = {}
        for t in tasks:
            stored = results.get(t.task_id)
            if stored is None or stored.late:
                continue
            # Re-verified on the way out: a row altered in the database is not counted either.
            answers[t.node_code] = verified_result(json.loads(stored.signed_result), t.task_id, t.node_code, keys)
        done = len(answers) == len(tasks) or _now() > max(_utc(t.deadline_at) for t in tasks)
    return expected, answers, done


def answer(database: Database, request_id: str, *, requester: str | None = None) -> tuple[NetworkAnswer, bool]:
    expected, answers, done = request_state(database, request_id, requester)
    return combine(expected, answers), done
