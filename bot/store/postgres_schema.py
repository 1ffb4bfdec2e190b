"""The PostgreSQL schema: the numbered migrations (``load_migrations(dialect="postgresql")``) applied to
a database, the version reached kept in the one-row table ``schema_version``.

Several processes may start at once against one database (gateways, workers): each step runs in its
own transaction under a transaction-level advisory lock, so one process applies it and the others,
once they get the lock, see it done.
"""

from __future__ import annotations

import asyncpg

from bot.store.migrations import Migration, load_migrations

# pg_advisory_xact_lock key taken while the schema is read or changed ("newsdesk" in ASCII).
_SCHEMA_LOCK = 0x6E657773_6465736B

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),   -- at most one row
    version   INTEGER NOT NULL
)
"""


def migrations() -> list[Migration]:
    """The PostgreSQL migrations this Newsdesk ships, by number."""
    return load_migrations(dialect="postgresql")


async def schema_version(conn: asyncpg.Connection) -> int:
    """The last migration applied to the database (0 for one Newsdesk never touched)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT version FROM schema_version") or 0)


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the migrations the database has not seen, each in its own transaction, and return the
    schema version reached; a database migrated by a newer Newsdesk is refused with a
    :class:`~bot.store.database.StoreError`. A database this call upgraded (one that held a schema
    already) is vacuumed and analysed afterwards: a step may rewrite a table (0022 does), which leaves
    none of its pages marked all-visible, so index-only scans would read the table until autovacuum
    came, and the planner would keep the statistics of the old layout."""
    steps = migrations()
    started: int | None = None
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            await conn.execute(_VERSION_TABLE)
            await conn.execute("INSERT INTO schema_version (version) VALUES (0) ON CONFLICT DO NOTHING")
            current = await schema_version(conn)
            started = current if started is None else started
            if current > len(steps):
                # Imported here: bot.store.database imports this module to open a PostgreSQL store.
                from bot.store.database import StoreError

                raise StoreError(
                    f"the database is at schema version {current}, newer than this Newsdesk ({len(steps)})"
                )
            if current == len(steps):
                break
            step = steps[current]
            # Without arguments asyncpg sends the script as one simple query: every statement of it,
            # plpgsql bodies included, runs in this transaction.
            await conn.execute(step.sql)
            await conn.execute("UPDATE schema_version SET version = $1", step.version)
    if started and current > started:
        # The schema's own tables (not the catalogs, which another role owns), outside any transaction
        # (VACUUM refuses one); those no step touched are all-visible already and cost little.
        tables = await conn.fetch(
            "SELECT format('%I', c.relname) AS name FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
            "AND pg_has_role(c.relowner, 'USAGE') ORDER BY c.relname"
        )
        if tables:
            await conn.execute("VACUUM (ANALYZE) " + ", ".join(t["name"] for t in tables))
    return current
