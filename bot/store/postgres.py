"""The index on a PostgreSQL server, through asyncpg, behind the same :class:`~bot.store.database.Database`
contract as the SQLite file: one writing connection reached only inside ``write()`` / ``turn()``, a few
reading connections for everything else, rows readable as ``row["name"]`` and ``row[0]`` (asyncpg's
``Record``), and the store's ``?`` placeholders rewritten to PostgreSQL's ``$1, $2 …``.

The store's parts talk to a connection as they would to aiosqlite's: ``async with db.execute(sql, params)
as cursor`` then ``await cursor.fetchone()`` / ``fetchall()`` / ``rowcount``, ``await db.execute(...)``,
``await db.executemany(sql, rows)``; :class:`PgConnection` gives them that over an asyncpg connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from bot.locations import describe, password_of
from bot.store.changes import ARTICLES_CHANNEL, ChangeListener
from bot.store.database import Database, StoreError
from bot.store.migrations import MigrationError

# Reading connections: enough for the commands and autocompletes in flight at once, few enough that many
# processes can share one server's connection limit.
READERS = 4
# Statements asyncpg keeps prepared per connection: the store has a few hundred distinct ones.
STATEMENT_CACHE = 1024
CONNECT_TIMEOUT = 10.0

log = logging.getLogger(__name__)

# A string literal, a quoted identifier or a comment (whose "?" are text), a cast ("::"), or a placeholder:
# "?" or SQLite's named ":name".
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|\?|:[A-Za-z_]\w*")


@functools.lru_cache(maxsize=4096)
def to_postgres(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with its placeholders (outside string literals, quoted names and comments) numbered ``$1``,
    ``$2`` … as PostgreSQL wants them, and the names of its named ones (``:user``) in the order of their
    numbers (empty for ``?`` placeholders). Cached: the store runs the same few hundred statements."""
    names: list[str] = []
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token == "?":
            count += 1
            return f"${count}"
        if token.startswith(":") and token != "::":
            if token[1:] not in names:
                names.append(token[1:])
            return f"${names.index(token[1:]) + 1}"
        return token

    return _TOKENS.sub(number, sql), tuple(names)


