"""The outbox dispatcher: sends planned alerts to Discord, exactly once, within flood limits.

Each alert is sent with a nonce derived from the alert itself (discord.py then asks Discord to enforce
it), so a retry after an unknown outcome — the request went out, the answer never came back — returns
the first message instead of posting a second. Outcomes:

- sent → marked sent with the message id;
- 5xx, 429 (after discord.py's own retries), timeouts, dropped connections → retried with exponential
  backoff (honouring ``retry_after``), up to :data:`MAX_ATTEMPTS`;
- 403 / 404 → the channel is gone or closed to the bot: its pending alerts are dropped, the server's
  alerts are switched off, and the server gets one notice;
- any other 4xx → dropped and logged (the payload itself is wrong; retrying cannot help).

Flood control: at most ``per_minute`` messages per channel per minute; what is due beyond that goes
out as one digest message listing the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import discord

from bot.answers import ArticleAnswer
from bot.render import DISCORD, message_text, to_embeds, truncate
from bot.store import Store
from bot.store.models import Article, DueAlert, to_iso

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 600.0
DIGEST_LINES = 20
WINDOW = timedelta(minutes=1)

Notify = Callable[[int, str], Awaitable[None]]


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait before the next attempt: doubling from 2 s, capped at 10 min."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


def ping_text(alert: DueAlert) -> str | None:
    """The message content that pings an alert's followers, naming what they follow."""
    if not alert.ping_user_ids:
        return None
    names = [str(r["name"]) for r in alert.reasons if r.get("kind") == "follow"]
    mentions = " ".join(f"<@{user_id}>" for user_id in alert.ping_user_ids)
    about = ", ".join(dict.fromkeys(names))
    return truncate(f"{mentions} — new on {DISCORD.text(about)}" if about else mentions, 2000)


def allowed_pings(user_ids: list[int]) -> discord.AllowedMentions:
    """Only the followers may be pinged: never everyone, roles, or anyone the article text names."""
    return discord.AllowedMentions(
        everyone=False, roles=False, replied_user=False, users=[discord.Object(id=u) for u in user_ids]
    )


