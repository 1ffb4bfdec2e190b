"""The index store: SQLite through aiosqlite, with numbered migrations. All SQL lives in this package.

:class:`Store` owns one :class:`~bot.store.database.Database` (the connections, the write lock, the
migrations) and exposes a part per concern: ``articles`` (writes and article reads), ``entities``,
``topics``, ``search``, ``servers`` (per-server settings), ``alerts`` (alert channels, follows, the
outbox) and ``sources`` (feeds).
"""

from bot.store.database import StoreError
from bot.store.search import fts_words
from bot.store.store import Store

__all__ = ["Store", "StoreError", "fts_words"]
