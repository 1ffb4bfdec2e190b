"""bench.commands reuses a cached index from before a migration when asked to: migrated, not rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import commands
from bot.store import Store
from bot.store.migrations import load_migrations


async def test_an_older_cached_index_is_migrated_and_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "CACHE", tmp_path)
    current = len(load_migrations())
    older = tmp_path / f"commands-40-schema{current - 2}.db"
    async with Store.open(older):
        pass
    async with Store.open(tmp_path / "other.db"):
        pass
    # An older schema than the index holds, as the name of a cache from before the latest migrations says.
    (tmp_path / "other.db").rename(tmp_path / f"commands-50-schema{current - 1}.db")

    path = await commands.build_index(40, migrate_cache=True)

    assert path == tmp_path / f"commands-40-schema{current}.db"
    assert path.exists() and not older.exists()
    async with Store.open(path) as store:
        assert await store.db.schema_version() == current
    # Only an index of the same shape is reused.
    assert commands._older_cache("40") is None and commands._older_cache("50") is not None
