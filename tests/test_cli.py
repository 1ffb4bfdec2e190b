"""The ``newsdesk`` command end to end on ``seeds/``, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.locations import describe, is_postgres
from bot.store.migrations import load_migrations
from tests.backends import fresh_location
from tests.conftest import ROOT, SEEDS


def _run(
    db: Path | str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "NEWSDESK_DATABASE": str(db), "NEWSDESK_WORKERS": "1", **(env or {})}
    environ.pop("DISCORD_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
async def indexed_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    db = await fresh_location(backend, tmp_path_factory.mktemp("cli"), "newsdesk.db", keep=True)
    first = _run(db, "index")
    assert first.returncode == 0, first.stderr
    assert "1 indexed" in first.stderr and "0 skipped" in first.stderr
    return db


def test_migrate_says_the_schema_version_without_a_password(indexed_db: Path | str) -> None:
    dialect = "postgresql" if is_postgres(indexed_db) else "sqlite"
    latest = len(load_migrations(dialect=dialect))
    done = _run(indexed_db, "migrate")
    assert done.returncode == 0, done.stderr
    assert f"is at schema version {latest} of {latest}." in done.stdout
    assert describe(indexed_db) in done.stdout
    refused = _run("postgresql://bob:hunter2@127.0.0.1:1/news", "migrate")
    assert refused.returncode == 2
    assert "cannot be reached" in refused.stderr and "hunter2" not in refused.stderr + refused.stdout


def test_index_twice_is_unchanged(indexed_db: Path) -> None:
    again = _run(indexed_db, "index", str(SEEDS))
    assert again.returncode == 0
    assert "0 indexed" in again.stderr and "1 unchanged" in again.stderr


def test_ask_who_milei(indexed_db: Path) -> None:
    result = _run(indexed_db, "ask", "!who Milei")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Javier Milei"
    assert "Person · Argentine President" in result.stdout
    assert "Elon Musk" in result.stdout.split("Appears with:")[1]


def test_ask_who_musk_and_summary_latest(indexed_db: Path) -> None:
    assert _run(indexed_db, "ask", "!who musk").stdout.startswith("Elon Musk\n")
    summary = _run(indexed_db, "ask", "!summary latest").stdout
    assert summary.startswith("Elon Musk and Argentine President Javier Milei meet at Tesla factory in Texas")
    assert summary.count("\n• ") == 3


def test_ask_with_a_bad_command_says_so(indexed_db: Path) -> None:
    result = _run(indexed_db, "ask", "!article banana")
    assert result.returncode == 1
    assert result.stdout.strip() == "Article ids are whole numbers, like 42 (see the latest with the latest command)."


def test_export_writes_one_object_per_article(indexed_db: Path) -> None:
    result = _run(indexed_db, "export")
    [line] = result.stdout.splitlines()
    record = json.loads(line)
    assert set(record) >= {"id", "origin", "url", "title", "published", "summary", "topics", "entities"}
    assert len(record["summary"]) == 3 and record["topics"]
    milei = next(e for e in record["entities"] if e["name"] == "Javier Milei")
    assert milei["type"] == "PERSON" and milei["roles"] == ["Argentine President"] and milei["salience"] > 0.5


def test_stories_are_placed_again_and_told(indexed_db: Path) -> None:
    result = _run(indexed_db, "stories")
    assert result.returncode == 0, result.stderr
    assert "Placed 1 article in 1 story." in result.stderr
    story = _run(indexed_db, "ask", "!story 1").stdout
    assert story.startswith("Story #1: Elon Musk and Argentine President Javier Milei meet at Tesla factory")


def test_stats_and_console(indexed_db: Path) -> None:
    assert "Articles:\n  1 (1 files or links)" in _run(indexed_db, "stats").stdout
    console = _run(indexed_db, "console", stdin="!who Milei\n!nonsense\nquit\n")
    assert console.returncode == 0
    assert "Argentine President" in console.stdout
    assert "There is no command nonsense" in console.stdout


def test_start_without_a_token_opens_the_console(indexed_db: Path) -> None:
    result = _run(indexed_db, "start", stdin="!stats\n")
    assert result.returncode == 0, result.stderr
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Newsdesk index" in result.stdout


def test_a_bad_setting_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    result = _run(tmp_path / "x.db", "stats", env={"NEWSDESK_BATCH_SIZE": "lots"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "newsdesk: configuration error: NEWSDESK_BATCH_SIZE: expected a whole number, got 'lots'"
    ]
