"""New articles written by another process reach this one: its name index (autocomplete) is rebuilt, and on
PostgreSQL its dispatcher is woken at once (LISTEN/NOTIFY), without polling the server.

Two store connections on one index stand for two processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.answers import Answers
from bot.config import Settings
from bot.factory import make_answers
from bot.ingest.indexer import Indexer
from bot.models import AlertPolicy
from bot.nlp.names import AliasTable
from bot.store import Store
from tests.conftest import ROOT

OSLO = (
    "Marta Lindqvist wins Oslo mayoral race\n\n"
    "Marta Lindqvist won the race for mayor of Oslo on Sunday, officials said. "
    "Lindqvist promised new bus lanes and cheaper housing.\n\n"
    "Marta Lindqvist thanked voters in a speech at city hall. Rivals congratulated Lindqvist on her victory."
)


@pytest.fixture
async def other(store: Store) -> AsyncIterator[Store]:
    """A second connection to the same index: another process (a worker)."""
    async with Store.open(store.path) as opened:
        yield opened


@pytest.fixture
def answers(store: Store, base_settings: Settings, aliases: AliasTable) -> Answers:
    return make_answers(store, base_settings, aliases)


async def test_names_indexed_by_another_process_reach_autocomplete(
    store: Store, other: Store, answers: Answers, indexer_for: Callable[..., Indexer], tmp_path
) -> None:
    assert await answers.complete_entities("Lindq") == []
    changed = asyncio.Event()
    store.db.on_change(changed.set)
    before = await store.db.data_version()
    await store.alerts.set_channel(1, 100, 9)
    store.alerts.planned.clear()
    article = tmp_path / "oslo.txt"
    article.write_text(OSLO, encoding="utf-8")
    await indexer_for(other).index_paths([article], alerts=AlertPolicy(0.35))
    if store.db.dialect == "postgresql":
        # Told, not polled: the notification arrives on its own, and wakes the dispatcher too.
        await asyncio.wait_for(changed.wait(), 10)
        assert store.alerts.planned.is_set()
    assert await store.db.data_version() != before
    await answers.refresh_names()
    assert "Marta Lindqvist" in await answers.complete_entities("Lindq")


@pytest.mark.postgresql_only  # SQLite's data_version moves with the writer's commits too (as the generation does)
async def test_a_process_does_not_hear_its_own_announcements(
    store: Store, indexer_for: Callable[..., Indexer], tmp_path
) -> None:
    before = await store.db.data_version()
    article = tmp_path / "oslo.txt"
    article.write_text(OSLO, encoding="utf-8")
    await indexer_for(store).index_paths([article])
    # Its own change is known without the notification (the generation moved). Another process's comes
    # after it, on the same connection: once that is heard, the own one would have been heard before.
    heard = asyncio.Event()
    store.db.on_change(heard.set)
    async with Store.open(store.path) as other:
        await indexer_for(other).index_paths([ROOT / "seeds"])
    await asyncio.wait_for(heard.wait(), 10)
    assert await store.db.data_version() == before + 1  # the other's, not its own


async def test_two_processes_writing_the_same_article_at_once_make_one(
    store: Store, other: Store, indexer_for: Callable[..., Indexer], tmp_path
) -> None:
    """Two workers indexing the same text at the same moment (one story in two feeds): the batches are
    written one after the other, as SQLite's single writer makes them, so the second finds the first's
    article (a duplicate of it), and its alerts, instead of failing on the unique text or alerting twice."""
    await store.alerts.set_channel(1, 100, 9)
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "oslo.txt").write_text(OSLO, encoding="utf-8")
    reports = await asyncio.gather(
        indexer_for(store).index_paths([first], alerts=AlertPolicy(0.35)),
        indexer_for(other).index_paths([second], alerts=AlertPolicy(0.35)),
    )
    assert sorted((r.indexed, r.duplicates, len(r.skipped)) for r in reports) == [(0, 1, 0), (1, 0, 0)]
    assert await store.articles.count() == 1
    assert await store.alerts.counts() == {"pending": 1}
