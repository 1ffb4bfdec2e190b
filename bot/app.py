"""The Discord bot: a ``commands.Bot`` that owns the store and loads every cog in ``cogs/``.

Start-up order (``setup_hook``): open the store, read per-server prefixes, build the shared answers and
the services (alerts, ingestion and its sources, the feed commands), then load the extensions one by one
— a broken cog is logged and the others still load — and start the services. Slash commands
are synced only by the owner's ``!sync``, or to one development server when the settings name it.

With ``shard_count`` set (``newsdesk run --shards 0-1 --shard-count 4``) the bot is a
:class:`ShardedNewsdeskBot`, discord.py's ``AutoShardedBot`` serving those shards only; work about one server
is then done by the process that owns its shard (:mod:`bot.shards`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import pkgutil
import signal
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

import cogs
from bot.alerts.service import AlertService
from bot.answers import Answers
from bot.config import Secrets, Settings, valid_prefix
from bot.factory import load_aliases, make_analyzer, make_answers
from bot.ingest.service import IngestionService
from bot.ingest.sources.feed_commands import FeedCommands
from bot.ingest.sources.feeds import FeedPoller
from bot.loopwatch import LoopWatch
from bot.models import Clock, utc_now
from bot.nlp.names import AliasTable
from bot.privacy import PrivacyCommands, ServerRetirement
from bot.server_aliases import ServerAliases
from bot.shards import ShardPlan
from bot.store import Store
from bot.store.database import DATABASE_ERRORS, storage_fault
from bot.wording import plural

if TYPE_CHECKING:
    from bot.nlp.analyzer import Analyzer

log = logging.getLogger(__name__)

# A request Discord asks to wait longer than this raises discord.RateLimited instead of sleeping (30 s is
# discord.py's floor): alert sends are rescheduled, not held for minutes inside the dispatcher.
MAX_RATE_LIMIT_WAIT_SECONDS = 30.0


def freeze_startup_objects() -> None:
    """Take what start-up allocated (modules, the model, caches) out of the cyclic collector's sight.

    Those objects live as long as the process; left in the collector's oldest generation, each of its
    periodic passes walks them all, a pause of about a tenth of a second in the middle of some answer.
    """
    gc.collect()
    gc.freeze()


def extension_names() -> list[str]:
    """Every module in the ``cogs`` package, in name order."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_"))


