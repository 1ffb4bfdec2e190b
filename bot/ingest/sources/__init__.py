"""Sources of articles, one module per type, each run by :class:`bot.ingest.service.IngestionService`.

A source type is a module here whose factory builds a :class:`~bot.ingest.sources.base.Source` from a
:class:`~bot.ingest.sources.base.SourceContext`, and one line in :data:`SOURCE_TYPES`.
"""

from bot.ingest.sources import feeds, folders
from bot.ingest.sources.base import Ingest, Notify, Source, SourceContext, SourceFactory

SOURCE_TYPES: dict[str, SourceFactory] = {
    "folders": folders.make,
    "feeds": feeds.make,
}
"""Every source type the bot runs, by name."""

__all__ = ["SOURCE_TYPES", "Ingest", "Notify", "Source", "SourceContext", "SourceFactory"]
