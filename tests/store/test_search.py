"""Search's candidates: the most recent matches a viewer sees, the same on both backends however far back
they lie (PostgreSQL looks for them in id windows it widens until it has enough)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.readers import content_hash
from bot.models import ArticleAnalysis, ArticleRecord, Viewer
from bot.store import Store, search

A, B = 111, 222  # two servers
_ANALYSIS = ArticleAnalysis(summary=["A sentence."], topics=[], entities=[], word_count=4)


def _record(n: int, text: str) -> ArticleRecord:
    return ArticleRecord(
        origin=f"file:{n}",
        title=f"Item {n}",
        body=f"{text} [{n}]",
        content_hash=content_hash(f"{text} [{n}]"),
        published=datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=n),
    )


async def test_candidates_are_the_newest_visible_matches_however_sparse(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_a = await store.sources.add(A, 1, "https://a.example/feed", 10, 5)
    feed_b = await store.sources.add(B, 2, "https://b.example/feed", 10, 6)
    assert feed_a and feed_b
    # 40 articles, ids in writing order: a few mention the harbour, the newest of them in B's feed only.
    harbour = {2: None, 3: None, 9: None, 14: feed_a.id, 21: None, 30: feed_b.id, 36: feed_b.id}
    ids: dict[int, int] = {}
    for n in range(40):
        text = "The harbour reopened." if n in harbour else "Rain fell on the hills."
        [written] = await store.articles.write_batch([(_record(n, text), _ANALYSIS)], source_id=harbour.get(n))
        ids[n] = written.article_id
    # Three candidates, looked for among the newest two ids first: the windows must widen three times.
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 3)
    monkeypatch.setattr(search, "SEARCH_FIRST_WINDOW", 2)
    expected = {
        Viewer.everything(): [36, 30, 21],
        Viewer.server(A): [21, 14, 9],
        Viewer.server(B): [36, 30, 21],
        Viewer.dm(): [21, 9, 3],
    }
    for viewer, newest in expected.items():
        found = await store.search.find("harbour", limit=3, viewer=viewer)
        assert sorted(m.article.id for m in found) == sorted(ids[n] for n in newest), viewer
    assert await store.search.find("lighthouse", viewer=Viewer.everything()) == []
