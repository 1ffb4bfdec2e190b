"""The index store: SQLite through aiosqlite, with numbered migrations. All SQL lives here."""

from bot.store.store import Store, StoreError, fts_words

__all__ = ["Store", "StoreError", "fts_words"]