class AlertDispatcher:
    """Delivers the outbox. :meth:`run` loops until :meth:`stop`; :meth:`deliver_due` is one pass."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        per_minute: int,
        prefix_for: Callable[[int], str],
        notify_guild: Notify,
        poll_seconds: float = 2.0,
    ) -> None:
        self.client = client
        self.store = store
        self.per_minute = per_minute
        self.prefix_for = prefix_for
        self.notify_guild = notify_guild
        self.poll_seconds = poll_seconds
        self.passes = 0  # delivery passes completed (tests wait on it before asserting nothing more was sent)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the current pass and return from :meth:`run`."""
        self._stopping.set()
        self.store.alerts_planned.set()

    async def run(self) -> None:
        """Deliver due alerts, then sleep until new ones are planned or a retry falls due."""
        while not self._stopping.is_set():
            self.store.alerts_planned.clear()
            try:
                await self.deliver_due()
            except Exception:
                log.exception("alert delivery pass failed; retrying shortly")
            self.passes += 1
            await self._sleep()

    async def _sleep(self) -> None:
        timeout = self.poll_seconds  # another process (newsdesk index) may write the outbox too
        due = await self.store.next_alert_due()
        if due is not None:
            wait = datetime.strptime(due, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) - datetime.now(UTC)
            timeout = min(timeout, max(wait.total_seconds(), 0.05))
        try:
            await asyncio.wait_for(self.store.alerts_planned.wait(), timeout)
        except TimeoutError:
            pass

    async def deliver_due(self) -> int:
        """Send every alert that is due now; returns how many were delivered (digested ones included)."""
        now = datetime.now(UTC)
        due = await self.store.due_alerts(to_iso(now), limit=500)
        by_channel: dict[int, list[DueAlert]] = defaultdict(list)
        for alert in due:
            by_channel[alert.channel_id].append(alert)
        delivered = 0
        for channel_id, alerts in by_channel.items():
            delivered += await self._deliver_channel(channel_id, alerts, now)
        return delivered

    async def _deliver_channel(self, channel_id: int, alerts: list[DueAlert], now: datetime) -> int:
        sent_recently = await self.store.sent_since(channel_id, to_iso(now - WINDOW))
        room = self.per_minute - sent_recently
        delivered = 0
        for position, alert in enumerate(alerts):
            if room <= 0:
                rest = alerts[position:]
                if room == 0:  # one digest per window, on top of the individual alerts
                    delivered += await self._send_digest(channel_id, rest)
                return delivered
            outcome = await self._send_one(alert)
            if outcome == "channel lost":
                return delivered
            if outcome == "sent":
                delivered += 1
                room -= 1
        return delivered

    async def _send_one(self, alert: DueAlert) -> str:
        article = await self.store.article(alert.article_id)
        if article is None:
            await self.store.mark_dropped(alert.id, "the article was removed before it could be sent")
            return "dropped"
        channel = self.client.get_partial_messageable(alert.channel_id, guild_id=alert.guild_id)
        try:
            message = await channel.send(
                content=ping_text(alert),
                embed=self._embed(article, alert.guild_id),
                nonce=alert.nonce,
                allowed_mentions=allowed_pings(alert.ping_user_ids),
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            await self._channel_lost(alert, exc)
            return "channel lost"
        except discord.HTTPException as exc:
            return await self._failed(alert, exc, exc.status, getattr(exc, "retry_after", None))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return await self._failed(alert, exc, None, None)
        await self.store.mark_sent([alert.id], message.id)
        return "sent"

    async def _send_digest(self, channel_id: int, alerts: list[DueAlert]) -> int:
        lines = []
        for alert in alerts[:DIGEST_LINES]:
            article = await self.store.article(alert.article_id)
            title = DISCORD.text(article.title) if article else "(removed)"
            lines.append(f"`#{alert.article_id}` {truncate(title, 150)}")
        more = len(alerts) - DIGEST_LINES
        if more > 0:
            lines.append(f"…and {more} more.")
        prefix = self.prefix_for(alerts[0].guild_id)
        pings = list(dict.fromkeys(u for a in alerts for u in a.ping_user_ids))
        header = f"{len(alerts)} more new articles (flood control). Use {prefix}summary <id> for any of them."
        mentions = " ".join(f"<@{u}>" for u in pings)
        content = truncate("\n".join([header, *lines, mentions] if mentions else [header, *lines]), 2000)
        channel = self.client.get_partial_messageable(channel_id, guild_id=alerts[0].guild_id)
        try:
            message = await channel.send(
                content=content, nonce=f"digest{alerts[0].id}", allowed_mentions=allowed_pings(pings)
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            await self._channel_lost(alerts[0], exc)
            return 0
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("digest for channel %s failed (%s); its alerts stay pending", channel_id, exc)
            return 0
        await self.store.mark_sent([a.id for a in alerts], message.id, status="digested")
        return len(alerts)

    def _embed(self, article: Article, guild_id: int) -> discord.Embed:
        return to_embeds(ArticleAnswer(article, summary_only=True), self.prefix_for(guild_id))[0]

    async def _failed(self, alert: DueAlert, exc: BaseException, status: int | None, retry_after: float | None) -> str:
        attempts = alert.attempts + 1
        description = f"{type(exc).__name__}: {exc}"[:300]
        retryable = status is None or status >= 500 or status == 429
        if not retryable or attempts >= MAX_ATTEMPTS:
            log.error(
                "alert %s for article %s dropped after %d attempt(s): %s",
                alert.id,
                alert.article_id,
                attempts,
                description,
            )
            await self.store.mark_dropped(alert.id, description)
            return "dropped"
        delay = backoff(attempts, retry_after)
        log.warning("alert %s failed (%s); retrying in %.0f s", alert.id, description, delay)
        await self.store.mark_retry(alert.id, description, to_iso(datetime.now(UTC) + timedelta(seconds=delay)))
        return "retry"

    async def _channel_lost(self, alert: DueAlert, exc: discord.HTTPException) -> None:
        reason = (
            "the channel no longer exists"
            if isinstance(exc, discord.NotFound)
            else ("I am no longer allowed to post there")
        )
        log.warning("alerts for channel %s switched off: %s (%s)", alert.channel_id, reason, exc.text)
        guilds = await self.store.channel_lost(alert.channel_id, reason)
        for guild_id in guilds or [alert.guild_id]:
            await self.notify_guild(
                guild_id,
                message_text(
                    f"News alerts are switched off: {reason} (channel {alert.channel_id}). "
                    f"A manager can pick a channel again with {self.prefix_for(guild_id)}alerts here."
                ),
            )
