"""Writes from many tasks at once, on a real SQLite file: each is its own transaction, none is lost.

The store has one writing connection; before writes were serialised, a statement issued while another
task's transaction was open ran inside it (and was lost with its rollback), and a second BEGIN failed
with "cannot start a transaction within a transaction".
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.ingest.readers import content_hash
from bot.models import AlertPolicy, ArticleAnalysis, ArticleRecord, ArticleText, Follow
from bot.nlp.analyzer import Analyzer
from bot.store import Store

TOWNS = ["Galway", "Cork", "Sligo", "Limerick", "Kilkenny", "Waterford", "Athlone", "Tralee"]


def _record(n: int) -> ArticleRecord:
    town = TOWNS[n % len(TOWNS)]
    body = f"The council of {town} opened bridge number {n} on Monday. Mayor Anna Hughes of {town} said it was late."
    return ArticleRecord(
        origin=f"https://news.example/{n}",
        title=f"{town} opens bridge {n}",
        body=body,
        content_hash=content_hash(body),
        published=datetime(2024, 6, 1, tzinfo=UTC),
    )


def _analysed(analyzer: Analyzer, records: list[ArticleRecord]) -> list[tuple[ArticleRecord, ArticleAnalysis | None]]:
    analyses = analyzer.analyze([ArticleText(r.title, r.body, r.title_derived) for r in records])
    return list(zip(records, analyses, strict=True))


async def test_four_concurrent_batches_all_commit(store: Store, analyzer: Analyzer) -> None:
    records = [_record(n) for n in range(8)]
    items = _analysed(analyzer, records)
    await store.alerts.set_channel(1, 100, 9)
    batches = [items[i : i + 2] for i in range(0, 8, 2)]
    results = await asyncio.gather(
        *(store.articles.write_batch(batch, alerts=AlertPolicy(0.35)) for batch in batches), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await store.articles.count() == 8
    assert sum((await store.alerts.counts()).values()) == 8  # every alert planned in its article's transaction


async def test_a_follow_and_a_prefix_made_during_a_batch_that_rolls_back_are_kept(
    store: Store, analyzer: Analyzer
) -> None:
    good = _analysed(analyzer, [_record(n) for n in range(6)])
    broken = (_record(99), None)  # new text without its analysis: the batch fails after writing the others
    batch = asyncio.create_task(store.articles.write_batch([*good, broken]))
    await asyncio.sleep(0)  # the batch has begun its transaction
    added, _ = await asyncio.gather(
        store.alerts.add_follow(Follow(1, 11, "entity", "galway", "Galway", 101)),
        store.servers.set_prefix(1, "?"),
    )
    with pytest.raises(ValueError, match="needs its analysis"):
        await batch
    assert added is True
    assert await store.articles.count() == 0  # the batch was rolled back…
    assert [f.target_key for f in await store.alerts.follows_of(1, 11)] == ["galway"]  # …but not what came meanwhile
    assert await store.servers.prefixes() == {1: "?"}


async def test_a_batch_cancelled_inside_its_transaction_rolls_back_and_the_next_write_works(
    store: Store, analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _analysed(analyzer, [_record(n) for n in range(3)])
    inside = asyncio.Event()
    refresh_entities = store.entities.refresh

    async def stalled(entity_ids: set[int]) -> None:  # every article written, the transaction still open
        await refresh_entities(entity_ids)
        inside.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(store.entities, "refresh", stalled)
    batch = asyncio.create_task(store.articles.write_batch(items))
    await inside.wait()
    prefix = asyncio.create_task(store.servers.set_prefix(2, "$"))  # waits for the batch's turn to end
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    await prefix
    monkeypatch.undo()
    assert await store.articles.count() == 0
    assert await store.servers.prefixes() == {2: "$"}
    assert [r.status for r in await store.articles.write_batch(items[:1])] == ["new"]
    assert await store.articles.count() == 1


async def test_the_writing_connection_cannot_be_used_outside_a_write(store: Store) -> None:
    with pytest.raises(RuntimeError, match="outside"):
        await store.db.writer.execute("DELETE FROM follows")
    async with store.db.write() as db:
        with pytest.raises(RuntimeError, match="already held"):
            async with store.db.write():
                pass
        await db.execute("DELETE FROM follows")
