"""``newsdesk copy``: a real index (built from seeds/) moved into PostgreSQL row for row, nothing analysed
again; a second copy refused; the URL's password never shown."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import Store, StoreError
from bot.store.copy import copy_index, sqlite_source
from bot.store.migrations import load_migrations
from tests.backends import copy_database
from tests.conftest import ROOT

# The source of a copy is a SQLite file: the seeded index is the SQLite one (the target, a database of
# a throwaway server of these tests' own).
pytestmark = pytest.mark.sqlite_only


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'articles_fts%' ORDER BY name"
    )
    return [name for (name,) in rows]


def _columns(db: sqlite3.Connection, table: str) -> str:
    return ", ".join(f'"{name}"' for _, name, *_ in db.execute(f"PRAGMA table_info({table})"))


def _key(row: Any) -> list[tuple[bool, str]]:
    return [(value is None, str(value)) for value in row]


@pytest.fixture
async def index_file(seeded_store: Store, tmp_path: Path) -> Path:
    """A copy of the seeded index (real articles, names, topics, stories, scopes), with a few rows of
    the tables indexing leaves empty."""
    path = tmp_path / "index.db"
    await copy_database(seeded_store, path)
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            INSERT INTO guild_settings (guild_id, prefix, updated_at, timezone)
            VALUES (1234567890123456789, '?', '2024-01-01T00:00:00Z', 'Europe/London');
            INSERT INTO sources (guild_id, channel_id, url, title, interval_minutes, next_poll_at, created_at)
            VALUES (1234567890123456789, 987654321098765432, 'https://a.example/feed', 'A', 12.5,
                    '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z');
            INSERT INTO follows (guild_id, user_id, kind, target_key, name, channel_id, created_at)
            VALUES (1234567890123456789, 555555555555555555, 'entity', 'javier milei', 'Javier Milei',
                    987654321098765432, '2024-01-01T00:00:00Z');
            INSERT INTO spikes (guild_id, kind, subject_key, window, started_at, last_seen_at)
            VALUES (1234567890123456789, 'entity', 'javier milei', '24h', '2024-01-01T00:00:00Z',
                    '2024-01-01T00:00:00Z');
            INSERT INTO outbox (article_id, guild_id, channel_id, title_key, reasons, nonce, next_attempt_at,
                                created_at)
            SELECT id, 1234567890123456789, 987654321098765432, 't', '[]', 'n' || id, '2024-01-01T00:00:00Z',
                   '2024-01-01T00:00:00Z' FROM articles;
            """
        )
    return path


async def test_a_copy_holds_every_row_of_the_index(index_file: Path, empty_pg_database: str) -> None:
    report = await copy_index(index_file, empty_pg_database, batch_rows=7)  # several batches per table
    source = sqlite3.connect(index_file)
    conn = await asyncpg.connect(empty_pg_database)
    try:
        tables = _tables(source)
        assert sorted(t.table for t in report.tables) == tables
        order = [t.table for t in report.tables]
        assert order.index("articles") < order.index("article_entities") and order.index("origins") < order.index(
            "origin_sources"
        )
        for table in tables:
            columns = _columns(source, table)
            expected = sorted(source.execute(f"SELECT {columns} FROM {table}"), key=_key)
            assert report.count(table) == len(expected), table
            assert sorted((tuple(r) for r in await conn.fetch(f"SELECT {columns} FROM {table}")), key=_key) == expected
        assert report.count("articles") == 4 and report.count("article_entities") > 20 and report.count("outbox") == 4
        assert report.rows == sum(t.rows for t in report.tables)

        # The indexes are all back, search works on the copy, new rows take new ids, the totals' triggers
        # are on again.
        indexes = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)"
        )
        sqlite_indexes = source.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        assert sorted(r["indexname"] for r in indexes) == sorted([n for (n,) in sqlite_indexes] + ["articles_search"])
        assert await conn.fetchval("SELECT count(*) FROM articles WHERE search_vector IS NULL") == 0
        found = await conn.fetchval(
            "SELECT title FROM articles WHERE search_vector @@ websearch_to_tsquery('english', 'Tesla factory')"
        )
        assert "Tesla" in found
        # The words of PostgreSQL's search and the articles holding each, derived from each copied batch:
        # exactly those of the articles.
        words = await conn.fetch("SELECT word, articles FROM search_words ORDER BY word")
        held = await conn.fetch(
            "SELECT w AS word, count(*) AS articles FROM articles, unnest(tsvector_to_array(search_vector)) AS w "
            "GROUP BY w ORDER BY 1"
        )
        assert [tuple(r) for r in words] == [tuple(r) for r in held] and len(words) > 50
        top = await conn.fetchval("SELECT max(id) FROM entities")
        new = await conn.fetchval("INSERT INTO entities (key, name, type) VALUES ('zz', 'Zz', 'ORG') RETURNING id")
        assert new == top + 1
        before = await conn.fetchval("SELECT articles FROM scope_counts WHERE scope = 0")
        await conn.execute("INSERT INTO article_scopes (article_id, scope) SELECT min(id), 42 FROM articles")
        await conn.execute("DELETE FROM article_scopes WHERE scope = 0 AND article_id = (SELECT min(id) FROM articles)")
        assert await conn.fetchval("SELECT articles FROM scope_counts WHERE scope = 0") == before - 1
        assert await conn.fetchval("SELECT articles FROM scope_counts WHERE scope = 42") == 1
    finally:
        await conn.close()
        source.close()


