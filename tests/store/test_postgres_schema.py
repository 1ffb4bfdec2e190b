"""The PostgreSQL migrations (``*.postgresql.sql`` and the shared ones) against SQLite's: the same tables,
columns, keys, indexes and triggers, the same totals kept by the triggers, the same data after the
backfills, and ``migrate`` applying each step once and refusing a newer database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import StoreError, postgres_schema
from bot.store.migrations import MigrationError, load_migrations

# SQLite's declared types and the PostgreSQL types each may become.
_COMPATIBLE = {"INTEGER": {"integer", "bigint"}, "TEXT": {"text"}, "REAL": {"double precision"}}
# Columns that hold a row id, a Discord id (a 64-bit snowflake) or a file's size or time in nanoseconds.
_WIDE = {"set_by", "created_by", "added_by", "scope", "thread_of", "mtime_ns"}


def _sqlite_schema(path: Path, steps: int | None = None) -> sqlite3.Connection:
    """A SQLite database at ``path`` with the first ``steps`` migrations (all by default) applied as
    Newsdesk applies them."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys = ON")
    for migration in load_migrations()[:steps]:
        connection.executescript(migration.sql)
    return connection


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    """The tables of the schema proper: not SQLite's own, not the FTS5 index (search_vector and
    search_words in PostgreSQL)."""
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'articles_fts%' ORDER BY name"
    )
    return [name for (name,) in rows]


async def _migrate_to(conn: asyncpg.Connection, steps: int, monkeypatch: pytest.MonkeyPatch) -> None:
    every = postgres_schema.migrations()
    monkeypatch.setattr(postgres_schema, "migrations", lambda: every[:steps])
    assert await postgres_schema.migrate(conn) == steps
    monkeypatch.undo()


async def test_the_postgresql_schema_is_sqlite_schema(empty_pg_database: str, tmp_path: Path) -> None:
    sqlite = _sqlite_schema(tmp_path / "index.db")
    conn = await asyncpg.connect(empty_pg_database)
    try:
        assert await postgres_schema.migrate(conn) == len(load_migrations()) == len(postgres_schema.migrations())
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name NOT IN ('schema_version', 'search_words') "
            "ORDER BY table_name"
        )
        assert [r["table_name"] for r in tables] == _sqlite_tables(sqlite)
        for table in _sqlite_tables(sqlite):
            expected = sqlite.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, _, pk
            columns = await conn.fetch(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                table,
            )
            if table == "articles":
                # PostgreSQL's own column; a column added later (ALTER TABLE) comes after it.
                [vector] = [c for c in columns if c["column_name"] == "search_vector"]
                assert vector["data_type"] == "tsvector"
                columns = [c for c in columns if c["column_name"] != "search_vector"]
            assert [c["column_name"] for c in columns] == [name for _, name, *_ in expected], table
            for (_, name, declared, notnull, _, pk), column in zip(expected, columns, strict=True):
                assert column["data_type"] in _COMPATIBLE[declared], (table, name, column["data_type"])
                wide = name == "id" or name.endswith("_id") or name in _WIDE or (table, name) == ("files", "size")
                if declared == "INTEGER" and wide:
                    assert column["data_type"] == "bigint", (table, name)
                assert (column["is_nullable"] == "NO") == bool(notnull or pk), (table, name)
            primary = await conn.fetchval(
                "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
                "CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = $1::regclass AND i.indisprimary AND k.n <= i.indnkeyatts",  # not INCLUDE's
                table,
            )
            by_position = sorted((pk, name) for _, name, _, _, _, pk in expected if pk)
            assert list(primary or []) == [name for _, name in by_position], table

        indexes = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint) ORDER BY indexname"
        )
        sqlite_indexes = sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        assert [r["indexname"] for r in indexes] == sorted([n for (n,) in sqlite_indexes] + ["articles_search"])

        triggers = await conn.fetch(
            "SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE trigger_schema = 'public' "
            "ORDER BY trigger_name"
        )
        sqlite_triggers = sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        postgresql_search = [
            "articles_search_vector",
            "search_words_deleted",
            "search_words_inserted",
            "search_words_updated",
        ]
        assert [r["trigger_name"] for r in triggers] == sorted([n for (n,) in sqlite_triggers] + postgresql_search)
    finally:
        await conn.close()
        sqlite.close()


