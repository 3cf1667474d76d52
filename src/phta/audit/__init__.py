"""phta.audit — the append-only, hash-chained event log with signed checkpoints.

Public API:
- ``record(session, actor=, action=, target=, details=, data_dir=)`` — append inside a transaction.
- ``record_event(database, actor=, action=, target=, details=)`` — append in its own transaction.
- ``record_query_run(database, actor=, query_hash=, purpose=, node=)`` — for ``phta.execution``.
- ``verify_chain(database) -> VerifyReport`` — what ``phta audit verify`` runs.
"""

from phta.audit.chain import (
    AuditDetailsError,
    EntryView,
    entries,
    record,
    record_event,
    record_query_run,
)
from phta.audit.checkpoints import latest_checkpoint, write_checkpoint
from phta.audit.verify import VerifyReport, verify_chain

__all__ = [
    "AuditDetailsError",
    "EntryView",
    "VerifyReport",
    "entries",
    "latest_checkpoint",
    "record",
    "record_event",
    "record_query_run",
    "verify_chain",
    "write_checkpoint",
]
