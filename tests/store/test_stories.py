"""Stories in the index: every new text is placed in a story in the transaction that writes it, through the
real indexer, with its decision stored; the candidate lookups use indexes."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.indexer import Indexer
from bot.ingest.readers import content_hash
from bot.models import AlertPolicy, ArticleRecord, Follow
from bot.store import Store
from bot.store.stories import NAME_PROBE_SQL, SHIFTED_PROBE_SQL, WORD_PROBE_SQL
from bot.stories import StoryDecision, StoryPolicy
from tests.conftest import SEEDS, TEST_ARTICLES
from tests.test_stories import BANK_RESULTS, MONDAY, NAVY_OTHER, NAVY_PAPER, NAVY_THIRD, NAVY_WIRE


def record(origin: str, text: tuple[str, str], hours: float, source: str) -> ArticleRecord:
    title, body = text
    return ArticleRecord(
        origin=origin,
        title=title,
        body=body,
        content_hash=content_hash(body),
        published=MONDAY + timedelta(hours=hours),
        source=source,
    )


async def index(indexer: Indexer, *records: ArticleRecord) -> list[int]:
    report = await indexer.index_records(list(records))
    assert not report.skipped
    return [r.article_id for r in report.articles]


async def test_the_same_event_from_two_outlets_is_one_story_and_an_unrelated_one_is_not(
    store: Store, indexer_for
) -> None:
    indexer = indexer_for(store)
    await indexer.index_paths([SEEDS, TEST_ARTICLES])  # other news first, so that frequencies mean something
    wire, bank, paper = await index(
        indexer,
        record("wire/1", NAVY_WIRE, 0, "Wire"),
        record("bank/1", BANK_RESULTS, 1, "Money Daily"),
        record("paper/1", NAVY_PAPER, 3, "The Paper"),
    )
    story = await store.stories.story_of(wire)
    assert story is not None
    assert await store.stories.story_of(paper) == story
    assert await store.stories.story_of(bank) not in (None, story)

    joined = await store.stories.decision(paper)
    assert isinstance(joined, StoryDecision) and joined.joined and joined.nearest is not None
    assert "INS Mysore" in joined.nearest.shared_names
    assert joined.explain().startswith(f"joined story #{story}: shares ")
    started = await store.stories.decision(bank)
    assert started is not None and not started.joined
    assert started.explain().startswith(f"started story #{await store.stories.story_of(bank)}")

    record_ = await store.stories.get(story)
    assert record_ is not None
    assert [(m.article_id, m.source, m.joined) for m in record_.members] == [
        (wire, "Wire", False),
        (paper, "The Paper", True),
    ]
    assert record_.title == NAVY_WIRE[0]
    assert (record_.first_published, record_.last_published) == ("2024-03-04T09:00:00Z", "2024-03-04T12:00:00Z")


async def test_the_same_kind_of_event_elsewhere_and_a_late_report_start_their_own_stories(
    store: Store, indexer_for
) -> None:
    indexer = indexer_for(store)
    await indexer.index_paths([SEEDS, TEST_ARTICLES])
    wire, other = await index(indexer, record("wire/1", NAVY_WIRE, 0, "Wire"), record("o/1", NAVY_OTHER, 2, "Wire"))
    assert await store.stories.story_of(other) != await store.stories.story_of(wire)
    horizon_hours = store.stories.policy.horizon / timedelta(hours=1)
    (late,) = await index(indexer, record("paper/1", NAVY_PAPER, 2 * horizon_hours, "The Paper"))
    decision = await store.stories.decision(late)
    assert decision is not None and not decision.joined
    navy = {await store.stories.story_of(wire), await store.stories.story_of(other)}
    assert decision.nearest is None or decision.nearest.story_id not in navy  # out of time, not a candidate


async def test_an_article_placed_by_its_dateline_is_found_by_reports_of_that_time(store: Store, indexer_for) -> None:
    """A file stored today whose dateline says 2008 is placed in 2008; a report dated 2008 finds its story
    although the probes read stored dates (through ``shifted_time``)."""
    indexer = indexer_for(store)
    await indexer.index_paths([SEEDS, TEST_ARTICLES])
    title, body = NAVY_WIRE
    filed = dataclasses.replace(
        record("file/1", (title, "Saturday, November 15, 2008 - " + body), 0, "Wire"), date_known=False
    )
    (old,) = await index(indexer, filed)
    shifted = await store.db.fetchone("SELECT shifted_time FROM article_stories WHERE article_id = ?", (old,))
    assert shifted is not None and shifted["shifted_time"] == "2008-11-15T12:00:00Z"
    dated = dataclasses.replace(
        record("paper/1", NAVY_PAPER, 0, "The Paper"), published=datetime(2008, 11, 15, 15, tzinfo=UTC)
    )
    (paper,) = await index(indexer, dated)
    decision = await store.stories.decision(paper)
    assert decision is not None and decision.joined, decision
    assert decision.story_id == await store.stories.story_of(old)
    assert decision.nearest is not None and decision.nearest.together  # both dated: 2008 by the dateline


async def test_an_undated_report_that_reads_like_an_older_story_is_kept_apart_through_the_store(
    store: Store, indexer_for
) -> None:
    indexer = indexer_for(store)
    await indexer.index_paths([SEEDS, TEST_ARTICLES])
    last_year, today = await index(
        indexer,
        record("wire/1", NAVY_WIRE, -400 * 24, "Wire"),
        record("wire/2", NAVY_THIRD, 0, "Wire"),
    )
    (filed,) = await index(indexer, dataclasses.replace(record("file/1", NAVY_PAPER, 1, "Files"), date_known=False))
    decision = await store.stories.decision(filed)
    assert decision is not None and not decision.joined
    assert decision.echo is not None and decision.echo.story_id == await store.stories.story_of(last_year)
    assert decision.nearest is not None and decision.nearest.story_id == await store.stories.story_of(today)
    known = await store.db.fetchone("SELECT date_known FROM articles WHERE id = ?", (filed,))
    assert known is not None and known["date_known"] == 0
    # Placed again (a rebuild), it is still an article without a date of its own.
    await store.stories.rebuild()
    again = await store.stories.decision(filed)
    assert again is not None and not again.joined and again.echo is not None


async def test_a_changed_text_is_placed_again(store: Store, indexer_for) -> None:
    indexer = indexer_for(store)
    await indexer.index_paths([SEEDS, TEST_ARTICLES])
    wire, paper = await index(
        indexer, record("wire/1", NAVY_WIRE, 0, "Wire"), record("paper/1", NAVY_PAPER, 1, "The Paper")
    )
    assert await store.stories.story_of(paper) == await store.stories.story_of(wire)
    (again,) = await index(indexer, record("paper/1", BANK_RESULTS, 2, "The Paper"))  # same origin, new text
    assert again == paper
    assert await store.stories.story_of(paper) != await store.stories.story_of(wire)
    story = await store.stories.story_of(wire)
    assert story is not None and await store.stories.size(story) == 1


@pytest.mark.sqlite_only
async def test_candidates_are_found_through_indexes(store: Store) -> None:
    with sqlite3.connect(store.path) as db:
        for sql, params in ((NAME_PROBE_SQL, (1, "a", "b", 1)), (WORD_PROBE_SQL, ('"pirate"', 1, "a", "b"))):
            plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert "SCAN" not in plan.replace("SCAN f VIRTUAL TABLE", ""), plan
    assert "article_entities_by_entity" in " ".join(
        row[3] for row in sqlite3.connect(store.path).execute("EXPLAIN QUERY PLAN " + NAME_PROBE_SQL, (1, "a", "b", 1))
    )
    shifted = SHIFTED_PROBE_SQL.format(names="?,?")
    plan = " | ".join(
        row[3] for row in sqlite3.connect(store.path).execute("EXPLAIN QUERY PLAN " + shifted, ("a", "b", 1, 2, 3))
    )
    assert "article_stories_by_shifted_time" in plan and "SCAN" not in plan, plan


async def test_keys_seen_once_are_pruned_now_and_then(store: Store, indexer_for, monkeypatch) -> None:
    from bot.store import stories

    monkeypatch.setattr(stories, "PRUNE_EVERY", 3)
    indexer = indexer_for(store)
    await index(indexer, record("wire/1", NAVY_WIRE, 0, "Wire"), record("paper/1", NAVY_PAPER, 1, "The Paper"))
    counts = {r["key"]: r["documents"] for r in await store.db.fetchall("SELECT key, documents FROM story_frequencies")}
    assert counts["#"] == 2 and counts["w:pirate"] == 2 and 1 in counts.values()
    await index(indexer, record("bank/1", BANK_RESULTS, 2, "Money Daily"))
    counts = {r["key"]: r["documents"] for r in await store.db.fetchall("SELECT key, documents FROM story_frequencies")}
    assert counts["#"] == 3 and counts["w:pirate"] == 2 and 1 not in counts.values()


async def test_a_failing_placement_costs_the_article_only_its_story(
    store: Store, indexer_for, monkeypatch, caplog
) -> None:
    from bot.store import stories

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the clustering")

    monkeypatch.setattr(stories, "decide", broken)
    wire, bank = await index(
        indexer_for(store), record("wire/1", NAVY_WIRE, 0, "Wire"), record("bank/1", BANK_RESULTS, 1, "Money Daily")
    )
    assert await store.articles.count() == 2
    assert await store.stories.story_of(wire) is None and await store.stories.story_of(bank) is None
    assert await store.db.fetchall("SELECT * FROM story_frequencies") == []  # nothing half-written
    assert "placing article" in caplog.text


async def test_a_bridging_article_merges_two_stories_and_their_alerts_without_a_new_post(
    store: Store, indexer_for
) -> None:
    """Two reports of one event that began as two stories (each posted) are merged by a third that joins
    one and could join the other: it becomes an entry of one of their posts, every alert of both is now
    the merged story's, nobody is pinged again, and the merged story's id still finds the story."""
    indexer = indexer_for(store)
    await indexer.index_paths([SEEDS, TEST_ARTICLES])
    await store.alerts.set_channel(1, 100, 9)
    await store.alerts.add_follow(Follow(1, 11, "entity", "ins mysore", "INS Mysore", 100))
    alerts = AlertPolicy(follow_salience=0.35)
    store.stories.policy = dataclasses.replace(StoryPolicy(), threshold=10.0)  # each starts a story of its own
    (wire,) = await index_with_alerts(indexer, record("wire/1", NAVY_WIRE, 0, "Wire"), alerts)
    (paper,) = await index_with_alerts(indexer, record("paper/1", NAVY_PAPER, 1, "The Paper"), alerts)
    first, second = await store.stories.story_of(wire), await store.stories.story_of(paper)
    assert first is not None and second is not None and first != second
    store.stories.policy = StoryPolicy()
    (third,) = await index_with_alerts(indexer, record("third/1", NAVY_THIRD, 2, "Third"), alerts)

    decision = await store.stories.decision(third)
    assert decision is not None and decision.joined and decision.story_id in (first, second)
    assert decision.merged == tuple({first, second} - {decision.story_id})
    assert {await store.stories.story_of(a) for a in (wire, paper, third)} == {decision.story_id}
    for asked in (first, second):
        story = await store.stories.get(asked)
        assert story is not None and story.id == decision.story_id and story.article_count == 3
    rows = await store.db.fetchall("SELECT id, article_id, story_id, thread_of, ping_user_ids FROM outbox ORDER BY id")
    assert [r["article_id"] for r in rows] == [wire, paper, third]
    assert {r["story_id"] for r in rows} == {decision.story_id}
    assert rows[2]["thread_of"] in (rows[0]["id"], rows[1]["id"])  # no third top-level post
    assert json.loads(rows[0]["ping_user_ids"]) == [11] and json.loads(rows[2]["ping_user_ids"]) == []


async def index_with_alerts(indexer: Indexer, one: ArticleRecord, alerts: AlertPolicy) -> list[int]:
    report = await indexer.index_records([one], alerts=alerts)
    assert not report.skipped
    return [r.article_id for r in report.articles]
