"""Fixtures of the store's tests besides the session-wide ones."""

from tests.pg import empty_pg_database, throwaway_postgres  # noqa: F401  (the fixtures)
