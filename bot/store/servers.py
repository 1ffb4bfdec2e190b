"""Per-server settings: each server's command prefix."""

from __future__ import annotations

from bot.store.database import Database, current_time


class ServerQueries:
    """The ``guild_settings`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def prefixes(self) -> dict[int, str]:
        """Every server's own command prefix."""
        rows = await self._db.fetchall("SELECT guild_id, prefix FROM guild_settings WHERE prefix IS NOT NULL")
        return {int(r["guild_id"]): r["prefix"] for r in rows}

    async def set_prefix(self, guild_id: int, prefix: str | None) -> None:
        """Set (or with ``None`` reset) a server's command prefix."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET prefix = excluded.prefix, updated_at = excluded.updated_at",
                (guild_id, prefix, current_time()),
            )
        self._db.generation += 1
