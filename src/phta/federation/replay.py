"""The node's replay cache: every task nonce and task id it has accepted, in a SQLite file in the
node's data directory, so that a replayed task is refused even after the agent restarts.

Entries are kept until their task expires (plus a margin): after that the expiry check refuses
the task before the cache is consulted, so forgetting them loses nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

FILE_NAME = "federation-replay.sqlite"
MARGIN = dt.timedelta(hours=1)


class ReplayCache:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS seen (nonce TEXT PRIMARY KEY, task_id TEXT NOT NULL UNIQUE,"
                       " expires_at TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None + explicit BEGIN IMMEDIATE: the check and the insert are one step
        # even when two agents were (wrongly) started on the same data directory.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def first_sight(self, nonce: str, task_id: str, expires: dt.datetime, now: dt.datetime) -> bool:
        """Record the task; False when its nonce or its task id was seen before (a replay)."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM seen WHERE expires_at < ?", ((now - MARGIN).isoformat(),))
            try:
                db.execute("INSERT INTO seen (nonce, task_id, expires_at) VALUES (?, ?, ?)",
                           (nonce, task_id, expires.astimezone(dt.UTC).isoformat()))
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                return False
            db.execute("COMMIT")
            return True
        finally:
            db.close()
