"""The execution path's audit hook that writes to the audit chain (``phta.audit``).

One sink for every caller: the governed path (every run, completed or refused, with its policy
details) and the opt-out policy on its own (``record_empty_opt_outs``: the entry then says the
opt-out step ran even when no register applied). Events carry the query's hash, never results.
"""

from __future__ import annotations

from phta.audit import record_query_run
from phta.execution.policy import AuditEvent
from phta.store import Database


def chain_audit(database: Database, details: dict | None = None, *, record_empty_opt_outs: bool = False):
    """An audit hook writing each run to the audit chain of ``database``."""

    def sink(event: AuditEvent) -> None:
        extra = {"outcome": event.outcome, **(details or {})}
        opt_outs = getattr(event, "opt_outs", ()) or ()
        if opt_outs or record_empty_opt_outs:
            extra["opt_outs"] = [{"kind": o.kind, "as_of": o.as_of.isoformat()} for o in opt_outs]
        record_query_run(database, actor=event.user, query_hash=event.query_hash, purpose=event.purpose,
                         node=event.node, details=extra)

    return sink
