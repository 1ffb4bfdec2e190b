"""Retention: delivered alerts older than ``retention_days`` are pruned from a real SQLite file; pending
ones, recent ones, and what the near-duplicate check reads stay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.ingest.indexer import Indexer
from bot.ingest.readers import content_hash
from bot.models import AlertPolicy, ArticleRecord, to_iso
from bot.store import Store

POLICY = AlertPolicy(follow_salience=0.35)
TOWNS = ["Galway", "Sligo", "Cork", "Derry", "Kilkenny", "Tralee"]


def _record(n: int, title: str | None = None) -> ArticleRecord:
    town = TOWNS[n]
    body = f"The harbour of {town} reopened on day {n} after storms, officials in {town} said on Monday."
    return ArticleRecord(
        origin=f"https://news.example/{n}",
        title=title or f"{town} harbour reopens after {n} days",
        body=body,
        content_hash=content_hash(body),
        published=datetime(2024, 6, 1, tzinfo=UTC),
    )


async def _backdate(store: Store, article_origin: str, days: float, status: str) -> None:
    when = to_iso(datetime.now(UTC) - timedelta(days=days))
    sent = None if status == "pending" else when
    await store.db._write_connection.execute(
        "UPDATE outbox SET created_at = ?, next_attempt_at = ?, sent_at = ?, status = ? WHERE article_id = "
        "(SELECT article_id FROM origins WHERE origin = ?)",
        (when, when, sent, status, article_origin),
    )


async def _remaining(store: Store) -> set[str]:
    rows = await store.db.fetchall(
        "SELECT o.origin FROM outbox x JOIN origins o ON o.article_id = x.article_id ORDER BY x.id"
    )
    return {row[0] for row in rows}


async def test_old_delivered_alerts_are_pruned_and_the_rest_stays(
    store: Store, indexer_for: Callable[..., Indexer]
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    await indexer_for(store).index_records([_record(n) for n in range(5)], alerts=POLICY)
    origins = [f"https://news.example/{n}" for n in range(5)]
    await _backdate(store, origins[0], 40, "sent")  # old and delivered: goes
    await _backdate(store, origins[1], 40, "digested")  # old and listed in a digest: goes
    await _backdate(store, origins[2], 31, "dropped")  # old and undeliverable: goes
    await _backdate(store, origins[3], 40, "pending")  # never delivered: stays
    await _backdate(store, origins[4], 10, "sent")  # recent: stays

    assert await store.alerts.prune(timedelta(days=30), batch=2) == 3
    assert await _remaining(store) == {origins[3], origins[4]}
    assert await store.alerts.prune(timedelta(days=30)) == 0
    # The file really shrank by those rows, for another connection too.
    [(count,)] = await store.db.fetchall("SELECT COUNT(*) FROM outbox")
    assert count == 2


async def test_retention_never_forgets_what_the_near_duplicate_check_reads(
    store: Store, indexer_for: Callable[..., Indexer]
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    await indexer_for(store).index_records([_record(0, "Storm batters Galway coast, thousands without power")])
    # The store is asked for a retention shorter than the near-duplicate window (2 days).
    await indexer_for(store).index_records(
        [_record(1, "Storm batters Galway coast, thousands without power")], alerts=POLICY
    )
    await _backdate(store, "https://news.example/1", 1.5, "sent")
    assert await store.alerts.prune(timedelta(hours=1)) == 0
    # So the same story told again is still recognised and not posted twice: it is an entry of the post.
    await indexer_for(store).index_records(
        [_record(2, "Storm batters Galway coast: thousands without power")], alerts=POLICY
    )
    assert await _remaining(store) == {"https://news.example/1", "https://news.example/2"}
    rows = await store.db.fetchall("SELECT id, thread_of FROM outbox ORDER BY id")
    assert [row["thread_of"] for row in rows] == [None, rows[0]["id"]]
