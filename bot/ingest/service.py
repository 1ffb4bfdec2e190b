"""Ingestion in the running bot: every registered source of articles, and the indexer they feed.

:class:`IngestionService` is created and started by the bot's ``setup_hook`` and stopped by its
``close``. It owns the HTTP fetcher the sources share, the :class:`~bot.ingest.indexer.Indexer` (built at
the first article, or at start when a source already has work; the analyzer's model is loaded off the
event loop) and the lock that keeps batches of files from interleaving. Sources hand it what they find
through :meth:`index_paths` and :meth:`index_records`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.config import Settings
from bot.ingest.fetch import SafeFetcher
from bot.ingest.indexer import Indexer, IndexReport
from bot.ingest.sources import SOURCE_TYPES, Notify, Source, SourceContext, SourceFactory
from bot.models import AlertPolicy, ArticleRecord
from bot.store import Store

if TYPE_CHECKING:
    from bot.nlp.analyzer import Analyzer

log = logging.getLogger(__name__)

SourceT = TypeVar("SourceT")


class IngestionService:
    """Runs the sources of :data:`~bot.ingest.sources.SOURCE_TYPES` and indexes what they find."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        analyzer: Callable[[], Analyzer],
        *,
        notify: Notify,
        source_types: Mapping[str, SourceFactory] = SOURCE_TYPES,
    ) -> None:
        self.store = store
        self.settings = settings
        self._analyzer = analyzer
        self.fetcher = SafeFetcher(
            timeout=settings.feed_timeout_seconds,
            max_bytes=settings.feed_max_bytes,
            allowed_private_networks=settings.allowed_private_networks,
        )
        self._indexer: Indexer | None = None
        self._building = asyncio.Lock()
        self._index_lock = asyncio.Lock()
        context = SourceContext(settings=settings, store=store, ingest=self, fetcher=self.fetcher, notify=notify)
        self.sources: dict[str, Source] = {name: make(context) for name, make in source_types.items()}
        self._tasks: list[asyncio.Task[None]] = []

    def source(self, kind: type[SourceT]) -> SourceT:
        """The running source of type ``kind`` (``service.source(FeedPoller)``)."""
        for source in self.sources.values():
            if isinstance(source, kind):
                return source
        raise LookupError(f"no {kind.__name__} source is registered")

    async def indexer(self) -> Indexer:
        """The indexer, built on first use: its analyzer is created in a worker thread, so the event loop
        never waits for what it imports."""
        if self._indexer is None:
            async with self._building:
                if self._indexer is None:
                    analyzer = await asyncio.to_thread(self._analyzer)
                    self._indexer = Indexer(
                        self.store,
                        analyzer,
                        max_file_bytes=self.settings.max_file_bytes,
                        batch_size=self.settings.batch_size,
                        max_article_chars=self.settings.max_article_chars,
                    )
        return self._indexer

    async def index_paths(self, paths: Sequence[Path], *, alerts: AlertPolicy | None = None) -> IndexReport:
        """Index files that appeared or changed, one batch of files at a time."""
        indexer = await self.indexer()
        async with self._index_lock:
            return await indexer.index_paths(paths, alerts=alerts)

    async def index_records(
        self, records: Sequence[ArticleRecord], *, alerts: AlertPolicy | None = None, source_id: int | None = None
    ) -> IndexReport:
        """Index article records from a source that is not files (feed items of feed ``source_id``)."""
        return await (await self.indexer()).index_records(records, alerts=alerts, source_id=source_id)

    async def start(self) -> None:
        """Start every source. The model is loaded now only if a source already has something to index."""
        await self.fetcher.__aenter__()
        if any([await source.will_index() for source in self.sources.values()]):
            await asyncio.to_thread((await self.indexer()).analyzer.warm_up)
        for name, source in self.sources.items():
            self._tasks.append(asyncio.create_task(source.run(), name=f"source-{name}"))

    async def stop(self, *, grace: float = 10.0) -> None:
        """Let in-flight indexing finish (for up to ``grace`` seconds), then stop the sources and close
        the HTTP session."""
        for source in self.sources.values():
            source.stop()
        done, pending = await asyncio.wait(self._tasks, timeout=grace) if self._tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception():
                log.error("source task %s ended with an error", task.get_name(), exc_info=task.exception())
        await self.fetcher.close()