class NewsdeskBot(commands.Bot):
    """Newsdesk on Discord. Resources are opened in :meth:`setup_hook` and closed in :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        *,
        extensions: list[str] | None = None,
        analyzer: Analyzer | None = None,
        clock: Clock = utc_now,
        **options: Any,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # prefix commands read messages; slash commands work without it
        super().__init__(
            command_prefix=self._prefix_for,
            intents=intents,
            help_command=None,
            case_insensitive=True,
            strip_after_prefix=True,
            allowed_mentions=discord.AllowedMentions.none(),
            **{
                "guild_ready_timeout": settings.guild_ready_timeout,
                "max_ratelimit_timeout": MAX_RATE_LIMIT_WAIT_SECONDS,
                **options,
            },
        )
        self.settings = settings
        self.clock = clock  # what time it is for trending, spikes and digests (tests move it)
        self.extensions_to_load = extension_names() if extensions is None else extensions
        self.failed_extensions: dict[str, str] = {}
        self.guild_prefixes: dict[int, str] = {}
        self._store: Store | None = None
        self._answers: Answers | None = None
        self._analyzer = analyzer
        self._alerts: AlertService | None = None
        self._ingestion: IngestionService | None = None
        self._feeds: FeedCommands | None = None
        self._server_aliases: ServerAliases | None = None
        self._privacy: PrivacyCommands | None = None
        self._retirement: ServerRetirement | None = None
        self.aliases: AliasTable = AliasTable()
        self._retirement_task: asyncio.Task[None] | None = None
        self._closing = False
        # discord.py runs on_ready in a task of its own, which can come after (or during) close: the store
        # must outlive it, and a ready that comes too late does nothing.
        self._ready_work: asyncio.Task[Any] | None = None
        # Measures how late the event loop wakes: anything holding it (or the GIL) shows up here.
        self.loopwatch = LoopWatch(threshold=settings.loop_stall_ms / 1000)

    # Resources are only there once setup_hook has run; asking earlier is a programming error.
    @property
    def store(self) -> Store:
        """The open index."""
        assert self._store is not None, "the store opens in setup_hook"
        return self._store

    @property
    def answers(self) -> Answers:
        """The command logic shared with the console."""
        assert self._answers is not None, "answers are built in setup_hook"
        return self._answers

    @property
    def alerts(self) -> AlertService:
        """Alert delivery and the alert commands."""
        assert self._alerts is not None, "alerts start in setup_hook"
        return self._alerts

    @property
    def ingestion(self) -> IngestionService:
        """The sources of articles (watched folders, feeds) and the indexer they feed."""
        assert self._ingestion is not None, "ingestion starts in setup_hook"
        return self._ingestion

    @property
    def feeds(self) -> FeedCommands:
        """The feed commands."""
        assert self._feeds is not None, "the feed commands are built in setup_hook"
        return self._feeds

    @property
    def server_aliases(self) -> ServerAliases:
        """The alias commands of servers."""
        assert self._server_aliases is not None, "the alias commands are built in setup_hook"
        return self._server_aliases

    @property
    def privacy(self) -> PrivacyCommands:
        """``mydata`` and ``forget me``."""
        assert self._privacy is not None, "the privacy commands are built in setup_hook"
        return self._privacy

    @property
    def retirement(self) -> ServerRetirement:
        """Deletes the data of servers that removed the bot, after the grace period."""
        assert self._retirement is not None, "server retirement starts in setup_hook"
        return self._retirement

    @property
    def analyzer(self) -> Analyzer:
        """The analyzer, created (and its model loaded) only when something indexes. Articles are analysed
        in its worker processes: spaCy holds the GIL for long stretches, and the event loop must not wait."""
        if self._analyzer is None:
            self._analyzer = make_analyzer(self.settings, self.aliases, processes_only=True)
        return self._analyzer

    @property
    def shard_plan(self) -> ShardPlan:
        """The shards this process serves; unsharded, the one that holds every server."""
        return ShardPlan()

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process does the work about server ``guild_id`` (see :mod:`bot.shards`)."""
        return self.shard_plan.owns(guild_id)

    async def _prefix_for(self, bot: commands.Bot, message: discord.Message) -> list[str]:
        prefix = self.settings.prefix
        if message.guild is not None:
            prefix = self.guild_prefixes.get(message.guild.id, prefix)
        return commands.when_mentioned_or(prefix)(bot, message)

    def prefix_in(self, guild: discord.abc.Snowflake | None) -> str:
        """The prefix a server uses (the default in DMs)."""
        if guild is None:
            return self.settings.prefix
        return self.guild_prefixes.get(guild.id, self.settings.prefix)

    async def set_prefix(self, guild_id: int, prefix: str | None) -> None:
        """Store a server's prefix (``None`` resets it to the default)."""
        await self.store.servers.set_prefix(guild_id, prefix)
        if prefix is None:
            self.guild_prefixes.pop(guild_id, None)
        else:
            self.guild_prefixes[guild_id] = prefix

    async def setup_hook(self) -> None:
        self.aliases = load_aliases(self.settings)
        self._store = await Store.connect(self.settings.database)
        try:
            stored_prefixes = await self._store.servers.prefixes()
        except DATABASE_ERRORS as exc:  # a damaged file can open and fail at its first read
            fault = storage_fault(self.settings.database, exc)
            if fault is None:
                raise
            await self._store.close(optimize=False)
            self._store = None
            raise fault from exc
        # A prefix stored before the rules tightened (say an empty one) would make every message a command.
        self.guild_prefixes = {g: p for g, p in stored_prefixes.items() if valid_prefix(p)}
        self._answers = make_answers(self._store, self.settings, self.aliases, clock=self.clock)
        self._alerts = AlertService(
            self._store,
            self.settings,
            answers=self._answers,
            client=self,
            prefix_for=lambda guild_id: self.prefix_in(discord.Object(id=guild_id)),
            clock=self.clock,
            owns_guild=self.owns_guild,
        )
        self._ingestion = IngestionService(
            self._store, self.settings, lambda: self.analyzer, notify=self._alerts.notify_channel
        )
        self._feeds = FeedCommands(
            self._store,
            self.settings,
            fetcher=self._ingestion.fetcher,
            poller=self._ingestion.source(FeedPoller),
            answers=self._answers,
        )
        self._server_aliases = ServerAliases(self._answers)
        self._privacy = PrivacyCommands(self._store)
        self._retirement = ServerRetirement(
            self._store, grace=timedelta(days=self.settings.server_grace_days), owns=self.owns_guild
        )
        for name in self.extensions_to_load:
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                self.failed_extensions[name] = str(exc.__cause__ or exc)
                log.exception("extension %s failed to load; the others still run", name)
        if self.settings.dev_guild_id and self.owns_guild(self.settings.dev_guild_id):
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d slash commands to development server %s", len(synced), guild.id)
        await self._ingestion.start()
        await self._alerts.start()
        self._retirement_task = asyncio.create_task(self._retirement.run(), name="server-retirement")
        freeze_startup_objects()
        self.loopwatch.start()  # after start-up, whose one-off pauses are not stalls of a running bot

    async def close(self) -> None:
        self._closing = True
        if self._ready_work is not None:
            await asyncio.wait([self._ready_work], timeout=10)
        await self.loopwatch.stop()
        # In-flight indexing and sends finish before the store closes.
        await asyncio.gather(*(service.stop() for service in (self._ingestion, self._alerts) if service is not None))
        if self._retirement is not None and self._retirement_task is not None:
            self._retirement.stop()
            await asyncio.wait([self._retirement_task], timeout=10)
        await super().close()
        if self._answers is not None:
            self._answers.close()
        if self._analyzer is not None:
            self._analyzer.close()
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def on_ready(self) -> None:
        if self._closing:
            return
        self._ready_work = asyncio.current_task()
        try:
            # The servers the bot is in keep their data, whatever was scheduled while it was away.
            await self.retirement.present([guild.id for guild in self.guilds])
        finally:
            self._ready_work = None
        log.info(
            "logged in as %s (%s) in %s%s",
            self.user,
            getattr(self.user, "id", "?"),
            plural(len(self.guilds), "server"),
            f" ({self.shard_plan.describe()})" if self.settings.sharded else "",
        )


