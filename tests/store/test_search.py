"""Search's candidates: the most recent matches a viewer sees, the same on both backends however far back
they lie (PostgreSQL looks for them in id windows it widens until it has enough), and the last word as a
prefix over every word of the index (PostgreSQL's list of them)."""

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
    # Three candidates, looked for among the newest two ids first (PostgreSQL may start wider, from its
    # estimate of the matches).
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


async def test_a_last_word_as_a_prefix_finds_words_new_to_the_index_and_changed_articles(store: Store) -> None:
    # PostgreSQL expands the prefix through its list of the index's words: a word that reached the index
    # in a new article, or in an article whose text changed, must be in that list.
    texts = ["The harbour reopened.", "Rain fell on the hills.", "The harbourmaster spoke.", "Snow came early."]
    ids = []
    for n, text in enumerate(texts):
        [written] = await store.articles.write_batch([(_record(n, text), _ANALYSIS)])
        ids.append(written.article_id)
    assert {m.article.id for m in await store.search.find("harbou")} == {ids[0], ids[2]}
    changed = _record(3, "The harbourside flooded.")
    [written] = await store.articles.write_batch([(changed, _ANALYSIS)])
    assert written.article_id == ids[3] and written.status == "updated"
    assert {m.article.id for m in await store.search.find("harbou")} == {ids[0], ids[2], ids[3]}
    # Whole first: "harbour" finds one article, fewer than five, so the prefix finds the others.
    assert {m.article.id for m in await store.search.find("harbour")} == {ids[0], ids[2], ids[3]}
    assert {m.article.id for m in await store.search.find("harbour", limit=1)} == {ids[0]}
    assert await store.search.find("harbz") == []


@pytest.mark.postgresql_only
async def test_postgresql_candidates_are_the_newest_matches_of_the_query_as_written(store: Store) -> None:
    # search_candidates rewrites prefixes as the words they begin, sizes its window from the counts of
    # the query's words (widening it when the matches are not spread evenly) or reads the whole index;
    # it must find what the query itself finds, newest first, ranked with it.
    many = " ".join(f"zyq{n:03d}" for n in range(140))  # more words under "zyq" than are expanded
    texts = [
        "The harbour reopened.",
        "The harbourmaster spoke of the quarter-finals.",
        "O'Neil reached the quarter-finals.",
        f"Noise {many}.",
        "Rain fell on the harbourside.",
        "Harbourmasters met in the harbour.",
    ] * 4
    texts += (["Snow came early."] * 9 + ["Snow fell on the harbour."]) * 3  # the newest mention few of them
    for n, text in enumerate(texts):
        await store.articles.write_batch([(_record(n, text), _ANALYSIS)])
    # "harbour" is common in the index but rare among its newest articles: the first window, sized from
    # its count, holds too few of its matches and must widen (as after a burst of news on other words).
    queries = [
        "'harbour':*",
        "'harbour' & 'nothing'",
        "'harbourmast' & 'quarter-finals'",
        "'harbour' & 'harbourmast':*",
        "'rain' | 'harbourm':*",
        "'quarter-finals':* | 'harbour'",
        "'o''neil':* & 'reach'",
        "'zyq':*",
        "'zyq01':* | 'rain'",
        "'nothing':*",
    ]
    for query in queries:
        for wanted in (3, 300):
            found = await store.db.fetchall(
                "SELECT id, score FROM search_candidates(to_tsquery('english', ?), ?, ?, 2)",
                (query, [0], wanted),
            )
            expected = await store.db.fetchall(
                "SELECT id, ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', search_vector, to_tsquery('english', ?), 1) AS score "
                "FROM articles WHERE search_vector @@ to_tsquery('english', ?) ORDER BY id DESC LIMIT ?",
                (query, query, wanted),
            )
            got, want = ([(r["id"], r["score"]) for r in rows] for rows in (found, expected))
            assert sorted(got) == sorted(want), (query, wanted)
            assert expected or "'nothing'" in query


async def _word_counts(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    """PostgreSQL's kept count of the articles holding each word, and the same counted from the vectors."""
    kept = {r["word"]: r["articles"] for r in await store.db.fetchall("SELECT word, articles FROM search_words")}
    counted = await store.db.fetchall(
        "SELECT w AS word, count(*) AS articles FROM articles, unnest(tsvector_to_array(search_vector)) AS w "
        "GROUP BY w"
    )
    return kept, {r["word"]: r["articles"] for r in counted}


@pytest.mark.postgresql_only
async def test_postgresql_counts_the_articles_holding_each_word_through_every_write(store: Store) -> None:
    # search_candidates sizes its window from these counts, and finds nothing at once for a word whose
    # count is 0: a count off by one would hide articles or waste reads.
    feed = await store.sources.add(A, 1, "https://a.example/feed", 10, 5)
    assert feed
    for n, text in enumerate(["The harbour reopened.", "Rain fell on the harbour.", "Snow came early."]):
        await store.articles.write_batch([(_record(n, text), _ANALYSIS)])
    lighthouse = _record(3, "The lighthouse keeper left the harbour.")
    await store.articles.write_batch([(lighthouse, _ANALYSIS)], source_id=feed.id)
    [changed] = await store.articles.write_batch([(_record(0, "The ferry reopened."), _ANALYSIS)])
    assert changed.status == "updated"
    kept, counted = await _word_counts(store)
    assert {w: n for w, n in kept.items() if n} == counted
    assert (kept["harbour"], kept["ferri"], kept["lighthous"]) == (2, 1, 1)
    assert await store.sources.remove(A, feed.id) == (feed, 1)
    kept, counted = await _word_counts(store)
    assert {w: n for w, n in kept.items() if n} == counted
    assert (kept["harbour"], kept["lighthous"]) == (1, 0)  # a word no article holds stays, at 0
    assert await store.search.find("lighthouse") == []


@pytest.mark.postgresql_only
async def test_postgresql_bounds_and_estimates_a_query_from_the_counts_of_its_words(store: Store) -> None:
    for n, text in enumerate(["harbour ferry", "harbour ferry", "harbour rain", "rain snow"]):
        await store.articles.write_batch([(_record(n, text), _ANALYSIS)])
    everything = 4.0
    # (estimate, bound): an AND expects independent words, bounded by its rarer side; & binds tighter
    # than |, ! tighter than &; a prefix not expanded and a NOT may match anything.
    expected = {
        "'harbour'": (3, 3),
        "'harbour' | 'snow'": (4, 4),
        "'harbour' & 'rain'": (1.5, 2),
        "'harbour' <-> 'rain'": (2, 2),
        "'harbour' | 'snow' & 'rain'": (3.5, 4),
        "( 'harbour' | 'snow' ) & 'rain'": (2, 2),
        "!'harbour' & 'snow'": (1, 1),
        "'harbour':* & 'snow'": (1, 1),
        "'nothing' & 'harbour'": (0, 0),
        "'nothing' | 'snow'": (1, 1),
        "": (4, 4),
    }
    for query, (estimate, bound) in expected.items():
        [row] = await store.db.fetchall(
            "SELECT estimate, bound FROM search_matches_estimate(?, ?)", (query, everything)
        )
        assert (row["estimate"], row["bound"]) == (pytest.approx(estimate), bound), query
