"""``newsdesk copy``: an index moved from a SQLite file into an empty PostgreSQL database as it is stored —
articles, names, topics, stories, alerts, settings — without analysing anything again.

Both ends are first brought to this Newsdesk's schema (the migrations of each dialect), so their tables
and columns are the same. The SQLite file is read in one read transaction (a consistent snapshot, even
while a bot writes to it), table by table in foreign-key order and in batches, so memory stays bounded
whatever the index's size; each batch goes to PostgreSQL with ``COPY``. Everything is written in one
transaction: a copy that fails leaves the target as empty as it found it.

The totals kept by triggers (``scope_counts``) are copied like any table, so the triggers that would
count the copied rows a second time (every AFTER row trigger) are off during the copy; BEFORE triggers,
which complete their own row (``articles.search_vector``), stay on, and so do the statement triggers that
derive what SQLite does not hold (``search_words``, the words of PostgreSQL's search) from each batch.
Identity sequences then continue after the highest id copied.
"""

from __future__ import annotations

import asyncio
import graphlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import asyncpg

from bot.locations import describe, is_postgres
from bot.store.database import Database, StoreError
from bot.store.postgres import connect_or_explain, server_fault
from bot.store.postgres_schema import migrate

# Rows per COPY: a few MB of articles (bodies are capped by max_article_chars), far fewer round trips.
BATCH_ROWS = 2000
# Memory one index build may use (PostgreSQL's default, 64 MB, makes large ones spill to disk).
INDEX_BUILD_MEMORY = "256MB"


