"""Operational-store fixtures: every test here runs on SQLite and on a real PostgreSQL.

PostgreSQL gets one fresh database per test session (``phta_test_<random>``), dropped at the
end; tables are emptied between tests so each test starts from a migrated, empty store.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from phta.config import Settings, load_settings
from phta.store import Database, close_all, open_database
from phta.store.models import Base


@pytest.fixture(scope="session")
def pg_test_url(postgres_url: str) -> Iterator[str]:
    name = f"phta_test_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        close_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend_settings(request, tmp_path: Path) -> Iterator[Settings]:
    env: dict[str, str] = {}
    if request.param == "postgresql":
        env["PHTA_DATABASE_URL"] = request.getfixturevalue("pg_test_url")
    settings = load_settings(tmp_path / "data", env=env)
    yield settings
    if request.param == "postgresql":
        db = open_database(settings)
        with db.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    close_all()


@pytest.fixture
def database(backend_settings: Settings) -> Database:
    return open_database(backend_settings)
