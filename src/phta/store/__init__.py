"""phta.store — the operational database (SQLAlchemy 2 models, Alembic migrations).

SQLite in the data directory by default; PostgreSQL when ``PHTA_DATABASE_URL`` says so.
"""

from phta.store.database import Database, close_all, open_database

__all__ = ["Database", "close_all", "open_database"]