@dataclass(frozen=True, slots=True)
class TableCopy:
    """How many rows of one table were copied."""

    table: str
    rows: int


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What a copy moved, table by table in the order copied, and how long it took."""

    tables: list[TableCopy]
    seconds: float

    @property
    def rows(self) -> int:
        """Rows copied, every table together."""
        return sum(t.rows for t in self.tables)

    def count(self, table: str) -> int:
        """Rows copied of ``table``."""
        return next(t.rows for t in self.tables if t.table == table)


def sqlite_source(argument: str) -> Path:
    """The SQLite file named by ``sqlite:PATH`` (or a bare path), as ``newsdesk copy --from`` takes it."""
    if is_postgres(argument):
        raise StoreError("newsdesk copy reads a SQLite index (sqlite:PATH), not a PostgreSQL database")
    return Path(argument.removeprefix("sqlite:")).expanduser()


async def copy_index(
    source: Path,
    target: str,
    *,
    batch_rows: int = BATCH_ROWS,
    on_table: Callable[[TableCopy], None] | None = None,
) -> CopyReport:
    """Copy the SQLite index at ``source`` into the empty PostgreSQL database at ``target`` (a URL).

    The source is migrated first if it is older than this Newsdesk; a target that holds any rows is
    refused. ``on_table`` hears of each table as it is done. Raises :class:`StoreError` (one sentence,
    the target shown without its password) for anything that stops the copy.
    """
    if not is_postgres(target):
        raise StoreError("newsdesk copy writes to a PostgreSQL database: give --to a postgresql:// URL")
    if not await asyncio.to_thread(source.is_file):
        raise StoreError(f"there is no SQLite index at {source}")
    read_only = f"{(await asyncio.to_thread(source.resolve)).as_uri()}?mode=ro"
    started = time.perf_counter()
    # Bring the file to this Newsdesk's schema (refusing one from a newer Newsdesk), as opening it would.
    await (await Database.connect(source)).close(optimize=False)
    reader = await aiosqlite.connect(read_only, uri=True, isolation_level=None)
    try:
        conn = await connect_or_explain(target)
        try:
            tables = await _copy(reader, conn, target, batch_rows, on_table)
        except BaseException as exc:
            conn.terminate()  # the server rolls back whatever was left open
            if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError):
                fault = server_fault(target, exc)
                raise (fault or StoreError(f"copying into {describe(target)} failed: {exc}")) from None
            raise
        await conn.close()
        # Fresh statistics, so that the first queries on the copy are planned for its real size.
        conn = await connect_or_explain(target)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    finally:
        await reader.close()
    return CopyReport(tables, time.perf_counter() - started)


async def _copy(
    reader: aiosqlite.Connection,
    conn: asyncpg.Connection,
    target: str,
    batch_rows: int,
    on_table: Callable[[TableCopy], None] | None,
) -> list[TableCopy]:
    await migrate(conn)
    await reader.execute("BEGIN")  # one snapshot of the file for every table
    try:
        order = await _tables_in_order(reader)
        copied: list[TableCopy] = []
        async with conn.transaction():
            # A second copy into the same database waits here, then finds it full.
            await conn.execute(f"LOCK TABLE {', '.join(order)} IN SHARE ROW EXCLUSIVE MODE")
            for table in order:
                if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise StoreError(
                        f"the database {describe(target)} already holds an index (its table {table} has rows): "
                        "newsdesk copy fills only an empty database"
                    )
            after_triggers = await _after_triggers(conn, order)
            for table, trigger in after_triggers:
                await conn.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"')
            # Secondary indexes are built once at the end, from all the rows (several times faster than
            # growing them row by row); keys stay, so that a row that breaks one stops the copy.
            indexes = await _secondary_indexes(conn, order)
            for name, _ in indexes:
                await conn.execute(f'DROP INDEX "{name}"')
            for table in order:
                try:
                    done = TableCopy(table, await _copy_table(reader, conn, table, batch_rows))
                except asyncpg.DataError as exc:  # a value PostgreSQL cannot hold (a NUL character in text)
                    raise StoreError(
                        f"the table {table} cannot be copied into {describe(target)}: {exc}; nothing was copied"
                    ) from None
                copied.append(done)
                if on_table:
                    on_table(done)
            await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            for _, definition in indexes:
                await conn.execute(definition)
            for table, trigger in after_triggers:
                await conn.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{trigger}"')
            await _continue_identities(conn, order)
        return copied
    finally:
        await reader.execute("COMMIT")


async def _tables_in_order(reader: aiosqlite.Connection) -> list[str]:
    """The index's tables (not SQLite's own, not the full-text index: PostgreSQL derives its own), each
    after the tables it refers to."""
    async with reader.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'articles_fts%' ORDER BY name"
    ) as cursor:
        names = [name for (name,) in await cursor.fetchall()]
    graph: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in names:
        async with reader.execute(f"SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{name}')") as cursor:
            graph.add(name, *[parent for (parent,) in await cursor.fetchall() if parent != name])
    return list(graph.static_order())


async def _after_triggers(conn: asyncpg.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """The AFTER row triggers on ``tables``: they derive rows of other tables, which are copied as they are."""
    rows = await conn.fetch(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relname = ANY($1::text[]) AND t.tgtype & 3 = 1 "  # 1: ROW, 2: BEFORE
        "AND c.relnamespace = current_schema()::regnamespace ORDER BY 1, 2",
        tables,
    )
    return [(r["relname"], r["tgname"]) for r in rows]


async def _secondary_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """The indexes on ``tables`` that back no constraint (primary key, unique), with their definitions."""
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = ANY($1::text[]) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace) "
        "ORDER BY indexname",
        tables,
    )
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def _copy_table(reader: aiosqlite.Connection, conn: asyncpg.Connection, table: str, batch_rows: int) -> int:
    async with reader.execute(f"SELECT name FROM pragma_table_info('{table}') ORDER BY cid") as cursor:
        columns = [name for (name,) in await cursor.fetchall()]
    quoted = ", ".join(f'"{c}"' for c in columns)
    copied = 0
    async with reader.execute(f"SELECT {quoted} FROM {table}") as cursor:
        # The next batch is read (in aiosqlite's thread) while this one is written: two batches in memory.
        ahead = asyncio.ensure_future(cursor.fetchmany(batch_rows))
        try:
            while batch := await ahead:
                ahead = asyncio.ensure_future(cursor.fetchmany(batch_rows))
                status = await conn.copy_records_to_table(table, records=batch, columns=columns)
                if status != f"COPY {len(batch)}":  # the transaction is rolled back: nothing half-copied stays
                    raise StoreError(
                        f"the table {table} took {status!r} of a batch of {len(batch)} rows; nothing was copied"
                    )
                copied += len(batch)
        finally:
            if not ahead.done():
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
    return copied


async def _continue_identities(conn: asyncpg.Connection, tables: list[str]) -> None:
    """Set each identity's sequence past the highest id copied, so that new rows take new ids."""
    identities = await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND is_identity = 'YES' AND table_name = ANY($1::text[])",
        tables,
    )
    for row in identities:
        table, column = row["table_name"], row["column_name"]
        await conn.execute(f"SELECT setval(pg_get_serial_sequence($1, $2), MAX({column})) FROM {table}", table, column)


__all__ = ["BATCH_ROWS", "CopyReport", "TableCopy", "copy_index", "sqlite_source"]
