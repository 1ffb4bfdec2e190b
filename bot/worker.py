"""``newsdesk worker``: a process that polls feeds and indexes what they bring, with no Discord gateway.

Run as many as the feeds need, on one index (SQLite in WAL, or PostgreSQL) with the bots, whose settings
say ``ingest = "workers"`` so that they poll no feed themselves. Each worker claims the feeds that are
due with a lease (:mod:`bot.leases`) and polls them as the bot would (:mod:`bot.ingest.sources.feeds`):
articles are analysed in its own analysis processes, and their alerts go to the outbox in the same
transaction, for the bots' dispatchers to send. It watches no folder: the bot does.

SIGTERM or SIGINT stops it cleanly: the polls under way finish (for up to a lease's length), and its
leases are given back, so the others take its feeds at once. Killed outright, it loses nothing either:
its feeds are taken over when their leases run out.

A feed that keeps failing is paused and its server told, in the channel where it was added: through
Discord's REST API when ``DISCORD_TOKEN`` is set (no gateway needed), else only in this process's log.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from typing import TYPE_CHECKING, Any

import discord

from bot.config import Secrets, Settings
from bot.factory import load_aliases, make_analyzer
from bot.ingest.fetch import redact_url
from bot.ingest.service import IngestionService
from bot.ingest.sources import feeds
from bot.ingest.sources.feeds import FeedPoller
from bot.locations import describe
from bot.render import message_text
from bot.store import Store

if TYPE_CHECKING:
    from bot.nlp.analyzer import Analyzer

log = logging.getLogger(__name__)

# A feed added or resumed in a bot (which wakes its own poller at once) is noticed by the workers
# within this many seconds: they learn of it from the database.
IDLE_SECONDS = 5.0


class Notices:
    """Tells a server about its feeds (a pause) over Discord's REST API, or, without a token, in the log."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._client: discord.Client | None = None

    async def _login(self) -> discord.Client | None:
        if self._token is None:
            return None
        if self._client is None:
            client = discord.Client(intents=discord.Intents.none(), allowed_mentions=discord.AllowedMentions.none())
            try:
                await client.login(self._token)
            except (discord.HTTPException, discord.LoginFailure, OSError) as exc:
                log.warning("no Discord session for notices (%s): they are only logged", exc)
                await client.close()
                self._token = None
                return None
            self._client = client
        return self._client

    async def notify(self, guild_id: int, channel_id: int, text: str) -> None:
        """Post ``text`` in ``channel_id`` of ``guild_id`` (pinging no one); log it when that fails."""
        client = await self._login()
        if client is not None:
            try:
                await client.get_partial_messageable(channel_id, guild_id=guild_id).send(
                    message_text(text), allowed_mentions=discord.AllowedMentions.none()
                )
                return
            except (discord.HTTPException, OSError) as exc:
                log.warning("could not tell server %s in channel %s (%s)", guild_id, channel_id, exc)
        log.warning("notice for server %s: %s", guild_id, redact_url(text))

    async def close(self) -> None:
        """End the REST session, if one was opened."""
        if self._client is not None:
            await self._client.close()
            self._client = None


class FeedWorker:
    """One worker: the store, an ingestion service running the feed source only, and its notices."""

    def __init__(self, settings: Settings, secrets: Secrets, *, analyzer: Analyzer | None = None) -> None:
        self.settings = settings
        self.notices = Notices(secrets.discord_token)
        self._analyzer = analyzer
        self._ingestion: IngestionService | None = None

    def _make_analyzer(self) -> Analyzer:
        if self._analyzer is None:
            # In analysis processes, as in the bot: the event loop renews the leases and must not stall.
            self._analyzer = make_analyzer(self.settings, load_aliases(self.settings), processes_only=True)
        return self._analyzer

    @property
    def poller(self) -> FeedPoller:
        """The feed poller, once :meth:`run` has started it."""
        assert self._ingestion is not None, "the worker is not running"
        return self._ingestion.source(FeedPoller)

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll and index feeds until ``stopping`` is set, then finish the polls under way and give the
        leases back."""
        store = await Store.connect(self.settings.database)
        try:
            ingestion = self._ingestion = IngestionService(
                store,
                self.settings,
                self._make_analyzer,
                notify=self.notices.notify,
                source_types={"feeds": functools.partial(feeds.make, polls_due=True, idle_seconds=IDLE_SECONDS)},
            )
            try:
                await ingestion.start()
                log.info("worker %s polls the feeds of %s", self.poller.lease.owner, describe(self.settings.database))
                await stopping.wait()
                log.info("worker stopping: finishing the polls under way and giving back the feeds")
            finally:
                await ingestion.stop(grace=self.settings.lease_seconds)
        finally:
            await self.notices.close()
            if self._analyzer is not None:
                self._analyzer.close()
            await store.close()


async def run_worker(settings: Settings, secrets: Secrets) -> int:
    """Run one worker until SIGTERM or SIGINT; returns the process exit status."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.getsignal(sig)
            loop.add_signal_handler(sig, stopping.set)
        except (NotImplementedError, RuntimeError):  # not on the main thread, or not on Unix
            previous.pop(sig, None)
    try:
        await FeedWorker(settings, secrets).run(stopping)
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:
                signal.signal(sig, handler)
    return 0