async def test_a_copy_of_a_copy_is_refused(index_file: Path, empty_pg_database: str) -> None:
    first = await copy_index(index_file, empty_pg_database)
    with pytest.raises(StoreError, match=r"already holds an index \(its table \w+ has rows\)"):
        await copy_index(index_file, empty_pg_database)
    conn = await asyncpg.connect(empty_pg_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM articles") == first.count("articles")
    finally:
        await conn.close()


async def test_an_older_index_is_migrated_before_it_is_copied(tmp_path: Path, empty_pg_database: str) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for migration in load_migrations()[:12]:
            db.executescript(migration.sql)
        db.executescript(
            """
            INSERT INTO articles (id, content_hash, title, published, ingested_at, body, summary, word_count)
            VALUES (3, 'h', 'Ferries return', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'b', '[]', 1);
            INSERT INTO origins (origin, article_id, file, seen_at) VALUES ('/seeds/x.txt', 3, '/seeds/x.txt', 'now');
            PRAGMA user_version = 12;
            """
        )
    report = await copy_index(path, empty_pg_database)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(load_migrations()),)
    assert (report.count("articles"), report.count("article_scopes"), report.count("scope_counts")) == (1, 1, 1)


async def test_what_is_not_a_copy_is_refused(tmp_path: Path, empty_pg_database: str) -> None:
    with pytest.raises(StoreError, match="no SQLite index at"):
        await copy_index(tmp_path / "missing.db", empty_pg_database)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(StoreError, match="give --to a postgresql:// URL"):
        await copy_index(tmp_path / "missing.db", str(tmp_path / "other.db"))
    with pytest.raises(StoreError, match="reads a SQLite index"):
        sqlite_source(empty_pg_database)
    assert sqlite_source("sqlite:/srv/index.db") == Path("/srv/index.db")


def _newsdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_command_prints_counts_and_never_the_password(index_file: Path, empty_pg_database: str) -> None:
    # The throwaway server trusts local logins, so the password is accepted and ignored.
    secret = "hunter2-s3cret"
    url = empty_pg_database.replace("postgres:@", f"postgres:{secret}@")
    done = _newsdesk("copy", "--from", f"sqlite:{index_file}", "--to", url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.split() == ["articles", "4"] for line in lines)
    assert lines[-1].startswith("Copied ") and " tables into postgresql://postgres@/" in lines[-1]
    again = _newsdesk("copy", "--from", f"sqlite:{index_file}", "--to", url)
    assert again.returncode == 2
    assert again.stderr.startswith("newsdesk: the database postgresql://postgres@/") and "already holds" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert secret not in done.stdout + done.stderr + again.stdout + again.stderr


async def test_a_value_postgresql_cannot_hold_stops_the_copy_naming_its_table(
    index_file: Path, empty_pg_database: str
) -> None:
    with sqlite3.connect(index_file) as db:
        db.execute("UPDATE guild_settings SET prefix = 'a' || char(0) || 'b'")
    with pytest.raises(StoreError, match=r"the table guild_settings cannot be copied into .*nothing was copied$"):
        await copy_index(index_file, empty_pg_database)
    conn = await asyncpg.connect(empty_pg_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM entities") == 0
    finally:
        await conn.close()