class ShardedNewsdeskBot(NewsdeskBot, commands.AutoShardedBot):
    """Newsdesk as discord.py's ``AutoShardedBot``: one gateway connection per shard of ``settings.shards``
    (all ``shard_count`` of them when empty). It knows the servers of those shards only, and does the work
    about them only (:mod:`bot.shards`); other processes serve the other shards on the same index."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        plan = settings.shard_plan
        super().__init__(settings, **{"shard_ids": list(plan.ids), "shard_count": plan.count, **options})

    @property
    def shard_plan(self) -> ShardPlan:
        """The shards this process serves (as discord.py was told, ``shard_ids`` and ``shard_count``)."""
        count = self.shard_count or 1
        return ShardPlan(count, tuple(sorted(self.shard_ids)) if self.shard_ids is not None else tuple(range(count)))


def make_bot(settings: Settings, **options: Any) -> NewsdeskBot:
    """The bot the settings ask for: sharded when ``shard_count`` is set, else one connection as always.
    ``options`` go to discord.py (and win over the settings)."""
    if settings.sharded:
        return ShardedNewsdeskBot(settings, **options)
    return NewsdeskBot(settings, **options)


async def run_bot(settings: Settings, secrets: Secrets) -> int:
    """Run until SIGINT/SIGTERM or a fatal error; returns the process exit status."""
    if not secrets.discord_token:
        print("newsdesk: DISCORD_TOKEN is not set; set it to your bot's token to run the bot.")
        return 1
    bot = make_bot(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    # The loop and the process outlive this call (tests, embedding): their signal handlers are put back.
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            handler = signal.getsignal(sig)
            loop.add_signal_handler(sig, stopping.set)
            previous[sig] = handler
        except (NotImplementedError, RuntimeError):  # not on the main thread, or not on Unix
            pass
    try:
        return await _run_until_stopped(bot, secrets.discord_token, stopping)
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:  # None: set outside Python, so there is nothing to put back
                signal.signal(sig, handler)


async def _run_until_stopped(bot: NewsdeskBot, token: str, stopping: asyncio.Event) -> int:
    try:
        async with bot:
            await bot.login(token)
            runner = asyncio.create_task(bot.connect())
            stopper = asyncio.create_task(stopping.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                stopper.cancel()
                runner.result()  # re-raise what ended the connection
            else:
                log.info("stopping: finishing in-flight work and closing the database")
                runner.cancel()
    except discord.LoginFailure:
        print("newsdesk: Discord rejected the token in DISCORD_TOKEN; check it in the developer portal.")
        return 1
    except discord.PrivilegedIntentsRequired:
        print(
            "newsdesk: enable the Message Content intent for this bot in the Discord developer portal "
            "(Bot → Privileged Gateway Intents), or prefix commands cannot be read."
        )
        return 1
    except discord.ConnectionClosed as exc:
        print(f"newsdesk: {gateway_refusal(exc, bot.shard_plan if bot.settings.sharded else None)}")
        return 1
    return 0


def gateway_refusal(exc: discord.ConnectionClosed, plan: ShardPlan | None) -> str:
    """One sentence for the gateway closing for good (discord.py does not reconnect after these codes)."""
    if exc.code == 4010:
        shard = "" if exc.shard_id is None or plan is None else f" {exc.shard_id} of {plan.count}"
        return f"Discord refused shard{shard} as invalid (4010); check --shards and --shard-count."
    if exc.code == 4011 and plan is not None:
        return (
            "Discord requires more shards for this many servers (4011): raise --shard-count, "
            "and start processes for the new shards."
        )
    if exc.code == 4011:
        return (
            "Discord requires sharding for this many servers (4011): run with --shard-count N, "
            "N the number of shards Discord recommends for the bot."
        )
    return f"Discord closed the gateway connection for good (code {exc.code}); see the Discord developer docs."
