"""The library's store tests run on SQLite and on a real PostgreSQL, as governance's do."""

from tests.integration.governance.conftest import backend_settings, database, pg_test_url  # noqa: F401
