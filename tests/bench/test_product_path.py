"""The quality benchmarks score the product: their analysis of a document is what the indexer stores.

A benchmark that re-assembles the analysis (its own focus, the extractor without the name filter) publishes
figures the product does not reach; these tests index the same texts the way ``newsdesk index`` does and
compare what the store holds with what the benchmarks score.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench import duc, rouge_eval
from bot.config import Settings
from bot.ingest.indexer import Indexer
from bot.nlp.analyzer import Analyzer
from bot.nlp.topics import extract_keyphrases
from bot.store import Store
from tests.conftest import seed_body

# Headline-less documents, as DUC-2001 and CNN/DailyMail give them. The first names its person in the
# extractor's own top phrases, so the name filter of the product changes its topics.
HEWITT = (
    "Patricia Hewitt, the Trade and Industry Secretary, said on Monday that call centre jobs moving abroad "
    "would be replaced by better-paid work at home.\n\n"
    "Ms Hewitt told a conference in London that the Confederation of British Industry had agreed to help "
    "retrain staff. The CBI said firms wanted workers with new skills.\n\n"
    "Unions said the plan came too late for thousands of call centre staff. Ms Hewitt said the government "
    "would publish details of the training scheme next month."
)
TEXTS = [HEWITT, seed_body()]


def _write_documents(folder: Path) -> list[Path]:
    """TEXTS as the JSON files ``{"text": ...}`` a user would index."""
    folder.mkdir()
    paths = []
    for number, text in enumerate(TEXTS):
        path = folder / f"{number}.json"
        path.write_text(json.dumps({"text": text}), encoding="utf-8")
        paths.append(path)
    return paths


async def _stored(store: Store, indexer: Indexer, paths: list[Path]) -> list[tuple[list[str], list[str]]]:
    """Topics and summary the indexer stores for each file, read back from the store."""
    report = await indexer.index_paths(paths)
    assert report.indexed == len(TEXTS) and not report.skipped
    by_origin = {result.origin: result.article_id for result in report.articles}
    stored = []
    for path in paths:
        article = await store.articles.get(by_origin[str(path.resolve())])
        assert article is not None
        stored.append(([t.name for t in article.topics], article.summary))
    return stored


async def test_benchmarks_score_what_the_indexer_stores(
    store: Store, indexer_for, analyzer: Analyzer, settings: Settings, tmp_path: Path
) -> None:
    stored = await _stored(store, indexer_for(store), _write_documents(tmp_path / "docs"))
    documents = [duc.DucDocument(str(n), text, ()) for n, text in enumerate(TEXTS)]
    topics = await asyncio.to_thread(duc.product_topics, documents, settings, analyzer)
    summaries = await asyncio.to_thread(rouge_eval.product_summaries, TEXTS, settings, analyzer)

    assert topics == [names for names, _ in stored]
    assert summaries == ["\n".join(summary) for _, summary in stored]
    assert all(len(names) == 10 for names in topics)
    assert all(len(summary) == 3 for _, summary in stored)


def test_benchmark_topics_went_through_the_name_filter(analyzer: Analyzer, settings: Settings) -> None:
    raw = [k.text for k in extract_keyphrases(analyzer.nlp(HEWITT), limit=10)]
    assert "Patricia Hewitt" in raw  # the bare extractor ranks the person among its topics...
    [topics] = duc.product_topics([duc.DucDocument("hewitt", HEWITT, ())], settings, analyzer)
    assert not [t for t in topics if "Hewitt" in t], topics  # ...the product does not
