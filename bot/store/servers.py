"""Per-server settings: each server's command prefix and time zone."""

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

    async def timezone(self, guild_id: int) -> str | None:
        """A server's time zone name (``None``: UTC)."""
        row = await self._db.fetchone("SELECT timezone FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return row["timezone"] if row else None

    async def set_timezone(self, guild_id: int, zone: str | None) -> None:
        """Set (or with ``None`` reset to UTC) a server's time zone."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, timezone, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
                (guild_id, zone, current_time()),
            )