# The same writes in both dialects (literal SQL, valid in each): articles in two scopes, names and topics
# counted, one total updated in place, some removed directly and some by deleting an article.
_TOTALS_SCRIPT = [
    "INSERT INTO articles (id, content_hash, title, published, ingested_at, body, summary, word_count) VALUES "
    "(1, 'h1', 'Tide turns', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', 'The tide turned.', '[]', 3), "
    "(2, 'h2', 'Reef grows', '2024-01-01T00:00:00Z', '2024-01-05T00:00:00Z', 'The reef grew.', '[]', 3), "
    "(3, 'h3', 'Reef shrinks', '2024-01-01T00:00:00Z', '2024-01-04T00:00:00Z', 'The reef shrank.', '[]', 3)",
    "INSERT INTO origins (origin, article_id, file, seen_at) VALUES ('/seeds/1.md', 1, '/seeds/1.md', 'now'), "
    "('https://a.example/2', 2, NULL, 'now'), ('https://a.example/3', 3, NULL, 'now')",
    "INSERT INTO origin_sources (origin, source_id, scope) VALUES ('/seeds/1.md', 0, 0), "
    "('https://a.example/2', 5, 111), ('https://a.example/3', 5, 111), ('https://a.example/3', 6, 222)",
    "INSERT INTO article_scopes (article_id, scope) VALUES (1, 0), (2, 111), (3, 111), (3, 222)",
    "INSERT INTO entities (id, key, name, type) VALUES (1, 'ana', 'Ana', 'PERSON'), (2, 'bo', 'Bo', 'PERSON')",
    "INSERT INTO entity_scope_totals (scope, entity_id, article_count, mention_count) VALUES "
    "(0, 1, 1, 3), (111, 1, 2, 4), (111, 2, 1, 2), (222, 2, 1, 5)",
    "INSERT INTO entity_scope_totals (scope, entity_id, article_count, mention_count) VALUES (111, 2, 1, 7) "
    "ON CONFLICT (scope, entity_id) DO UPDATE SET article_count = entity_scope_totals.article_count + 1, "
    "mention_count = entity_scope_totals.mention_count + excluded.mention_count",
    "INSERT INTO topics (id, key, name) VALUES (1, 'tide', 'tide'), (2, 'reef', 'reef')",
    "INSERT INTO topic_scope_totals (scope, topic_id, article_count, score_sum) VALUES "
    "(0, 1, 1, 0.5), (111, 2, 2, 1.5), (222, 2, 1, 0.25)",
    "DELETE FROM entity_scope_totals WHERE scope = 0",
    "DELETE FROM topic_scope_totals WHERE scope = 222",
    "DELETE FROM articles WHERE id = 3",  # its scopes and origins (and their credits) go with it
]
_COUNTS = "SELECT scope, articles, entities, topics, mentions, origins, last_ingested FROM scope_counts ORDER BY scope"


async def test_the_triggers_keep_the_totals_as_sqlite_does(empty_pg_database: str, tmp_path: Path) -> None:
    sqlite = _sqlite_schema(tmp_path / "index.db")
    conn = await asyncpg.connect(empty_pg_database)
    try:
        await postgres_schema.migrate(conn)
        for statement in _TOTALS_SCRIPT:
            sqlite.execute(statement)
            await conn.execute(statement)
        sqlite.commit()
        expected = sqlite.execute(_COUNTS).fetchall()
        assert expected == [
            (0, 1, 0, 1, 0, 1, "2024-01-02T00:00:00Z"),
            (111, 1, 2, 1, 13, 1, "2024-01-05T00:00:00Z"),
            (222, 0, 1, 0, 5, 0, "2024-01-04T00:00:00Z"),
        ]
        assert [tuple(r) for r in await conn.fetch(_COUNTS)] == expected
    finally:
        await conn.close()
        sqlite.close()


