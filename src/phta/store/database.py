"""The operational database: one engine per URL, migrated to head before first use.

SQLite (the embedded default) runs every transaction as ``BEGIN IMMEDIATE`` so two writers
queue on the database lock instead of both reading the same state and one failing at commit
(which would, for example, let two audit writers read the same chain head). PostgreSQL gets
ordinary transactions; code that needs serialisation there takes an explicit lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from phta.config import Settings
from phta.store.migrations_runner import upgrade_to_head

_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """The operational store of one deployment: an engine and a session factory."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        upgrade_to_head(self.engine)

    def new_session(self) -> Session:
        return self._sessions()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


_cache: dict[tuple[str, Path], Database] = {}
_cache_lock = threading.Lock()


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """The migrated database for these settings (one shared instance per URL and data dir)."""
    key = (settings.database_url, settings.data_dir)
    with _cache_lock:
        db = _cache.get(key)
        if db is None:
            db = Database(settings.database_url, settings.data_dir)
            if migrate:
                db.migrate()
            _cache[key] = db
        return db


def close_all() -> None:
    """Dispose every cached engine (tests that drop databases call this first)."""
    with _cache_lock:
        for db in _cache.values():
            db.dispose()
        _cache.clear()
