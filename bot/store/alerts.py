"""Alert tables: alert channels, follows, and the outbox.

Alerts for a new article are planned inside the transaction that writes it (:meth:`AlertQueries.plan`,
called by :meth:`bot.store.articles.ArticleQueries.write_batch`), so an article is never indexed without
its alerts, and the dispatcher only ever reads the outbox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.alerts.planning import (
    NEAR_DUPLICATE_WINDOW,
    FeedOrigin,
    FollowMatch,
    PlannedAlert,
    alert_nonce,
    plan_alerts,
    title_key,
    within_stories,
    without_repeats,
)
from bot.models import (
    AlertPolicy,
    DueAlert,
    Follow,
    SentAlert,
    StoryPost,
    to_iso,
)
from bot.store.database import Database, chunks, current_time


class AlertQueries:
    """The alert tables (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Set when a write planned alerts, so an in-process dispatcher wakes at once.
        self.planned = asyncio.Event()

    # --------------------------------------------------------------------------- alert channels

    async def set_channel(self, guild_id: int, channel_id: int, set_by: int) -> None:
        """Make ``channel_id`` the channel of ``guild_id`` that gets every new article."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO alert_channels (guild_id, channel_id, enabled, set_by, updated_at) "
                "VALUES (?, ?, 1, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id, "
                "enabled = 1, set_by = excluded.set_by, updated_at = excluded.updated_at",
                (guild_id, channel_id, set_by, current_time()),
            )

    async def disable(self, guild_id: int) -> int | None:
        """Switch a server's alert channel off; returns the channel it was, if any."""
        async with self._db.write() as db, db.execute(
            "UPDATE alert_channels SET enabled = 0, updated_at = ? WHERE guild_id = ? AND enabled = 1 "
            "RETURNING channel_id",
            (current_time(), guild_id),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row["channel_id"]) if row else None

    async def channel(self, guild_id: int) -> int | None:
        """The server's enabled alert channel."""
        rows = await self._db.fetchall(
            "SELECT channel_id FROM alert_channels WHERE guild_id = ? AND enabled = 1", (guild_id,)
        )
        return int(rows[0]["channel_id"]) if rows else None

    async def channel_lost(self, channel_id: int, reason: str) -> list[int]:
        """A channel is gone or closed to the bot: drop its pending alerts and switch its alerts off.

        Returns the servers whose alert channel it was (they get a notice).
        """
        now = current_time()
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET status = CASE status WHEN 'pending' THEN 'dropped' ELSE status END, "
                "pings_left = '[]', error = ? WHERE channel_id = ? AND (status = 'pending' OR pings_left != '[]')",
                (reason, channel_id),
            )
            async with db.execute(
                "UPDATE alert_channels SET enabled = 0, updated_at = ? WHERE channel_id = ? AND enabled = 1 "
                "RETURNING guild_id",
                (now, channel_id),
            ) as cursor:
                guilds = [int(row["guild_id"]) async for row in cursor]
        return guilds

    # ---------------------------------------------------------------------------------- follows

    async def add_follow(self, follow: Follow) -> bool:
        """Record a follow; ``False`` when it already existed."""
        async with self._db.write() as db, db.execute(
            "INSERT OR IGNORE INTO follows (guild_id, user_id, kind, target_key, name, channel_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING 1",
            (
                follow.guild_id,
                follow.user_id,
                follow.kind,
                follow.target_key,
                follow.name,
                follow.channel_id,
                current_time(),
            ),
        ) as cursor:
            added = await cursor.fetchone() is not None
        return added

    async def remove_follow(self, guild_id: int, user_id: int, kind: str, target_key: str) -> bool:
        """Forget a follow; ``False`` when there was none."""
        async with self._db.write() as db, db.execute(
            "DELETE FROM follows WHERE guild_id = ? AND user_id = ? AND kind = ? AND target_key = ? RETURNING 1",
            (guild_id, user_id, kind, target_key),
        ) as cursor:
            removed = await cursor.fetchone() is not None
        return removed

    async def follows_of(self, guild_id: int, user_id: int) -> list[Follow]:
        """What one member follows in one server."""
        rows = await self._db.fetchall(
            "SELECT guild_id, user_id, kind, target_key, name, channel_id FROM follows "
            "WHERE guild_id = ? AND user_id = ? ORDER BY kind, name",
            (guild_id, user_id),
        )
        return [Follow(**row) for row in rows]

    # ----------------------------------------------------------------------------------- outbox

    async def plan(self, article_id: int, policy: AlertPolicy, *, is_new: bool) -> int:
        """Write the outbox rows for an article, inside the caller's transaction. Returns how many.

        Who gets what is decided by :func:`bot.alerts.planning.plan_alerts` from what is gathered here:
        the feed the article came through, the follows it matches, the alert channels of the servers
        concerned, and each planned channel's recent titles (a story is not posted twice in a channel).
        """
        db = self._db.writer
        feed: FeedOrigin | None = None
        if policy.source_id is not None:
            async with db.execute(
                "SELECT id, guild_id, channel_id, COALESCE(title, url) AS name FROM sources WHERE id = ?",
                (policy.source_id,),
            ) as cursor:
                row = await cursor.fetchone()
            feed = FeedOrigin(**row) if row else None
        follows: list[FollowMatch] = []
        if is_new:
            async with db.execute(
                """
                SELECT f.guild_id, f.user_id, f.kind, f.name, f.channel_id FROM follows f
                WHERE (f.kind = 'entity' AND f.target_key IN (
                        SELECT e.key FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
                        WHERE ae.article_id = ? AND ae.salience >= ?))
                   OR (f.kind = 'topic' AND f.target_key IN (
                        SELECT t.key FROM article_topics at JOIN topics t ON t.id = at.topic_id
                        WHERE at.article_id = ?))
                ORDER BY f.guild_id, f.created_at
                """,
                (article_id, policy.follow_salience, article_id),
            ) as cursor:
                follows = [FollowMatch(**row) for row in await cursor.fetchall()]
        every_server = policy.source_id is None and is_new  # a new article from a file
        servers = {f.guild_id for f in follows} | ({feed.guild_id} if feed else set())
        channels = await self._enabled_channels(None if every_server else servers)
        planned = plan_alerts(policy, is_new=is_new, feed=feed, alert_channels=channels, follows=follows)
        if not planned:
            return 0

        async with db.execute(
            "SELECT a.title, s.story_id FROM articles a LEFT JOIN article_stories s ON s.article_id = a.id "
            "WHERE a.id = ?",
            (article_id,),
        ) as cursor:
            row = await cursor.fetchone()
        key = title_key(row["title"] if row else "")
        story_id: int | None = row["story_id"] if row else None
        if story_id is not None:
            planned = await self._within_story(planned, story_id, article_id)
        now = datetime.now(UTC)
        since = to_iso(now - NEAR_DUPLICATE_WINDOW)
        recent: dict[int, list[str]] = {}
        for alert in planned:
            async with db.execute(
                "SELECT title_key FROM outbox WHERE channel_id = ? AND created_at >= ? AND article_id != ? "
                "ORDER BY created_at DESC LIMIT 300",
                (alert.channel_id, since, article_id),
            ) as cursor:
                recent[alert.channel_id] = [r["title_key"] async for r in cursor]
        written = 0
        for alert in without_repeats(planned, key, recent):
            async with db.execute(
                "INSERT OR IGNORE INTO outbox (article_id, guild_id, channel_id, title_key, ping_user_ids, reasons, "
                "nonce, next_attempt_at, created_at, story_id, thread_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    article_id,
                    alert.guild_id,
                    alert.channel_id,
                    key,
                    json.dumps(alert.pings),
                    json.dumps(alert.reasons),
                    alert_nonce(article_id, alert.channel_id),
                    to_iso(now),
                    to_iso(now),
                    story_id,
                    alert.thread_of,
                ),
            ) as cursor:
                written += await cursor.fetchone() is not None
        return written

    async def _within_story(self, planned: list[PlannedAlert], story_id: int, article_id: int) -> list[PlannedAlert]:
        """``planned`` as entries of the story's posts where it has one, without the pings it already
        made (see :func:`~bot.alerts.planning.within_stories`), read inside the caller's transaction."""
        db = self._db.writer
        posts: dict[int, int] = {}
        pinged: dict[int, set[int]] = {}
        for alert in planned:
            # A post of its own: pending or sent (a story only listed in a flood-control digest has none).
            async with db.execute(
                "SELECT id FROM outbox WHERE story_id = ? AND channel_id = ? AND thread_of IS NULL "
                "AND status IN ('pending', 'sent') AND article_id != ? ORDER BY id LIMIT 1",
                (story_id, alert.channel_id, article_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None:
                posts[alert.channel_id] = int(row["id"])
            if alert.guild_id not in pinged:
                async with db.execute(
                    "SELECT ping_user_ids FROM outbox WHERE story_id = ? AND guild_id = ? AND status != 'dropped' "
                    "AND article_id != ?",
                    (story_id, alert.guild_id, article_id),
                ) as cursor:
                    pinged[alert.guild_id] = {u async for r in cursor for u in json.loads(r["ping_user_ids"])}
        return within_stories(planned, posts, pinged)

    async def _enabled_channels(self, servers: set[int] | None) -> dict[int, int]:
        """The enabled alert channel of each of ``servers`` that has one (``None``: of every server),
        read inside the caller's transaction."""
        db = self._db.writer
        channels: dict[int, int] = {}
        if servers is None:
            async with db.execute(
                "SELECT guild_id, channel_id FROM alert_channels WHERE enabled = 1 ORDER BY guild_id"
            ) as cursor:
                channels.update({row["guild_id"]: row["channel_id"] async for row in cursor})
            return channels
        for chunk in chunks(sorted(servers)):
            async with db.execute(
                "SELECT guild_id, channel_id FROM alert_channels WHERE enabled = 1 "
                f"AND guild_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ) as cursor:
                channels.update({row["guild_id"]: row["channel_id"] async for row in cursor})
        return channels

    async def due(self, now: str, limit: int = 50) -> list[DueAlert]:
        """Alerts whose time has come, oldest first: pending ones, and sent ones with pings left."""
        columns = (
            "id, article_id, guild_id, channel_id, ping_user_ids, reasons, nonce, attempts, status, message_id, "
            "pings_left, unknown_since, thread_of"
        )
        rows = await self._db.fetchall(
            f"SELECT {columns} FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? UNION ALL "
            f"SELECT {columns} FROM outbox WHERE pings_left != '[]' AND status != 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            (now, now, limit),
        )
        return [
            DueAlert(
                id=r["id"],
                article_id=r["article_id"],
                guild_id=r["guild_id"],
                channel_id=r["channel_id"],
                ping_user_ids=json.loads(r["ping_user_ids"]),
                reasons=json.loads(r["reasons"]),
                nonce=r["nonce"],
                attempts=r["attempts"],
                status=r["status"],
                message_id=r["message_id"],
                pings_left=json.loads(r["pings_left"]),
                unknown_since=r["unknown_since"],
                thread_of=r["thread_of"],
            )
            for r in rows
        ]

    async def next_due(self) -> str | None:
        """When the next alert (or the rest of its pings) may be sent."""
        rows = await self._db.fetchall(
            "SELECT MIN(due) AS due FROM (SELECT MIN(next_attempt_at) AS due FROM outbox WHERE status = 'pending' "
            "UNION ALL SELECT MIN(next_attempt_at) FROM outbox WHERE pings_left != '[]')"
        )
        return rows[0]["due"] if rows else None

    async def sent_since(self, channel_id: int, since: str) -> int:
        """Messages (alerts and digests) posted in a channel since a time, for flood control; entries of a
        story's post (in its thread, or its footer) add nothing to the channel itself."""
        rows = await self._db.fetchall(
            "SELECT COUNT(DISTINCT message_id) AS n FROM outbox WHERE channel_id = ? AND sent_at >= ? "
            "AND thread_of IS NULL",
            (channel_id, since),
        )
        return int(rows[0]["n"])

    async def mark_sent(
        self, alert_ids: Sequence[int], message_id: int, *, status: str = "sent", pings_left: Sequence[int] = ()
    ) -> None:
        """Alerts delivered (as their own message, or listed in a digest); ``pings_left`` are the users
        that message could not ping, kept on the first alert for the messages that follow (whose
        attempts are counted afresh)."""
        marks = ",".join("?" * len(alert_ids))
        more = json.dumps(list(pings_left))
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET status = ?, sent_at = ?, message_id = ?, error = NULL, unknown_since = NULL, "
                "attempts = CASE WHEN id = ? AND ? != '[]' THEN 0 ELSE attempts + 1 END, "
                "pings_left = CASE id WHEN ? THEN ? ELSE '[]' END "
                f"WHERE id IN ({marks}) AND status = 'pending'",
                (status, current_time(), message_id, alert_ids[0], more, alert_ids[0], more, *alert_ids),
            )

    async def mark_pinged(self, alert_id: int, pings_left: Sequence[int]) -> None:
        """One more message of an alert's pings went out; ``pings_left`` are still to ping (their
        attempts are counted afresh)."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET pings_left = ?, attempts = 0, error = NULL, unknown_since = NULL WHERE id = ?",
                (json.dumps(list(pings_left)), alert_id),
            )

    async def mark_retry(
        self,
        alert_id: int,
        error: str,
        next_attempt_at: str,
        *,
        counts: bool = True,
        unknown_since: str | None = None,
    ) -> None:
        """A send failed for a reason that may pass: try again later. A rate limit does not count as an
        attempt; ``unknown_since`` notes that the message may have been posted after all."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + ?, error = ?, next_attempt_at = ?, "
                "unknown_since = COALESCE(unknown_since, ?) WHERE id = ?",
                (int(counts), error, next_attempt_at, unknown_since, alert_id),
            )

    async def mark_dropped(self, alert_id: int, error: str) -> None:
        """An alert (or the rest of its pings) that can never be delivered."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET status = CASE status WHEN 'pending' THEN 'dropped' ELSE status END, "
                "pings_left = '[]', error = ?, attempts = attempts + 1 WHERE id = ?",
                (error, alert_id),
            )

    # ------------------------------------------------------------------------------ story posts

    async def story_post(self, alert_id: int) -> StoryPost | None:
        """The alert that is its story's post in a channel (``None`` once pruned)."""
        row = await self._db.fetchone(
            "SELECT id, article_id, guild_id, channel_id, status, message_id, thread_id, next_attempt_at "
            "FROM outbox WHERE id = ?",
            (alert_id,),
        )
        return StoryPost(**row) if row else None

    async def set_thread(self, alert_id: int, thread_id: int) -> None:
        """Record the thread made on a story's post (0: none can be made there)."""
        async with self._db.write() as db:
            await db.execute("UPDATE outbox SET thread_id = ? WHERE id = ?", (thread_id, alert_id))

    async def promote(self, alert_id: int) -> None:
        """An entry whose story's post is gone (or was only listed in a digest) posts on its own instead,
        at once; it becomes the story's post in its channel."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET thread_of = NULL, next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                (current_time(), alert_id),
            )

    async def story_outlets(self, post_id: int) -> list[str | None]:
        """The outlet of each article a story's post holds: its own, then its entries delivered so far."""
        rows = await self._db.fetchall(
            "SELECT a.source FROM outbox o JOIN articles a ON a.id = o.article_id "
            "WHERE o.id = ? OR (o.thread_of = ? AND o.status = 'sent') ORDER BY o.id",
            (post_id, post_id),
        )
        return [r["source"] for r in rows]

    async def for_article(self, guild_id: int, article_id: int) -> list[SentAlert]:
        """How an article was alerted in a server (for ``!why``)."""
        rows = await self._db.fetchall(
            "SELECT channel_id, status, reasons, ping_user_ids, sent_at, error, thread_of FROM outbox "
            "WHERE article_id = ? AND guild_id = ? ORDER BY id",
            (article_id, guild_id),
        )
        return [
            SentAlert(
                channel_id=r["channel_id"],
                status=r["status"],
                reasons=json.loads(r["reasons"]),
                ping_user_ids=json.loads(r["ping_user_ids"]),
                sent_at=r["sent_at"],
                error=r["error"],
                story_entry=r["thread_of"] is not None,
            )
            for r in rows
        ]

    async def prune(self, keep: timedelta, *, batch: int = 2000) -> int:
        """Forget delivered, digested and dropped alerts older than ``keep`` (never less than the
        near-duplicate window, which reads them); pending ones stay. Deletes in small transactions so
        other writes are not held up. Returns how many rows went."""
        cutoff = to_iso(datetime.now(UTC) - max(keep, NEAR_DUPLICATE_WINDOW))
        removed = 0
        while True:
            async with self._db.write() as db, db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status != 'pending' "
                "AND pings_left = '[]' AND created_at < ? AND COALESCE(sent_at, created_at) < ? LIMIT ?) "
                "RETURNING 1",
                (cutoff, cutoff, batch),
            ) as cursor:
                deleted = len(await cursor.fetchall())
            removed += deleted
            if deleted < batch:
                return removed

    async def counts(self) -> dict[str, int]:
        """Alerts by status (for stats and benchmarks)."""
        rows = await self._db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}
