"""Indexing runs: idempotent, replacing changed files, de-duplicating texts, surviving a crash."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest import indexer as indexer_module
from bot.ingest.feeds import FeedItem, ParsedFeed, item_record
from bot.ingest.indexer import MAX_TITLE_CHARS, Indexer, capped_record
from bot.ingest.readers import cap_text
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.conftest import SEED_ARTICLE

IndexerFor = Callable[..., Indexer]


def _article(title: str, body: str) -> str:
    return f"{title}\n\n{body}\n"


def _corpus(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"story-{n}.txt"
        path.write_text(
            _article(f"Story {n}", f"Mayor Anna Petrovna{n} opened bridge number {n} in Riverton on day {n}.")
        )
        paths.append(path)
    return paths


async def _count(store: Store, table: str) -> int:
    rows = await store.db.fetchall(f"SELECT COUNT(*) FROM {table}")
    return int(rows[0][0])


async def test_a_future_publication_date_is_clamped_to_ingestion(
    store: Store, indexer_for: IndexerFor, tmp_path: Path
) -> None:
    path = tmp_path / "future.json"
    path.write_text(
        json.dumps(
            {
                "title": "From the future",
                "body": "Mayor Anna Hughes opened a bridge in Leeds.",
                "published": "2099-01-01T00:00:00Z",
            }
        )
    )
    feed = ParsedFeed(title="Future News", link=None, items=[])
    item = FeedItem(
        "g",
        "https://news.example/f",
        "Tomorrow",
        "Mayor Ian Wood opened a road in York.",
        None,
        datetime(2099, 1, 1, tzinfo=UTC),
    )
    record = item_record(item, feed, "https://news.example/feed", fetched_at=datetime.now(UTC))
    reports = [await indexer_for(store).index_paths([path]), await indexer_for(store).index_records([record])]
    for report in reports:
        article = await store.articles.get(report.articles[0].article_id)
        assert article is not None and article.published == article.ingested_at  # not 2099
    today = tmp_path / "today.json"
    today.write_text(
        json.dumps(
            {
                "title": "Today",
                "body": "Mayor Jo Lee opened a school in Hull.",
                "published": datetime.now(UTC).isoformat(),
            }
        )
    )
    await indexer_for(store).index_paths([today])
    assert (await store.articles.latest(1))[0].title == "Today"  # the future ones do not sit on top


async def test_rerun_is_unchanged_and_analyses_nothing(store: Store, indexer_for: IndexerFor, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    shutil.copy(SEED_ARTICLE, folder)
    first = await indexer_for(store).index_paths([folder])
    assert (first.indexed, first.unchanged, first.skipped) == (1, 0, [])
    second = await indexer_for(store).index_paths([folder])
    assert (second.indexed, second.analysed, second.unchanged) == (0, 0, 1)
    assert "1 unchanged" in second.summary_line()


async def test_a_changed_file_replaces_its_rows_and_keeps_its_id(
    store: Store, indexer_for: IndexerFor, tmp_path: Path
) -> None:
    path = tmp_path / "story.txt"
    path.write_text(_article("Talks", "Officials from China met in Geneva to discuss trade."))
    first = await indexer_for(store).index_paths([path])
    article_id = first.articles[0].article_id
    path.write_text(_article("Talks", "Officials from Brazil met in Geneva to discuss trade."))
    second = await indexer_for(store).index_paths([path])
    assert (second.updated, second.indexed) == (1, 0)
    assert second.articles[0].article_id == article_id
    article = await store.articles.get(article_id)
    assert article is not None
    names = {e.name for e in article.entities}
    assert "Brazil" in names and "China" not in names
    assert await store.entities.by_key("china") is None  # no article mentions it any more
    assert [h.article.id for h in await store.search.find("Brazil")] == [article_id]
    assert await store.search.find("China") == []


async def test_same_text_under_two_paths_is_one_article(store: Store, indexer_for: IndexerFor, tmp_path: Path) -> None:
    text = _article("Same", "A storm hit the coast of Portugal on Sunday, cutting power to thousands.")
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.txt").write_text(text.upper().replace("SAME", "Same"))  # case differs: still the same text
    report = await indexer_for(store).index_paths([tmp_path])
    assert (report.indexed, report.duplicates) == (1, 1)
    assert await _count(store, "articles") == 1
    article = await store.articles.get(report.articles[0].article_id)
    assert article is not None and len(article.origins) == 2


async def test_bad_files_are_reported_and_the_rest_lands(store: Store, indexer_for: IndexerFor, tmp_path: Path) -> None:
    _corpus(tmp_path, 2)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "image.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "big.txt").write_text("x" * 5000)
    (tmp_path / "latin.txt").write_bytes(
        "Gol\n\nSe\xf1or P\xe9rez scored twice for Valencia in Madrid.".encode("latin-1")
    )
    (tmp_path / "mixed.jsonl").write_text(json.dumps({"text": "The Louvre in Paris reopened on Monday."}) + "\n{oops\n")
    (tmp_path / "notes.pdf").write_text("x")
    (tmp_path / ".hidden.txt").write_text(_article("Hidden", "Never indexed."))
    report = await indexer_for(store, max_file_bytes=4096).index_paths([tmp_path])
    reasons = {Path(where).name: reason for where, reason in report.skipped}
    assert set(reasons) == {"empty.txt", "image.txt", "big.txt", "mixed.jsonl", "notes.pdf"}
    assert "line 2" in reasons["mixed.jsonl"] and "too large" in reasons["big.txt"]
    assert report.indexed == 4  # two stories, the Latin-1 file, the good JSON line
    latin = [a for a in report.articles if a.origin.endswith("latin.txt")]
    article = await store.articles.get(latin[0].article_id, with_body=True)
    assert article is not None and article.body is not None and "Señor Pérez" in article.body
    assert "5 skipped" in report.summary_line()


async def test_a_crash_mid_batch_leaves_a_consistent_index_and_a_rerun_completes(
    store: Store, indexer_for: IndexerFor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path, 5)
    attach = store.articles._attach_analysis
    calls = 0

    async def failing_attach(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 3:  # the first article of the second batch, after its article row was written
            raise RuntimeError("killed")
        return await attach(*args, **kwargs)

    monkeypatch.setattr(store.articles, "_attach_analysis", failing_attach)
    with pytest.raises(RuntimeError, match="killed"):
        await indexer_for(store, batch_size=2).index_paths([tmp_path])
    assert await _count(store, "articles") == 2
    assert await _count(store, "origins") == 2
    assert await _count(store, "files") == 2
    orphans = await store.db.fetchall(
        "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM origins o WHERE o.article_id = a.id)"
    )
    assert orphans[0][0] == 0
    searchable = (
        "SELECT COUNT(*) FROM articles WHERE search_vector IS NOT NULL"
        if store.db.dialect == "postgresql"
        else "SELECT COUNT(*) FROM articles_fts"
    )
    fts = await store.db.fetchall(searchable)
    assert fts[0][0] == 2

    monkeypatch.setattr(store.articles, "_attach_analysis", attach)
    rerun = await indexer_for(store, batch_size=2).index_paths([tmp_path])
    assert (rerun.indexed, rerun.unchanged) == (3, 2)
    assert await _count(store, "articles") == 5
    again = await indexer_for(store, batch_size=2).index_paths([tmp_path])
    assert (again.indexed, again.unchanged) == (0, 5)


async def test_a_record_removed_from_a_file_is_removed(store: Store, indexer_for: IndexerFor, tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps({"text": f"The mayor of Lisbon opened bridge {n} on the river Tagus."}) for n in range(3)]
    path.write_text("\n".join(lines))
    assert (await indexer_for(store).index_paths([path])).indexed == 3
    path.write_text("\n".join(lines[:2]))
    report = await indexer_for(store).index_paths([path])
    assert (report.removed, report.unchanged) == (1, 2)
    assert await _count(store, "articles") == 2


async def test_force_reanalyses_in_place(store: Store, indexer_for: IndexerFor, tmp_path: Path) -> None:
    _corpus(tmp_path, 2)
    first = await indexer_for(store).index_paths([tmp_path])
    forced = await indexer_for(store).index_paths([tmp_path], force=True)
    assert forced.updated == 2
    assert sorted(a.article_id for a in forced.articles) == sorted(a.article_id for a in first.articles)
    entity = await store.entities.by_key("riverton")
    assert entity is not None and entity.article_count == 2


async def test_feed_records_are_deduplicated_by_text(store: Store, indexer_for: IndexerFor) -> None:
    from datetime import UTC, datetime

    from bot.ingest.readers import content_hash
    from bot.models import ArticleRecord

    body = "Farmers in Kenya reported a record harvest of tea this season."
    records = [
        ArticleRecord(
            origin=f"https://feed{n}.example/item",
            title="Tea",
            body=body,
            content_hash=content_hash(body),
            published=datetime(2024, 1, n + 1, tzinfo=UTC),
        )
        for n in range(2)
    ]
    report = await indexer_for(store).index_records(records)
    assert (report.indexed, report.duplicates) == (1, 1)
    assert (await indexer_for(store).index_records(records)).unchanged == 2


async def test_running_totals_match_a_recount(store: Store, indexer_for: IndexerFor, tmp_path: Path) -> None:
    paths = _corpus(tmp_path / "news", 4)
    shutil.copy(SEED_ARTICLE, tmp_path / "news")
    await indexer_for(store, batch_size=2).index_paths([tmp_path / "news"])
    paths[0].write_text(_article("Story 0", "Mayor Anna Petrovna1 closed bridge number 1 in Riverton for repairs."))
    paths[1].write_text(_article("Story 1", "Officials in Lisbon met bankers from Riverton on Monday."))
    await indexer_for(store).index_paths([tmp_path / "news"], force=True)
    mismatched = await store.db.fetchall(
        """
        SELECT e.name FROM entities e
        WHERE e.article_count != (SELECT COUNT(*) FROM article_entities ae WHERE ae.entity_id = e.id)
           OR e.mention_count != (SELECT SUM(mentions) FROM article_entities ae WHERE ae.entity_id = e.id)
           OR e.last_seen != (SELECT MAX(published) FROM article_entities ae WHERE ae.entity_id = e.id)
        """
    )
    assert mismatched == []
    topics = await store.db.fetchall(
        "SELECT t.name FROM topics t WHERE t.article_count != (SELECT COUNT(*) FROM article_topics x "
        "WHERE x.topic_id = t.id) OR abs(t.score_sum - (SELECT SUM(score) FROM article_topics x "
        "WHERE x.topic_id = t.id)) > 1e-9"
    )
    assert topics == []
    labels = await store.db.fetchall(
        "SELECT l.entity_id FROM entity_labels l WHERE l.mentions != (SELECT COALESCE(SUM(mentions), 0) "
        "FROM article_entity_labels x WHERE x.entity_id = l.entity_id AND x.label = l.label)"
    )
    assert labels == []
    milei = await store.entities.by_key("javier milei")
    assert milei is not None and (milei.article_count, milei.mention_count) == (1, 4)


def test_cap_text_cuts_at_a_word_and_capped_record_rehashes() -> None:
    from datetime import UTC, datetime

    from bot.ingest.readers import content_hash
    from bot.models import ArticleRecord

    assert cap_text("short text", 100) == "short text"
    assert cap_text("alpha beta gamma", 12) == "alpha beta"
    assert cap_text("x" * 50, 20) == "x" * 20  # no space in the second half: cut at the limit
    body = "Harbour news. " * 1000
    record = ArticleRecord(
        origin="o", title="T " * 400, body=body, content_hash=content_hash(body), published=datetime.now(UTC)
    )
    capped = capped_record(record, 1000)
    assert len(capped.body) <= 1000 and capped.body.endswith("news.") and body.startswith(capped.body)
    assert capped.content_hash == content_hash(capped.body)
    assert len(capped.title) <= MAX_TITLE_CHARS and capped.title.endswith("…")
    assert capped_record(capped, 1000) is capped


async def test_over_long_texts_are_cut_before_analysis_and_the_run_goes_on(
    store: Store, indexer_for: IndexerFor, tmp_path: Path
) -> None:
    """spaCy refuses texts over a million characters (E088), which once ended the whole run: one such
    file kept `newsdesk start` from ever starting. Every text is cut to max_article_chars first."""
    sentence = "The council met again on Tuesday to discuss the future of the old harbour. "
    (tmp_path / "long.txt").write_text(_article("Harbour plans", sentence * 15_000))  # 1.13 MB
    paragraph = "".join(f"<p>{sentence}It was meeting {n}.</p>" for n in range(20_000))
    page = f"<html><head><title>Harbour</title></head><body><article>{paragraph}</article></body></html>"
    (tmp_path / "long.html").write_text(page)  # 2 MB on one line
    _corpus(tmp_path / "more", 1)
    indexer = indexer_for(store, max_file_bytes=3_000_000)
    indexer.max_article_chars = 20_000  # the default is 100 000; the cut is the same, analysis shorter
    report = await indexer.index_paths([tmp_path])
    assert (report.indexed, report.skipped) == (3, [])
    for result in report.articles:
        article = await store.articles.get(result.article_id, with_body=True)
        assert article is not None and article.body is not None
        assert 15_000 < len(article.body) <= 20_000 or "Petrovna" in article.body
        last = article.body.split()[-1]
        assert last in [*sentence.split(), "It", "was", "meeting", "Riverton"] or last[:-1].isdigit()  # whole words


async def test_a_file_that_breaks_its_reader_is_skipped_and_the_run_goes_on(
    store: Store, indexer_for: IndexerFor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path, 2)
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "odd.md").write_text("# Odd\n\nText.")
    in_worker = indexer_module.in_worker

    async def failing_read(function, path: Path, max_bytes: int):  # type: ignore[no-untyped-def]
        if path.name == "odd.md":
            raise ValueError("reader bug\nsecond line")
        return await in_worker(function, path, max_bytes)

    monkeypatch.setattr(indexer_module, "in_worker", failing_read)
    report = await indexer_for(store).index_paths([tmp_path])
    reasons = {Path(where).name: reason for where, reason in report.skipped}
    assert reasons == {
        "deep.json": "malformed JSON (nested too deeply)",
        "odd.md": "could not be read (ValueError: reader bug)",
    }
    assert report.indexed == 2


async def test_an_article_whose_analysis_raises_is_skipped_alone(
    store: Store, indexer_for: IndexerFor, analyzer: Analyzer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose analysis raises is analysed again one article at a time; only the bad one is lost."""
    _corpus(tmp_path, 3)
    (tmp_path / "story-1.txt").write_text(_article("Poison", "POISON in the harbour of Riverton."))
    analyze = analyzer.analyze

    def poisoned(articles):  # type: ignore[no-untyped-def]
        if any("POISON" in a.body for a in articles):
            raise RuntimeError("poisoned\nat length")
        return analyze(articles)

    monkeypatch.setattr(analyzer, "analyze", poisoned)
    report = await indexer_for(store).index_paths([tmp_path])
    assert report.indexed == 2
    assert [(Path(where).name, reason) for where, reason in report.skipped] == [
        ("story-1.txt", "analysis failed (RuntimeError: poisoned)")
    ]


async def test_feed_records_whose_analysis_raises_are_skipped_with_a_line(
    store: Store,
    indexer_for: IndexerFor,
    analyzer: Analyzer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import UTC, datetime

    from bot.ingest.readers import content_hash
    from bot.models import ArticleRecord

    bodies = ["Ferries to Riverton resumed on Monday.", "POISON ferries.", "Riverton opened a new ferry pier."]
    records = [
        ArticleRecord(origin=f"https://news.example/{n}", title=f"Ferry {n}", body=body,
                      content_hash=content_hash(body), published=datetime(2024, 1, 1, tzinfo=UTC))
        for n, body in enumerate(bodies)
    ]  # fmt: skip
    analyze = analyzer.analyze

    def poisoned(articles):  # type: ignore[no-untyped-def]
        if any("POISON" in a.body for a in articles):
            raise RuntimeError("poisoned")
        return analyze(articles)

    monkeypatch.setattr(analyzer, "analyze", poisoned)
    report = await indexer_for(store).index_records(records)
    assert report.indexed == 2
    assert report.skipped == [("https://news.example/1", "analysis failed (RuntimeError: poisoned)")]
    assert "skipped https://news.example/1: analysis failed" in caplog.text
