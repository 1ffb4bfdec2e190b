"""The two places an index can live, for the tests: a SQLite file in a temporary folder, or a database on a
throwaway PostgreSQL server (pgserver's wheel, started once per session in a temporary folder and deleted
with it; it listens on a unix socket only).

Each test that wants an empty index gets its own: a file, or a database created from a migrated template
(a copy of a few files, ~50 ms). A built index (the seeded one) is copied the same way, so a test can change
its copy freely. PostgreSQL databases made for a test are dropped when the test ends.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import tempfile
from pathlib import Path

from bot.locations import Location, is_postgres
from bot.store import Store

BACKENDS = ("sqlite", "postgresql")
# `NEWSDESK_TEST_BACKENDS=sqlite pytest` runs the suite on SQLite alone (pytest --backend does the same).
ENV_BACKENDS = "NEWSDESK_TEST_BACKENDS"
TEMPLATE = "newsdesk_template"


class PgCluster:
    """One throwaway PostgreSQL server and the databases the tests made on it."""

    def __init__(self) -> None:
        import pgserver

        self._folder = tempfile.mkdtemp(prefix="newsdesk-pg-")
        self._server = pgserver.get_server(self._folder, cleanup_mode="delete")
        self.admin_url = self._server.get_uri()
        self._names = itertools.count(1)
        self._made: list[str] = []
        self._masters: dict[str, str] = {}  # an open store's URL → the closed database it is a copy of
        self._admin = None

    async def _connection(self):
        import asyncpg

        if self._admin is None or self._admin.is_closed():
            self._admin = await asyncpg.connect(self.admin_url)
        return self._admin

    def url(self, database: str) -> str:
        """The URL of one database on this server."""
        return self.admin_url.replace("/postgres?", f"/{database}?", 1)

    async def start(self) -> None:
        """Make the server fast for throwaway data and build the migrated template."""
        admin = await self._connection()
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            await admin.execute(f"ALTER SYSTEM SET {setting} = off")
        await admin.execute("SELECT pg_reload_conf()")
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
        store = await Store.connect(self.url(TEMPLATE))
        await store.close()

    async def create(self, template: str = TEMPLATE, *, keep: bool = False) -> str:
        """A new database copied from ``template`` (no connection may be open to it); its URL. It is dropped
        when the test ends unless ``keep`` (a session's)."""
        name = f"t{next(self._names)}"
        admin = await self._connection()
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        if not keep:
            self._made.append(name)
        return self.url(name)

    async def freeze(self, url: str) -> str:
        """``url``'s database kept as it is now, closed (a template for copies), and the URL of a copy of it
        to open instead (kept for the session); :meth:`copy` of that copy's URL copies the frozen one."""
        master = _name(url)
        copy = await self.create(master, keep=True)
        self._masters[copy] = master
        return copy

    async def copy(self, url: str) -> str:
        """A new database with ``url``'s content (``url`` must be closed, or frozen by :meth:`freeze`)."""
        return await self.create(self._masters.get(url, _name(url)))

    def drop_made(self) -> None:
        """Drop the databases created since the last call (closing whatever still holds them). Synchronous
        (through psql), as it runs after the test, outside the event loop."""
        if self._made:
            self._server.psql("".join(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);\n" for name in self._made))
            self._made.clear()

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.close()
        self._server.cleanup()


def _name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


_cluster: PgCluster | None = None


async def cluster() -> PgCluster:
    """The session's PostgreSQL server, started at its first use."""
    global _cluster
    if _cluster is None:
        _cluster = PgCluster()
        await _cluster.start()
    return _cluster


async def stop_cluster() -> None:
    """Stop the server and delete its folder (at the end of the session)."""
    global _cluster
    if _cluster is not None:
        await _cluster.stop()
        _cluster = None


def drop_test_databases() -> None:
    """Drop the PostgreSQL databases the test that just ended made."""
    if _cluster is not None:
        _cluster.drop_made()


async def fresh_location(backend: str, folder: Path, name: str = "index.db", *, keep: bool = False) -> Location:
    """Where a new, empty index for ``backend`` goes: ``folder / name``, or a new database (dropped when the
    test ends, unless ``keep``: a session fixture's)."""
    if backend == "sqlite":
        return folder / name
    return await (await cluster()).create(keep=keep)


async def freeze(location: Location) -> Store:
    """For a session fixture's index, built and closed: the same index opened again, and on PostgreSQL as a
    copy, so that :func:`copy_database` can copy the closed original (PostgreSQL copies only a database
    nobody is connected to)."""
    if is_postgres(location):
        location = await (await cluster()).freeze(str(location))
    return await Store.connect(location)


async def copy_database(source: Store | Location, target: Path) -> Location:
    """A copy of an index that a test may change: for SQLite the live file copied to ``target`` with the
    backup API; for PostgreSQL a new database (``target`` unused)."""
    location = source.path if isinstance(source, Store) else source
    if is_postgres(location):
        return await (await cluster()).copy(str(location))
    with sqlite3.connect(location) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def chosen_backends(option: list[str] | None) -> tuple[str, ...]:
    """The backends this run tests: ``--backend`` (repeatable), else ``$NEWSDESK_TEST_BACKENDS``
    (comma-separated), else both."""
    if option:
        return tuple(option)
    listed = [b.strip() for b in os.environ.get(ENV_BACKENDS, "").split(",") if b.strip()]
    unknown = set(listed) - set(BACKENDS)
    if unknown:
        raise ValueError(f"{ENV_BACKENDS}: unknown backend(s) {sorted(unknown)}; use {', '.join(BACKENDS)}")
    return tuple(listed) or BACKENDS
