"""The ingestion service: it runs every registered source type, and a source type is one small class."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.config import Settings
from bot.ingest.indexer import IndexReport
from bot.ingest.readers import content_hash
from bot.ingest.service import IngestionService
from bot.ingest.sources import SOURCE_TYPES, SourceContext
from bot.ingest.sources.feeds import FeedPoller
from bot.ingest.sources.folders import FolderWatcher
from bot.models import AlertPolicy, ArticleRecord
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.settle import eventually

BODY = "The harbour of Galway reopened on Monday after the storms, officials in Galway said."


class OneArticle:
    """A source type as small as one can be: it hands one article to the ingestion service, then waits."""

    def __init__(self, context: SourceContext) -> None:
        self.context = context
        self.report: IndexReport | None = None
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        record = ArticleRecord(
            origin="test:one",
            title="Galway harbour reopens",
            body=BODY,
            content_hash=content_hash(BODY),
            published=datetime(2024, 6, 1, tzinfo=UTC),
        )
        policy = AlertPolicy(self.context.settings.follow_salience)
        self.report = await self.context.ingest.index_records([record], alerts=policy)
        await self._stopping.wait()

    def stop(self) -> None:
        self._stopping.set()

    async def will_index(self) -> bool:
        return True


async def _ignore(guild_id: int, channel_id: int, text: str) -> None:
    raise AssertionError(f"nothing should be told to a server: {text}")


async def test_a_registered_source_type_runs_and_its_articles_are_indexed(
    store: Store, settings: Settings, analyzer: Analyzer
) -> None:
    service = IngestionService(
        store,
        settings.replace(folders=()),
        lambda: analyzer,
        notify=_ignore,
        source_types={**SOURCE_TYPES, "one article": OneArticle},
    )
    await service.start()
    try:
        source = service.source(OneArticle)
        report = await eventually(lambda: source.report, what="the source's article to be indexed")
    finally:
        await service.stop()
    assert report.indexed == 1
    [brief] = await store.articles.latest()
    assert brief.title == "Galway harbour reopens"
    # The built-in types run beside it, built from the same context.
    assert isinstance(service.source(FolderWatcher), FolderWatcher)
    assert isinstance(service.source(FeedPoller), FeedPoller)


async def test_the_indexer_is_built_once_at_the_first_article(
    store: Store, settings: Settings, analyzer: Analyzer
) -> None:
    made: list[Analyzer] = []

    def provide() -> Analyzer:
        made.append(analyzer)
        return analyzer

    service = IngestionService(store, settings, provide, notify=_ignore, source_types={})
    assert made == []  # nothing indexes yet: no analyzer (and no spaCy import) was asked for
    first, second = await asyncio.gather(service.indexer(), service.indexer())
    assert first is second and first.analyzer is analyzer and len(made) == 1
