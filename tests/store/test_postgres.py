"""The store's PostgreSQL side: placeholders, locations shown without passwords, faults as one sentence,
and the write discipline (one transaction at a time, rolled back on cancellation) over asyncpg."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.config import ConfigError, load_settings
from bot.locations import describe, is_postgres
from bot.store import Store, StoreError
from bot.store.migrations import load_migrations
from bot.store.postgres import to_postgres
from tests import backends
from tests.conftest import ROOT


def test_placeholders_are_numbered_outside_literals_names_and_comments() -> None:
    sql = "SELECT '?', \"a?\", x::text, ? -- ?\nFROM t WHERE a = ? AND b = 'it''s ?'"
    assert to_postgres(sql) == (
        "SELECT '?', \"a?\", x::text, $1 -- ?\nFROM t WHERE a = $2 AND b = 'it''s ?'",
        (),
    )


def test_named_placeholders_are_numbered_once_each() -> None:
    assert to_postgres("UPDATE t SET a = :user WHERE b != :user OR c = :other") == (
        "UPDATE t SET a = $1 WHERE b != $1 OR c = $2",
        ("user", "other"),
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:hunter2@db.example:5432/news", "postgresql://bob@db.example:5432/news"),
        ("postgres://bob@db/news?sslmode=require", "postgres://bob@db/news?sslmode=require"),
        ("postgresql:///news?host=/run/pg&password=hunter2&user=bob", "postgresql:///news?host=/run/pg&user=bob"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert is_postgres(url)
    assert describe(url) == shown


def test_the_database_setting_takes_a_path_or_a_postgresql_url() -> None:
    config = ROOT / "config" / "newsdesk.toml"
    url = "postgresql://bob:hunter2@db.example/news"
    assert load_settings(config, environ={"NEWSDESK_DATABASE": url}).database == url
    assert not is_postgres(load_settings(config, environ={"NEWSDESK_DATABASE": "data/x.db"}).database)
    for bad, says in (
        ("postgresql://bob:hunter2@db.example:99999/news", "not a valid PostgreSQL URL"),
        ("postgresql://bob:hunter2@db.example", "names no database"),
        ("mysql://bob:hunter2@db.example/news", "only postgresql:// URLs"),
    ):
        with pytest.raises(ConfigError, match=says) as raised:
            load_settings(config, environ={"NEWSDESK_DATABASE": bad})
        assert "hunter2" not in str(raised.value)


async def test_an_unreachable_server_is_one_sentence_without_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        await Store.connect("postgresql://bob:hunter2@127.0.0.1:1/news")
    message = str(raised.value)
    assert "cannot be reached" in message and "postgresql://bob@127.0.0.1:1/news" in message
    assert "hunter2" not in message and "\n" not in message


async def test_a_missing_database_is_one_sentence() -> None:
    cluster = await backends.cluster()
    with pytest.raises(StoreError, match="no such database"):
        await Store.connect(cluster.url("no_such_database"))


@pytest.fixture
async def pg_store(store: Store) -> Store:
    """The test's empty index: on PostgreSQL, as the tests using it are marked."""
    return store


@pytest.mark.postgresql_only
async def test_a_database_from_a_newer_version_is_refused(pg_store: Store) -> None:
    location = pg_store.path
    async with pg_store.db.write() as db:
        await db.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match="newer"):
        await Store.connect(location)


@pytest.mark.postgresql_only
async def test_the_schema_reaches_the_last_postgresql_migration(pg_store: Store) -> None:
    assert pg_store.db.dialect == "postgresql"
    assert await pg_store.db.schema_version() == len(load_migrations(dialect="postgresql"))


@pytest.mark.postgresql_only
async def test_a_write_cancelled_mid_statement_is_rolled_back_and_the_next_one_works(pg_store: Store) -> None:
    async def slow_write() -> None:
        async with pg_store.db.write() as db:
            await db.execute("INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (1, '?', 'now')")
            await db.execute("SELECT pg_sleep(10)")

    task = asyncio.create_task(slow_write())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pg_store.db.write() as db:
        await db.execute("INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (2, '$', 'now')")
    rows = await pg_store.db.fetchall("SELECT guild_id, prefix FROM guild_settings ORDER BY guild_id")
    assert [tuple(r) for r in rows] == [(2, "$")]


