"""How a process learns that another one changed the articles: for what is cached from the index (the name
indexes of autocomplete and typo suggestions) and for the alert dispatcher, which can then send at once.

The interface is :class:`~bot.store.database.Database`'s: :meth:`~bot.store.database.Database.announce`
(inside the write that changed articles), :meth:`~bot.store.database.Database.data_version` (a number
that moves when another process announced something) and :meth:`~bot.store.database.Database.on_change`
(called when it does, where the database can say so at once).

- SQLite: nothing to announce or listen to. ``PRAGMA data_version`` moves whenever another connection
  commits, and reading it costs no I/O, so caches compare it when they are used.
- PostgreSQL: the announcing transaction sends ``NOTIFY newsdesk_articles`` (delivered at its commit,
  dropped with its rollback); every process LISTENs on a connection of its own (:class:`ChangeListener`),
  counts what it hears from the others, and calls its subscribers. No process polls the server.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

import asyncpg

ARTICLES_CHANNEL = "newsdesk_articles"
# After the listening connection was lost, a new one is tried at most this often (when the version is asked).
RECONNECT_SECONDS = 5.0

log = logging.getLogger(__name__)


class ChangeListener:
    """A connection LISTENing on :data:`ARTICLES_CHANNEL`: :attr:`version` counts the changes other
    processes announced (a notification carries the announcer's :attr:`token`, so a process does not
    count its own) and each one calls the subscribers. A lost connection counts as a change (what was
    announced meanwhile is unknown) and is opened again at the next :meth:`current`."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self._connect = connect
        self._connection: asyncpg.Connection | None = None
        self._subscribers: list[Callable[[], None]] = []
        self._retry_at = 0.0
        self.token = secrets.token_hex(8)  # what this process's announcements carry
        self.version = 0

    async def start(self) -> None:
        """Open the listening connection."""
        connection = await self._connect()
        try:
            await connection.add_listener(ARTICLES_CHANNEL, self._heard)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(self._lost)
        self._connection = connection

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop; it must not block) at every change heard."""
        self._subscribers.append(callback)

    async def current(self) -> int:
        """:attr:`version`, after opening the connection again if it was lost."""
        loop = asyncio.get_running_loop()
        if self._connection is None and loop.time() >= self._retry_at:
            self._retry_at = loop.time() + RECONNECT_SECONDS
            try:
                await self.start()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot listen for new articles (%s); trying again in %.0f s", exc, RECONNECT_SECONDS)
            else:
                self._changed()  # what was announced while it was away is unknown
        return self.version

    def _heard(self, connection: object, pid: int, channel: str, payload: str) -> None:
        if payload != self.token:
            self._changed()

    def _lost(self, connection: object) -> None:
        if connection is self._connection:
            log.warning("the connection listening for new articles was lost; it is opened again when needed")
            self._connection = None
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        for callback in self._subscribers:
            try:
                callback()
            except Exception:
                log.exception("a subscriber to new articles failed")

    async def close(self) -> None:
        """Stop listening."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=5)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                connection.terminate()
