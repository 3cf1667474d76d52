"""Per-person record keys for the cell-key method, kept in the store (``phta_record_key``).

The cell-key method (``phta.disclosure.cellkey``, docs/disclosure-control.md) needs, for every
person, a *record key* in [0, 1) that is stable (the same person always gets the same key, so
repeating a query repeats its noise) and unguessable outside the node (so nobody can compute the
noise and undo it). It is HMAC-SHA256 of the person's regional pseudonym
(``person.person_source_value``) under the node's own **cell-key secret**, truncated to 32 bits —
the same function as ``phta.disclosure.cellkey.record_key`` (cdm sits below disclosure, so the
few lines are repeated here; a unit test proves the two agree).

The secret is a file in the store directory (``cellkey.key``), created once with mode 0600 from
``secrets.token_bytes(32)``; it is never logged, printed or put in a message. ``cdm`` owns the
store's files, so building the table is a step here (run by ``phta synth``/``phta demo`` and by
``phta store index-keys``); the execution path only reads it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pyarrow as pa

from phta.cdm.store import Store

TABLE = "phta_record_key"
SECRET_FILE = "cellkey.key"  # noqa: S105 - a file name, not a secret
RESOLUTION = 2**32  # record keys have 32-bit resolution, as in phta.disclosure.cellkey


def cell_key_secret(store: Store) -> bytes:
    """The node's cell-key secret, created (0600, atomically) on first use."""
    path = store.path / SECRET_FILE
    if path.exists():
        return path.read_bytes()
    tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
            handle.flush()
            os.fsync(handle.fileno())
        # link() refuses to replace a secret another process created first: both then use it
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def record_key(pseudonym: str, secret: bytes) -> float:
    """A person's record key in [0, 1) (identical to ``phta.disclosure.cellkey.record_key``)."""
    digest = hmac.new(secret, pseudonym.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") / RESOLUTION


def _pseudonym(person_id: int, source_value: str | None) -> str:
    # A person without a regional pseudonym still needs a stable key; their node-local id gives
    # one (it cannot link across nodes, which is right: nothing links them).
    return source_value if source_value else f"person_id:{person_id}"


def index_record_keys(store: Store | str | Path) -> int:
    """(Re)build ``phta_record_key(person_id, record_key)`` for every person; returns the rows.

    Idempotent: the table is replaced in one transaction, and the keys depend only on the
    pseudonyms and the secret, so running it twice gives the same table.
    """
    store = store if isinstance(store, Store) else Store.open(store)
    secret = cell_key_secret(store)
    con = store.connect()
    try:
        people = con.execute("SELECT person_id, person_source_value FROM person ORDER BY person_id").fetchall()
        keys = pa.table({
            "person_id": pa.array([pid for pid, _ in people], pa.int64()),
            "record_key": pa.array([record_key(_pseudonym(pid, s), secret) for pid, s in people], pa.float64()),
        })
        con.register("phta_new_keys", keys)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE OR REPLACE TABLE {TABLE} (person_id BIGINT PRIMARY KEY, record_key DOUBLE NOT NULL)")
        con.execute(f"INSERT INTO {TABLE} SELECT person_id, record_key FROM phta_new_keys")
        con.execute("COMMIT")
        con.unregister("phta_new_keys")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return len(people)


def has_record_keys(store: Store) -> bool:
    """Whether the store holds the record-key table (read-only check)."""
    con = store.connect(read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]
        ).fetchone()
    finally:
        con.close()
    return bool(found and found[0])
