"""Per-server data: each server's command prefix, time zone and its own aliases, and what is deleted when
a server removes the bot (after a grace period) or a member asks the bot to forget them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.models import OPERATOR_SERVER, ServerAlias, UserData, to_iso
from bot.store.articles import ArticleQueries
from bot.store.database import Database, current_time

# Tables holding a server's own rows, by the column naming the server (its feeds are removed apart:
# their articles must be taken back first).
_SERVER_TABLES = (
    "guild_settings",
    "alert_channels",
    "alert_channel_settings",
    "alert_filters",
    "filtered_alerts",
    "trending_channels",
    "follows",
    "role_follows",
    "spikes",
    "digests",
    "server_aliases",
    "outbox",
    "server_departures",
)
# Tables naming the member who set something up for their server (alerts and how they post, filters, role
# pings, spikes, digests), and the column that names them.
_SET_UP_BY = (
    ("alert_channels", "set_by"),
    ("alert_channel_settings", "set_by"),
    ("alert_filters", "created_by"),
    ("role_follows", "created_by"),
    ("trending_channels", "set_by"),
    ("digests", "set_by"),
)


class AliasLimitReached(Exception):
    """A server already has as many aliases as it may (``limit``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a server may have at most {limit} aliases")
        self.limit = limit


class ServerQueries:
    """The per-server tables (``guild_settings``, ``server_aliases``, ``server_departures``), and deleting
    a server's or a member's data across every table."""

    def __init__(self, db: Database, articles: ArticleQueries) -> None:
        self._db = db
        self._articles = articles

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

    # ------------------------------------------------------------------------------------- aliases

    async def alias(self, guild_id: int, alias_key: str) -> str | None:
        """What ``alias_key`` stands for in this server, if it is one of its aliases."""
        row = await self._db.fetchone(
            "SELECT target FROM server_aliases WHERE guild_id = ? AND alias_key = ?", (guild_id, alias_key)
        )
        return row["target"] if row else None

    async def aliases(self, guild_id: int, *, starting: str = "", limit: int = 100) -> list[ServerAlias]:
        """A server's aliases (those whose key starts with ``starting``), in alphabetical order."""
        rows = await self._db.fetchall(
            "SELECT alias, target FROM server_aliases WHERE guild_id = ? AND alias_key >= ? AND alias_key < ? "
            "ORDER BY alias_key LIMIT ?",
            (guild_id, starting, starting + "\U0010ffff", limit),
        )
        return [ServerAlias(r["alias"], r["target"]) for r in rows]

    async def add_alias(
        self, guild_id: int, alias_key: str, alias: str, target: str, user_id: int, *, limit: int
    ) -> bool:
        """Make ``alias`` stand for ``target`` in this server (replacing what it stood for); ``False``
        when it already stood for it. Raises :class:`AliasLimitReached` beyond ``limit`` aliases."""
        async with self._db.write() as db:
            async with db.execute(
                "SELECT COUNT(*) AS n, COUNT(CASE WHEN alias_key = ? THEN 1 END) AS known, "
                "COUNT(CASE WHEN alias_key = ? AND target = ? THEN 1 END) AS same "
                "FROM server_aliases WHERE guild_id = ?",
                (alias_key, alias_key, target, guild_id),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            if row["same"]:
                return False
            if not row["known"] and row["n"] >= limit:
                raise AliasLimitReached(limit)
            await db.execute(
                "INSERT INTO server_aliases (guild_id, alias_key, alias, target, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, alias_key) DO UPDATE SET alias = excluded.alias, "
                "target = excluded.target, created_by = excluded.created_by, created_at = excluded.created_at",
                (guild_id, alias_key, alias, target, user_id, current_time()),
            )
        self._db.generation += 1
        return True

    async def remove_alias(self, guild_id: int, alias_key: str) -> ServerAlias | None:
        """Forget one of a server's aliases; the one removed, if there was one."""
        async with self._db.write() as db, db.execute(
            "DELETE FROM server_aliases WHERE guild_id = ? AND alias_key = ? RETURNING alias, target",
            (guild_id, alias_key),
        ) as cursor:
            row = await cursor.fetchone()
        self._db.generation += 1
        return ServerAlias(row["alias"], row["target"]) if row else None

    # ---------------------------------------------------------------------------- leaving a server

    async def departed(self, guild_id: int, grace: timedelta) -> str:
        """The bot was removed from a server: its data is due for deletion after ``grace`` (an earlier
        departure keeps its date). Returns when."""
        now = datetime.now(UTC)
        async with self._db.write() as db, db.execute(
            "INSERT INTO server_departures (guild_id, left_at, delete_after) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET left_at = server_departures.left_at RETURNING delete_after",
            (guild_id, to_iso(now), to_iso(now + grace)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return str(row["delete_after"])

    async def returned(self, guild_id: int) -> bool:
        """The bot is in a server (again): nothing of it is deleted. ``True`` when a deletion was due."""
        async with self._db.write() as db, db.execute(
            "DELETE FROM server_departures WHERE guild_id = ? RETURNING 1", (guild_id,)
        ) as cursor:
            cancelled = await cursor.fetchone() is not None
        return cancelled

    async def with_data(self) -> list[int]:
        """Every server the store holds something of (settings, channels, follows, aliases, its own feeds …);
        the operator's feeds (server 0) are no server's."""
        tables = [table for table in _SERVER_TABLES if table not in {"outbox", "filtered_alerts", "server_departures"}]
        rows = await self._db.fetchall(
            " UNION ".join([*(f"SELECT guild_id FROM {table}" for table in tables), "SELECT guild_id FROM sources"])
        )
        return sorted(int(r["guild_id"]) for r in rows if r["guild_id"] != OPERATOR_SERVER)

    async def departing(self) -> list[int]:
        """Servers whose data is due for deletion."""
        return [int(r["guild_id"]) for r in await self._db.fetchall("SELECT guild_id FROM server_departures")]

    async def departures(self) -> list[tuple[int, str]]:
        """Servers whose data is due for deletion, with when: the soonest first."""
        rows = await self._db.fetchall(
            "SELECT guild_id, delete_after FROM server_departures ORDER BY delete_after, guild_id"
        )
        return [(int(r["guild_id"]), str(r["delete_after"])) for r in rows]

    async def delete_server(self, guild_id: int) -> int:
        """Delete everything a server keeps: its settings, alert and spike channels, follows, spikes seen,
        digests, aliases, its posts in the outbox, and its own feeds with the articles no other source keeps
        (a shared feed someone added there stays: it is the operator's). Returns how many articles went."""
        async with self._db.write() as db:
            await self._db.one_writer()
            async with db.execute(
                "DELETE FROM sources WHERE guild_id = ? AND shared = 0 RETURNING id", (guild_id,)
            ) as cursor:
                feeds = [int(row["id"]) async for row in cursor]
            removed = await self._articles.forget_sources(feeds)
            for table in _SERVER_TABLES:
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
        self._db.generation += 1
        return removed

    # ------------------------------------------------------------------------------------- people

    async def user_data(self, user_id: int) -> UserData:
        """What the bot holds about one user: their follows (by server), the feeds and aliases they added,
        the alert channels they set, and how many alerts name them (pinged, or still to ping)."""
        follows = await self._db.fetchall(
            "SELECT guild_id, kind, name FROM follows WHERE user_id = ? ORDER BY guild_id, kind, name", (user_id,)
        )
        feeds = await self._db.fetchall(
            "SELECT guild_id, id FROM sources WHERE added_by = ? ORDER BY guild_id, id", (user_id,)
        )
        aliases = await self._db.fetchall(
            "SELECT guild_id, alias FROM server_aliases WHERE created_by = ? ORDER BY guild_id, alias_key", (user_id,)
        )
        channels = await self._db.fetchall(
            " UNION ".join(f"SELECT guild_id FROM {table} WHERE {column} = :user" for table, column in _SET_UP_BY)
            + " ORDER BY guild_id",
            {"user": user_id},
        )
        names_user = _NAMES_USER[self._db.dialect]
        pings = await self._db.fetchone(f"SELECT COUNT(*) AS n FROM outbox WHERE {names_user}", {"user": user_id})
        return UserData(
            follows=[(int(r["guild_id"]), r["kind"], r["name"]) for r in follows],
            feeds_added=[(int(r["guild_id"]), int(r["id"])) for r in feeds],
            aliases_added=[(int(r["guild_id"]), r["alias"]) for r in aliases],
            set_up_in=[int(r["guild_id"]) for r in channels],
            alerts_naming=int(pings["n"]) if pings else 0,
        )

    async def forget_user(self, user_id: int) -> None:
        """Delete a user's follows and take their id off every row that names them: the feeds, aliases
        and alert channels they set up stay for their servers, without their name on them, and no alert
        pings them any more."""
        async with self._db.write() as db:
            await db.execute("DELETE FROM follows WHERE user_id = ?", (user_id,))
            await db.execute("UPDATE sources SET added_by = NULL WHERE added_by = ?", (user_id,))
            await db.execute("UPDATE server_aliases SET created_by = NULL WHERE created_by = ?", (user_id,))
            for table, column in _SET_UP_BY:
                # role_follows.created_by may not be NULL: 0 names no one.
                nobody = 0 if table == "role_follows" else None
                await db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (nobody, user_id))
            await db.execute(_FORGET_PINGS[self._db.dialect], {"user": user_id})


# Outbox rows whose pings name a user: those sent (ping_user_ids) and those still to send (pings_left), JSON
# lists of ids (PostgreSQL: a jsonb array contains a number it holds).
_NAMES_USER = {
    "sqlite": "(EXISTS (SELECT 1 FROM json_each(outbox.ping_user_ids) WHERE value = :user) "
    "OR EXISTS (SELECT 1 FROM json_each(outbox.pings_left) WHERE value = :user))",
    "postgresql": "(outbox.ping_user_ids::jsonb @> to_jsonb(CAST(:user AS BIGINT)) "
    "OR outbox.pings_left::jsonb @> to_jsonb(CAST(:user AS BIGINT)))",
}
# Those lists without the user.
_FORGET_PINGS = {
    "sqlite": "UPDATE outbox SET "
    "ping_user_ids = (SELECT json_group_array(value) FROM json_each(outbox.ping_user_ids) WHERE value != :user), "
    "pings_left = (SELECT json_group_array(value) FROM json_each(outbox.pings_left) WHERE value != :user) "
    f"WHERE {_NAMES_USER['sqlite']}",
    "postgresql": "UPDATE outbox SET "
    "ping_user_ids = (SELECT COALESCE(jsonb_agg(p), '[]')::text "
    "FROM jsonb_array_elements(outbox.ping_user_ids::jsonb) p WHERE p != to_jsonb(CAST(:user AS BIGINT))), "
    "pings_left = (SELECT COALESCE(jsonb_agg(p), '[]')::text FROM jsonb_array_elements(outbox.pings_left::jsonb) p "
    "WHERE p != to_jsonb(CAST(:user AS BIGINT))) "
    f"WHERE {_NAMES_USER['postgresql']}",
}