async def test_search_vector_follows_title_and_body(empty_pg_database: str) -> None:
    conn = await asyncpg.connect(empty_pg_database)
    try:
        await postgres_schema.migrate(conn)
        await conn.execute(
            "INSERT INTO articles (content_hash, title, published, ingested_at, body, summary, word_count) "
            "VALUES ('h', 'Harbour ferries return', 'p', 'i', 'The mayor was running late.', '[]', 5)"
        )
        vector = await conn.fetchval("SELECT search_vector::text FROM articles")
        assert "'ferri':2A" in vector and "'run':7B" in vector and "'the'" not in vector  # stemmed, no stop words

        def matches(query: str) -> Any:
            return conn.fetchval(
                "SELECT count(*) FROM articles WHERE search_vector @@ websearch_to_tsquery('english', $1)", query
            )

        assert await matches("ferry runs") == 1
        await conn.execute("UPDATE articles SET title = 'Bridges open', body = 'Nothing else.'")
        assert await matches("ferry") == 0 and await matches("bridge") == 1
    finally:
        await conn.close()


async def test_migrate_applies_each_step_once(empty_pg_database: str) -> None:
    conn = await asyncpg.connect(empty_pg_database)
    try:
        latest = len(postgres_schema.migrations())
        assert await postgres_schema.schema_version(conn) == 0
        assert await postgres_schema.migrate(conn) == latest
        objects = await conn.fetchval("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")
        assert await postgres_schema.migrate(conn) == latest
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace") == objects
        )
        assert [tuple(r) for r in await conn.fetch("SELECT * FROM schema_version")] == [(True, latest)]
    finally:
        await conn.close()


async def _toast_chunks(conn: asyncpg.Connection) -> int:
    """How many chunks of values stored out of line the articles' TOAST table holds."""
    toast = await conn.fetchval("SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'articles'")
    return await conn.fetchval(f"SELECT count(*) FROM {toast}")


