"""Appending to the hash-chained audit log.

Each entry's hash is sha256 over the canonical JSON of (seq, created_at, actor, action, target,
details, prev_hash), so editing any field, removing an entry or swapping two breaks the chain.

Concurrent writers must never fork the chain (two entries claiming the same predecessor). The
writer serialises on the chain head: PostgreSQL takes a transaction-level advisory lock before
reading the head; SQLite's transactions are ``BEGIN IMMEDIATE`` (see phta.store.database), which
holds the database write lock from the first statement. As a second line of defence ``seq`` is
the primary key and ``prev_hash`` is unique, so a fork could not be committed even if the lock
were missing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from phta.audit.checkpoints import write_checkpoint
from phta.store import Database
from phta.store.models import AuditEntry

GENESIS_HASH = "0" * 64
# Arbitrary constant naming "the audit chain head" among PostgreSQL advisory locks.
_ADVISORY_LOCK_KEY = 0x50485441_0001

# Details describe an event; they must never carry record-level data or secrets. Keys that
# suggest either are refused outright so a careless caller fails loudly in tests.
_FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "password",
        "secret",
        "token",
        "totp",
        "code",
        "key",
        "result",
        "results",
        "rows",
        "count",
        "counts",
        "person_id",
        "nhs_number",
        "records",
    }
)
_MAX_DETAILS_CHARS = 4000


class AuditDetailsError(ValueError):
    """Details handed to the audit chain that could leak data or secrets."""


@dataclass(frozen=True)
class EntryView:
    seq: int
    created_at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def canonical_details(details: dict[str, Any] | None) -> str:
    details = details or {}
    for key in _walk_keys(details):
        if key.lower() in _FORBIDDEN_DETAIL_KEYS:
            raise AuditDetailsError(
                f"audit details may not contain {key!r}: the chain records events, never data or secrets"
            )
    text_form = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text_form) > _MAX_DETAILS_CHARS:
        raise AuditDetailsError(
            f"audit details are {len(text_form)} characters; the limit is {_MAX_DETAILS_CHARS}"
        )
    return text_form


def _walk_keys(value: Any):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _walk_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk_keys(inner)


def entry_hash(
    seq: int, created_at: str, actor: str, action: str, target: str, details: str, prev_hash: str
) -> str:
    payload = json.dumps(
        [seq, created_at, actor, action, target, details, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    data_dir,
) -> EntryView:
    """Append an entry inside the caller's transaction; it is committed with the caller's work.

    A signed checkpoint of the new head is written to ``data_dir`` once the transaction commits
    (never before: a rolled-back entry must not be checkpointed). ``data_dir`` is required: an
    entry no checkpoint covers would make verification fail once it is older than the allowed lag.
    """
    details_text = canonical_details(details)
    _lock_head(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    created_at = datetime.now(UTC).isoformat(timespec="microseconds")
    digest = entry_hash(seq, created_at, actor, action, target, details_text, prev_hash)
    session.add(
        AuditEntry(
            seq=seq,
            created_at=created_at,
            actor=actor,
            action=action,
            target=target,
            details=details_text,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    session.flush()
    _checkpoint_after_commit(session, data_dir, seq, digest)
    return EntryView(
        seq, created_at, actor, action, target, json.loads(details_text), prev_hash, digest
    )


def _checkpoint_after_commit(session: Session, data_dir, seq: int, digest: str) -> None:
    from sqlalchemy import event

    pending = session.info.setdefault("phta_audit_pending", [])
    pending.append((seq, digest))
    if len(pending) > 1:
        return  # listener already registered for this transaction

    def _after_commit(sess: Session) -> None:
        items = sess.info.pop("phta_audit_pending", [])
        if items:
            last_seq, last_hash = max(items)
            write_checkpoint(data_dir, last_seq, last_hash)

    def _after_rollback(sess: Session) -> None:
        sess.info.pop("phta_audit_pending", None)

    event.listen(session, "after_commit", _after_commit, once=True)
    event.listen(session, "after_soft_rollback", _after_rollback, once=True)


def record_event(
    database: Database,
    *,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> EntryView:
    """Append one entry in its own transaction and checkpoint the new head."""
    with database.session() as session:
        entry = record(
            session,
            actor=actor,
            action=action,
            target=target,
            details=details,
            data_dir=database.data_dir,
        )
    return entry


def record_query_run(
    database: Database,
    *,
    actor: str,
    query_hash: str,
    purpose: str,
    node: str,
    details: dict[str, Any] | None = None,
) -> EntryView:
    """The execution path's hook: one query was run. Never pass the result (or counts) here."""
    extra = dict(details or {})
    extra.update({"query_hash": query_hash, "purpose": purpose, "node": node})
    return record_event(
        database, actor=actor, action="query.run", target=f"node:{node}", details=extra
    )


def entries(database: Database, *, since_seq: int = 0, limit: int | None = None) -> list[EntryView]:
    with database.session() as session:
        stmt = select(AuditEntry).where(AuditEntry.seq > since_seq).order_by(AuditEntry.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_view(row) for row in session.scalars(stmt)]


def _view(row: AuditEntry) -> EntryView:
    return EntryView(
        row.seq,
        row.created_at,
        row.actor,
        row.action,
        row.target,
        json.loads(row.details),
        row.prev_hash,
        row.hash,
    )
