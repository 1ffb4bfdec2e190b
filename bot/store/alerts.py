"""Alert tables: alert and spike channels, follows, spikes announced, and the outbox.

Alerts for a new article are planned inside the transaction that writes it (:meth:`AlertQueries.plan`,
called by :meth:`bot.store.articles.ArticleQueries.write_batch`), so an article is never indexed without
its alerts, and the dispatcher only ever reads the outbox.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerts.filters import ArticleFacts, FilterRule
from bot.alerts.planning import (
    NEAR_DUPLICATE_WINDOW,
    FeedOrigin,
    FilteredAlert,
    FollowMatch,
    PlannedAlert,
    alert_nonce,
    apply_filters,
    plan_alerts,
    plan_spike_posts,
    post_nonce,
    title_key,
    within_stories,
    without_repeats,
)
from bot.models import (
    AlertPolicy,
    ChannelSettings,
    DueAlert,
    FilteredRecord,
    Follow,
    PlannedPost,
    RoleFollow,
    SentAlert,
    StoryPost,
    to_iso,
)
from bot.store.database import Database, chunks, current_time
from bot.trending import WINDOWS

_FILTER_COLUMNS = "id, scope_id, kind, negate, rule_values, labels"
_DUE_COLUMNS = (
    "id, article_id, guild_id, channel_id, ping_user_ids, reasons, nonce, attempts, status, message_id, "
    "pings_left, unknown_since, ping_role_ids, thread_id, kind, payload, thread_of"
)
# The channels another dispatcher holds now (parameters: that is not ``owner``, and now).
_HELD_BY_OTHERS = "SELECT channel_id FROM outbox WHERE lease_owner IS NOT NULL AND lease_owner != ? AND lease_until > ?"

ShardFilter = tuple[Sequence[int], int]
"""The shards a gateway process serves and how many there are: a server is on shard
``(guild_id >> 22) % shard_count``, as Discord splits them."""


def _on_shards(shards: ShardFilter | None) -> tuple[str, tuple[int, ...]]:
    """The condition (and its parameters) that keeps the servers on ``shards``; none for every server."""
    if shards is None or shards[1] <= 1:
        return "", ()
    shard_ids, shard_count = shards
    return f" AND (guild_id >> 22) % ? IN ({','.join('?' * len(shard_ids))})", (shard_count, *shard_ids)


def _due_alert(r: sqlite3.Row) -> DueAlert:
    return DueAlert(
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
        ping_role_ids=json.loads(r["ping_role_ids"]),
        thread_id=r["thread_id"],
        kind=r["kind"],
        payload=json.loads(r["payload"]) if r["payload"] else None,
        thread_of=r["thread_of"],
    )


def _filter_rule(row: sqlite3.Row) -> FilterRule:
    values, labels = tuple(json.loads(row["rule_values"])), tuple(json.loads(row["labels"]))
    return FilterRule(row["kind"], bool(row["negate"]), values, labels, row["id"])


class AlertQueries:
    """The alert tables (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Set when a write planned alerts, so an in-process dispatcher wakes at once; and where the
        # database tells of other processes' new articles (PostgreSQL), when a worker wrote some.
        self.planned = asyncio.Event()
        db.on_change(self.planned.set)

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
            # Nothing else is posted there either: spikes and digests stop with the alerts.
            await db.execute(
                "UPDATE trending_channels SET enabled = 0, updated_at = ? WHERE channel_id = ?", (now, channel_id)
            )
            await db.execute("DELETE FROM digests WHERE channel_id = ?", (channel_id,))
        return guilds

    async def set_format(self, guild_id: int, channel_id: int, alert_format: str, set_by: int) -> None:
        """How alerts look in ``channel_id``: ``compact``, ``card`` or ``full``."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO alert_channel_settings (channel_id, guild_id, format, set_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET format = excluded.format, "
                "set_by = excluded.set_by, updated_at = excluded.updated_at",
                (channel_id, guild_id, alert_format, set_by, current_time()),
            )

    async def set_threads(self, guild_id: int, channel_id: int, threads: bool, set_by: int) -> None:
        """Whether each alert in ``channel_id`` (a text channel) opens a thread."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO alert_channel_settings (channel_id, guild_id, threads, set_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET threads = excluded.threads, "
                "set_by = excluded.set_by, updated_at = excluded.updated_at",
                (channel_id, guild_id, int(threads), set_by, current_time()),
            )

    async def channel_settings(self, channel_ids: Sequence[int]) -> dict[int, ChannelSettings]:
        """How alerts are posted in each of ``channel_ids`` (the default for a channel not listed)."""
        found: dict[int, ChannelSettings] = {}
        for chunk in chunks(sorted(set(channel_ids))):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT channel_id, format, threads FROM alert_channel_settings WHERE channel_id IN ({marks})", chunk
            )
            found.update({int(r["channel_id"]): ChannelSettings(r["format"], bool(r["threads"])) for r in rows})
        return {channel_id: found.get(channel_id, ChannelSettings()) for channel_id in channel_ids}

    # ---------------------------------------------------------------------------------- filters

    async def add_filter(self, guild_id: int, scope: str, scope_id: int, rule: FilterRule, created_by: int) -> int:
        """Store a filter rule on a feed (``scope`` ``"source"``) or a channel; returns its number."""
        async with self._db.write() as db, db.execute(
            "INSERT INTO alert_filters (guild_id, scope, scope_id, kind, negate, rule_values, labels, created_by, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                guild_id,
                scope,
                scope_id,
                rule.kind,
                int(rule.negate),
                json.dumps(list(rule.values)),
                json.dumps(list(rule.labels)),
                created_by,
                current_time(),
            ),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row["id"])

    async def remove_filters(self, guild_id: int, scope: str, scope_id: int, rule_id: int | None = None) -> int:
        """Remove one rule (by number) or every rule of a feed or channel; returns how many went."""
        extra, params = ("AND id = ?", (rule_id,)) if rule_id is not None else ("", ())
        async with self._db.write() as db, db.execute(
            f"DELETE FROM alert_filters WHERE guild_id = ? AND scope = ? AND scope_id = ? {extra} RETURNING 1",
            (guild_id, scope, scope_id, *params),
        ) as cursor:
            removed = len(await cursor.fetchall())
        return removed

    async def filters(self, scope: str, scope_ids: Sequence[int]) -> dict[int, list[FilterRule]]:
        """The rules of each of ``scope_ids`` (feeds or channels) that has any, oldest first."""
        found: dict[int, list[FilterRule]] = {}
        for chunk in chunks(sorted(set(scope_ids))):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT {_FILTER_COLUMNS} FROM alert_filters WHERE scope = ? AND scope_id IN ({marks}) ORDER BY id",
                (scope, *chunk),
            )
            for row in rows:
                found.setdefault(int(row["scope_id"]), []).append(_filter_rule(row))
        return found

    async def _filters_in_write(self, scope: str, scope_ids: Sequence[int]) -> dict[int, list[FilterRule]]:
        """:meth:`filters`, read inside the caller's transaction."""
        found: dict[int, list[FilterRule]] = {}
        for chunk in chunks(sorted(set(scope_ids))):
            marks = ",".join("?" * len(chunk))
            async with self._db.writer.execute(
                f"SELECT {_FILTER_COLUMNS} FROM alert_filters WHERE scope = ? AND scope_id IN ({marks}) ORDER BY id",
                (scope, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    found.setdefault(int(row["scope_id"]), []).append(_filter_rule(row))
        return found

    async def _facts(self, article_id: int) -> ArticleFacts:
        """What filters look at in an article, read inside the caller's transaction."""
        db = self._db.writer
        async with db.execute("SELECT title, body, url FROM articles WHERE id = ?", (article_id,)) as cursor:
            row = await cursor.fetchone()
        async with db.execute(
            "SELECT e.key FROM article_entities ae JOIN entities e ON e.id = ae.entity_id WHERE ae.article_id = ?",
            (article_id,),
        ) as cursor:
            names = [r["key"] async for r in cursor]
        async with db.execute(
            "SELECT t.key FROM article_topics at JOIN topics t ON t.id = at.topic_id WHERE at.article_id = ?",
            (article_id,),
        ) as cursor:
            topics = [r["key"] async for r in cursor]
        if row is None:
            return ArticleFacts.of("", "", None, names, topics)
        return ArticleFacts.of(row["title"], row["body"], row["url"], names, topics)

    async def _record_filtered(self, article_id: int, filtered: Sequence[FilteredAlert]) -> None:
        now = current_time()
        await self._db.writer.executemany(
            "INSERT INTO filtered_alerts (article_id, guild_id, channel_id, reasons, rule, scope, scope_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (article_id, channel_id) DO UPDATE SET "
            "guild_id = excluded.guild_id, reasons = excluded.reasons, rule = excluded.rule, scope = excluded.scope, "
            "scope_id = excluded.scope_id, created_at = excluded.created_at",
            [
                (article_id, f.guild_id, f.channel_id, json.dumps(f.reasons), f.rule, f.scope, f.scope_id, now)
                for f in filtered
            ],
        )

    async def filtered_for_article(self, guild_id: int, article_id: int) -> list[FilteredRecord]:
        """Where filters kept an article out in a server, and why (for ``!why``)."""
        rows = await self._db.fetchall(
            "SELECT channel_id, reasons, rule, scope, scope_id FROM filtered_alerts "
            "WHERE article_id = ? AND guild_id = ? ORDER BY channel_id",
            (article_id, guild_id),
        )
        return [
            FilteredRecord(r["channel_id"], json.loads(r["reasons"]), r["rule"], r["scope"], r["scope_id"])
            for r in rows
        ]

    # ------------------------------------------------------------------------- trending channels

    async def set_trending_channel(self, guild_id: int, channel_id: int, set_by: int) -> None:
        """Make ``channel_id`` the channel of ``guild_id`` that gets spikes."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO trending_channels (guild_id, channel_id, enabled, set_by, updated_at) "
                "VALUES (?, ?, 1, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id, "
                "enabled = 1, set_by = excluded.set_by, updated_at = excluded.updated_at",
                (guild_id, channel_id, set_by, current_time()),
            )

    async def disable_trending(self, guild_id: int) -> int | None:
        """Stop posting spikes in a server; returns the channel they went to, if any."""
        async with self._db.write() as db, db.execute(
            "UPDATE trending_channels SET enabled = 0, updated_at = ? WHERE guild_id = ? AND enabled = 1 "
            "RETURNING channel_id",
            (current_time(), guild_id),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row["channel_id"]) if row else None

    async def trending_channel(self, guild_id: int) -> int | None:
        """The server's enabled spike channel."""
        row = await self._db.fetchone(
            "SELECT channel_id FROM trending_channels WHERE guild_id = ? AND enabled = 1", (guild_id,)
        )
        return int(row["channel_id"]) if row else None

    async def plan_spike(
        self,
        subjects: Sequence[tuple[str, str]],
        window: str,
        now: datetime,
        make_post: Callable[[int, int, list[dict[str, Any]], list[int]], PlannedPost],
        *,
        for_server: Callable[[int], bool] = lambda guild_id: True,
    ) -> int:
        """Remember that ``subjects`` ((kind, key) pairs: one story's names and topics) spike in ``window``
        at ``now``, and plan its posts, in one transaction: in each server that has a spike channel or a
        member following one of them for spikes, unless one of them was already spiking there (seen
        within a window's length). ``make_post(guild, channel, reasons, pings)`` builds each post. Only
        servers ``for_server`` accepts are concerned (those whose view of the index the spike was seen in).
        Returns how many posts were planned."""
        cutoff = to_iso(now - WINDOWS[window])
        pairs = " UNION ALL ".join("SELECT ? AS kind, ? AS subject_key" for _ in subjects)
        flat = [part for pair in subjects for part in pair]
        async with self._db.write() as db:
            async with db.execute(
                "SELECT guild_id, channel_id FROM trending_channels WHERE enabled = 1 ORDER BY guild_id"
            ) as cursor:
                trending = {
                    row["guild_id"]: row["channel_id"] async for row in cursor if for_server(row["guild_id"])
                }
            async with db.execute(
                f"SELECT f.guild_id, f.user_id, f.kind, f.name, f.channel_id FROM follows f JOIN ({pairs}) s "
                "ON s.kind = f.kind AND s.subject_key = f.target_key WHERE f.spikes = 1 "
                "ORDER BY f.guild_id, f.created_at",
                flat,
            ) as cursor:
                followers = [FollowMatch(**row) async for row in cursor if for_server(row["guild_id"])]
            async with db.execute(
                f"SELECT DISTINCT k.guild_id FROM spikes k JOIN ({pairs}) s ON s.kind = k.kind "
                "AND s.subject_key = k.subject_key WHERE k.window = ? AND k.last_seen_at >= ?",
                (*flat, window, cutoff),
            ) as cursor:
                ongoing = {row["guild_id"] async for row in cursor}
            servers = set(trending) | {f.guild_id for f in followers}
            await db.executemany(
                "INSERT INTO spikes (guild_id, kind, subject_key, \"window\", started_at, last_seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, kind, subject_key, \"window\") DO UPDATE SET "
                "started_at = CASE WHEN spikes.last_seen_at < ? THEN excluded.started_at ELSE spikes.started_at END, "
                "last_seen_at = excluded.last_seen_at",
                [
                    (guild, kind, key, window, to_iso(now), to_iso(now), cutoff)
                    for guild in sorted(servers)
                    for kind, key in subjects
                ],
            )
            alert_channels = await self._enabled_channels({f.guild_id for f in followers})
            planned = plan_spike_posts(
                trending_channels=trending, alert_channels=alert_channels, followers=followers, ongoing=ongoing
            )
            posts = [make_post(p.guild_id, p.channel_id, p.reasons, p.pings) for p in planned]
            written = await self.write_posts(posts, now)
        if written:
            self.planned.set()
        return written

    async def forget_spikes(self, before: datetime) -> None:
        """Forget the spikes last seen before ``before``: they ended, and only the start of a new one is
        posted (as any spike would be)."""
        async with self._db.write() as db:
            await db.execute("DELETE FROM spikes WHERE last_seen_at < ?", (to_iso(before),))

    async def write_posts(self, posts: Sequence[PlannedPost], now: datetime) -> int:
        """Write posts to the outbox inside the caller's transaction; one whose key was planned before is
        skipped. Returns how many were written."""
        written = 0
        for post in posts:
            async with self._db.writer.execute(
                "INSERT INTO outbox (kind, post_key, payload, guild_id, channel_id, title_key, ping_user_ids, "
                "reasons, nonce, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?) "
                "ON CONFLICT (post_key) DO NOTHING RETURNING id",
                (
                    post.kind,
                    post.key,
                    json.dumps(post.payload),
                    post.guild_id,
                    post.channel_id,
                    json.dumps(post.pings),
                    json.dumps(post.reasons),
                    post_nonce(post.key),
                    to_iso(now),
                    to_iso(now),
                ),
            ) as cursor:
                written += await cursor.fetchone() is not None
        return written

    # ---------------------------------------------------------------------------------- follows

    async def add_follow(self, follow: Follow) -> bool:
        """Record a follow, or switch an existing one between every article and spikes only; ``False``
        when it already existed as asked."""
        async with self._db.write() as db, db.execute(
            "INSERT INTO follows (guild_id, user_id, kind, target_key, name, channel_id, created_at, spikes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, kind, target_key) DO UPDATE SET "
            "spikes = excluded.spikes, channel_id = excluded.channel_id WHERE follows.spikes != excluded.spikes "
            "RETURNING 1",
            (
                follow.guild_id,
                follow.user_id,
                follow.kind,
                follow.target_key,
                follow.name,
                follow.channel_id,
                current_time(),
                int(follow.spikes),
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

    async def rekey_topic_follows(self, key_of: Callable[[str], str]) -> None:
        """Follows of topics (members' and roles') and topic filters under the key ``key_of`` makes of their
        stored key, when the topic keys change (inside :meth:`Database.write`); a member or role following
        two topics that became one follows it once."""
        db = self._db.writer
        for table in ("follows", "role_follows"):
            async with db.execute(f"SELECT DISTINCT target_key FROM {table} WHERE kind = 'topic'") as cursor:
                keys = [row["target_key"] async for row in cursor]
            for old, new in ((k, key_of(k)) for k in keys):
                if not new or new == old:
                    continue
                if self._db.dialect == "postgresql":
                    # No UPDATE OR IGNORE there: the rows whose follower already follows the new key stay.
                    who = "user_id" if table == "follows" else "role_id"
                    await db.execute(
                        f"UPDATE {table} SET target_key = ? WHERE kind = 'topic' AND target_key = ? AND NOT EXISTS "
                        f"(SELECT 1 FROM {table} k WHERE k.guild_id = {table}.guild_id AND k.{who} = {table}.{who} "
                        "AND k.kind = 'topic' AND k.target_key = ?)",
                        (new, old, new),
                    )
                else:
                    await db.execute(
                        f"UPDATE OR IGNORE {table} SET target_key = ? WHERE kind = 'topic' AND target_key = ?",
                        (new, old),
                    )
                await db.execute(f"DELETE FROM {table} WHERE kind = 'topic' AND target_key = ?", (old,))
        async with db.execute("SELECT id, rule_values FROM alert_filters WHERE kind = 'topic'") as cursor:
            rules = [(row["id"], json.loads(row["rule_values"])) async for row in cursor]
        for rule_id, values in rules:
            rekeyed = list(dict.fromkeys(key_of(v) or v for v in values))
            if rekeyed != values:
                await db.execute(
                    "UPDATE alert_filters SET rule_values = ? WHERE id = ?", (json.dumps(rekeyed), rule_id)
                )

    async def follows_of(self, guild_id: int, user_id: int) -> list[Follow]:
        """What one member follows in one server."""
        rows = await self._db.fetchall(
            "SELECT guild_id, user_id, kind, target_key, name, channel_id, spikes FROM follows "
            "WHERE guild_id = ? AND user_id = ? ORDER BY kind, name",
            (guild_id, user_id),
        )
        return [Follow(**{**row, "spikes": bool(row["spikes"])}) for row in rows]

    async def add_role_follow(self, follow: RoleFollow, created_by: int) -> bool:
        """Record that a role is pinged about something; ``False`` when it already was."""
        async with self._db.write() as db, db.execute(
            "INSERT INTO role_follows (guild_id, role_id, kind, target_key, name, channel_id, created_by, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (
                follow.guild_id,
                follow.role_id,
                follow.kind,
                follow.target_key,
                follow.name,
                follow.channel_id,
                created_by,
                current_time(),
            ),
        ) as cursor:
            added = await cursor.fetchone() is not None
        return added

    async def remove_role_follow(self, guild_id: int, role_id: int, kind: str, target_key: str) -> bool:
        """Stop pinging a role about something; ``False`` when it was not."""
        async with self._db.write() as db, db.execute(
            "DELETE FROM role_follows WHERE guild_id = ? AND role_id = ? AND kind = ? AND target_key = ? RETURNING 1",
            (guild_id, role_id, kind, target_key),
        ) as cursor:
            removed = await cursor.fetchone() is not None
        return removed

    async def role_follows_of(self, guild_id: int) -> list[RoleFollow]:
        """Every role follow of one server, by role then name."""
        rows = await self._db.fetchall(
            "SELECT guild_id, role_id, kind, target_key, name, channel_id FROM role_follows "
            "WHERE guild_id = ? ORDER BY role_id, kind, name",
            (guild_id,),
        )
        return [RoleFollow(**row) for row in rows]

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
                "SELECT id, guild_id, channel_id, COALESCE(title, url) AS name, shared FROM sources WHERE id = ?",
                (policy.source_id,),
            ) as cursor:
                row = await cursor.fetchone()
            feed = FeedOrigin(**{**row, "shared": bool(row["shared"])}) if row else None
        async with db.execute("SELECT scope FROM article_scopes WHERE article_id = ?", (article_id,)) as cursor:
            scopes = {row["scope"] async for row in cursor}
        follows: list[FollowMatch] = []
        if is_new:
            matches = """
                (f.kind = 'entity' AND f.target_key IN (
                        SELECT e.key FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
                        WHERE ae.article_id = ? AND ae.salience >= ?))
                   OR (f.kind = 'topic' AND f.target_key IN (
                        SELECT t.key FROM article_topics at JOIN topics t ON t.id = at.topic_id
                        WHERE at.article_id = ?))
            """
            # A member following for spikes only is pinged by the spike, not by each article.
            async with db.execute(
                f"""
                SELECT * FROM (
                    SELECT f.guild_id, f.user_id, NULL AS role_id, f.kind, f.name, f.channel_id, f.created_at
                    FROM follows f WHERE f.spikes = 0 AND ({matches})
                    UNION ALL
                    SELECT f.guild_id, NULL, f.role_id, f.kind, f.name, f.channel_id, f.created_at
                    FROM role_follows f WHERE {matches}
                ) ORDER BY guild_id, created_at
                """,
                (article_id, policy.follow_salience, article_id) * 2,
            ) as cursor:
                follows = [
                    FollowMatch(r["guild_id"], r["user_id"], r["kind"], r["name"], r["channel_id"], r["role_id"])
                    for r in await cursor.fetchall()
                ]
        # A new article from a file or a shared feed goes to every server.
        every_server = is_new and (policy.source_id is None or (feed is not None and feed.shared))
        servers = {f.guild_id for f in follows} | ({feed.guild_id} if feed else set())
        channels = await self._enabled_channels(None if every_server else servers)
        planned = plan_alerts(
            policy, is_new=is_new, feed=feed, alert_channels=channels, follows=follows, scopes=scopes
        )
        if not planned:
            return 0
        source_rules = (await self._filters_in_write("source", [feed.id])).get(feed.id, []) if feed else []
        channel_rules = await self._filters_in_write("channel", [alert.channel_id for alert in planned])
        if source_rules or channel_rules:
            planned, filtered = apply_filters(
                planned,
                await self._facts(article_id),
                source_id=feed.id if feed else None,
                source_rules=source_rules,
                channel_rules=channel_rules,
            )
            await self._record_filtered(article_id, filtered)
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
                "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, ping_user_ids, "
                "ping_role_ids, reasons, nonce, next_attempt_at, created_at, story_id, thread_of) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (
                    article_id,
                    alert.guild_id,
                    alert.channel_id,
                    key,
                    json.dumps(alert.pings),
                    json.dumps(alert.role_pings),
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
        pinged_roles: dict[int, set[int]] = {}
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
                    "SELECT ping_user_ids, ping_role_ids FROM outbox WHERE story_id = ? AND guild_id = ? "
                    "AND status != 'dropped' AND article_id != ?",
                    (story_id, alert.guild_id, article_id),
                ) as cursor:
                    rows = await cursor.fetchall()
                pinged[alert.guild_id] = {u for r in rows for u in json.loads(r["ping_user_ids"])}
                pinged_roles[alert.guild_id] = {g for r in rows for g in json.loads(r["ping_role_ids"])}
        return within_stories(planned, posts, pinged, pinged_roles)

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
        rows = await self._db.fetchall(
            f"SELECT {_DUE_COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? UNION ALL "
            f"SELECT {_DUE_COLUMNS} FROM outbox WHERE pings_left != '[]' AND status != 'pending' "
            "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now, now, limit),
        )
        return [_due_alert(r) for r in rows]

    async def claim(
        self,
        owner: str,
        now: str,
        until: str,
        *,
        channels: int,
        limit: int = 500,
        shards: ShardFilter | None = None,
    ) -> list[DueAlert]:
        """Lease to the dispatcher ``owner``, until ``until`` and in one statement, the due alerts (as
        :meth:`due` finds them, at most ``limit``, oldest first) of the ``channels`` channels whose oldest
        due alert is oldest, among the channels no other dispatcher holds: so each channel's flood control
        and stories are one dispatcher's at a time, and several dispatchers share a burst by channels.
        Alerts no one holds are taken, or those whose lease ran out; with ``shards``, only those of the
        servers on them.

        An alert taken over from a dispatcher that died holding it may have been posted in between: its
        outcome is noted as unknown since that claim, so it is first looked for in the channel. On
        PostgreSQL the rows another claim is locking are skipped, not waited for."""
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        on_shards, shard_params = _on_shards(shards)
        claimable = (
            "id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? UNION ALL "
            "SELECT id FROM outbox WHERE pings_left != '[]' AND status != 'pending' AND next_attempt_at <= ?) "
            "AND (lease_until IS NULL OR lease_until <= ?)"
        )
        async with self._db.write() as db, db.execute(
            f"""
            UPDATE outbox SET lease_owner = ?, lease_until = ?, leased_at = ?,
                unknown_since = CASE WHEN lease_owner IS NULL THEN unknown_since
                                     ELSE COALESCE(unknown_since, leased_at) END
            WHERE id IN (
                SELECT id FROM outbox WHERE {claimable} AND channel_id IN (
                    SELECT channel_id FROM outbox
                    WHERE {claimable} AND channel_id NOT IN ({_HELD_BY_OTHERS}){on_shards}
                    GROUP BY channel_id ORDER BY MIN(id) LIMIT ?
                )
                ORDER BY id LIMIT ?{skip_locked}
            ) AND (lease_until IS NULL OR lease_until <= ?)
            RETURNING {_DUE_COLUMNS}
            """,
            (owner, until, now, now, now, now, now, now, now, owner, now, *shard_params, channels, limit, now),
        ) as cursor:
            rows = await cursor.fetchall()
        return sorted((_due_alert(r) for r in rows), key=lambda alert: alert.id)

    async def renew(self, owner: str, until: str) -> int:
        """Extend every lease of the dispatcher ``owner`` to ``until``; returns how many alerts it holds."""
        async with self._db.write() as db, db.execute(
            "UPDATE outbox SET lease_until = ? WHERE lease_owner = ? RETURNING id", (until, owner)
        ) as cursor:
            held = len(await cursor.fetchall())
        return held

    async def release(self, owner: str) -> None:
        """Give back every alert the dispatcher ``owner`` holds (done or not: what is still due is claimed
        again), and clear the leases that a dispatcher which died left on alerts it had finished."""
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, leased_at = NULL "
                "WHERE lease_owner IS NOT NULL AND (lease_owner = ? "
                "OR (lease_until <= ? AND status != 'pending' AND pings_left = '[]'))",
                (owner, current_time()),
            )

    async def next_due(self, owner: str | None = None, *, shards: ShardFilter | None = None) -> str | None:
        """When the next alert (or the rest of its pings) may be sent — by the dispatcher ``owner`` when
        given: its servers only (``shards``), and an alert in a channel another dispatcher holds when that
        lease runs out (sooner if it finishes)."""
        if owner is None:
            rows = await self._db.fetchall(
                "SELECT MIN(due) AS due FROM (SELECT MIN(next_attempt_at) AS due FROM outbox WHERE status = 'pending' "
                "UNION ALL SELECT MIN(next_attempt_at) FROM outbox WHERE pings_left != '[]') AS due"
            )
            return rows[0]["due"] if rows else None
        now = current_time()
        on_shards, shard_params = _on_shards(shards)
        rows = await self._db.fetchall(
            "SELECT MIN(due) AS due FROM ("
            f"SELECT MIN(next_attempt_at) AS due FROM outbox WHERE status = 'pending'{on_shards} "
            f"AND channel_id NOT IN ({_HELD_BY_OTHERS}) UNION ALL "
            f"SELECT MIN(next_attempt_at) FROM outbox WHERE pings_left != '[]'{on_shards} "
            f"AND channel_id NOT IN ({_HELD_BY_OTHERS}) UNION ALL "
            "SELECT MIN(lease_until) FROM outbox WHERE lease_owner IS NOT NULL AND lease_owner != ? "
            f"AND lease_until > ?{on_shards}) AS due",
            (*shard_params, owner, now, *shard_params, owner, now, owner, now, *shard_params),
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
        self,
        alert_ids: Sequence[int],
        message_id: int,
        *,
        status: str = "sent",
        pings_left: Sequence[int] = (),
        thread_id: int | None = None,
    ) -> None:
        """Alerts delivered (as their own message, or listed in a digest); ``pings_left`` are the users
        that message could not ping, kept on the first alert for the messages that follow (whose
        attempts are counted afresh), which go to ``thread_id`` when the message opened a thread."""
        marks = ",".join("?" * len(alert_ids))
        more = json.dumps(list(pings_left))
        async with self._db.write() as db:
            await db.execute(
                "UPDATE outbox SET status = ?, sent_at = ?, message_id = ?, thread_id = ?, error = NULL, "
                "unknown_since = NULL, attempts = CASE WHEN id = ? AND ? != '[]' THEN 0 ELSE attempts + 1 END, "
                "pings_left = CASE id WHEN ? THEN ? ELSE '[]' END "
                f"WHERE id IN ({marks}) AND status = 'pending'",
                (status, current_time(), message_id, thread_id, alert_ids[0], more, alert_ids[0], more, *alert_ids),
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
            "SELECT channel_id, status, reasons, ping_user_ids, ping_role_ids, sent_at, error, thread_of FROM outbox "
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
                ping_role_ids=json.loads(r["ping_role_ids"]),
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
                break
        async with self._db.write() as db:
            await db.execute("DELETE FROM filtered_alerts WHERE created_at < ?", (cutoff,))
        return removed

    async def counts(self) -> dict[str, int]:
        """Alerts by status (for stats and benchmarks)."""
        rows = await self._db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}