async def test_migration_0022_counts_the_words_of_an_existing_index_and_moves_its_vectors_into_the_rows(
    empty_pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await asyncpg.connect(empty_pg_database)
    try:
        every = postgres_schema.migrations()
        assert every[21].name == "0022_search_counts.postgresql.sql"
        await _migrate_to(conn, 21, monkeypatch)
        # A vector too large for its row before (stored out of line), small enough after (compressed).
        long_body = " ".join(f"w{n * 7919 % 100003}x harbour" for n in range(300))
        await conn.execute(
            "INSERT INTO articles (id, content_hash, title, published, ingested_at, body, summary, word_count) "
            "VALUES (1, 'h1', 'Tide turns', 'x', 'x', 'The harbour tide turned.', '[]', 4), "
            "(2, 'h2', 'Reef grows', 'x', 'x', $1, '[]', 800)",
            long_body,
        )
        out_of_line = await _toast_chunks(conn)
        never_vacuumed = "SELECT last_vacuum IS NULL FROM pg_stat_user_tables WHERE relname = 'articles'"
        assert await conn.fetchval(never_vacuumed)  # a new database is not vacuumed
        assert await postgres_schema.migrate(conn) == len(every)

        counts = dict(await conn.fetch("SELECT word, articles FROM search_words"))
        words = "SELECT w, count(*) FROM articles, unnest(tsvector_to_array(search_vector)) AS w GROUP BY w"
        recount = dict(await conn.fetch(words))
        assert counts == recount and counts["harbour"] == 2 and counts["tide"] == 1
        storage = "SELECT attstorage::text FROM pg_attribute WHERE attrelid = 'articles'::regclass AND attname = $1"
        assert await conn.fetchval(storage, "search_vector") == "m"
        assert await _toast_chunks(conn) < out_of_line  # the body's chunks only
        assert not await conn.fetchval(never_vacuumed)  # the upgrade vacuumed the rewritten table
        assert await conn.fetchval(
            "SELECT relallvisible = relpages AND relpages > 0 FROM pg_class WHERE relname = 'articles'"
        )
    finally:
        await conn.close()


async def test_processes_starting_together_migrate_once(empty_pg_database: str) -> None:
    """Gateways and workers started at once each migrate the same new database: one applies each step,
    the others wait for it and find it done."""
    connections = [await asyncpg.connect(empty_pg_database) for _ in range(3)]
    try:
        latest = len(postgres_schema.migrations())
        assert await asyncio.gather(*(postgres_schema.migrate(c) for c in connections)) == [latest] * 3
        assert await connections[0].fetchval("SELECT count(*) FROM schema_version") == 1
    finally:
        for connection in connections:
            await connection.close()


async def test_a_database_from_a_newer_newsdesk_is_refused(empty_pg_database: str) -> None:
    conn = await asyncpg.connect(empty_pg_database)
    try:
        latest = await postgres_schema.migrate(conn)
        await conn.execute("UPDATE schema_version SET version = $1", latest + 1)
        with pytest.raises(StoreError, match=f"schema version {latest + 1}, newer than this Newsdesk \\({latest}\\)"):
            await postgres_schema.migrate(conn)
        assert await postgres_schema.schema_version(conn) == latest + 1
    finally:
        await conn.close()


async def test_a_failed_step_leaves_the_database_at_the_step_before(
    empty_pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await asyncpg.connect(empty_pg_database)
    try:
        every = postgres_schema.migrations()
        broken = type(every[1])(2, "0002_broken.postgresql.sql", "CREATE TABLE half_done (x INTEGER); SELECT 1/0;")
        monkeypatch.setattr(postgres_schema, "migrations", lambda: [every[0], broken])
        with pytest.raises(asyncpg.DivisionByZeroError):
            await postgres_schema.migrate(conn)
        assert await postgres_schema.schema_version(conn) == 1
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    finally:
        await conn.close()


# A database from before the trending counts, the outbox rebuild and the scopes (version 5), written the
# same way in both dialects: a feed and three articles (a file's, the feed's by its title, one no feed
# claims), names and topics, and alerts in the outbox.
_BEFORE_TRENDING = """
INSERT INTO sources (id, guild_id, channel_id, url, title, interval_minutes, next_poll_at, created_at)
VALUES (4, 111, 1, 'https://a.example/feed', 'A News', 10, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z'),
       (9, 222, 2, 'https://b.example/feed', NULL, 10, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z');
INSERT INTO articles (id, content_hash, title, source, published, ingested_at, body, summary, word_count)
VALUES (1, 'h1', 't1', NULL, '2024-01-01T10:00:00Z', '2024-01-03T00:00:00Z', 'b', '[]', 1),
       (2, 'h2', 't2', 'A News', '2024-01-02T10:00:00Z', '2024-01-02T00:00:00Z', 'b', '[]', 1),
       (3, 'h3', 't3', 'Gone', '2024-01-02T11:00:00Z', '2024-01-04T00:00:00Z', 'b', '[]', 1),
       (5, 'h5', 't5', NULL, '2024-01-02T12:00:00Z', '2024-01-05T00:00:00Z', 'b', '[]', 1);
INSERT INTO origins (origin, article_id, file, seen_at) VALUES
    ('/seeds/x.txt', 1, '/seeds/x.txt', 'now'), ('https://a.example/2', 2, NULL, 'now'),
    ('https://gone.example/3', 3, NULL, 'now'), ('https://b.example/feed#5', 5, NULL, 'now');
INSERT INTO entities (id, key, name, type, article_count, mention_count)
VALUES (1, 'ana', 'Ana', 'PERSON', 3, 6), (2, 'bo', 'Bo', 'PERSON', 1, 1);
INSERT INTO article_entities (article_id, entity_id, mentions, salience, in_headline, key_sentence, published)
VALUES (1, 1, 1, 0.5, 0, '', '2024-01-01T10:00:00Z'), (2, 1, 2, 0.5, 0, '', '2024-01-02T10:00:00Z'),
       (5, 1, 3, 0.25, 1, '', '2024-01-02T12:00:00Z'), (5, 2, 1, 0.1, 0, '', '2024-01-02T12:00:00Z');
INSERT INTO topics (id, key, name, article_count, score_sum) VALUES (1, 'tide', 'tide', 2, 1.5);
INSERT INTO article_topics (article_id, topic_id, score, rank, published)
VALUES (1, 1, 0.75, 1, '2024-01-01T10:00:00Z'), (5, 1, 0.75, 6, '2024-01-02T12:00:00Z');
INSERT INTO outbox (id, article_id, guild_id, channel_id, title_key, reasons, nonce, status, next_attempt_at,
                    created_at, pings_left)
VALUES (3, 1, 111, 1, 't1', '[]', 'n3', 'sent', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', '[]'),
       (7, 2, 111, 1, 't2', '[]', 'n7', 'pending', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', '[1]');
"""
_NEW_POST = (
    "INSERT INTO outbox (kind, post_key, guild_id, channel_id, title_key, reasons, nonce, next_attempt_at, "
    "created_at) VALUES ('spike', 'spike:1', 111, 1, 'ana', '[]', 'n', '2024-01-06T00:00:00Z', '2024-01-06T00:00:00Z')"
)


def _sorted_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in rows), key=lambda row: [(v is None, str(v)) for v in row])


