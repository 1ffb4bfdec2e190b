"""Alerts in the running bot: the outbox dispatcher, folder watching, feed polling, and their commands.

:class:`AlertService` is created and started by the bot's ``setup_hook`` and stopped by its ``close``;
the alert and source cogs only parse input and call the methods here. Each command method is catalogued
(:mod:`bot.catalogue`) and returns an answer object (:mod:`bot.alerts.answers`) that :mod:`bot.render`
formats: no Discord markup is made here.
"""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot.alerts.answers import (
    AlertsOff,
    AlertsOn,
    AlertsStatus,
    FeedAdded,
    FeedRemoved,
    FeedResumed,
    Followed,
    FollowingAnswer,
    SourcesAnswer,
    Unfollowed,
    WhyAnswer,
)
from bot.alerts.dispatcher import AlertDispatcher
from bot.alerts.poller import MAX_INTERVAL_MINUTES, FeedPoller
from bot.alerts.retention import OutboxRetention
from bot.alerts.watcher import FolderWatcher
from bot.answers import Choices, NotFound, Resolved, UserError, Wanted, parse_article_id, parse_id
from bot.catalogue import command
from bot.ingest.fetch import FetchError, SafeFetcher, redact_url
from bot.ingest.indexer import Indexer
from bot.models import AlertPolicy, FeedSource, Follow
from bot.nlp.names import name_key
from bot.nlp.topics import topic_key
from bot.render import message_text
from bot.replies import NO_PINGS
from bot.store.sources import SourceLimitReached
from bot.wording import plural

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
        if self.watcher.folders or await self.store.sources.next_due() is not None:
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

    @command(
        "alerts",
        "alerts [here | off]",
        "Where new articles are posted in this server; here or off changes it (Manage Server).",
        "alerts here",
        where="server",
    )
    async def alerts_status(self, guild_id: int) -> AlertsStatus:
        """Where this server's new articles are posted."""
        return AlertsStatus(await self.store.alerts.channel(guild_id))

    @command(
        "alerts here",
        "alerts here",
        "Post every new article in this channel (Manage Server).",
        "alerts here",
        where="server",
    )
    async def alerts_here(self, guild_id: int, channel_id: int, user_id: int) -> AlertsOn:
        """Make this channel the server's alert channel."""
        await self.store.alerts.set_channel(guild_id, channel_id, user_id)
        return AlertsOn(channel_id)

    @command(
        "alerts off",
        "alerts off",
        "Stop posting every new article in this server (Manage Server).",
        "alerts off",
        where="server",
    )
    async def alerts_off(self, guild_id: int) -> AlertsOff:
        """Stop posting every new article in this server (follows still ping where they were made)."""
        return AlertsOff(await self.store.alerts.disable(guild_id))

    async def _subject(self, text: str) -> Resolved | Choices | NotFound:
        """What to follow, resolved like ``summary`` (a name not indexed yet is followed as typed)."""
        text = " ".join(text.split())
        if len(text) > self.settings.max_query_chars:
            raise UserError(f"That is too long: keep it under {self.settings.max_query_chars} characters.")
        if not name_key(text):
            raise UserError("Tell me a name or topic to follow, like: follow Milei.")
        return await self.bot.answers.resolve(text, Wanted.SUBJECT_OR_NEW_NAME, "follow")

    @command(
        "follow",
        "follow <name or topic>",
        "Get pinged when a name or topic is central to a new article.",
        "follow Milei",
        where="server",
    )
    async def follow(self, guild_id: int, user_id: int, channel_id: int, text: str) -> Followed | Choices | NotFound:
        """Follow an entity or topic in this server."""
        subject = await self._subject(text)
        if not isinstance(subject, Resolved):
            return subject
        added = await self.store.alerts.add_follow(
            Follow(guild_id, user_id, subject.kind, subject.key, subject.name, channel_id)
        )
        where = await self.store.alerts.channel(guild_id) or channel_id
        return Followed(subject.name, subject.kind, where, already=not added)

    @command(
        "unfollow",
        "unfollow <name or topic>",
        "Stop being pinged about a name or topic.",
        "unfollow Milei",
        where="server",
    )
    async def unfollow(self, guild_id: int, user_id: int, text: str) -> Unfollowed:
        """Stop following something."""
        follows = await self.store.alerts.follows_of(guild_id, user_id)
        wanted = {name_key(text), topic_key(text)}
        match = [f for f in follows if f.target_key in wanted or name_key(f.name) == name_key(text)]
        if not match:
            subject = await self._subject(text)
            if isinstance(subject, Resolved):
                match = [f for f in follows if (f.kind, f.target_key) == (subject.kind, subject.key)]
        if not match:
            return Unfollowed(text, followed=False)
        for follow in match:
            await self.store.alerts.remove_follow(guild_id, user_id, follow.kind, follow.target_key)
        return Unfollowed(match[0].name)

    @command("following", "following", "What you follow in this server.", "following", where="server")
    async def following(self, guild_id: int, user_id: int) -> FollowingAnswer:
        """What a member follows here."""
        return FollowingAnswer(await self.store.alerts.follows_of(guild_id, user_id), self.settings.follow_salience)

    @command("why", "why <id>", "Which follows and feeds made an article alert here.", "why 1", where="server")
    async def why(self, guild_id: int, article_text: str | int) -> WhyAnswer | NotFound:
        """Which follows and sources made an article alert in this server."""
        article_id = parse_article_id(article_text)
        article = await self.store.articles.get(article_id)
        if article is None:
            return NotFound(f"There is no article {article_id}.")
        alerts = await self.store.alerts.for_article(guild_id, article_id)
        return WhyAnswer(article_id, article.title, alerts)

    @command(
        "source add",
        "source add <url> [minutes]",
        "Add a feed: its new items will be posted here (Manage Server).",
        "source add https://example.com/feed.xml 30",
        where="server",
    )
    async def add_source(
        self, guild_id: int, channel_id: int, user_id: int, url: str, minutes: float | None
    ) -> FeedAdded:
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
            source = await self.store.sources.add(
                guild_id, channel_id, url, interval, user_id, limit=self.settings.feed_max_per_server
            )
        except SourceLimitReached as exc:
            raise UserError(
                f"This server already has {plural(exc.limit, 'feed')}, the most it may have; remove one first."
            ) from None
        if source is None:
            raise UserError("This server already has that feed; see source list.")
        try:
            outcome = await self.poller.poll(source, adding=True)
        except BaseException:
            # Cancelled, or broken before the poll could report: the feed was not added, so no row may
            # stay behind. Shielded, so that a second cancellation cannot skip the removal.
            await asyncio.shield(self.store.sources.remove(guild_id, source.id))
            raise
        if not outcome.ok:
            await self.store.sources.remove(guild_id, source.id)
            raise UserError(f"I could not add that feed: {outcome.error}")
        self.poller.wake.set()
        where = await self.store.alerts.channel(guild_id) or channel_id
        return FeedAdded(source.id, outcome.title or url, outcome.items, where, interval)

    @command(
        "source",
        "source [add <url> [minutes] | list | remove <id> | resume <id>]",
        "RSS and Atom feeds whose new items are posted here (Manage Server).",
        "source add https://example.com/feed.xml",
        where="server",
    )
    @command(
        "source list",
        "source list",
        "This server's feeds and their state (Manage Server).",
        "source list",
        where="server",
    )
    async def sources(self, guild_id: int) -> SourcesAnswer:
        """The server's feeds."""
        return SourcesAnswer(await self.store.sources.of_server(guild_id))

    @command(
        "source remove",
        "source remove <id>",
        "Remove a feed; its articles stay searchable (Manage Server).",
        "source remove 3",
        where="server",
    )
    async def remove_source(self, guild_id: int, text: str | int) -> FeedRemoved:
        """Remove one of the server's feeds by id."""
        source_id = parse_feed_id(text)
        removed = await self.store.sources.remove(guild_id, source_id)
        if removed is None:
            raise UserError(f"This server has no feed #{source_id}; see source list.")
        return FeedRemoved(removed.id, removed.title or removed.url)

    @command(
        "source resume",
        "source resume <id>",
        "Check a paused feed again (Manage Server).",
        "source resume 3",
        where="server",
    )
    async def resume_source(self, guild_id: int, text: str | int) -> FeedResumed:
        """Unpause a paused feed."""
        source_id = parse_feed_id(text)
        source = await self.store.sources.resume(guild_id, source_id)
        if source is None:
            raise UserError(f"This server has no feed #{source_id}; see source list.")
        self.poller.wake.set()
        return FeedResumed(source.id)


def parse_feed_id(text: str | int | None) -> int:
    """A feed id from the user (``3`` or ``#3``, as ``source list`` shows it)."""
    return parse_id(text, "Feed ids are whole numbers, like 3 (see this server's feeds with source list).")
