"""A throwaway PostgreSQL server for the tests that need one (from the ``pgserver`` wheel: nothing to
set up on the machine, reached over a unix socket in a temporary folder), one per session, and a new
empty database per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest


@pytest.fixture(scope="session")
def throwaway_postgres() -> Iterator[Any]:
    """A PostgreSQL server in a temporary folder, stopped and deleted when the session ends; the tests
    that use it are skipped, saying why, when pgserver cannot start one here."""
    # Not under pytest's basetemp: a concurrent pytest run may prune it while the server still runs.
    folder = Path(tempfile.mkdtemp(prefix="newsdesk-pg-"))
    try:
        import pgserver

        server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    except Exception as exc:  # no wheel for this platform, no shared memory, no room for the cluster
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"pgserver cannot start a throwaway PostgreSQL server here: {exc}")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def empty_pg_database(throwaway_postgres: Any) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(throwaway_postgres.get_uri())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield throwaway_postgres.get_uri(name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
