"""Alert planning in the store: who gets what, written in the article's own transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ingest.indexer import Indexer
from bot.ingest.readers import content_hash
from bot.models import AlertPolicy, ArticleRecord, Follow, to_iso
from bot.store import Store
from bot.store.sources import SourceLimitReached

POLICY = AlertPolicy(follow_salience=0.35)


def _record(origin: str, title: str, body: str) -> ArticleRecord:
    return ArticleRecord(
        origin=origin,
        title=title,
        body=body,
        content_hash=content_hash(body),
        published=datetime(2024, 6, 1, tzinfo=UTC),
    )


async def _outbox(store: Store) -> list[tuple[int, int, str, str]]:
    return await store.db.fetchall("SELECT article_id, channel_id, ping_user_ids, reasons FROM outbox ORDER BY id")


async def test_folder_articles_go_to_every_enabled_alert_channel(
    store: Store, indexer_for: Callable[..., Indexer], tmp_path: Path
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    await store.alerts.set_channel(2, 200, 9)
    await store.alerts.set_channel(3, 300, 9)
    await store.alerts.disable(3)
    path = tmp_path / "a.txt"
    path.write_text("Harbour reopens\n\nThe harbour of Galway reopened on Monday after storms, officials said.\n")
    await indexer_for(store).index_paths([path], alerts=POLICY)
    assert sorted(row[1] for row in await _outbox(store)) == [100, 200]


async def test_no_policy_or_suppressed_means_no_alerts(
    store: Store, indexer_for: Callable[..., Indexer], tmp_path: Path
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    (tmp_path / "a.txt").write_text("Bridge opens\n\nA bridge opened in Cork on Monday, officials said.\n")
    (tmp_path / "b.txt").write_text("Bridge shuts\n\nA bridge shut in Sligo on Friday, officials said.\n")
    await indexer_for(store).index_paths([tmp_path / "a.txt"])
    await indexer_for(store).index_paths([tmp_path / "b.txt"], alerts=AlertPolicy(0.35, suppress=True))
    assert await _outbox(store) == []


async def test_near_identical_titles_post_once_per_channel(store: Store, indexer_for: Callable[..., Indexer]) -> None:
    await store.alerts.set_channel(1, 100, 9)
    first = _record(
        "https://a.example/1",
        "Storm batters Galway coast, thousands without power",
        "A storm battered the coast of Galway overnight, leaving thousands without power.",
    )
    second = _record(
        "https://b.example/1",
        "Storm batters Galway coast - thousands without power",
        "Thousands of homes in Galway lost power overnight as a storm battered the coast.",
    )
    await indexer_for(store).index_records([first], alerts=POLICY)
    await indexer_for(store).index_records([second], alerts=POLICY)
    rows = await store.db.fetchall("SELECT id, thread_of FROM outbox ORDER BY id")
    # One story: the second is an entry of the first's post (its thread), not a post of its own.
    assert [row["thread_of"] for row in rows] == [None, rows[0]["id"]]
    assert await store.articles.count() == 2


async def test_a_story_pings_each_follower_once_and_posts_once_per_channel(
    store: Store, indexer_for: Callable[..., Indexer]
) -> None:
    from tests.test_stories import NAVY_PAPER, NAVY_WIRE

    await store.alerts.set_channel(1, 100, 9)
    await store.alerts.add_follow(Follow(1, 11, "entity", "ins mysore", "INS Mysore", 100))
    await store.alerts.add_follow(Follow(1, 12, "entity", "indian navy", "Indian Navy", 100))
    wire = _record("https://wire.example/1", *NAVY_WIRE)
    paper = _record("https://paper.example/1", *NAVY_PAPER)
    await indexer_for(store).index_records([wire], alerts=POLICY)
    await indexer_for(store).index_records([paper], alerts=POLICY)
    rows = await store.db.fetchall("SELECT id, article_id, ping_user_ids, thread_of, story_id FROM outbox ORDER BY id")
    assert len(rows) == 2 and rows[0]["story_id"] == rows[1]["story_id"] is not None
    assert rows[1]["thread_of"] == rows[0]["id"]
    first_pings = set(json.loads(rows[0]["ping_user_ids"]))
    assert first_pings  # the followers of what the first article is about
    assert not first_pings & set(json.loads(rows[1]["ping_user_ids"]))  # nobody twice for one story


async def test_follows_ping_in_the_alert_channel_or_where_they_were_made(
    store: Store, indexer_for: Callable[..., Indexer]
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    await store.alerts.add_follow(Follow(1, 11, "entity", "galway", "Galway", 101))
    await store.alerts.add_follow(Follow(2, 22, "entity", "galway", "Galway", 202))  # server 2 has no alert channel
    await store.alerts.add_follow(Follow(2, 23, "entity", "cork", "Cork", 202))
    body = "Galway council approved a new harbour plan for Galway on Monday. Galway will get new quays."
    await indexer_for(store).index_records([_record("https://c.example/1", "Galway harbour plan", body)], alerts=POLICY)
    rows = {row[1]: row[2] for row in await _outbox(store)}
    assert rows == {100: "[11]", 202: "[22]"}


async def test_a_known_story_arriving_through_a_feed_alerts_that_feeds_server(
    store: Store, indexer_for: Callable[..., Indexer]
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    await store.alerts.set_channel(2, 200, 9)
    source = await store.sources.add(2, 201, "https://feed.example/rss", 10, 9)
    assert source is not None
    body = "The port of Cork handled a record number of containers last year, its managers said."
    story = _record("/news/cork.txt", "Cork port record", body)
    await indexer_for(store).index_records([story], alerts=POLICY)
    via_feed = _record("https://feed.example/cork", "Cork port record", body)
    report = await indexer_for(store).index_records([via_feed], alerts=AlertPolicy(0.35, source_id=source.id))
    assert report.duplicates == 1
    assert sorted(row[1] for row in await _outbox(store)) == [100, 200]  # not twice in channel 200


async def test_topic_follows_ping_when_the_article_is_about_the_topic(
    store: Store, indexer_for: Callable[..., Indexer]
) -> None:
    from bot.nlp.topics import topic_key

    await store.alerts.add_follow(Follow(1, 11, "topic", topic_key("solar panels"), "solar panels", 101))
    body = (
        "Solar panels will cover the roofs of every school in Galway, the council said on Monday. "
        "The solar panels are expected to cut electricity bills by a third. Installers said solar panels "
        "had become cheaper this year."
    )
    report = await indexer_for(store).index_records(
        [_record("https://d.example/1", "Schools get solar panels", body)], alerts=POLICY
    )
    article = await store.articles.get(report.articles[0].article_id)
    assert article is not None and topic_key("solar panels") in [t.key for t in article.topics]
    assert [(row[1], row[2]) for row in await _outbox(store)] == [(101, "[11]")]


async def test_outbox_progress_of_pings_survives_and_ends(
    store: Store, indexer_for: Callable[..., Indexer], tmp_path: Path
) -> None:
    await store.alerts.set_channel(1, 100, 9)
    (tmp_path / "a.txt").write_text("Harbour reopens\n\nThe harbour of Galway reopened on Monday after storms.\n")
    await indexer_for(store).index_paths([tmp_path], alerts=POLICY)
    [alert] = await store.alerts.due("2999-01-01T00:00:00Z")
    assert (alert.status, alert.message_id, alert.pings_left, alert.unknown_since) == ("pending", None, [], None)

    await store.alerts.mark_retry(
        alert.id, "dropped connection", "2000-01-01T00:00:00Z", unknown_since="2000-01-01T00:00:00Z"
    )
    await store.alerts.mark_retry(alert.id, "503", "2000-01-01T00:00:05Z", unknown_since="2000-01-01T00:00:05Z")
    await store.alerts.mark_retry(alert.id, "429", "2000-01-01T00:00:09Z", counts=False)  # a rate limit is no failure
    [retried] = await store.alerts.due("2999-01-01T00:00:00Z")
    assert retried.attempts == 2 and retried.unknown_since == "2000-01-01T00:00:00Z"  # the first unknown stays

    await store.alerts.mark_sent([alert.id], 555, pings_left=[7, 8, 9])
    [more] = await store.alerts.due("2999-01-01T00:00:00Z")  # sent, with pings left: still due
    assert (more.status, more.message_id, more.pings_left, more.unknown_since) == ("sent", 555, [7, 8, 9], None)
    await store.alerts.mark_pinged(alert.id, [9])
    assert [a.pings_left for a in await store.alerts.due("2999-01-01T00:00:00Z")] == [[9]]
    await store.alerts.mark_dropped(alert.id, "403")  # the rest of the pings: the alert itself was posted
    assert await store.alerts.due("2999-01-01T00:00:00Z") == [] and await store.alerts.next_due() is None
    assert await store.alerts.counts() == {"sent": 1}


async def test_a_server_may_have_only_so_many_feeds(store: Store) -> None:
    assert await store.sources.add(1, 101, "https://a.example/rss", 10, 9, limit=2) is not None
    assert await store.sources.add(1, 101, "https://b.example/rss", 10, 9, limit=2) is not None
    with pytest.raises(SourceLimitReached) as caught:
        await store.sources.add(1, 101, "https://c.example/rss", 10, 9, limit=2)
    assert caught.value.limit == 2
    assert await store.sources.add(2, 201, "https://c.example/rss", 10, 9, limit=2) is not None  # another server
    assert [s.url for s in await store.sources.of_server(1)] == ["https://a.example/rss", "https://b.example/rss"]


async def test_due_feeds_are_taken_in_turns_across_servers(store: Store) -> None:
    for n in range(5):
        await store.sources.add(1, 101, f"https://busy.example/{n}", 1, 9)
    await store.sources.add(2, 201, "https://quiet.example/rss", 1, 9)
    await store.sources.add(3, 301, "https://other.example/rss", 1, 9)
    later = to_iso(datetime.now(UTC) + timedelta(hours=1))
    due = await store.sources.due(later, limit=4)
    assert [s.guild_id for s in due] == [1, 2, 3, 1]
    assert [s.url for s in due if s.guild_id == 1] == ["https://busy.example/0", "https://busy.example/1"]


async def test_a_new_feed_is_due_one_interval_after_it_is_added(store: Store) -> None:
    source = await store.sources.add(1, 101, "https://a.example/rss", 30, 9)
    assert source is not None and source.last_polled_at is None
    assert await store.sources.due(to_iso(datetime.now(UTC))) == []  # its first poll is its adder's
    assert [s.id for s in await store.sources.due(to_iso(datetime.now(UTC) + timedelta(minutes=31)))] == [source.id]