@pytest.mark.postgresql_only
async def test_a_failed_statement_rolls_its_transaction_back(pg_store: Store) -> None:
    with pytest.raises(Exception, match="syntax"):
        async with pg_store.db.write() as db:
            await db.execute("INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (3, '!', 'now')")
            await db.execute("SELEC 1")
    assert await pg_store.db.fetchall("SELECT 1 FROM guild_settings") == []
    async with pg_store.db.write() as db, db.execute(
        "INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (?, ?, 'now') RETURNING guild_id", (4, "!")
    ) as cursor:
        row = await cursor.fetchone()
    assert row["guild_id"] == row[0] == 4


async def test_another_process_commit_changes_the_data_version(location) -> None:
    """A change another process announces (on SQLite: any commit) moves the data version; on PostgreSQL
    it is told (LISTEN/NOTIFY), and the version is not asked of the server."""
    where = await location("shared.db")
    async with Store.open(where) as first, Store.open(where) as second:
        heard = asyncio.Event()
        first.db.on_change(heard.set)
        before = await first.db.data_version()
        assert await first.db.data_version() == before  # nothing written: no change
        async with second.db.write() as db:
            await db.execute("INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (5, '!', 'now')")
            await second.db.announce()
        if first.db.dialect == "postgresql":
            await asyncio.wait_for(heard.wait(), 10)
        assert await first.db.data_version() != before


@pytest.mark.postgresql_only
async def test_hot_queries_and_search_use_indexes(seeded_store: Store) -> None:
    """As on SQLite (test_store.test_hot_queries_use_indexes): each hot query has an index, the full-text
    search included (the GIN index on search_vector). The seeded index is tiny, so sequential scans are
    priced out for the check."""
    plans = {
        "entity by key": ("SELECT id FROM entities WHERE key = $1", ("x",)),
        "articles of an entity": (
            "SELECT article_id FROM article_entities WHERE entity_id = $1 ORDER BY published DESC LIMIT 5",
            (1,),
        ),
        "latest": ("SELECT id FROM articles ORDER BY published DESC, id DESC LIMIT 5", ()),
        "articles of a topic": (
            "SELECT article_id FROM article_topics WHERE topic_id = $1 ORDER BY published DESC LIMIT 5",
            (1,),
        ),
        "roles of an entity": (
            "SELECT role FROM article_roles WHERE entity_id = $1 ORDER BY published DESC LIMIT 1",
            (1,),
        ),
        "people by surname": ("SELECT id FROM entities WHERE surname = $1", ("x",)),
    }
    # search_candidates' window (migration 0017), planned as the function plans it: no index walk.
    window = (
        "SELECT a.id FROM articles a WHERE a.id > $2 AND a.search_vector @@ to_tsquery('english', $1) "
        "ORDER BY a.id DESC LIMIT 300"
    )
    async with seeded_store.db.turn() as writer:
        connection = await writer._live()
        await connection.execute("SET enable_seqscan = off")
        try:
            for name, (sql, params) in plans.items():
                plan = "\n".join(r[0] for r in await connection.fetch(f"EXPLAIN {sql}", *params))
                assert "Seq Scan" not in plan, (name, plan)
            await connection.execute("SET enable_indexscan = off")
            window_plan = "\n".join(r[0] for r in await connection.fetch(f"EXPLAIN {window}", "'x'", 0))
            assert not re.search(r"Seq Scan|(?<!Bitmap )Index Scan", window_plan), window_plan
            matches = "SELECT a.id FROM articles a WHERE a.search_vector @@ to_tsquery('english', $1)"
            search_plan = "\n".join(r[0] for r in await connection.fetch(f"EXPLAIN {matches}", "'x'"))
            assert "Bitmap Index Scan on articles_search" in search_plan, search_plan
        finally:
            await connection.execute("RESET enable_seqscan")
            await connection.execute("RESET enable_indexscan")