def _statement(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The PostgreSQL text of ``sql`` and its arguments in order (named ones taken from a mapping)."""
    text, names = to_postgres(sql)
    args = tuple(params[name] for name in names) if isinstance(params, Mapping) else tuple(params)
    if any(isinstance(arg, str) and "\x00" in arg for arg in args):
        # PostgreSQL text cannot hold NUL (SQLite's can): untrusted text that carries one loses it.
        args = tuple(arg.replace("\x00", "") if isinstance(arg, str) else arg for arg in args)
    return text, args


def _number(text: str) -> int | float:
    """A ``numeric`` value (``SUM`` of a ``bigint``, ``ROUND``) as SQLite would give it: an ``int`` when
    whole, else a ``float`` — never a :class:`~decimal.Decimal` the rest of the bot cannot mix with floats."""
    try:
        return int(text)
    except ValueError:
        return float(text)


async def _prepare(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec("numeric", schema="pg_catalog", encoder=str, decoder=_number, format="text")
    # asyncpg prepares every statement, and after five runs PostgreSQL may plan one once for any parameters:
    # a generic plan cannot tell a common search word from a rare one, nor a server's few articles from
    # everything (a search went from 12 ms to 190 ms at 100,000 articles). Planning each run costs far less.
    await connection.execute("SET plan_cache_mode = force_custom_plan")
    # The bot's statements each touch a few hundred rows of an index that stays in memory: the defaults
    # price a random page as four sequential ones (a disk) and start parallel workers, which made trending
    # hash every visible article's scope (100,000 rows, 40 ms) where probing a few hundred took 2 ms.
    await connection.execute("SET random_page_cost = 1.1")
    await connection.execute("SET max_parallel_workers_per_gather = 0")


def _row_count(status: str) -> int:
    """The rows a command touched, from its status (``UPDATE 3``, ``INSERT 0 1``); -1 when it does not say."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgCursor:
    """The rows of one statement, read like an aiosqlite cursor (they are all fetched already)."""

    def __init__(self, rows: list[asyncpg.Record], status: str) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = _row_count(status)

    async def fetchone(self) -> asyncpg.Record | None:
        """The next row, or ``None``."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[asyncpg.Record]:
        """Every row not read yet."""
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def __aiter__(self) -> PgCursor:
        return self

    async def __anext__(self) -> asyncpg.Record:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class _Statement:
    """``db.execute(...)``'s result: awaited, the cursor; or ``async with`` it, as aiosqlite allows."""

    __slots__ = ("_pending",)

    def __init__(self, pending: Awaitable[PgCursor]) -> None:
        self._pending = pending

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._pending.__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._pending

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """One asyncpg connection as the store's parts use a connection, opened again after it was lost or
    left mid-statement (a cancelled task): the next statement then runs on a fresh one."""

    def __init__(self, url: str, connection: asyncpg.Connection | None = None) -> None:
        self._url = url
        self._connection: asyncpg.Connection | None = connection

    async def _live(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._connection = await open_connection(self._url)
        return self._connection

    def drop(self) -> None:
        """Abandon the connection (its state is unknown: a statement was cancelled mid-way); the next
        statement opens another."""
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> _Statement:
        """Run one statement; awaited or entered, it gives a cursor over its rows."""
        return _Statement(self._run(sql, params))

    async def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> PgCursor:
        connection = await self._live()
        text, args = _statement(sql, params)
        # Connection._execute is asyncpg's own path for fetch() and execute(): the rows and the command
        # status from one prepared (and cached) statement, as aiosqlite gives rows and rowcount.
        rows, status, _ = await connection._execute(text, args, 0, None, return_status=True)
        return PgCursor(rows, status.decode() if isinstance(status, bytes) else str(status or ""))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row (pipelined by asyncpg)."""
        batch = [_statement(sql, row)[1] for row in rows]
        if batch:
            connection = await self._live()
            await connection.executemany(to_postgres(sql)[0], batch)

    async def fetchall(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[asyncpg.Record]:
        """Every row of a query."""
        connection = await self._live()
        text, args = _statement(sql, params)
        return await connection.fetch(text, *args)

    async def close(self) -> None:
        """Close the connection (a closed or dropped one stays so)."""
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close(timeout=5)
        self._connection = None


async def open_connection(url: str) -> asyncpg.Connection:
    """One connection to the server at ``url``, its codecs set."""
    connection = await asyncpg.connect(url, statement_cache_size=STATEMENT_CACHE, timeout=CONNECT_TIMEOUT)
    try:
        await _prepare(connection)
    except BaseException:
        connection.terminate()
        raise
    return connection


class _Readers:
    """A few reading connections, each lent to one query at a time. Reads run in autocommit, so a connection
    goes back as it came (unlike asyncpg's pool, nothing is reset between two reads: no extra round trip)."""

    def __init__(self, url: str, first: PgConnection, size: int) -> None:
        self._free: asyncio.Queue[PgConnection] = asyncio.Queue()
        self._all = [first] + [PgConnection(url) for _ in range(size - 1)]  # opened at their first read
        for connection in self._all:
            self._free.put_nowait(connection)

    @contextlib.asynccontextmanager
    async def lend(self) -> AsyncIterator[PgConnection]:
        connection = await self._free.get()
        try:
            yield connection
        except (asyncio.CancelledError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError):
            connection.drop()  # mid-statement or lost: its state is unknown
            raise
        finally:
            self._free.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            try:
                await connection.close()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                log.warning("closing a reading connection failed: %s", exc)
                connection.drop()


class PostgresDatabase(Database):
    """The index in a PostgreSQL database: one writing connection (the same ``write()`` / ``turn()`` /
    ``writer`` rules as SQLite's), a few reading ones."""

    def __init__(self, url: str, writer: PgConnection, readers: _Readers, listener: ChangeListener) -> None:
        super().__init__(url, writer, None)
        self._readers = readers
        self._listener = listener  # what other processes announce: see bot.store.changes

    @property
    def dialect(self) -> str:
        """``"postgresql"``: see :attr:`Database.dialect`."""
        return "postgresql"

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        """Connect to the database at ``url`` and bring its schema up to date."""
        from bot.store.postgres_schema import migrate  # the PostgreSQL migrations

        writer = await connect_or_explain(url)
        try:
            await migrate(writer)
            reader = await connect_or_explain(url)
            listener = ChangeListener(functools.partial(open_connection, url))
            try:
                await listener.start()
            except BaseException:
                reader.terminate()
                raise
        except BaseException as exc:
            writer.terminate()
            if isinstance(exc, MigrationError | StoreError):
                raise StoreError(f"cannot prepare the database {describe(url)}: {_scrub(url, exc)}") from None
            fault = server_fault(url, exc)
            if fault is not None:
                raise fault from None
            raise
        readers = _Readers(url, PgConnection(url, reader), READERS)
        return cls(url, PgConnection(url, writer), readers, listener)

    async def close(self, *, optimize: bool = True) -> None:
        """Close every connection (a write in progress finishes first). ``optimize`` is SQLite's: the
        server keeps its own statistics."""
        await self._listener.close()
        await self._readers.close()
        async with self.turn() as writer:
            try:
                await writer.close()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                log.warning("closing the database %s failed: %s", self.location, exc)
                writer.drop()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[PgConnection]:  # type: ignore[override]
        """One transaction on the writing connection, after any other task's: committed when the block
        ends, rolled back on any exception or cancellation (see :meth:`Database.write`)."""
        async with self.turn() as db:
            connection = await db._live()
            transaction = connection.transaction()
            await transaction.start()
            try:
                yield db
                await transaction.commit()
            except BaseException:
                try:
                    await transaction.rollback()
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.CancelledError):
                    # A statement cancelled mid-way leaves the connection busy: the server rolls the
                    # transaction back when the connection goes.
                    db.drop()
                raise

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        """Every row of a query on a reading connection (the last committed state)."""
        async with self._readers.lend() as reader:
            return await reader.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        """The first row of a query on a reading connection, or ``None``."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def data_version(self) -> int:
        """A number that changes whenever another process announced a change of the articles: the count of
        what this process heard on its listening connection (no round trip to the server)."""
        return await self._listener.current()

    async def announce(self) -> None:
        """Inside :meth:`write`: ``NOTIFY newsdesk_articles``, delivered to every listening process when this
        transaction commits (and never if it rolls back)."""
        await self.writer.execute("SELECT pg_notify(?, ?)", (ARTICLES_CHANNEL, self._listener.token))

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at each change another process announces (see :meth:`Database.on_change`)."""
        self._listener.subscribe(callback)

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        from bot.store.postgres_schema import schema_version

        async with self._readers.lend() as reader:
            return await schema_version(await reader._live())


def _scrub(url: str, exc: BaseException) -> str:
    """``exc``'s message on one line, without the URL's password should the driver have repeated it."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    password = password_of(url)
    return message.replace(password, "***") if password else message


async def connect_or_explain(url: str) -> asyncpg.Connection:
    """A connection to ``url`` set up as the store's are, or a :class:`StoreError` saying in one sentence why
    there is none (the password never shown)."""
    try:
        return await open_connection(url)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise StoreError(f"cannot open the database {describe(url)}: {_why(url, exc)}") from None


def _why(url: str, exc: BaseException) -> str:
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
        return f"the server refused the login ({_scrub(url, exc)})"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"no such database on the server ({_scrub(url, exc)})"
    if isinstance(exc, OSError | TimeoutError):
        return f"the server cannot be reached ({_scrub(url, exc)})"
    return _scrub(url, exc)


def server_fault(url: str, exc: BaseException) -> StoreError | None:
    """The one-line :class:`StoreError` for a fault of the server rather than of a query (it went away, it
    is out of disk or connections), or ``None`` when ``exc`` is something else."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.ConnectionDoesNotExistError | OSError):
        return StoreError(f"the database {describe(url)} cannot be reached ({_scrub(url, exc)})")
    if isinstance(exc, asyncpg.InsufficientResourcesError):  # disk full, out of memory or connections
        return StoreError(f"the database {describe(url)} is out of resources ({_scrub(url, exc)})")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InsufficientPrivilegeError):
        return StoreError(f"the database {describe(url)} refused access ({_scrub(url, exc)})")
    return None


__all__ = ["PgConnection", "PgCursor", "PostgresDatabase", "open_connection", "server_fault", "to_postgres"]
