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


class Journal:
    """The node's journal of accepted tasks and their signed answers, beside the replay cache.

    - A task is journalled when accepted, before it runs: an agent killed mid-task finds it on
      restart and finishes it (``unanswered``), so nothing is lost.
    - A task delivered again (the hub re-offers a task whose answer it never received) gets the
      same signed answer back: never run twice, nothing new leaves the node.
    - An answer stays unposted until the hub acknowledged it (``unposted``)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        with sqlite3.connect(self.path, timeout=30) as db:
            db.execute("CREATE TABLE IF NOT EXISTS journal (task_id TEXT PRIMARY KEY, task_signature TEXT NOT NULL,"
                       " signed_task TEXT NOT NULL, result TEXT, posted INTEGER NOT NULL DEFAULT 0)")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def accept(self, task_id: str, task_signature: str, signed_task: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO journal (task_id, task_signature, signed_task) VALUES (?, ?, ?)",
                       (task_id, task_signature, signed_task))

    def accepted(self, task_id: str, task_signature: str) -> tuple[bool, str | None]:
        """(whether this exact signed task was accepted, its answer if it has one)."""
        with self._db() as db:
            row = db.execute("SELECT result FROM journal WHERE task_id = ? AND task_signature = ?",
                             (task_id, task_signature)).fetchone()
        return (row is not None, row[0] if row else None)

    def record(self, task_id: str, result: str) -> None:
        with self._db() as db:
            db.execute("UPDATE journal SET result = ? WHERE task_id = ? AND result IS NULL", (result, task_id))

    def unanswered(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT signed_task FROM journal WHERE result IS NULL ORDER BY rowid")]

    def unposted(self) -> list[tuple[str, str]]:
        with self._db() as db:
            return list(db.execute("SELECT task_id, result FROM journal WHERE result IS NOT NULL AND posted = 0"
                                   " ORDER BY rowid"))

    def posted(self, task_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE journal SET posted = 1 WHERE task_id = ?", (task_id,))
