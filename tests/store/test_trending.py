"""Trending on a real index: the day tables stay equal to a recount through writes, replacements and
deletions (and migration 0006 builds them for an existing index); windows are counted exactly at their
edges; a burst about a name stands out against its own baseline, steady news and a name with fewer
articles than the floor do not."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.answers import Answers
from bot.models import EVERYTHING, Viewer, from_iso, to_iso
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store, database
from bot.store.migrations import load_migrations
from bot.store.stories import StoryQueries
from bot.trending import BASELINE_DAYS, baseline_days
from tests.coverage import NOW, Analysed, analyse_texts, dated, spike_coverage, write

RECOUNT = {
    "entity_day_counts": "SELECT substr(published, 1, 10) AS day, entity_id AS id, COUNT(*) AS n "
    "FROM article_entities WHERE salience >= 0.2 GROUP BY 1, 2",
    "topic_day_counts": "SELECT substr(published, 1, 10) AS day, topic_id AS id, COUNT(*) AS n "
    "FROM article_topics WHERE rank <= 5 GROUP BY 1, 2",
}


@pytest.fixture(scope="module")
def texts(analyzer: Analyzer) -> dict[str, Analysed]:
    return analyse_texts(analyzer)


async def _tables(store: Store) -> dict[str, tuple[set[tuple[str, int, int]], set[tuple[str, int, int]]]]:
    """Each day table's rows and the recount from the article rows."""
    found = {}
    for table, recount in RECOUNT.items():
        column = "entity_id" if table.startswith("entity") else "topic_id"
        kept = {tuple(row) for row in await store.db.fetchall(f"SELECT day, {column}, articles FROM {table}")}
        found[table] = (kept, {tuple(row) for row in await store.db.fetchall(recount)})
    return found


def _file_tables(path: Path) -> dict[str, tuple[set[tuple[str, int, int]], set[tuple[str, int, int]]]]:
    """:func:`_tables` of a closed SQLite file."""
    with sqlite3.connect(path) as db:
        found = {}
        for table, recount in RECOUNT.items():
            column = "entity_id" if table.startswith("entity") else "topic_id"
            kept = set(db.execute(f"SELECT day, {column}, articles FROM {table}"))
            found[table] = (kept, set(db.execute(recount)))
        return found


async def test_day_tables_equal_a_recount_through_writes_replacements_and_deletions(
    store: Store, texts: dict[str, Analysed]
) -> None:
    items = spike_coverage(texts)
    await write(store, items)
    for kept, recounted in (await _tables(store)).values():
        assert kept == recounted and len(kept) > 30
    # The same origin with another text replaces the article; a vanished origin deletes it.
    replaced = dated(texts, "oslo", NOW - timedelta(days=3), 999)
    await store.articles.write_batch([(replace(replaced[0], origin=items[0][0].origin), replaced[1])])
    await store.articles.write_batch([], stale_origins=[items[1][0].origin, items[-1][0].origin])
    for kept, recounted in (await _tables(store)).values():
        assert kept == recounted


