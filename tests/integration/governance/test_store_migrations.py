"""Migrations run on start-up and go up and down cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from phta.store import open_database
from phta.store.migrations_runner import current_revision, downgrade_to, head_revision, upgrade_to
from phta.store.models import Base

TABLES = {t.name for t in Base.metadata.sorted_tables}


def test_open_database_migrates_to_head(backend_settings):
    db = open_database(backend_settings)
    assert current_revision(db.engine) == head_revision()
    assert set(inspect(db.engine).get_table_names()) >= TABLES


def test_migrations_go_down_to_base_and_back_up(backend_settings):
    db = open_database(backend_settings)
    downgrade_to(db.engine, "base")
    assert current_revision(db.engine) is None
    assert not TABLES & set(inspect(db.engine).get_table_names())
    upgrade_to(db.engine, "head")
    assert current_revision(db.engine) == head_revision()
    assert set(inspect(db.engine).get_table_names()) >= TABLES


def test_models_and_migrations_agree(backend_settings):
    """A model changed without a migration shows up as a non-empty autogenerate diff."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = open_database(backend_settings)
    with db.engine.connect() as conn:
        # The library's full-text index is the database's own (SQLite FTS5 table and its shadow
        # tables, a PostgreSQL expression index): created by migration 0012, not by a model.
        def include(obj, name, kind, reflected, compare_to):
            return not (name or "").startswith(("dataset_fts", "ix_dataset_record_fts"))

        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include}), Base.metadata)
    assert diff == []


def test_sqlite_store_is_a_file_in_the_data_dir(settings):
    db = open_database(settings)
    assert db.dialect == "sqlite"
    assert (settings.data_dir / "phta.db").exists()
