"""What a source of articles is: something that runs until stopped and hands what it finds (changed
files, or article records) to the ingestion service, with the alert policy they are indexed under.

Each source type is one module of :mod:`bot.ingest.sources` with a factory that builds its source from a
:class:`SourceContext`, registered by one line in :data:`bot.ingest.sources.SOURCE_TYPES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.ingest.fetch import SafeFetcher
    from bot.ingest.indexer import IndexReport
    from bot.models import AlertPolicy, ArticleRecord
    from bot.store import Store


class Ingest(Protocol):
    """Where a source hands what it finds: the ingestion service (an :class:`~bot.ingest.indexer.Indexer`
    has the same two methods, which is enough in tests)."""

    async def index_paths(self, paths: Sequence[Path], *, alerts: AlertPolicy | None = None) -> IndexReport:
        """Index article files (new or changed), alerting new articles under ``alerts``."""
        ...

    async def index_records(
        self, records: Sequence[ArticleRecord], *, alerts: AlertPolicy | None = None, source_id: int | None = None
    ) -> IndexReport:
        """Index article records read from elsewhere (items of feed ``source_id``, to which they are
        credited), alerting new articles under ``alerts``."""
        ...


Notify = Callable[[int, int, str], Awaitable[None]]
"""Tell a server something about one of its sources: ``notify(server_id, channel_id, text)`` posts ``text``
in that channel (or, failing that, wherever the server can read it)."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source type's factory builds its source from."""

    settings: Settings
    store: Store
    ingest: Ingest
    fetcher: SafeFetcher  # for anything fetched over HTTP: refuses private addresses and oversized answers
    notify: Notify


class Source(Protocol):
    """A running source of articles."""

    async def run(self) -> None:
        """Find articles and hand them to the context's ``ingest`` until :meth:`stop`; a failure with one
        batch is logged and the source goes on."""
        ...

    def stop(self) -> None:
        """Make :meth:`run` return after the work in hand."""
        ...

    async def will_index(self) -> bool:
        """Whether it has anything to index yet (then the bot loads the model at start, not at the first
        article)."""
        ...


SourceFactory = Callable[[SourceContext], Source]
