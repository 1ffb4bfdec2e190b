"""Alerts in the running bot: the outbox dispatcher, retention, notices to servers, and the alert commands.

:class:`AlertService` is created and started by the bot's ``setup_hook`` and stopped by its ``close``,
from explicit parts (the store, the settings, the answers that resolve names, the Discord client and the
prefix of each server): it knows nothing of the bot class. The alerts cog only parses input and calls the
methods here. Each command method is catalogued
(:mod:`bot.catalogue`) and returns an answer object (:mod:`bot.alerts.answers`) that :mod:`bot.render`
formats: no Discord markup is made here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import discord

from bot.alerts.answers import (
    AlertsOff,
    AlertsOn,
    AlertsStatus,
    Followed,
    FollowingAnswer,
    Unfollowed,
    WhyAnswer,
)
from bot.alerts.dispatcher import AlertDispatcher
from bot.alerts.retention import OutboxRetention
from bot.answers import Answers, Choices, NotFound, Resolved, UserError, Wanted, parse_article_id
from bot.catalogue import command
from bot.config import Settings
from bot.ingest.fetch import redact_url
from bot.models import Follow
from bot.nlp.names import name_key
from bot.nlp.topics import topic_key
from bot.render import message_text
from bot.replies import NO_PINGS
from bot.store import Store

log = logging.getLogger(__name__)


class AlertService:
    """Owns the background alert tasks (delivery, retention) and answers the alert commands."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        answers: Answers,
        client: discord.Client,
        prefix_for: Callable[[int], str],
    ) -> None:
        self.store = store
        self.settings = settings
        self.answers = answers
        self.client = client
        self.dispatcher = AlertDispatcher(
            client,
            store,
            per_minute=settings.alerts_per_minute,
            prefix_for=prefix_for,
            notify_guild=self.notify_guild,
        )
        self.retention = OutboxRetention(self.store, retention_days=self.settings.retention_days)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start delivering and pruning."""
        for name, runner in (
            ("alerts-dispatcher", self.dispatcher.run),
            ("alerts-retention", self.retention.run),
        ):
            self._tasks.append(asyncio.create_task(runner(), name=name))

    async def stop(self) -> None:
        """Let in-flight sends finish, then stop the tasks."""
        self.dispatcher.stop()
        self.retention.stop()
        done, pending = await asyncio.wait(self._tasks, timeout=10) if self._tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception():
                log.error("alert task %s ended with an error", task.get_name(), exc_info=task.exception())

    # ------------------------------------------------------------------------------------ notices

    async def notify_guild(self, guild_id: int, text: str) -> None:
        """Tell a server something (its system channel, else the first channel the bot may post in)."""
        guild = self.client.get_guild(guild_id)
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

    async def notify_channel(self, guild_id: int, channel_id: int, text: str) -> None:
        """Tell a server something in one of its channels (where a feed was added), else as :meth:`notify_guild`."""
        try:
            await self.client.get_partial_messageable(channel_id, guild_id=guild_id).send(
                message_text(text), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            await self.notify_guild(guild_id, message_text(text))

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
        return await self.answers.resolve(text, Wanted.SUBJECT_OR_NEW_NAME, "follow")

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

    @command(
        "why",
        "why <id>",
        "Which follows and feeds made an article alert here, and why it joined its story.",
        "why 1",
        where="server",
    )
    async def why(self, guild_id: int, article_text: str | int) -> WhyAnswer | NotFound:
        """Which follows and sources made an article alert in this server, and how it was grouped."""
        article_id = parse_article_id(article_text)
        article = await self.store.articles.get(article_id)
        if article is None:
            return NotFound(f"There is no article {article_id}.")
        alerts = await self.store.alerts.for_article(guild_id, article_id)
        return WhyAnswer(article_id, article.title, alerts, await self.store.stories.decision(article_id))
