"""Storage faults: a damaged file, a full disk, an incomplete install — one clear StoreError naming the
file, and what was committed stays intact. Also the file's mode and the WAL's size limit."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.ingest.indexer import Indexer
from bot.store import Store, StoreError
from bot.store import database as database_module
from bot.store.database import JOURNAL_SIZE_LIMIT
from bot.store.migrations import MigrationError, load_migrations
from tests.conftest import SEEDS, TEST_ARTICLES


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def _indexed_database(path: Path, indexer_for: Callable[..., Indexer]) -> None:
    async with Store.open(path) as store:
        report = await indexer_for(store).index_paths([SEEDS])
        assert report.indexed == 1


async def test_random_bytes_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "random.db"
    path.write_bytes(os.urandom(20_000))
    with pytest.raises(StoreError) as caught:
        await Store.connect(path)
    message = str(caught.value)
    assert str(path) in message and "not a Newsdesk database" in message and "\n" not in message


async def test_a_truncated_file_fails_as_a_store_error_at_its_first_read(
    tmp_path: Path, indexer_for: Callable[..., Indexer]
) -> None:
    whole = tmp_path / "whole.db"
    await _indexed_database(whole, indexer_for)
    data = whole.read_bytes()
    path = tmp_path / "truncated.db"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError) as caught:
        async with Store.open(path) as store:
            await store.articles.stats()
    assert str(path) in str(caught.value) and "damaged" in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


async def test_a_query_bug_is_not_disguised_as_a_storage_fault(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        async with Store.open(tmp_path / "x.db") as store:
            await store.db.fetchall("SELECT * FROM no_such_table")


async def test_a_full_disk_keeps_what_was_committed(tmp_path: Path, indexer_for: Callable[..., Indexer]) -> None:
    path = tmp_path / "full.db"
    await _indexed_database(path, indexer_for)
    with pytest.raises(StoreError) as caught:
        async with Store.open(path) as store:
            [(pages,)] = await store.db._write_connection.execute_fetchall("PRAGMA page_count")
            # SQLite's own way to make the disk "full": the file may not grow past what it is now.
            await store.db._write_connection.execute(f"PRAGMA max_page_count = {pages}")
            await indexer_for(store).index_paths([TEST_ARTICLES])
    message = str(caught.value)
    assert str(path) in message and "disk is full" in message and "\n" not in message
    async with Store.open(path) as store:
        assert (await store.articles.stats()).articles == 1
        [milei] = await store.entities.with_words(["milei"], limit=1)
        assert milei.name == "Javier Milei"
        assert await store.entities.profile(milei.id) is not None
        [(check,)] = await store.db._write_connection.execute_fetchall("PRAGMA integrity_check")
        assert check == "ok"


async def test_close_logs_instead_of_raising_when_the_disk_is_full(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "x.db"
    store = await Store.connect(path)
    # A query that would benefit from statistics makes PRAGMA optimize (at close) run ANALYZE, which
    # must write; the disk is then full (and the file has no free pages left by the migrations to write in).
    await store.db._write_connection.execute("VACUUM")
    await store.db._write_connection.execute_fetchall("SELECT id FROM outbox WHERE channel_id = 1 AND created_at > ''")
    [(pages,)] = await store.db._write_connection.execute_fetchall("PRAGMA page_count")
    await store.db._write_connection.execute(f"PRAGMA max_page_count = {pages}")
    await store.close()
    [warning] = [r for r in caplog.records if r.name == "bot.store.database"]
    assert "could not optimise" in warning.getMessage() and str(path) in warning.getMessage()
    async with Store.open(path) as reopened:
        assert await reopened.db.schema_version() == len(load_migrations())


def test_an_empty_migration_set_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("not a migration")
    with pytest.raises(MigrationError, match="no schema migrations"):
        load_migrations(tmp_path)


async def test_an_install_without_migrations_creates_no_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "migrations"
    empty.mkdir()
    monkeypatch.setattr(database_module, "load_migrations", lambda: load_migrations(empty))
    path = tmp_path / "x.db"
    with pytest.raises(StoreError, match="no schema migrations") as caught:
        await Store.connect(path)
    assert str(path) in str(caught.value)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (0,)


async def test_a_new_database_is_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    old_umask = os.umask(0o022)
    try:
        async with Store.open(path) as store:
            await store.servers.set_prefix(1, "?")
            for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                assert _mode(companion) == 0o600, companion
    finally:
        os.umask(old_umask)


async def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    async with Store.open(path):
        pass
    path.chmod(0o640)
    async with Store.open(path):
        pass
    assert _mode(path) == 0o640


@pytest.mark.sqlite_only
async def test_the_wal_is_kept_small_after_a_burst(store: Store) -> None:
    for connection in (store.db._write_connection, store.db._reader):
        [(limit,)] = await connection.execute_fetchall("PRAGMA journal_size_limit")
        assert limit == JOURNAL_SIZE_LIMIT


@pytest.mark.sqlite_only
async def test_a_rollback_after_sqlite_rolled_back_itself_keeps_the_first_error(store: Store) -> None:
    # On a full disk SQLite may cancel the whole transaction itself; the ROLLBACK of the error path must
    # then do nothing rather than raise "no transaction is active" over the real error.
    await store.db._write_connection.execute("BEGIN IMMEDIATE")
    await store.db._write_connection.execute("ROLLBACK")  # as SQLite would have done
    await database_module._rollback(store.db._write_connection)
    assert not store.db._write_connection.in_transaction
