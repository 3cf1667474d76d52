"""The node side of a task: verify, check against the node's own policy, run through the one
execution path, sign the protected answer.

Order of checks (each refusal is signed and names no data): signature by the pinned hub key →
protocol version → target node → expiry → replay cache (nonce and task id, durable) → the node's
own policy (task type, purpose) → custodian approval if the policy requires it → governance,
opt-outs, disclosure control, release ledger and audit inside ``run_governed`` /
``run_governed_circe``, exactly as for a local user. A task that fails the signature is not
answered at all (there is nothing trustworthy to answer to); the others get a signed refusal.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from phta.cdm.store import StoreError
from phta.config import Settings
from phta.execution.governed import run_governed, run_governed_circe
from phta.execution.path import UnknownConcepts
from phta.execution.policy import NotAuthorised, ReleaseWithheld
from phta.federation.answers import circe_answer, cohort_answer
from phta.federation.node_policy import load_node_policy
from phta.federation.protocol import ProtocolError, Result, Task, check_version, sign, verify
from phta.federation.replay import Journal, ReplayCache
from phta.governance.principal import Principal
from phta.query import serial
from phta.query.circe.importer import import_expression
from phta.query.nodes import IRError
from phta.query.variants import MissingTable
from phta.store import Database

QUEUE_FILE = "federation-queue.sqlite"


class TaskRejected(Exception):
    """A task whose signature does not verify: not answered."""


@dataclass
class NodeAgent:
    settings: Settings
    database: Database
    store: Path
    node_code: str
    hub_key: Ed25519PublicKey
    signing_key: Ed25519PrivateKey

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def handle(self, signed_task: object, *, now: dt.datetime | None = None) -> dict | None:
        """The signed result for ``signed_task``; None when it waits for the custodian's approval.
        Raises TaskRejected when the hub's signature does not verify."""
        now = now or dt.datetime.now(dt.UTC)
        try:
            body = verify(self.hub_key, signed_task, "task")
        except ProtocolError as e:
            raise TaskRejected(str(e)) from None
        task_id = str(body.get("task_id", ""))[:64] or "unknown"
        try:
            check_version(body, "task")
            task = Task.from_body(body)
        except ProtocolError as e:
            return self._sign(Result(task_id, self.node_code, "refused", reason=str(e)))
        if task.target_node != self.node_code:
            return self._sign(Result(task.task_id, self.node_code, "refused",
                                     reason=f"the task is for node {task.target_node!r}, not this node"))
        if now >= task.expires:
            return self._sign(Result(task.task_id, self.node_code, "refused", reason="the task has expired"))
        if now < task.issued - dt.timedelta(minutes=5):
            return self._sign(Result(task.task_id, self.node_code, "refused", reason="the task is issued in the future"))
        journal = Journal(self.data_dir)
        signature = str(signed_task["signature"])  # type: ignore[index] - verified above
        if not ReplayCache(self.data_dir).first_sight(task.nonce, task.task_id, task.expires, now):
            accepted, earlier = journal.accepted(task.task_id, signature)
            if earlier is not None:  # the same signed task again: the same signed answer, not a re-run
                return json.loads(earlier)
            if not accepted:
                return self._sign(Result(task.task_id, self.node_code, "refused",
                                         reason="replayed task: this nonce or task id was seen before"))
            # accepted but never answered: the agent stopped mid-task; finish it now
        journal.accept(task.task_id, signature, json.dumps(signed_task, sort_keys=True))
        policy = load_node_policy(self.data_dir)
        refusal = policy.refusal(task)
        if refusal:
            result = self._sign(Result(task.task_id, self.node_code, "refused", reason=refusal))
        elif policy.approval_required:
            ApprovalQueue(self.data_dir).add(task, signed_task)
            return None
        else:
            result = self.run(task, share=policy.share_site_figures)
        journal.record(task.task_id, json.dumps(result, sort_keys=True))
        return result

    def run(self, task: Task, *, share: bool) -> dict:
        """Run an accepted task through the one execution path and sign what comes back."""
        principal = _principal(task.grant)
        try:
            if task.query["format"] == "phta-ir":
                query = serial.from_data(task.query["definition"], "$.query.definition")
                answer = cohort_answer(run_governed(self.settings, self.database, principal, task.purpose, query,
                                                    self.store, charge_budget=False))
            else:
                cohort = import_expression(task.query["definition"])
                answer = circe_answer(run_governed_circe(self.settings, self.database, principal, task.purpose,
                                                         cohort, self.store, charge_budget=False))
        except NotAuthorised as e:
            return self._sign(Result(task.task_id, self.node_code, "refused", reason=str(e)))
        except (UnknownConcepts, MissingTable, ReleaseWithheld) as e:  # reasons that name no data
            return self._sign(Result(task.task_id, self.node_code, "not_taken_part", reason=str(e)))
        except IRError as e:  # the query does not parse or validate: the error names the node and field
            return self._sign(Result(task.task_id, self.node_code, "refused", reason=f"invalid query: {e}"))
        except (StoreError, RuntimeError) as e:  # RuntimeError: the engines' EngineError (named only)
            return self._sign(Result(task.task_id, self.node_code, "not_taken_part",
                                     reason=f"{type(e).__name__}: the node could not run the query"))
        answer["share_site_figures"] = share
        return self._sign(Result(task.task_id, self.node_code, "completed", answer=answer))

    def _sign(self, result: Result) -> dict:
        return sign(self.signing_key, result.to_body())


