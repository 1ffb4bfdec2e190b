"""Alerts in the running bot: the outbox dispatcher, folder watching, feed polling, and their commands.

:class:`AlertService` is created and started by the bot's ``setup_hook`` and stopped by its ``close``;
the alert and source cogs only parse input and call the methods here.
"""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot.alerts.answers import FollowingAnswer, SourcesAnswer, WhyAnswer
from bot.alerts.dispatcher import AlertDispatcher
from bot.alerts.poller import MAX_INTERVAL_MINUTES, FeedPoller
from bot.alerts.retention import OutboxRetention
from bot.alerts.watcher import FolderWatcher
from bot.answers import Choices, NotFound, UserError, parse_article_id
from bot.ingest.fetch import FetchError, SafeFetcher, redact_url
from bot.ingest.indexer import Indexer
from bot.nlp.names import name_key
from bot.nlp.topics import topic_key
from bot.render import DISCORD, message_text
from bot.replies import NO_PINGS
from bot.store.alerts import SourceLimitReached
from bot.store.models import AlertPolicy, FeedSource, Follow

if TYPE_CHECKING:
    from bot.app import NewsdeskBot

log = logging.getLogger(__name__)


class AlertService:
    """Owns the background alert tasks and answers the alert commands."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.store = bot.store
        self.fetcher = SafeFetcher(
            timeout=self.settings.feed_timeout_seconds,
            max_bytes=self.settings.feed_max_bytes,
            allowed_private_networks=self.settings.allowed_private_networks,
        )
        self.dispatcher = AlertDispatcher(
            bot,
            self.store,
            per_minute=self.settings.alerts_per_minute,
            prefix_for=lambda guild_id: bot.prefix_in(discord.Object(id=guild_id)),
            notify_guild=self.notify_guild,
        )
        # The analyzer loads spaCy on first use, off the event loop (see start()).
        self.indexer = Indexer(
            self.store, bot.analyzer, max_file_bytes=self.settings.max_file_bytes, batch_size=self.settings.batch_size
        )
        self.poller = FeedPoller(
            self.store,
            self.indexer,
            self.fetcher,
            follow_salience=self.settings.follow_salience,
            max_failures=self.settings.feed_max_failures,
            fetch_full_text=self.settings.fetch_full_text,
            notify=self.notify_source,
        )
        self.watcher = FolderWatcher(
            self.settings.folders, self.index_files, debounce_ms=self.settings.watch_debounce_ms
        )
        self.retention = OutboxRetention(self.store, retention_days=self.settings.retention_days)
        self._tasks: list[asyncio.Task[None]] = []
        self._index_lock = asyncio.Lock()

    @property
    def policy(self) -> AlertPolicy:
        """Alert planning for articles from watched folders."""
        return AlertPolicy(self.settings.follow_salience)

    async def start(self) -> None:
        """Start delivering, watching and polling. spaCy is loaded now only if something will index."""
        await self.fetcher.__aenter__()
        if self.watcher.folders or await self.store.next_source_due() is not None:
            await asyncio.to_thread(lambda: self.bot.analyzer.nlp)
        for name, runner in (
            ("alerts-dispatcher", self.dispatcher.run),
            ("alerts-watcher", self.watcher.run),
            ("alerts-feeds", self.poller.run),
            ("alerts-retention", self.retention.run),
        ):
            self._tasks.append(asyncio.create_task(runner(), name=name))

    async def stop(self) -> None:
        """Let in-flight work finish, then stop the tasks and close the HTTP session."""
        self.dispatcher.stop()
        self.watcher.stop()
        self.poller.stop()
        self.retention.stop()
        done, pending = await asyncio.wait(self._tasks, timeout=10) if self._tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception():
                log.error("alert task %s ended with an error", task.get_name(), exc_info=task.exception())
        await self.fetcher.close()

    async def index_files(self, paths: list[Path]) -> None:
        """Index files that appeared or changed in a watched folder, alerting the new articles."""
        async with self._index_lock:
            report = await self.indexer.index_paths(paths, alerts=self.policy)
        for where, reason in report.skipped:
            log.warning("skipped %s: %s", where, reason)
        if report.analysed:
            log.info("watched folders: %s", report.summary_line())

    # ------------------------------------------------------------------------------------ notices

    async def notify_guild(self, guild_id: int, text: str) -> None:
        """Tell a server something (its system channel, else the first channel the bot may post in)."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            log.warning("notice for unknown server %s: %s", guild_id, redact_url(text))
            return
        candidates = [guild.system_channel, *guild.text_channels]
        for channel in candidates:
            if channel is not None and channel.permissions_for(guild.me).send_messages:
                try:
                    await channel.send(text, allowed_mentions=NO_PINGS)
                    return
                except discord.HTTPException:
                    continue
        log.warning("no channel to tell server %s: %s", guild_id, redact_url(text))

    async def notify_source(self, source: FeedSource, text: str) -> None:
        """Tell a server about one of its feeds, in the channel where the feed was added."""
        try:
            await self.bot.get_partial_messageable(source.channel_id, guild_id=source.guild_id).send(
                message_text(text), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            await self.notify_guild(source.guild_id, message_text(text))

    # ----------------------------------------------------------------------------------- commands

    async def alerts_here(self, guild_id: int, channel_id: int, user_id: int) -> str:
        """Make this channel the server's alert channel."""
        await self.store.set_alert_channel(guild_id, channel_id, user_id)
        return f"New articles will be posted in <#{channel_id}>."

    async def alerts_off(self, guild_id: int) -> str:
        """Stop posting every new article in this server (follows still ping where they were made)."""
        previous = await self.store.disable_alerts(guild_id)
        if previous is None:
            return "Alerts were not on in this server."
        return f"Alerts are off (they were going to <#{previous}>). Follows still ping where they were made."

    async def _subject(self, text: str) -> tuple[str, str, str] | Choices | NotFound:
        """(kind, key, name) of what to follow, resolved like ``!who`` (then as a topic)."""
        text = " ".join(text.split())
        if len(text) > self.settings.max_query_chars:
            raise UserError(f"That is too long: keep it under {self.settings.max_query_chars} characters.")
        if not name_key(text):
            raise UserError("Tell me a name or topic to follow, like: follow Milei.")
        # An exact name, then an exact topic, then what !who would find (prefix, typo).
        exact = await self.store.entity_by_key(name_key(self.bot.aliases.canonical(text) or text))
        if exact is not None:
            return ("entity", name_key(exact.name), exact.name)
        topic = await self.store.topic_by_key(topic_key(text))
        if topic is not None:
            return ("topic", topic.key, topic.name)
        answers = self.bot.answers
        candidates, _ = await answers.entity_candidates(text)
        if candidates:
            if not answers.is_dominant(candidates):
                return Choices.of_entities(text, "follow", candidates)
            return ("entity", name_key(candidates[0].name), candidates[0].name)
        # Nothing indexed yet: follow the name as typed, so the first article about it pings.
        return ("entity", name_key(text), text)

    async def follow(self, guild_id: int, user_id: int, channel_id: int, text: str) -> str | Choices | NotFound:
        """Follow an entity or topic in this server."""
        subject = await self._subject(text)
        if not isinstance(subject, tuple):
            return subject
        kind, key, name = subject
        added = await self.store.add_follow(Follow(guild_id, user_id, kind, key, name, channel_id))
        where = await self.store.alert_channel(guild_id) or channel_id
        if not added:
            return f"You already follow {DISCORD.text(name)}."
        return (
            f"You now follow {DISCORD.text(name)} ({kind}). "
            f"You will be pinged in <#{where}> when it is central to a new article."
        )

    async def unfollow(self, guild_id: int, user_id: int, text: str) -> str:
        """Stop following something."""
        follows = await self.store.follows_of(guild_id, user_id)
        wanted = {name_key(text), topic_key(text)}
        match = [f for f in follows if f.target_key in wanted or name_key(f.name) == name_key(text)]
        if not match:
            subject = await self._subject(text)
            if isinstance(subject, tuple):
                match = [f for f in follows if (f.kind, f.target_key) == subject[:2]]
        if not match:
            return f"You do not follow {DISCORD.text(text)}; see following for what you do."
        for follow in match:
            await self.store.remove_follow(guild_id, user_id, follow.kind, follow.target_key)
        return f"You no longer follow {DISCORD.text(match[0].name)}."

    async def following(self, guild_id: int, user_id: int) -> FollowingAnswer:
        """What a member follows here."""
        return FollowingAnswer(await self.store.follows_of(guild_id, user_id), self.settings.follow_salience)

    async def why(self, guild_id: int, article_text: str) -> WhyAnswer | NotFound:
        """Which follows and sources made an article alert in this server."""
        article_id = parse_article_id(article_text)
        article = await self.store.article(article_id)
        if article is None:
            return NotFound(f"There is no article {article_id}.")
        alerts = await self.store.alerts_for_article(guild_id, article_id)
        return WhyAnswer(article_id, article.title, alerts)

    async def add_source(self, guild_id: int, channel_id: int, user_id: int, url: str, minutes: float | None) -> str:
        """Add a feed: it is fetched now, its items indexed without alerts; new items alert from then on."""
        try:
            url = str(self.fetcher.check_url(url.strip().strip("<>")))
        except FetchError as exc:
            raise UserError(str(exc)) from None
        interval = self.settings.feed_interval_minutes if minutes is None else minutes
        shortest = self.settings.feed_min_interval_minutes
        # "nan" and "inf" parse as numbers; NaN fails every comparison, so test that it is inside.
        if not (math.isfinite(interval) and shortest <= interval <= MAX_INTERVAL_MINUTES):
            raise UserError(
                f"A feed can be checked every {shortest:g} to {MAX_INTERVAL_MINUTES:g} minutes (7 days); "
                "give a number in that range."
            )
        try:
            source = await self.store.add_source(
                guild_id, channel_id, url, interval, user_id, limit=self.settings.feed_max_per_server
            )
        except SourceLimitReached as exc:
            raise UserError(
                f"This server already has {exc.limit} feed(s), the most it may have; remove one first."
            ) from None
        if source is None:
            raise UserError("This server already has that feed; see source list.")
        try:
            outcome = await self.poller.poll(source, adding=True)
        except BaseException:
            # Cancelled, or broken before the poll could report: the feed was not added, so no row may
            # stay behind. Shielded, so that a second cancellation cannot skip the removal.
            await asyncio.shield(self.store.remove_source(guild_id, source.id))
            raise
        if not outcome.ok:
            await self.store.remove_source(guild_id, source.id)
            raise UserError(f"I could not add that feed: {outcome.error}")
        self.poller.wake.set()
        where = await self.store.alert_channel(guild_id) or channel_id
        return (
            f"Added feed #{source.id}: {DISCORD.text(outcome.title or url)} — {outcome.items} item(s) indexed, "
            "not alerted. "
            f"New items will be posted in <#{where}>, checked every {interval:g} minute(s)."
        )

    async def sources(self, guild_id: int) -> SourcesAnswer:
        """The server's feeds."""
        return SourcesAnswer(await self.store.sources_of(guild_id))

    async def remove_source(self, guild_id: int, text: str) -> str:
        """Remove one of the server's feeds by id."""
        source_id = parse_article_id(text)
        removed = await self.store.remove_source(guild_id, source_id)
        if removed is None:
            raise UserError(f"This server has no feed #{source_id}; see source list.")
        return f"Removed feed #{removed.id} ({DISCORD.text(removed.title or removed.url)}). Its articles stay indexed."

    async def resume_source(self, guild_id: int, text: str) -> str:
        """Unpause a paused feed."""
        source_id = parse_article_id(text)
        source = await self.store.resume_source(guild_id, source_id)
        if source is None:
            raise UserError(f"This server has no feed #{source_id}; see source list.")
        self.poller.wake.set()
        return f"Feed #{source.id} is active again and will be checked now."