async def test_the_backfills_give_what_sqlite_gives(
    empty_pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite = _sqlite_schema(tmp_path / "old.db", steps=5)
    sqlite.executescript(_BEFORE_TRENDING)
    for migration in load_migrations()[5:]:
        sqlite.executescript(migration.sql)
    sqlite.execute(_NEW_POST)
    conn = await asyncpg.connect(empty_pg_database)
    try:
        await _migrate_to(conn, 5, monkeypatch)
        await conn.execute(_BEFORE_TRENDING)
        assert await postgres_schema.migrate(conn) == len(load_migrations())
        await conn.execute(_NEW_POST)
        filled = 0
        for table in _sqlite_tables(sqlite):
            columns = ", ".join(f'"{name}"' for _, name, *_ in sqlite.execute(f"PRAGMA table_info({table})"))
            expected = _sorted_rows(sqlite.execute(f"SELECT {columns} FROM {table}"))
            assert _sorted_rows(await conn.fetch(f"SELECT {columns} FROM {table}")) == expected, table
            filled += bool(expected)
        # The backfilled tables hold something: day counts, the rebuilt outbox, the scopes and their totals.
        assert filled >= 15
        assert [r for (r,) in sqlite.execute("SELECT id FROM outbox ORDER BY id")] == [3, 7, 8]
        assert sqlite.execute("SELECT scope, articles, origins FROM scope_counts ORDER BY scope").fetchall() == [
            (0, 1, 1),
            (111, 1, 1),
            (222, 1, 1),
        ]
    finally:
        await conn.close()
        sqlite.close()


def test_a_dialect_file_must_override_a_shared_one(tmp_path: Path) -> None:
    (tmp_path / "0001_index.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0001_index.postgresql.sql").write_text("CREATE TABLE a (x BIGINT);")
    (tmp_path / "0002_more.sql").write_text("CREATE TABLE b (x INTEGER);")
    assert [m.name for m in load_migrations(tmp_path)] == ["0001_index.sql", "0002_more.sql"]
    assert [m.name for m in load_migrations(tmp_path, "postgresql")] == ["0001_index.postgresql.sql", "0002_more.sql"]
    (tmp_path / "0003_extra.postgresql.sql").write_text("CREATE TABLE c (x BIGINT);")
    with pytest.raises(MigrationError, match=r"postgresql migrations \['0003_extra'\] override no"):
        load_migrations(tmp_path, "postgresql")
    (tmp_path / "0003_extra.postgresql.sql").unlink()
    (tmp_path / "0004_gap.sql").write_text("CREATE TABLE d (x INTEGER);")
    with pytest.raises(MigrationError, match="must be numbered"):
        load_migrations(tmp_path, "postgresql")


def test_every_shipped_migration_exists_for_both_dialects() -> None:
    sqlite, postgresql = load_migrations(), load_migrations(dialect="postgresql")
    assert [m.version for m in sqlite] == [m.version for m in postgresql]
    for migration in postgresql:
        sql = "\n".join(line.split("--", 1)[0] for line in migration.sql.splitlines()).upper()
        assert "WITHOUT ROWID" not in sql and "FTS5" not in sql and " REAL" not in sql, migration.name
