"""The index as one object: a :class:`~bot.store.database.Database` and its parts, one per concern."""

from __future__ import annotations

import logging
from types import TracebackType

from bot.locations import Location
from bot.nlp.topics import TOPIC_KEY_VERSION, topic_key
from bot.store.alerts import AlertQueries
from bot.store.articles import ArticleQueries
from bot.store.database import Database, storage_fault
from bot.store.digests import DigestQueries
from bot.store.entities import EntityQueries
from bot.store.search import SearchQueries
from bot.store.servers import ServerQueries
from bot.store.sources import SourceQueries
from bot.store.stories import StoryQueries
from bot.store.topics import TopicQueries
from bot.store.trending import TrendingQueries
from bot.store.trends import TrendQueries

log = logging.getLogger(__name__)


class Store:
    """The Newsdesk index. Open it with ``async with Store.open(location) as store`` (a SQLite file's path, or
    a ``postgresql://`` URL), then ask its parts:
    ``store.articles``, ``store.entities``, ``store.topics``, ``store.search``, ``store.servers``,
    ``store.alerts``, ``store.sources``, ``store.trending``, ``store.digests``, ``store.trends`` (what the
    pictures are drawn from) and ``store.stories``. Each reaches SQL only through :attr:`db`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.entities = EntityQueries(db)
        self.topics = TopicQueries(db)
        self.search = SearchQueries(db)
        self.alerts = AlertQueries(db)
        self.stories = StoryQueries(db)
        self.trending = TrendingQueries(db)
        self.digests = DigestQueries(db, alerts=self.alerts)
        self.trends = TrendQueries(db)
        self.articles = ArticleQueries(
            db,
            entities=self.entities,
            topics=self.topics,
            search=self.search,
            alerts=self.alerts,
            stories=self.stories,
        )
        self.sources = SourceQueries(db, self.articles)
        self.servers = ServerQueries(db, self.articles)

    @property
    def path(self) -> Location:
        """The database file (or the PostgreSQL URL: show it with :attr:`location`)."""
        return self.db.path

    @property
    def location(self) -> str:
        """Where the index is, fit to show (a URL without its password)."""
        return self.db.location

    @classmethod
    def open(cls, location: Location) -> _StoreOpener:
        """Open (creating and migrating as needed) the database at ``location``: a file, or a
        ``postgresql://`` URL."""
        return _StoreOpener(location)

    @classmethod
    async def connect(cls, location: Location) -> Store:
        """Open the database; prefer ``async with Store.open(location)`` which also closes it."""
        store = cls(await Database.connect(location))
        try:
            await store.rekey_topics()
        except BaseException:
            await store.close(optimize=False)
            raise
        return store

    async def rekey_topics(self) -> None:
        """Bring the stored topic keys (topics and the follows of topics) to the current
        :func:`~bot.nlp.topics.topic_key`, once, when it has changed since they were made."""
        if await self.topics.key_version() >= TOPIC_KEY_VERSION:
            return
        async with self.db.write():
            merged = await self.topics.rekey(topic_key, TOPIC_KEY_VERSION)
            await self.alerts.rekey_topic_follows(topic_key)
        self.db.generation += 1
        if merged:
            log.info(
                "topic keys of %s brought to version %d: %d topics merged", self.location, TOPIC_KEY_VERSION, merged
            )

    async def close(self, *, optimize: bool = True) -> None:
        """Close the database (see :meth:`Database.close`)."""
        await self.db.close(optimize=optimize)


class _StoreOpener:
    """``async with Store.open(path) as store`` — opens on enter, closes on exit."""

    def __init__(self, location: Location) -> None:
        self._path = location
        self._store: Store | None = None

    async def __aenter__(self) -> Store:
        self._store = await Store.connect(self._path)
        return self._store

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._store is not None:
            await self._store.close(optimize=exc is None)
        fault = storage_fault(self._path, exc) if exc is not None else None
        if fault is not None:
            raise fault from exc