def _principal(grant: dict) -> Principal:
    """The requester as the hub attests them; the node's own governance then decides."""
    requester = str(grant.get("requester", ""))
    user_id = int(requester.split(":", 1)[1]) if requester.startswith("user:") and requester[5:].isdigit() else 0
    roles = grant.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        roles = []
    return Principal(user_id, "", f"hub requester {requester}", frozenset(roles))


class ApprovalQueue:
    """Tasks waiting for the custodian, durable in the node's data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / QUEUE_FILE
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS queue (task_id TEXT PRIMARY KEY, task TEXT NOT NULL,"
                       " state TEXT NOT NULL DEFAULT 'waiting')")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def add(self, task: Task, signed_task: object) -> None:
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO queue (task_id, task) VALUES (?, ?)",
                       (task.task_id, json.dumps(signed_task, sort_keys=True)))

    def waiting(self) -> list[Task]:
        with self._connect() as db:
            rows = db.execute("SELECT task FROM queue WHERE state = 'waiting' ORDER BY rowid").fetchall()
        return [Task.from_body(json.loads(text)["body"]) for (text,) in rows]

    def decide(self, task_id: str, approve: bool) -> Task:
        with self._connect() as db:
            row = db.execute("SELECT task FROM queue WHERE task_id = ? AND state = 'waiting'", (task_id,)).fetchone()
            if row is None:
                raise KeyError(f"no task {task_id!r} waits for approval")
            db.execute("UPDATE queue SET state = ? WHERE task_id = ?", ("approved" if approve else "refused", task_id))
        return Task.from_body(json.loads(row[0])["body"])


def decide_queued(agent: NodeAgent, task_id: str, *, approve: bool, actor: str) -> dict:
    """The custodian's decision on a queued task (audited); the signed answer goes to the outbox."""
    from phta.audit import record_event

    task = ApprovalQueue(agent.data_dir).decide(task_id, approve)
    record_event(agent.database, actor=actor, action="federation.task_approved" if approve else "federation.task_refused",
                 target=task_id, details={"purpose": task.purpose, "task_type": task.task_type})
    if approve:
        result = agent.run(task, share=load_node_policy(agent.data_dir).share_site_figures)
    else:
        result = agent._sign(Result(task.task_id, agent.node_code, "refused", reason="the node's custodian refused the task"))
    Journal(agent.data_dir).record(task.task_id, json.dumps(result, sort_keys=True))
    return result
