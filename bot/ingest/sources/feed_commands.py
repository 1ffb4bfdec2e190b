"""The feed commands: a server adds, lists, removes and resumes its RSS and Atom feeds (Manage Server).

Each command method is catalogued (:mod:`bot.catalogue`) and returns an answer object
(:mod:`bot.ingest.sources.feed_answers`) that :mod:`bot.render` formats; the sources cog only parses input
and calls these.
"""

from __future__ import annotations

import asyncio
import math

from bot.alerts.answers import FiltersAnswer
from bot.alerts.service import change_filters
from bot.answers import Answers, Choices, NotFound, UserError, parse_id
from bot.catalogue import command
from bot.config import Settings
from bot.ingest.fetch import FetchError, SafeFetcher
from bot.ingest.sources.feed_answers import FeedAdded, FeedRemoved, FeedResumed, SourcesAnswer
from bot.ingest.sources.feeds import MAX_INTERVAL_MINUTES, FeedPoller
from bot.store import Store
from bot.store.sources import SourceLimitReached
from bot.wording import plural


class FeedCommands:
    """Answers the feed commands, over the store and the running feed poller."""

    def __init__(
        self, store: Store, settings: Settings, *, fetcher: SafeFetcher, poller: FeedPoller, answers: Answers
    ) -> None:
        self.store = store
        self.settings = settings
        self.answers = answers
        self.fetcher = fetcher
        self.poller = poller

    @command(
        "source add",
        "source add <url> [minutes] [shared]",
        "Add a feed only this server sees (shared: every server, bot owner only) (Manage Server).",
        "source add https://example.com/feed.xml 30",
        where="server",
    )
    async def add_source(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        url: str,
        minutes: float | None,
        *,
        shared: bool = False,
        owner: bool = False,
    ) -> FeedAdded:
        """Add a feed: it is fetched now, its items indexed without alerts; new items alert from then on.

        Its articles are this server's own (no other server sees them), unless the bot's ``owner`` adds it
        ``shared``, for every server."""
        if shared and not owner:
            raise UserError("Only the bot's owner can add a shared feed; without shared, it is this server's own.")
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
                guild_id, channel_id, url, interval, user_id, limit=self.settings.feed_max_per_server, shared=shared
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
        return FeedAdded(source.id, outcome.title or url, outcome.items, where, interval, shared=shared)

    @command(
        "source",
        "source [add <url> [minutes] | list | remove <id> | resume <id> | filter <id> [rule]]",
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
        """The server's feeds, with their filters."""
        sources = await self.store.sources.of_server(guild_id)
        return SourcesAnswer(sources, await self.store.alerts.filters("source", [s.id for s in sources]))

    @command(
        "source filter",
        "source filter <id> [rule | remove <number> | clear]",
        "Which of a feed's new items are posted: rules as for alerts filter (Manage Server).",
        "source filter 3 has:Javier Milei",
        where="server",
    )
    async def source_filter(
        self, guild_id: int, user_id: int, source_text: str | int, text: str | None = None
    ) -> FiltersAnswer | Choices | NotFound:
        """Show, add, remove or clear a feed's filters, written as for ``alerts filter``."""
        source_id = parse_feed_id(source_text)
        source = await self.store.sources.get(source_id)
        if source is None or source.guild_id != guild_id:
            raise UserError(f"This server has no feed #{source_id}; see source list.")
        return await change_filters(
            self.store,
            self.answers,
            guild_id=guild_id,
            user_id=user_id,
            scope="source",
            scope_id=source_id,
            text=text,
            command="source filter",
            name=source.title or source.url,
        )

    @command(
        "source remove",
        "source remove <id>",
        "Remove a feed; articles no other source of this server delivered go with it (Manage Server).",
        "source remove 3",
        where="server",
    )
    async def remove_source(self, guild_id: int, text: str | int) -> FeedRemoved:
        """Remove one of the server's feeds by id."""
        source_id = parse_feed_id(text)
        removed = await self.store.sources.remove(guild_id, source_id)
        if removed is None:
            raise UserError(f"This server has no feed #{source_id}; see source list.")
        feed, articles = removed
        return FeedRemoved(feed.id, feed.title or feed.url, articles)

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
