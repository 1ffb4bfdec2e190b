"""A damaged database or a full disk, as an admin meets them: the ``newsdesk`` command and the bot's
start-up say one line naming the file (exit status 2), never a traceback, and keep what was committed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import run_bot
from bot.config import Secrets, Settings
from bot.store import StoreError
from tests.backends import copy_database
from tests.conftest import ROOT, SEEDS, TEST_ARTICLES
from tests.fake_discord import FakeDiscord

# The ``newsdesk`` command with SQLite's page limit set to what the file holds now: the disk is "full".
FULL_DISK = """
import sys
from bot.store import database
configure = database._configure
async def full_disk(db):
    await configure(db)
    await db.execute("PRAGMA max_page_count = {pages}")
database._configure = full_disk
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _newsdesk(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "NEWSDESK_WORKERS": "1"}
    environ.pop("DISCORD_TOKEN", None)
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "bot", *args]
    return subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def _damaged(kind: str, folder: Path, indexed: Path) -> Path:
    path = folder / f"{kind}.db"
    if kind == "random":
        path.write_bytes(os.urandom(50_000))
    else:  # a copy cut in half, as a full disk or a killed copy leaves it
        data = indexed.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="module")
def indexed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("indexed") / "newsdesk.db"
    result = _newsdesk("index", "--db", str(path), str(SEEDS), str(TEST_ARTICLES))
    assert result.returncode == 0, result.stderr
    return path


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        ("random", ["ask", "!who Milei"]),
        ("random", ["index", str(SEEDS)]),
        ("truncated", ["ask", "!who Milei"]),
        ("truncated", ["export"]),
        ("truncated", ["index", "--force", str(SEEDS)]),
    ],
)
def test_a_damaged_database_is_one_line_naming_the_file(
    kind: str, command: list[str], tmp_path: Path, indexed_file: Path
) -> None:
    path = _damaged(kind, tmp_path, indexed_file)
    result = _newsdesk(command[0], "--db", str(path), *command[1:])
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"newsdesk: the database {path} ") and "damaged" in line


def test_a_full_disk_is_one_line_and_keeps_what_was_indexed(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    assert _newsdesk("index", "--db", str(path), str(SEEDS)).returncode == 0
    with sqlite3.connect(path) as db:
        [(pages,)] = db.execute("PRAGMA page_count").fetchall()

    result = _newsdesk("index", "--db", str(path), str(TEST_ARTICLES), code=FULL_DISK.format(pages=pages))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"newsdesk: the database {path} cannot grow: the disk is full (database or disk is full); "
        "what was saved before is intact"
    ]

    answer = _newsdesk("ask", "--db", str(path), "!who Milei")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.splitlines()[0] == "Javier Milei"
    assert "Articles:\n  1 " in _newsdesk("stats", "--db", str(path)).stdout
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("kind", ["random bytes", "a damaged table"])
async def test_the_bot_does_not_start_on_a_damaged_database(
    kind: str,
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "damaged.db"
    if kind == "random bytes":
        path.write_bytes(os.urandom(50_000))
    else:  # the file opens (its header and schema are fine); the first table the bot reads is garbage
        await copy_database(bot_settings.database, path)
        with sqlite3.connect(path) as db:
            [(page_size,)] = db.execute("PRAGMA page_size").fetchall()
            [(root,)] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'guild_settings'").fetchall()
        data = bytearray(path.read_bytes())
        data[(root - 1) * page_size : root * page_size] = b"\xff" * page_size
        path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as caught:
        await run_bot(bot_settings.replace(database=path), Secrets(discord_token=fake_discord.token))
    assert str(path) in str(caught.value) and "damaged" in str(caught.value) and "\n" not in str(caught.value)
    assert not [r for r in caplog.records if r.exc_info], "start-up logged a traceback"
