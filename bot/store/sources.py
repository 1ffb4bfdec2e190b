"""Feed sources: the RSS and Atom feeds servers added, with their polling state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.models import OPERATOR_SERVER, FeedSource, to_iso
from bot.store.articles import ArticleQueries
from bot.store.database import Database, current_time

# The fields of FeedSource: a row of these builds one by name (FeedSource(**row)).
_SOURCE_COLUMNS = (
    "id, guild_id, channel_id, url, title, interval_minutes, etag, last_modified, last_polled_at, next_poll_at, "
    "failures, last_error, paused, pause_notified, added_by, created_at, shared, lease_owner, lease_until"
)
# A feed whose lease has run out (its holder died, or released it) may be claimed again.
_UNLEASED = "(lease_until IS NULL OR lease_until <= ?)"


class SourceLimitReached(Exception):
    """A server already has as many feeds as it may (``limit``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a server may have at most {limit} feeds")
        self.limit = limit


class SourceQueries:
    """The ``sources`` table: a server's feeds, which are due, and how each poll went."""

    def __init__(self, db: Database, articles: ArticleQueries) -> None:
        self._db = db
        self._articles = articles

    async def add(
        self,
        guild_id: int,
        channel_id: int,
        url: str,
        interval_minutes: float,
        added_by: int,
        *,
        limit: int | None = None,
        shared: bool = False,
    ) -> FeedSource | None:
        """Register a feed for a server (``shared``: for every server, added by the bot's owner there);
        ``None`` when the server already has it. Raises :class:`SourceLimitReached` when the server
        already has ``limit`` feeds.

        Whoever adds a feed polls it at once (its first poll, which alerts nothing); the polling loop
        sees it due only one interval later, so the two never race for that first poll.
        """
        now = datetime.now(UTC)
        async with self._db.write() as db:
            async with db.execute("SELECT COUNT(*) AS n FROM sources WHERE guild_id = ?", (guild_id,)) as cursor:
                row = await cursor.fetchone()
            if limit is not None and row is not None and row["n"] >= limit:
                raise SourceLimitReached(limit)
            async with db.execute(
                "INSERT INTO sources (guild_id, channel_id, url, interval_minutes, next_poll_at, added_by, "
                "created_at, shared) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT DO NOTHING RETURNING {_SOURCE_COLUMNS}",
                (
                    guild_id,
                    channel_id,
                    url,
                    interval_minutes,
                    to_iso(now + timedelta(minutes=interval_minutes)),
                    added_by,
                    to_iso(now),
                    int(shared),
                ),
            ) as cursor:
                row = await cursor.fetchone()
        return FeedSource(**row) if row else None

    async def sync_operator_feeds(self, urls: Sequence[str], interval_minutes: float) -> tuple[int, int]:
        """Make the operator's feeds (``feeds`` in the settings) exactly ``urls``: shared, in no server.
        A feed no longer listed is removed like any other (its articles go unless another source keeps
        them). Returns how many were added and removed."""
        now = datetime.now(UTC)
        async with self._db.write() as db:
            await self._db.one_writer()
            async with db.execute("SELECT id, url FROM sources WHERE guild_id = ?", (OPERATOR_SERVER,)) as cursor:
                known = {row["url"]: int(row["id"]) async for row in cursor}
            new = [url for url in dict.fromkeys(urls) if url not in known]
            await db.executemany(
                # Several workers register the settings' feeds as they start: one of them adds each.
                "INSERT INTO sources (guild_id, channel_id, url, interval_minutes, next_poll_at, created_at, shared) "
                "VALUES (?, 0, ?, ?, ?, ?, 1) ON CONFLICT (guild_id, url) DO NOTHING",
                [(OPERATOR_SERVER, url, interval_minutes, to_iso(now), to_iso(now)) for url in new],
            )
            dropped = [source_id for url, source_id in known.items() if url not in urls]
            await db.executemany("DELETE FROM sources WHERE id = ?", [(source_id,) for source_id in dropped])
            await self._articles.forget_sources(dropped)
        return len(new), len(dropped)

    async def get(self, source_id: int) -> FeedSource | None:
        """One feed source."""
        rows = await self._db.fetchall(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = ?", (source_id,))
        return FeedSource(**rows[0]) if rows else None

    async def of_server(self, guild_id: int) -> list[FeedSource]:
        """A server's feeds."""
        rows = await self._db.fetchall(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [FeedSource(**row) for row in rows]

    async def remove(self, guild_id: int, source_id: int) -> tuple[FeedSource, int] | None:
        """Remove one of a server's feeds and its filters; returns it and how many articles went with it.
        Its articles are no longer credited to it: one that no other feed of the server delivered is no
        longer visible there, and one that no source at all keeps is removed from the index."""
        async with self._db.write() as db:
            await self._db.one_writer()
            async with db.execute(
                f"DELETE FROM sources WHERE guild_id = ? AND id = ? RETURNING {_SOURCE_COLUMNS}",
                (guild_id, source_id),
            ) as cursor:
                row = await cursor.fetchone()
            removed = 0
            if row is not None:
                await db.execute(
                    "DELETE FROM alert_filters WHERE guild_id = ? AND scope = 'source' AND scope_id = ?",
                    (guild_id, source_id),
                )
                removed = await self._articles.forget_sources([source_id])
        return (FeedSource(**row), removed) if row else None

    async def due(self, now: str, limit: int = 20) -> list[FeedSource]:
        """Feeds whose next poll is due, taken in turns across servers (each server's most overdue,
        then each one's second, …), so a server with many feeds cannot crowd out the others."""
        rows = await self._db.fetchall(
            f"""
            SELECT {_SOURCE_COLUMNS} FROM (
                SELECT *, ROW_NUMBER() OVER (PARTITION BY guild_id ORDER BY next_poll_at, id) AS turn
                FROM sources WHERE paused = 0 AND next_poll_at <= ?
            ) ORDER BY turn, next_poll_at, id LIMIT ?
            """,
            (now, limit),
        )
        return [FeedSource(**row) for row in rows]

    async def next_due(self) -> str | None:
        """When a feed poll may next be claimed: the next feed due, or, for a due feed another process
        holds, when its lease runs out (it moves on sooner when its holder finishes)."""
        rows = await self._db.fetchall(
            "SELECT MIN(CASE WHEN lease_until > next_poll_at THEN lease_until ELSE next_poll_at END) AS due "
            "FROM sources WHERE paused = 0"
        )
        return rows[0]["due"] if rows else None

    async def claim(self, owner: str, now: str, until: str, limit: int) -> list[FeedSource]:
        """Lease up to ``limit`` due feeds to ``owner`` until ``until``, in one statement, taken in turns
        across servers as :meth:`due` takes them: feeds no one holds, or whose lease ran out (their holder
        died mid-poll: they are taken over). Several processes may claim at once; each feed goes to one.
        On PostgreSQL the rows another claim is locking are skipped, not waited for."""
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        async with self._db.write() as db, db.execute(
            f"""
            UPDATE sources SET lease_owner = ?, lease_until = ?
            WHERE id IN (
                SELECT id FROM sources WHERE id IN (
                    SELECT id FROM (
                        SELECT id, next_poll_at,
                            ROW_NUMBER() OVER (PARTITION BY guild_id ORDER BY next_poll_at, id) AS turn
                        FROM sources WHERE paused = 0 AND next_poll_at <= ? AND {_UNLEASED}
                    ) AS due ORDER BY turn, next_poll_at, id LIMIT ?
                ){skip_locked}
            ) AND paused = 0 AND {_UNLEASED}
            RETURNING {_SOURCE_COLUMNS}
            """,
            (owner, until, now, now, limit, now),
        ) as cursor:
            rows = await cursor.fetchall()
        return sorted((FeedSource(**row) for row in rows), key=lambda s: (s.next_poll_at, s.id))

    async def renew(self, owner: str, until: str) -> int:
        """Extend every lease ``owner`` holds to ``until``; returns how many it holds."""
        async with self._db.write() as db, db.execute(
            "UPDATE sources SET lease_until = ? WHERE lease_owner = ? RETURNING id", (until, owner)
        ) as cursor:
            held = len(await cursor.fetchall())
        return held

    async def release(self, owner: str, source_ids: Sequence[int] | None = None) -> None:
        """Give back ``owner``'s leases of ``source_ids`` (``None``: all of them); a lease taken over by
        another process meanwhile stays with it."""
        async with self._db.write() as db:
            if source_ids is None:
                await db.execute(
                    "UPDATE sources SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?", (owner,)
                )
            else:
                await db.executemany(
                    "UPDATE sources SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                    [(source_id, owner) for source_id in source_ids],
                )

    async def polled(
        self, source_id: int, *, title: str | None, etag: str | None, last_modified: str | None, next_poll_at: str
    ) -> None:
        """A successful poll: remember the validators and reset the failure count. ``last_polled_at``
        is set by successful polls only: while it is unset, the feed's next poll is its first."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE sources SET title = COALESCE(?, title), etag = ?, last_modified = ?, last_polled_at = ?, "
                "next_poll_at = ?, failures = 0, last_error = NULL WHERE id = ?",
                (title, etag, last_modified, current_time(), next_poll_at, source_id),
            )

    async def failed(self, source_id: int, error: str, *, next_poll_at: str, pause: bool) -> None:
        """A failed poll: count it, back off, and pause the feed when told to."""
        async with self._db.write() as db:
            # SQLite's "paused OR ?" is PostgreSQL's GREATEST (the flags are integers 0/1 in both).
            paused = "GREATEST(paused, ?)" if self._db.dialect == "postgresql" else "paused OR ?"
            await db.execute(
                "UPDATE sources SET failures = failures + 1, last_error = ?, next_poll_at = ?, "
                f"paused = {paused} WHERE id = ?",
                (error, next_poll_at, int(pause), source_id),
            )

    async def mark_pause_notified(self, source_id: int) -> bool:
        """Note that the server was told its feed is paused; ``False`` if it had been told already."""
        async with self._db.write() as db, db.execute(
            "UPDATE sources SET pause_notified = 1 WHERE id = ? AND paused = 1 AND pause_notified = 0 RETURNING 1",
            (source_id,),
        ) as cursor:
            marked = await cursor.fetchone() is not None
        return marked

    async def resume(self, guild_id: int, source_id: int) -> FeedSource | None:
        """Unpause a feed (a manager fixed it); it is polled at once."""
        async with self._db.write() as db, db.execute(
            "UPDATE sources SET paused = 0, pause_notified = 0, failures = 0, next_poll_at = ? "
            f"WHERE guild_id = ? AND id = ? RETURNING {_SOURCE_COLUMNS}",
            (current_time(), guild_id, source_id),
        ) as cursor:
            row = await cursor.fetchone()
        return FeedSource(**row) if row else None
