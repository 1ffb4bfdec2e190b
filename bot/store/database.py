"""The index and its connections, owned by :class:`Database`; every part of the store reaches SQL through it.

The index is a SQLite file (a :class:`~pathlib.Path`) or a PostgreSQL database (a ``postgresql://`` URL,
:class:`~bot.store.postgres.PostgresDatabase`); the store's parts write the same ``?``-placeholder SQL
for both, branching on :attr:`Database.dialect` only where the dialects differ.

Rows come back named (``row["title"]``; :class:`sqlite3.Row` or asyncpg's ``Record``). One connection writes
(in batched transactions), another reads, so that answering a question never
waits for an ingest in progress: WAL lets the reader see the last committed state.

Many tasks write (feed polls, the folder watcher, commands, the alert dispatcher) and SQLite has one
transaction per connection: a statement run while another task's transaction is open would join it,
and be lost with its rollback. So the writing connection is reached only inside :meth:`Database.write`
(one task at a time, one transaction each) or :meth:`Database.turn`; anywhere else it raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bot.locations import Location, describe, is_postgres
from bot.models import to_iso
from bot.store.migrations import MigrationError, load_migrations

# After a burst of writes the WAL is truncated back to this size at the next checkpoint.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
_IN_CHUNK = 500
# The PostgreSQL advisory lock of the transactions that write articles ("ndartcls" in ASCII).
ARTICLE_WRITERS_LOCK = int.from_bytes(b"ndartcls", "big")

log = logging.getLogger(__name__)

# What the database itself raises (a query's error, or the file's or server's fault), on either backend.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


class StoreError(RuntimeError):
    """The database cannot be opened or reached, is damaged, is from a newer version of Newsdesk, or its disk is
    full.

    The message is one sentence naming the file (or the server, never with its password), fit to show as is.
    """


# SQLite result codes (the low byte of an extended code) that are faults of the file or the disk
# under it, not of the query: a damaged or foreign file, a full disk, an I/O error, no access.
_FAULTS = {
    sqlite3.SQLITE_CORRUPT: "is damaged ({error}); restore a backup, or move it away to build a new index",
    sqlite3.SQLITE_NOTADB: "is not a Newsdesk database or is damaged ({error}); move it away to build a new index",
    sqlite3.SQLITE_FULL: "cannot grow: the disk is full ({error}); what was saved before is intact",
    sqlite3.SQLITE_IOERR: "could not be read or written ({error})",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened ({error})",
    sqlite3.SQLITE_READONLY: "is read-only ({error})",
    sqlite3.SQLITE_PERM: "cannot be accessed ({error})",
}


def storage_fault(path: Location, exc: BaseException) -> StoreError | None:
    """The one-line :class:`StoreError` for a fault of the database file itself (damaged, full disk,
    unreadable) or of its server (unreachable, out of space), or ``None`` when ``exc`` is something else
    (a bug in a query stays a bug)."""
    if is_postgres(path):
        from bot.store.postgres import server_fault  # (it builds on this module)

        return server_fault(str(path), exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.DatabaseError) or code is None or code & 0xFF not in _FAULTS:
        return None
    return StoreError(f"the database {path} " + _FAULTS[code & 0xFF].format(error=exc))


def current_time() -> str:
    """The current time as the store writes it."""
    return to_iso(datetime.now(UTC))


def chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices small enough for one ``IN (...)`` list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Database:
    """The two connections to one index file, the write lock, and the count of committed writes.

    :meth:`connect` opens a :class:`~bot.store.postgres.PostgresDatabase` instead for a ``postgresql://`` URL:
    the same methods, rows and write discipline over asyncpg.
    """

    def __init__(self, path: Location, writer: Any, reader: Any) -> None:
        self.path = path  # the file, or the server's URL (show it with describe())
        self._write_connection = writer  # only through write() / turn(): see the module docstring
        self._write_lock = asyncio.Lock()
        self._write_owner: asyncio.Task[Any] | None = None
        self._reader = reader
        self.generation = 0  # bumped on every committed write, so caches know when to refresh

    @property
    def dialect(self) -> str:
        """The SQL dialect of this database: ``"sqlite"`` (or ``"postgresql"``), for the few statements
        written differently in each."""
        return "sqlite"

    # ----------------------------------------------------------------------------------- lifecycle

    @property
    def location(self) -> str:
        """Where the index is, fit to show: the file, or the server's URL without its password."""
        return describe(self.path)

    @classmethod
    async def connect(cls, location: Location) -> Database:
        """Open (creating and migrating as needed) the database at ``location``: a SQLite file, or a
        PostgreSQL database named by a ``postgresql://`` URL."""
        if is_postgres(location):
            from bot.store.postgres import PostgresDatabase  # (it builds on this module)

            return await PostgresDatabase.open(str(location))
        path = Path(location)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
            writer = await aiosqlite.connect(path, isolation_level=None)
            writer.row_factory = sqlite3.Row
        except Exception as exc:  # sqlite3 raises a bare OperationalError with little context
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        try:
            await _configure(writer)
            await _migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            reader.row_factory = sqlite3.Row
            await _configure(reader)
            await reader.execute("PRAGMA query_only = ON")
        except BaseException as exc:
            await writer.close()
            if isinstance(exc, MigrationError):
                raise StoreError(f"cannot prepare the database {path}: {exc}") from exc
            fault = storage_fault(path, exc)
            if fault is not None:
                raise fault from exc
            raise
        return cls(path, writer, reader)

    async def close(self, *, optimize: bool = True) -> None:
        """Close both connections, first letting SQLite refresh its statistics (``optimize``; skipped
        after a failure). A write in progress finishes first. Never raises for the database's own
        faults: they are logged, and what was committed is safe either way."""
        await self._close_connection(self._reader)
        async with self.turn() as writer:
            if optimize:
                try:
                    await writer.execute("PRAGMA optimize")
                except sqlite3.Error as exc:
                    log.warning("could not optimise the database %s at close: %s", self.location, exc)
            await self._close_connection(writer)

    async def _close_connection(self, connection: aiosqlite.Connection) -> None:
        try:
            await connection.close()
        except sqlite3.Error as exc:
            log.warning("closing the database %s failed: %s", self.location, exc)

    # ------------------------------------------------------------------------------------- writing

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writing connection to this task alone (others wait), outside any transaction: for reads
        that plan a write and must not see another task's uncommitted rows."""
        task = asyncio.current_task()
        if task is not None and self._write_owner is task:
            raise RuntimeError("the store's writing connection is already held by this task")
        async with self._write_lock:
            self._write_owner = task
            try:
                yield self._write_connection
            finally:
                self._write_owner = None

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction on the writing connection, after any other task's: committed when the block
        ends, rolled back on any exception or cancellation. Helpers called inside the block reach the
        connection through :attr:`writer` and must not enter ``write`` again."""
        async with self.turn() as db:
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except BaseException:
                # aiosqlite runs statements in order, so this follows any statement still running (a
                # cancelled BEGIN or COMMIT included); without an open transaction it does nothing.
                await db.rollback()
                raise

    @property
    def writer(self) -> aiosqlite.Connection:
        """The writing connection, for code running inside :meth:`write` or :meth:`turn`."""
        task = asyncio.current_task()
        if task is None or self._write_owner is not task:
            raise RuntimeError("the store's writing connection is used outside Database.write()")
        return self._write_connection

    # ------------------------------------------------------------------------------------- reading

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Every row of a query on the reading connection (the last committed state)."""
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of a query on the reading connection, or ``None``."""
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def data_version(self) -> int:
        """A number that changes whenever another process changed the articles (see :mod:`bot.store.changes`);
        on SQLite whenever another connection (another process, or our writer) commits."""
        row = await self.fetchone("PRAGMA data_version")
        return int(row["data_version"]) if row else 0

    async def one_writer(self) -> None:
        """Inside :meth:`write`, first: this transaction writes or removes articles. On PostgreSQL it waits
        for any other process's such transaction to end (an advisory lock, held to its own end), so that
        articles are written one transaction at a time across processes, as SQLite's single writer makes
        them: each sees the articles, stories and alerts of the one before (the same text twice is one
        article, one story gets one post). SQLite: nothing to do."""
        if self.dialect == "postgresql":
            await self.writer.execute("SELECT pg_advisory_xact_lock(?)", (ARTICLE_WRITERS_LOCK,))

    async def announce(self) -> None:
        """Inside :meth:`write`: this transaction changes the articles, which other processes cache (see
        :mod:`bot.store.changes`). SQLite has nothing to send: its :meth:`data_version` moves by itself."""

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever another process announces a change, where the database can say so at
        once (PostgreSQL). SQLite cannot: whoever caches compares :meth:`data_version` instead."""

    async def schema_version(self) -> int:
        """The ``user_version`` the migrations have reached."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row["user_version"]) if row else 0


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (SQLite gives its -wal and -shm files the
    same mode); an existing file keeps the mode its admin chose."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


async def _rollback(db: aiosqlite.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so itself (as it may on a full disk)."""
    if db.in_transaction:
        await db.execute("ROLLBACK")


async def _configure(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("PRAGMA foreign_keys = ON")
    await db.execute("PRAGMA busy_timeout = 10000")
    await db.execute("PRAGMA cache_size = -32000")
    await db.execute("PRAGMA mmap_size = 1073741824")
    await db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")


async def _migrate(db: aiosqlite.Connection) -> None:
    """Apply the migrations this database has not seen, each in its own transaction."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row["user_version"]) if row else 0
    migrations = load_migrations()
    if current > len(migrations):
        raise StoreError(f"the database is at schema version {current}, newer than this Newsdesk ({len(migrations)})")
    for migration in migrations[current:]:
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(migration.sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {migration.version}")
            await db.execute("COMMIT")
        except BaseException:
            await _rollback(db)
            raise


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (no statement of ours contains a semicolon in a string; a
    trigger's body, whose statements end in semicolons, runs to its ``END``)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements: list[str] = []
    pending = ""
    for part in "\n".join(lines).split(";"):
        pending = f"{pending};{part}" if pending else part
        text = pending.strip()
        if text.upper().startswith("CREATE TRIGGER") and not text.upper().endswith("END"):
            continue
        if text:
            statements.append(text)
        pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