async def test_migration_builds_the_day_tables_of_an_existing_index(
    tmp_path: Path, texts: dict[str, Analysed], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    async with Store.open(path) as store:
        await write(store, spike_coverage(texts))
    with sqlite3.connect(path) as db:  # as an index made before migration 0006 was
        db.execute("DROP TABLE entity_day_counts")
        db.execute("DROP TABLE topic_day_counts")
        db.execute("DROP INDEX article_entities_about")
        db.execute("DROP INDEX article_topics_about")
        db.execute("PRAGMA user_version = 5")
    through_0006 = load_migrations()[:6]
    assert through_0006[-1].name.endswith("trending.sql")
    monkeypatch.setattr(database, "load_migrations", lambda: through_0006)
    async with Store.open(path):
        pass
    for kept, recounted in _file_tables(path).values():
        assert kept == recounted and kept


async def test_a_window_counts_exactly_at_its_edges(store: Store, texts: dict[str, Analysed]) -> None:
    since = NOW - timedelta(days=3)
    items = [
        dated(texts, "oslo", since - timedelta(seconds=1), 1),  # just before: out
        dated(texts, "oslo", since, 2),  # the first second: in
        dated(texts, "oslo", since + timedelta(days=1, hours=5), 3),  # a whole day inside: from the table
        dated(texts, "oslo", NOW, 4),  # the last second: in
        dated(texts, "oslo", NOW + timedelta(seconds=1), 5),  # after: out
    ]
    await write(store, items)
    [marta] = [
        c
        for c in await store.trending.counts(since, NOW, baseline_days=30, min_articles=1)
        if c.name == "Marta Lindqvist"
    ]
    assert (marta.articles, marta.baseline_articles) == (3, 0)
    hour = since + timedelta(hours=1)
    same_day = await store.trending.counts(since, hour, baseline_days=30, min_articles=1)
    assert [c.articles for c in same_day if c.name == "Marta Lindqvist"] == [1]
    assert await store.trending.window(since, NOW) == (3, to_iso(since - timedelta(seconds=1)))
    # In a DM's view the whole day inside is counted from the articles per scope and day.
    assert await store.trending.window(since, NOW, viewer=Viewer.dm()) == (3, to_iso(since - timedelta(seconds=1)))
    assert (await store.trending.window(since, hour, viewer=Viewer.dm()))[0] == 1


async def test_a_burst_about_a_name_trends_with_its_factor_and_lead_article(
    store: Store, texts: dict[str, Analysed]
) -> None:
    await write(store, spike_coverage(texts))
    answers = Answers(store, AliasTable(), clock=lambda: NOW)
    answer = await answers.trending()
    assert answer.history and answer.window == "24h" and answer.articles == 10
    [top] = answer.trends  # one story: the person leads, its places and topics go with it
    assert top.subject.name == "Javier Milei" and top.subject.kind == "entity"
    assert {"Buenos Aires", "budget cuts"} <= {other.name for other in top.also}
    assert (top.subject.articles, top.subject.baseline_articles) == (6, 3)
    assert top.usual_per_day == pytest.approx(0.1) and top.factor > 10
    assert top.lead is not None and top.lead.published >= "2024-06-29T12:00:00Z"
    names = {t.subject.name for t in answer.trends} | {other.name for other in top.also}
    assert "Anna Hughes" not in names  # two articles a day, every day: usual
    assert "Marta Lindqvist" not in names  # new, but two articles are under the floor of three
    # A week later the burst is part of the baseline window's past and nothing stands out.
    later = Answers(store, AliasTable(), clock=lambda: NOW + timedelta(days=8))
    assert (await later.trending()).trends == []
    week = await answers.trending("7d")
    assert week.trends[0].subject.name == "Javier Milei"


async def test_an_index_without_history_says_so(store: Store, texts: dict[str, Analysed]) -> None:
    await write(store, [dated(texts, "milei", NOW - timedelta(hours=n), n) for n in range(5)])
    answer = await Answers(store, AliasTable(), clock=lambda: NOW).trending()
    assert not answer.history and answer.trends == []


async def _no_rekey(store: Store) -> None:
    """Stands in for :meth:`Store.rekey_topics` on a schema older than the code's."""


async def _no_story(*args: object) -> None:
    """Stands in for :meth:`StoryQueries.place_or_skip` on a schema without stories (0012)."""


async def test_migration_0007_keeps_the_outbox_of_an_existing_index(
    tmp_path: Path, texts: dict[str, Analysed], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    every = load_migrations()
    assert every[6].name.endswith("spikes.sql")
    monkeypatch.setattr(database, "load_migrations", lambda: every[:6])
    # The code of that time re-keyed only the tables it had and kept no stories; today's does both.
    with monkeypatch.context() as then:
        then.setattr(Store, "rekey_topics", _no_rekey)
        then.setattr(StoryQueries, "place_or_skip", _no_story)
        async with Store.open(path):
            pass
    with sqlite3.connect(path) as db:  # an article, an alert still to send, and one sent, as before 0007
        # Written by hand: today's store writes tables (article_scopes, …) that this old schema lacks.
        db.execute(
            "INSERT INTO articles (id, content_hash, title, published, ingested_at, body, summary, word_count) "
            "VALUES (1, 'h', 't', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'b', '[]', 1)"
        )
        db.executemany(
            "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, reasons, nonce, status, next_attempt_at, "
            "created_at, pings_left) VALUES (1, 5, ?, 'x', '[]', ?, ?, ?, ?, ?)",
            [
                (7, "n1", "pending", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "[3]"),
                (8, "n2", "sent", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "[]"),
            ],
        )
    monkeypatch.setattr(database, "load_migrations", lambda: every)
    async with Store.open(path) as store:
        [due] = await store.alerts.due("2025-01-01T00:00:00Z")
        assert (due.article_id, due.channel_id, due.kind, due.payload, due.pings_left) == (1, 7, "article", None, [3])
        assert await store.alerts.counts() == {"pending": 1, "sent": 1}
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):  # still one alert per channel
        db.execute(
            "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, reasons, nonce, next_attempt_at, "
            "created_at) VALUES (1, 5, 7, 'x', '[]', 'n3', 'x', 'x')"
        )


async def test_the_longest_baseline_is_a_young_index_own(store: Store, texts: dict[str, Analysed]) -> None:
    """``!trending`` asks for the counts before it knows how old the index is: over the longest baseline a
    subject's count is the one over the days the index has, as no day count precedes its first article."""
    await write(store, spike_coverage(texts))
    for viewer in (EVERYTHING, Viewer.dm()):
        _, first = await store.trending.window(NOW - timedelta(days=1), NOW, viewer=viewer)
        assert first is not None
        since = from_iso(first) + timedelta(days=10, hours=3)  # ten days into the index's history
        until = since + timedelta(days=1)
        days = baseline_days(since, from_iso(first))
        assert 0 < days < BASELINE_DAYS
        own = await store.trending.counts(since, until, baseline_days=days, min_articles=1, viewer=viewer)
        longest = await store.trending.counts(since, until, baseline_days=BASELINE_DAYS, min_articles=1, viewer=viewer)
        assert own == longest and any(count.baseline_articles for count in own)


async def test_migration_0019_counts_the_articles_of_each_scope_and_day(
    tmp_path: Path, texts: dict[str, Analysed]
) -> None:
    path = tmp_path / "old.db"
    async with Store.open(path) as store:
        await write(store, spike_coverage(texts))
    with sqlite3.connect(path) as db:  # as an index made before migration 0019 was (the later ones run again)
        db.execute("DROP TABLE scope_day_articles")
        db.execute("DROP INDEX article_stories_by_shifted_time")  # 0021_story_dates
        db.execute("ALTER TABLE article_stories DROP COLUMN shifted_time")
        db.execute("ALTER TABLE articles DROP COLUMN date_known")
        db.execute("DROP TRIGGER entity_words_mentions")  # 0023_name_word_mentions
        db.execute("ALTER TABLE entity_words DROP COLUMN entity_mentions")
        db.execute("PRAGMA user_version = 18")
    assert load_migrations()[18].name == "0019_window_reads.sql"
    async with Store.open(path):
        pass
    with sqlite3.connect(path) as db:
        kept = set(db.execute("SELECT scope, day, articles FROM scope_day_articles"))
        recount = set(
            db.execute(
                "SELECT s.scope, substr(a.published, 1, 10), COUNT(*) FROM article_scopes s "
                "JOIN articles a ON a.id = s.article_id GROUP BY 1, 2"
            )
        )
    assert kept == recount and len(kept) > 30
