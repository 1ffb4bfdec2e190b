"""Who sees what, in the store: origins credited to their sources, article scopes, and the per-scope
running totals, checked against a count from scratch after every kind of change (a real SQLite file)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.readers import content_hash
from bot.models import ArticleAnalysis, ArticleRecord, EntityInArticle, Keyphrase, RoleUse, Viewer
from bot.store import Store
from bot.store.migrations import load_migrations

A, B = 111, 222  # two servers
SHARED, IN_A, IN_B, DM = Viewer.everything(), Viewer.server(A), Viewer.server(B), Viewer.dm()


def _record(origin: str, text: str, source: str | None = None, day: int = 1) -> ArticleRecord:
    return ArticleRecord(
        origin=origin,
        title=text.split(".")[0],
        body=text,
        content_hash=content_hash(text),
        published=datetime(2024, 6, day, tzinfo=UTC),
        source=source,
        url=origin,
    )


def _analysis(*names: str, topic: str = "harbour works", roles: tuple[str, ...] = ()) -> ArticleAnalysis:
    entities = [
        EntityInArticle(
            name=name,
            key=name.lower(),
            type="PERSON",
            label_counts={"PERSON": 2},
            mentions=2,
            salience=0.5,
            in_headline=False,
            in_lead=True,
            key_sentence=f"{name} spoke.",
            roles=list(roles),
        )
        for name in names
    ]
    return ArticleAnalysis(
        summary=["A sentence."], topics=[Keyphrase(topic, topic, 1.0)], entities=entities, word_count=9
    )


async def _check_totals(store: Store) -> None:
    """The running totals equal a count from scratch: per scope, over the articles article_scopes puts there."""
    rows = await store.db.fetchall(
        "SELECT s.scope, ae.entity_id, COUNT(*) AS n, SUM(ae.mentions) AS m FROM article_scopes s "
        "JOIN article_entities ae ON ae.article_id = s.article_id GROUP BY s.scope, ae.entity_id"
    )
    kept = await store.db.fetchall("SELECT scope, entity_id, article_count, mention_count FROM entity_scope_totals")
    assert sorted(tuple(r) for r in rows) == sorted(tuple(r) for r in kept)
    rows = await store.db.fetchall(
        "SELECT s.scope, at.topic_id, COUNT(*) AS n FROM article_scopes s "
        "JOIN article_topics at ON at.article_id = s.article_id GROUP BY s.scope, at.topic_id"
    )
    kept = await store.db.fetchall("SELECT scope, topic_id, article_count FROM topic_scope_totals")
    assert sorted(tuple(r) for r in rows) == sorted(tuple(r) for r in kept)
    for table, rows_table, column, counts_if in (
        ("entity_scope_day_counts", "article_entities", "entity_id", "x.salience >= 0.2"),
        ("topic_scope_day_counts", "article_topics", "topic_id", "x.rank <= 5"),
    ):
        fresh_days = await store.db.fetchall(
            f"SELECT s.scope, substr(x.published, 1, 10), x.{column}, COUNT(*) FROM article_scopes s "
            f"JOIN {rows_table} x ON x.article_id = s.article_id WHERE {counts_if} GROUP BY 1, 2, 3"
        )
        kept_days = await store.db.fetchall(f"SELECT scope, day, {column}, articles FROM {table}")
        assert sorted(tuple(r) for r in fresh_days) == sorted(tuple(r) for r in kept_days), table
    fresh_days = await store.db.fetchall(
        "SELECT s.scope, substr(a.published, 1, 10), COUNT(*) FROM article_scopes s "
        "JOIN articles a ON a.id = s.article_id GROUP BY 1, 2"
    )
    kept_days = await store.db.fetchall("SELECT scope, day, articles FROM scope_day_articles")
    assert sorted(tuple(r) for r in fresh_days) == sorted(tuple(r) for r in kept_days), "scope_day_articles"
    counts = await store.db.fetchall(
        "SELECT scope, articles, entities, topics, mentions FROM scope_counts "
        "WHERE articles != 0 OR entities != 0 OR topics != 0"
    )
    fresh = await store.db.fetchall(
        """
        SELECT s.scope, s.n,
               (SELECT COUNT(*) FROM entity_scope_totals e WHERE e.scope = s.scope),
               (SELECT COUNT(*) FROM topic_scope_totals t WHERE t.scope = s.scope),
               (SELECT COALESCE(SUM(mention_count), 0) FROM entity_scope_totals e WHERE e.scope = s.scope)
        FROM (SELECT scope, COUNT(*) AS n FROM article_scopes GROUP BY scope) s
        """
    )
    assert sorted(tuple(r) for r in counts) == sorted(tuple(r) for r in fresh)
    # Each name word carries its entity's mention count (name lookups rank by it).
    words = await store.db.fetchall(
        "SELECT w.word, w.entity_mentions, e.mention_count FROM entity_words w "
        "JOIN entities e ON e.id = w.entity_id"
    )
    assert all(r["entity_mentions"] == r["mention_count"] for r in words)
    # Every article has the one row 0, or only servers' rows.
    mixed = await store.db.fetchone(
        "SELECT COUNT(*) AS n FROM article_scopes s WHERE s.scope != 0 AND EXISTS "
        "(SELECT 1 FROM article_scopes z WHERE z.article_id = s.article_id AND z.scope = 0)"
    )
    assert mixed is not None and mixed["n"] == 0


async def _scopes(store: Store, article_id: int) -> set[int]:
    return {
        r["scope"]
        for r in await store.db.fetchall("SELECT scope FROM article_scopes WHERE article_id = ?", (article_id,))
    }


async def _names(store: Store, viewer: Viewer) -> dict[str, int]:
    found = {}
    for name in ("ana", "bo", "cy"):
        ref = await store.entities.by_key(name, viewer=viewer)
        if ref is not None:
            found[name] = ref.article_count
    return found


async def test_scopes_follow_the_sources_that_deliver_each_story(store: Store) -> None:
    feed_a = await store.sources.add(A, 1, "https://a.example/feed", 10, 5)
    feed_b = await store.sources.add(B, 2, "https://b.example/feed", 10, 6)
    wire = await store.sources.add(A, 1, "https://wire.example/feed", 10, 7, shared=True)
    assert feed_a and feed_b and wire
    ana_story = "Ana opened the harbour. It was late."
    await store.articles.write_batch([(_record("file:1", "Ana and Bo met. They spoke."), _analysis("Ana", "Bo"))])
    [result] = await store.articles.write_batch(
        [(_record("https://a.example/1", ana_story), _analysis("Ana", "Cy"))], source_id=feed_a.id
    )
    await _check_totals(store)
    assert await _names(store, DM) == {"ana": 1, "bo": 1}
    assert await _names(store, IN_B) == {"ana": 1, "bo": 1}
    assert await _names(store, IN_A) == {"ana": 2, "bo": 1, "cy": 1}
    assert await _names(store, SHARED) == {"ana": 2, "bo": 1, "cy": 1}

    # B's feed carries the same item (same origin): B sees it too, and it is counted once per server.
    [linked] = await store.articles.write_batch(
        [(_record("https://a.example/1", ana_story), None)], source_id=feed_b.id
    )
    assert (linked.article_id, linked.status) == (result.article_id, "linked")
    await _check_totals(store)
    assert await _names(store, IN_B) == {"ana": 2, "bo": 1, "cy": 1}
    assert await _names(store, DM) == {"ana": 1, "bo": 1}
    # Again from the same feed: nothing changes.
    [again] = await store.articles.write_batch([(_record("https://a.example/1", ana_story), None)], source_id=feed_b.id)
    assert again.status == "unchanged"

    # A shared feed carries the same text under another address: everyone sees it, counted once in scope 0.
    assert (await store.articles.get(result.article_id)).source is None  # type: ignore[union-attr]
    [shared] = await store.articles.write_batch(
        [(_record("https://wire.example/9", ana_story, source="Wire"), None)], source_id=wire.id
    )
    # From now on it shows the shared source, not the server's own feed.
    shown = await store.articles.get(result.article_id, viewer=DM)
    assert shown is not None and (shown.source, shown.url) == ("Wire", "https://wire.example/9")
    assert (shared.article_id, shared.status) == (result.article_id, "duplicate")
    await _check_totals(store)
    assert await _scopes(store, result.article_id) == {0}
    assert await _names(store, DM) == {"ana": 2, "bo": 1, "cy": 1}
    assert (await store.articles.stats(viewer=IN_A)).articles == 2

    # The shared feed goes: back to A and B only.
    assert await store.sources.remove(A, wire.id) == (wire, 0)
    await _check_totals(store)
    assert await _scopes(store, result.article_id) == {A, B}
    assert await _names(store, DM) == {"ana": 1, "bo": 1}
    # A's feed goes: B still delivers it, so it stays, for B only.
    _, removed = await store.sources.remove(A, feed_a.id) or (None, -1)
    assert removed == 0
    await _check_totals(store)
    assert await store.articles.get(result.article_id, viewer=IN_A) is None
    assert await store.articles.get(result.article_id, viewer=IN_B) is not None
    # B's feed goes: no source keeps it, and the names only it had go with it.
    _, removed = await store.sources.remove(B, feed_b.id) or (None, -1)
    assert removed == 1
    await _check_totals(store)
    assert await store.articles.get(result.article_id) is None
    assert await _names(store, SHARED) == {"ana": 1, "bo": 1}


async def test_a_changed_item_and_a_vanished_file_keep_the_totals_right(store: Store) -> None:
    feed_a = await store.sources.add(A, 1, "https://a.example/feed", 10, 5)
    assert feed_a
    await store.articles.write_batch(
        [(_record("https://a.example/2", "Bo sailed. The sea was calm."), _analysis("Bo"))], source_id=feed_a.id
    )
    # The item's text changes: its article is analysed again, in the same scope.
    await store.articles.write_batch(
        [(_record("https://a.example/2", "Cy sailed. The sea was rough."), _analysis("Cy", topic="rough seas"))],
        source_id=feed_a.id,
    )
    await _check_totals(store)
    assert await _names(store, IN_A) == {"cy": 1}
    # A file's records appear, then the file loses one.
    await store.articles.write_batch(
        [
            (_record("file:x#1", "Ana rowed. The lake was still."), _analysis("Ana")),
            (_record("file:x#2", "Cy rowed. The river was high."), _analysis("Cy")),
        ]
    )
    await store.articles.write_batch([], stale_origins=["file:x#2"])
    await _check_totals(store)
    assert await _names(store, IN_A) == {"ana": 1, "cy": 1}
    assert await _names(store, IN_B) == {"ana": 1}


async def test_top_topics_per_server_count_shared_and_own_articles(store: Store) -> None:
    feed_a = await store.sources.add(A, 1, "https://a.example/feed", 10, 5)
    assert feed_a
    for n in range(3):
        await store.articles.write_batch(
            [(_record(f"file:{n}", f"Ana {n} spoke. Yes."), _analysis("Ana", topic="tide"))]
        )
    for n in range(2):
        await store.articles.write_batch(
            [(_record(f"file:b{n}", f"Bo {n} spoke. Yes."), _analysis("Bo", topic="reef"))]
        )
    for n in range(2):
        await store.articles.write_batch(
            [(_record(f"https://a.example/{n}", f"Cy {n} spoke. Yes."), _analysis("Cy", topic="reef"))],
            source_id=feed_a.id,
        )
    assert [(t.name, t.article_count) for t in await store.topics.top(5, viewer=IN_B)] == [("tide", 3), ("reef", 2)]
    assert [(t.name, t.article_count) for t in await store.topics.top(5, viewer=IN_A)] == [("reef", 4), ("tide", 3)]
    assert [(t.name, t.article_count) for t in await store.topics.top(1, viewer=DM)] == [("tide", 3)]
    stats = await store.articles.stats(viewer=IN_A)
    assert (stats.articles, stats.entities, stats.topics) == (7, 3, 2)
    stats = await store.articles.stats(viewer=IN_B)
    assert (stats.articles, stats.entities, stats.topics) == (5, 2, 2)


async def test_an_index_from_before_scopes_is_migrated(tmp_path: Path) -> None:
    """A database from before scopes (version 12): file origins become shared; a feed item is credited to
    the feed whose title its article carries; an item no feed claims is seen by the console only."""
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    for migration in load_migrations()[:12]:
        connection.executescript(migration.sql)
    connection.executescript(
        """
        INSERT INTO sources (id, guild_id, channel_id, url, title, interval_minutes, next_poll_at, created_at)
        VALUES (1, 111, 1, 'https://a.example/feed', 'A News', 10, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z');
        INSERT INTO articles (id, content_hash, title, source, published, ingested_at, body, summary, word_count)
        VALUES (1, 'h1', 't1', NULL, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'b', '[]', 1),
               (2, 'h2', 't2', 'A News', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'b', '[]', 1),
               (3, 'h3', 't3', 'Gone', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'b', '[]', 1);
        INSERT INTO origins (origin, article_id, file, seen_at) VALUES
            ('/seeds/x.txt', 1, '/seeds/x.txt', 'now'), ('https://a.example/2', 2, NULL, 'now'),
            ('https://gone.example/3', 3, NULL, 'now');
        INSERT INTO entities (id, key, name, type, article_count, mention_count)
        VALUES (1, 'ana', 'Ana', 'PERSON', 2, 3);
        INSERT INTO entity_words (word, entity_id) VALUES ('ana', 1);
        INSERT INTO article_entities (article_id, entity_id, mentions, salience, in_headline, key_sentence, published)
        VALUES (1, 1, 1, 0.5, 0, '', '2024-01-01T00:00:00Z'), (2, 1, 2, 0.5, 0, '', '2024-01-01T00:00:00Z');
        PRAGMA user_version = 12;
        """
    )
    connection.close()
    async with Store.open(path) as store:
        assert [a.id for a in await store.articles.latest(5, viewer=DM)] == [1]
        assert sorted(a.id for a in await store.articles.latest(5, viewer=IN_A)) == [1, 2]
        assert len(await store.articles.latest(5)) == 3
        assert (await store.entities.by_key("ana", viewer=IN_A)).article_count == 2  # type: ignore[union-attr]
        assert (await store.entities.by_key("ana", viewer=IN_B)).article_count == 1  # type: ignore[union-attr]
        # The name's word got its entity's mention count (migration 0023's backfill).
        assert [tuple(r) for r in await store.db.fetchall("SELECT word, entity_mentions FROM entity_words")] == [
            ("ana", 3)
        ]
        await _check_totals(store)


@pytest.mark.parametrize("viewer", [DM, IN_A])
async def test_a_viewer_never_sees_another_server_article_by_id(store: Store, viewer: Viewer) -> None:
    feed_b = await store.sources.add(B, 2, "https://b.example/feed", 10, 6)
    assert feed_b
    [result] = await store.articles.write_batch(
        [(_record("https://b.example/1", "Bo hid. Nobody knew."), _analysis("Bo"))], source_id=feed_b.id
    )
    assert await store.articles.get(result.article_id, viewer=viewer) is None
    assert await store.articles.related(result.article_id, viewer=viewer) == []
    assert await store.articles.related_to(result.article_id, viewer=viewer) is None
    assert await store.entities.profile(1, viewer=viewer) is None
    assert await store.search.find("nobody", viewer=viewer) == []
    assert await store.articles.get(result.article_id, viewer=IN_B) is not None
    seen = await store.articles.related_to(result.article_id, viewer=IN_B)
    assert seen is not None and (seen[0].id, seen[0].title) == (result.article_id, "Bo hid")


async def test_a_timeline_dates_and_counts_the_roles_in_what_the_viewer_sees(store: Store) -> None:
    """The first use of a role is the earliest the viewer sees (of two the same day, the lower id), and
    a role used only where the viewer cannot look is not there."""
    feed_a = await store.sources.add(A, 1, "https://a.example/feed", 10, 5)
    feed_b = await store.sources.add(B, 2, "https://b.example/feed", 10, 6)
    assert feed_a and feed_b
    [early_b] = await store.articles.write_batch(
        [(_record("https://b.example/1", "Ana ran the port. Early.", day=1), _analysis("Ana", roles=("mayor",)))],
        source_id=feed_b.id,
    )
    [same_day_b] = await store.articles.write_batch(  # before the shared one: a lower id, the same day
        [(_record("https://b.example/3", "Ana ran the port. Hidden.", day=3), _analysis("Ana", roles=("mayor",)))],
        source_id=feed_b.id,
    )
    [shared] = await store.articles.write_batch(
        [(_record("file:1", "Ana ran the port. Shared.", day=3), _analysis("Ana", roles=("mayor",)))]
    )
    [same_day_a] = await store.articles.write_batch(
        [(_record("https://a.example/1", "Ana ran the port. Own.", day=3), _analysis("Ana", roles=("mayor",)))],
        source_id=feed_a.id,
    )
    [late_b] = await store.articles.write_batch(
        [(_record("https://b.example/2", "Ana ran the county. Late.", day=9), _analysis("Ana", roles=("governor",)))],
        source_id=feed_b.id,
    )
    ana = await store.entities.by_key("ana")
    assert ana is not None

    def uses(found: list[RoleUse]) -> list[tuple[str, int, str, int, str]]:
        return [(u.role, u.articles, u.first_seen[:10], u.first_article_id, u.last_seen[:10]) for u in found]

    assert uses(await store.entities.role_uses(ana.id, viewer=IN_A)) == [
        ("mayor", 2, "2024-06-03", shared.article_id, "2024-06-03")
    ]
    assert same_day_b.article_id < shared.article_id < same_day_a.article_id
    assert uses(await store.entities.role_uses(ana.id, viewer=IN_B)) == [
        ("mayor", 3, "2024-06-01", early_b.article_id, "2024-06-03"),
        ("governor", 1, "2024-06-09", late_b.article_id, "2024-06-09"),
    ]
    assert uses(await store.entities.role_uses(ana.id, viewer=DM)) == [
        ("mayor", 1, "2024-06-03", shared.article_id, "2024-06-03")
    ]
    assert uses(await store.entities.role_uses(ana.id)) == [
        ("mayor", 4, "2024-06-01", early_b.article_id, "2024-06-03"),
        ("governor", 1, "2024-06-09", late_b.article_id, "2024-06-09"),
    ]
