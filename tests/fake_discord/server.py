# ruff: noqa: ASYNC109
# (the public waiting API takes timeout= seconds, by design)
"""FakeDiscord: an in-process Discord (REST + gateway) on 127.0.0.1 that a real discord.py bot logs in to.

Usage::

    async with FakeDiscord() as fake:            # server started, discord.py pointed at it
        bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        async with fake.run_bot(bot):             # login + connect + wait for on_ready
            sent = await fake.send_message("!ping", author=fake.member)
            reply = await sent.reply()
            assert reply.content == "pong"

See ``tests/fake_discord/README.md`` for the API overview.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from aiohttp import web

from .faults import ExpectedStatus, Fault, Injection, compile_path_pattern
from .gateway import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    INVALID_SESSION,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    RECONNECT,
    Gateway,
    GatewaySession,
)
from .models import (
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Overwrite,
    Perm,
    SnowflakeFactory,
)
from .ratelimits import RateLimits
from .records import (
    FakeInteraction,
    Notifier,
    RecordedMessage,
    RecordedRequest,
    SentMessage,
)
from .rest import CommandSync, RestApi

log = logging.getLogger("tests.fake_discord")

API_PREFIX = re.compile(r"^/api(?:/v\d+)?(/.*)?$")
INTERACTION_TOKEN_TTL = 15 * 60

# application flags: GATEWAY_PRESENCE, GATEWAY_GUILD_MEMBERS, GATEWAY_MESSAGE_CONTENT
APP_FLAG_FOR_INTENT = {1 << 8: 1 << 12, 1 << 1: 1 << 14, 1 << 15: 1 << 18}


@contextlib.contextmanager
def patch_discord(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST base (``Route.BASE``) and gateway (``DEFAULT_GATEWAY``) somewhere else."""
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


class FakeDiscord(RestApi):
    """A fake Discord API + gateway for discord.py bots. See the module docstring."""

    def __init__(
        self,
        token: str = "fake-bot-token",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        patch: bool = True,
        bot_name: str = "Newsdesk",
        privileged_intents: int = PRIVILEGED_INTENTS,
        interaction_ack_timeout: float = 3.0,
        nonce_ttl: float = 300.0,
        echo_bot_messages: bool = True,
        enforce_message_content_intent: bool = True,
        require_synced_commands: bool = False,
        rate_limits: RateLimits | None = None,
        upload_limit: int = 25 * 1024 * 1024,
        max_guilds_per_session: int = 2500,
        guilds_per_recommended_shard: int = 1000,
        max_concurrency: int = 1,
        session_start_total: int = 1000,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.patch = patch
        self.privileged_intents = privileged_intents
        """Privileged intents the application may use; IDENTIFY asking for others is closed with 4014."""
        self.interaction_ack_timeout = interaction_ack_timeout
        """Seconds the bot has to acknowledge an interaction (Discord: 3)."""
        self.nonce_ttl = nonce_ttl
        self.echo_bot_messages = echo_bot_messages
        """Echo MESSAGE_CREATE/UPDATE/DELETE for the bot's own messages over the gateway, as Discord does."""
        self.enforce_message_content_intent = enforce_message_content_intent
        """Without the MESSAGE_CONTENT intent, guild messages not mentioning the bot arrive empty."""
        self.require_synced_commands = require_synced_commands
        """If True, invoke_slash() refuses commands the bot has not synced (as a Discord client would)."""
        self.rate_limits = rate_limits
        """Discord's per-route buckets and global limit, when a test asks (:meth:`enable_rate_limits`)."""
        self.upload_limit = upload_limit
        """Bytes of files one message may upload (25 MiB: a bot in a server without boosts); beyond it
        Discord answers 413 / 40005. Interactions report it as ``attachment_size_limit``."""
        self.max_guilds_per_session = max_guilds_per_session
        """Guilds one gateway session may hold; an IDENTIFY that would hold more is closed with 4011
        ("sharding required"), as Discord does at 2,500."""
        self.guilds_per_recommended_shard = guilds_per_recommended_shard
        """``GET /gateway/bot`` recommends one shard per this many guilds of the bot (at least one)."""
        self.max_concurrency = max_concurrency
        self.session_start_total = session_start_total
        """``session_start_limit``: IDENTIFYs allowed per day (``remaining`` counts down) and at once."""
        self.expected_statuses: list[ExpectedStatus] = []
        """Client errors the test provokes on purpose (:meth:`expect_status`)."""

        self._ids = SnowflakeFactory()
        self._notifier = Notifier()
        self._seq = 0
        self.gateway = Gateway(self)

        self.requests: list[RecordedRequest] = []
        self.messages: list[RecordedMessage] = []
        """Every message the bot created (channel messages, interaction responses, follow-ups)."""
        self.channel_messages: dict[int, list[RecordedMessage]] = {}
        """Per-channel history: bot and user messages, oldest first (deleted ones are kept, flagged)."""
        self.interactions: dict[int, FakeInteraction] = {}
        self.command_syncs: list[CommandSync] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.typing: list[tuple[int, float]] = []
        """(channel_id, monotonic time) of every typing trigger."""
        self.injections: list[Injection] = []

        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self._removed_bots: dict[int, FakeMember] = {}  # guild id -> the bot member removed by remove_bot
        self.channels: dict[int, FakeChannel] = {}
        self.dm_channels: dict[int, FakeChannel] = {}
        self.attachment_data: dict[str, bytes] = {}
        """Bytes of every attachment (by attachment id), served at the attachment URLs."""
        self._nonces: dict[tuple[int, str], tuple[float, RecordedMessage]] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._outbox: list[tuple[str, Any]] = []
        self._dispatch_lock: asyncio.Lock | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self._patcher: contextlib.ExitStack | None = None

        # ---- the default world -----------------------------------------------------------------
        self.application_id = self._ids.next()
        self.bot_user = FakeUser(id=self.application_id, username=bot_name, bot=True)
        self.users[self.bot_user.id] = self.bot_user
        self.owner = self.create_user("owner", global_name="Bot Owner")
        """The application owner (``bot.is_owner`` is True for them); also owns the default guild."""
        self.admin = self.create_user("alice", global_name="Alice Admin")
        """A member of the default guild with the "Admins" role (Manage Server, Manage Messages, ...)."""
        self.member = self.create_user("bob", global_name="Bob")
        """A plain member of the default guild (only @everyone's permissions)."""
        self.guild = self.create_guild("Newsdesk Test Guild", owner=self.owner)
        self.channel = next(iter(self.guild.channels.values()))
        """#general in the default guild."""
        self.admin_role = self.create_role(self.guild, "Admins", Perm.ADMIN_ROLE_DEFAULT, hoist=True)
        self.add_member(self.guild, self.admin, roles=[self.admin_role])
        self.add_member(self.guild, self.member)

    # =============================================================================================
    # lifecycle
    # =============================================================================================
    async def start(self) -> FakeDiscord:
        if self._runner is not None:
            return self
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for path in ("/", "/gateway", "/gateway/", "/resume", "/resume/"):
            app.router.add_route("GET", path, self.gateway.handle)
        app.router.add_route(
            "GET", "/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment
        )
        app.router.add_route("*", "/{tail:.*}", self._handle_http)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._dispatch_lock = asyncio.Lock()
        log.debug("fake discord listening on %s", self.http_url)
        return self

    async def close(self) -> None:
        if self._flush_task is not None:
            self._flush_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flush_task
        await self.gateway.disconnect(code=1001, resumable=False)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        if self.patch:
            self._patcher = contextlib.ExitStack()
            self._patcher.enter_context(self.patch_discord())
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close()
        finally:
            if self._patcher is not None:
                self._patcher.close()
                self._patcher = None

    def patch_discord(self) -> contextlib.AbstractContextManager[None]:
        """Context manager pointing discord.py at this fake (restores the old targets on exit)."""
        return patch_discord(self.api_base, self.gateway_url)

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.http_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/resume"

    @contextlib.asynccontextmanager
    async def run_bot(
        self, bot: Any, *, token: str | None = None, timeout: float = 10.0, fast_ready: bool = True
    ) -> AsyncIterator[Any]:
        """Log ``bot`` in, start ``bot.connect()`` in a task, wait for on_ready; always ``bot.close()``.

        ``fast_ready`` lowers the bot's ``guild_ready_timeout`` (default 2 s) to 0.05 s so that
        on_ready fires at once (it sets discord.py's private ``_connection.guild_ready_timeout``).
        """
        state = getattr(bot, "_connection", None)
        if fast_ready and state is not None and getattr(state, "guild_ready_timeout", 0) > 0.2:
            state.guild_ready_timeout = 0.05
        task: asyncio.Task[None] | None = None
        try:
            await bot.login(token if token is not None else self.token)
            task = asyncio.create_task(bot.connect(reconnect=True), name="fake-discord-bot-connect")
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                if task in done:
                    task.result()
                    raise RuntimeError("bot.connect() returned before the bot became ready")
                raise TimeoutError(f"bot not ready after {timeout}s" + self._diagnostics())
            yield bot
        finally:
            shard_ids = getattr(bot, "shard_ids", None)
            if shard_ids is None and getattr(bot, "shard_count", None):
                shard_ids = range(bot.shard_count)
            if shard_ids is not None:  # an AutoShardedClient: its sessions are those of its shards
                shards = {(int(i), int(bot.shard_count)) for i in shard_ids}
                session_ids = [s.session_id for s in self.sessions if s.identify.get("shard") and s.shard in shards]
            else:
                session_ids = [getattr(getattr(bot, "ws", None), "session_id", None)]
            await bot.close()
            # discord.py's close() races its own reader, which closes with 4000 ("resumable")
            # first; the bot is gone for good here, so end its sessions.
            for session_id in session_ids:
                if session_id is not None:
                    self.gateway.sessions.pop(session_id, None)
            if task is not None:
                try:
                    await asyncio.wait_for(task, 5)
                except Exception:  # the bot's own errors were already visible to the test
                    log.debug("bot connect task ended with an error", exc_info=True)

    # =============================================================================================
    # world building (usable before and after the bot connects; events are dispatched when live)
    # =============================================================================================
    def create_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None, accepts_dms: bool = True
    ) -> FakeUser:
        user = FakeUser(
            id=self._ids.next(), username=username, bot=bot, global_name=global_name, accepts_dms=accepts_dms
        )
        self.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str,
        *,
        owner: FakeUser | None = None,
        with_bot: bool = True,
        channel_name: str = "general",
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """A guild (with the bot, a @everyone role and a #general unless told otherwise); ``shard=(shard_id,
        shard_count)`` gives it an id that a bot running ``shard_count`` shards receives on ``shard_id``."""
        owner = owner or self.owner
        gid = self._ids.next(shard=shard)
        guild = FakeGuild(id=gid, name=name, owner_id=owner.id)
        guild.roles[gid] = FakeRole(id=gid, guild_id=gid, name="@everyone", permissions=Perm.EVERYONE_DEFAULT)
        self.guilds[gid] = guild
        guild.members[owner.id] = FakeMember(user=owner, guild_id=gid)
        if with_bot:
            bot_role = FakeRole(
                id=self._ids.next(),
                guild_id=gid,
                name=self.bot_user.username,
                permissions=Perm.BOT_ROLE_DEFAULT,
                position=1,
                managed=True,
                bot_id=self.bot_user.id,
            )
            guild.roles[bot_role.id] = bot_role
            guild.members[self.bot_user.id] = FakeMember(
                user=self.bot_user, guild_id=gid, roles=[bot_role.id]
            )
        if channel_name:
            ch = FakeChannel(id=self._ids.next(), name=channel_name, guild_id=gid)
            guild.channels[ch.id] = ch
            self.channels[ch.id] = ch
        if with_bot:
            self._queue_event("GUILD_CREATE", lambda s: self._guild_create_json(guild, s, joined=True))
        return guild

    async def remove_bot(self, guild: FakeGuild) -> None:
        """The bot is kicked from (or leaves) ``guild``: GUILD_DELETE without ``unavailable``, which
        discord.py dispatches as ``on_guild_remove``. :meth:`add_bot` brings it back."""
        self._removed_bots[guild.id] = guild.members.pop(self.bot_user.id)
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    async def add_bot(self, guild: FakeGuild) -> None:
        """The bot is invited back to ``guild``: GUILD_CREATE as a join (``on_guild_join``)."""
        guild.members[self.bot_user.id] = self._removed_bots.pop(guild.id)
        await self.dispatch("GUILD_CREATE", lambda s: self._guild_create_json(guild, s, joined=True))

    @property
    def bot_role(self) -> FakeRole:
        """The bot's managed role in the default guild."""
        return self.bot_role_in(self.guild)

    def bot_role_in(self, guild: FakeGuild) -> FakeRole:
        return next(r for r in guild.roles.values() if r.bot_id == self.bot_user.id)

    def create_channel(
        self,
        guild: FakeGuild | None = None,
        name: str = "news",
        *,
        type: int = ChannelType.GUILD_TEXT,
        topic: str | None = None,
        overwrites: list[Overwrite] | None = None,
        parent_id: int | None = None,
        tags: list[str | tuple[str, bool]] | None = None,
    ) -> FakeChannel:
        """A channel; a forum (``type=ChannelType.GUILD_FORUM``) gets ``tags``: names, or (name, moderated)."""
        guild = guild or self.guild
        ch = FakeChannel(
            id=self._ids.next(),
            name=name,
            type=type,
            guild_id=guild.id,
            topic=topic,
            position=len(guild.channels),
            overwrites=list(overwrites or []),
            parent_id=parent_id,
        )
        for tag in tags or []:
            tag_name, moderated = (tag, False) if isinstance(tag, str) else tag
            tag_id = str(self._ids.next())
            ch.available_tags.append(
                {"id": tag_id, "name": tag_name, "moderated": moderated, "emoji_id": None, "emoji_name": None}
            )
        guild.channels[ch.id] = ch
        self.channels[ch.id] = ch
        self._queue_event("CHANNEL_CREATE", ch.to_json())
        return ch

    def create_role(
        self,
        guild: FakeGuild | None = None,
        name: str = "role",
        permissions: int = 0,
        *,
        mentionable: bool = False,
        hoist: bool = False,
        color: int = 0,
    ) -> FakeRole:
        guild = guild or self.guild
        role = FakeRole(
            id=self._ids.next(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            mentionable=mentionable,
            hoist=hoist,
            color=color,
        )
        guild.roles[role.id] = role
        self._queue_event("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_json()})
        return role

    def update_role(
        self,
        role: FakeRole,
        *,
        mentionable: bool | None = None,
        permissions: int | None = None,
        name: str | None = None,
    ) -> FakeRole:
        """Change a role as a server admin would; the bot gets GUILD_ROLE_UPDATE."""
        if mentionable is not None:
            role.mentionable = mentionable
        if permissions is not None:
            role.permissions = permissions
        if name is not None:
            role.name = name
        self._queue_event("GUILD_ROLE_UPDATE", {"guild_id": str(role.guild_id), "role": role.to_json()})
        return role

    def add_member(
        self,
        guild: FakeGuild | None,
        user: FakeUser,
        *,
        roles: list[FakeRole] | None = None,
        nick: str | None = None,
    ) -> FakeMember:
        guild = guild or self.guild
        member = FakeMember(user=user, guild_id=guild.id, roles=[r.id for r in roles or []], nick=nick)
        guild.members[user.id] = member
        self._queue_event("GUILD_MEMBER_ADD", {**member.to_json(), "guild_id": str(guild.id)})
        return member

    def set_member_roles(self, guild: FakeGuild | None, user: FakeUser, roles: list[FakeRole]) -> FakeMember:
        guild = guild or self.guild
        member = guild.members[user.id]
        member.roles = [r.id for r in roles]
        self._queue_event("GUILD_MEMBER_UPDATE", {**member.to_json(), "guild_id": str(guild.id)})
        return member

    def set_permissions(
        self, channel: FakeChannel, target: FakeRole | FakeUser | FakeGuild, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set a channel permission overwrite (``target`` a role, a user, or the guild for @everyone)."""
        if isinstance(target, FakeGuild | FakeRole):
            tid, ttype = target.id, 0
        else:
            tid, ttype = target.id, 1
        channel.overwrites = [o for o in channel.overwrites if o.id != tid]
        if allow or deny:
            channel.overwrites.append(Overwrite(id=tid, type=ttype, allow=allow, deny=deny))
        self._queue_event("CHANNEL_UPDATE", channel.to_json())

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between ``user`` and the bot (created on first use)."""
        ch = self.dm_channels.get(user.id)
        if ch is None:
            ch = FakeChannel(id=self._ids.next(), name="", type=ChannelType.DM, recipients=[user])
            self.dm_channels[user.id] = ch
            self.channels[ch.id] = ch
        return ch

    def permissions_for(self, user: FakeUser | int, channel: FakeChannel | None = None) -> int:
        uid = user if isinstance(user, int) else user.id
        channel = channel or self.channel
        if channel.guild_id is None:
            return Perm.EVERYONE_DEFAULT & ~(Perm.MENTION_EVERYONE | Perm.MANAGE_MESSAGES)
        return self.guilds[channel.guild_id].permissions_for(uid, channel)

    # =============================================================================================
    # fault injection
    # =============================================================================================
    def inject(self, method: str, path: str, fault: Fault, *, times: int | None = 1) -> Injection:
        """Answer the next ``times`` requests matching ``method`` + ``path`` with ``fault``
        (``times=None``: until removed).  Path patterns are relative to /api/v10; ``{x}``/``*`` match
        one segment, ``**`` anything.  Earlier injections win."""
        inj = Injection(method=method, pattern=path, fault=fault, times=times)
        self.injections.append(inj)
        return inj

    def clear_injections(self) -> None:
        self.injections.clear()

    def enable_rate_limits(
        self,
        *,
        limit: int = 5,
        per: float = 5.0,
        routes: dict[str, tuple[int, float]] | None = None,
        global_limit: int | None = 50,
        global_per: float = 1.0,
    ) -> RateLimits:
        """Rate-limit like Discord from now on: ``limit`` requests per ``per`` seconds per route bucket
        (``routes`` overrides some, by route name such as ``"POST /channels/{channel_id}/messages"``),
        and ``global_limit`` requests per ``global_per`` seconds in all. A 429 the limiter answers is an
        error for :meth:`assert_clean` unless the test expects it (``expect_status(429)``)."""
        self.rate_limits = RateLimits(
            limit=limit, per=per, routes=dict(routes or {}), global_limit=global_limit, global_per=global_per
        )
        return self.rate_limits

    def expect_status(
        self, status: int, method: str = "*", path: str = "**", *, code: int | None = None
    ) -> ExpectedStatus:
        """Declare a client error the test provokes on purpose (a 403 from a channel the bot lost, a
        400 the test wants to see refused), so that :meth:`assert_clean` accepts matching answers.
        ``path`` is a pattern as in :meth:`inject`; ``code``: only that Discord error code."""
        expected = ExpectedStatus(status=status, method=method, pattern=path, code=code)
        self.expected_statuses.append(expected)
        return expected

    def _match_injection(self, method: str, path: str) -> Injection | None:
        for inj in self.injections:
            if inj.matches(method, path):
                inj.hits += 1
                return inj
        return None

    # =============================================================================================
    # gateway helpers
    # =============================================================================================
    @property
    def sessions(self) -> list[GatewaySession]:
        return self.gateway.live_sessions()

    @property
    def connected(self) -> bool:
        return any(s.connected and s.ready for s in self.sessions)

    async def dispatch(
        self, event: str, data: dict[str, Any] | Callable[[GatewaySession], dict[str, Any]]
    ) -> int:
        """Send a raw DISPATCH event to every bot session (queued for disconnected, resumable ones)."""
        await self.flush()
        assert self._dispatch_lock is not None, "FakeDiscord not started"
        async with self._dispatch_lock:
            return await self.gateway.dispatch(event, data)

    async def flush(self) -> None:
        """Dispatch events queued by the synchronous world-building methods."""
        if self._dispatch_lock is None:
            return
        async with self._dispatch_lock:
            while self._outbox:
                event, data = self._outbox.pop(0)
                await self.gateway.dispatch(event, data)

    def _queue_event(self, event: str, data: Any) -> None:
        if not self.gateway.sessions:
            return
        self._outbox.append((event, data))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self.flush())

    async def disconnect(self, code: int = 4000, *, resumable: bool = True) -> None:
        """Close every bot's gateway socket with ``code``; with ``resumable`` the session is kept
        and events dispatched meanwhile are replayed after the bot RESUMEs."""
        await self.flush()
        await self.gateway.disconnect(code=code, resumable=resumable)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT (discord.py closes and resumes)."""
        await self.gateway.send_op(RECONNECT)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the bot re-IDENTIFIEs (new READY)."""
        sessions = self.sessions
        await self.gateway.send_op(INVALID_SESSION, resumable)
        if not resumable:
            for s in sessions:
                self.gateway.sessions.pop(s.session_id, None)

    async def wait_for_resume(self, timeout: float = 5.0, *, count: int = 1) -> GatewaySession:
        """Wait until some session has RESUMEd ``count`` times in total."""
        return await self._notifier.wait_until(
            lambda: next((s for s in self.sessions if s.resumes >= count and s.connected), None),
            timeout,
            lambda: "a gateway RESUME" + self._diagnostics(),
        )

    async def wait_until_connected(self, timeout: float = 5.0) -> GatewaySession:
        """Wait until a session is identified and has received all GUILD_CREATEs."""
        return await self._notifier.wait_until(
            lambda: next((s for s in self.sessions if s.connected and s.ready), None),
            timeout,
            lambda: "a bot to connect" + self._diagnostics(),
        )

    @property
    def presence(self) -> dict[str, Any] | None:
        """The last PRESENCE_UPDATE (op 3) payload a bot sent."""
        for payload in reversed(self.gateway.received):
            if payload.get("op") == 3:
                return payload.get("d")
        return None

    def _bot_user_json(self) -> dict[str, Any]:
        return {
            **self.bot_user.to_json(),
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
            "bot": True,
        }

    def _bot_guilds(self) -> list[FakeGuild]:
        return [g for g in self.guilds.values() if self.bot_user.id in g.members]

    def _guild_create_json(
        self, guild: FakeGuild, session: GatewaySession, *, joined: bool = False
    ) -> dict[str, Any]:
        data = guild.to_json(bot_user_id=self.bot_user.id)
        if joined:
            # A join carries no "unavailable" key; discord.py then dispatches on_guild_join
            # (unavailable=False means "became available again": on_guild_available).
            del data["unavailable"]
        if not session.wants(GUILD_MEMBERS):
            # Without GUILD_MEMBERS Discord only sends the bot itself (plus voice members).
            data["members"] = [m for m in data["members"] if m["user"]["id"] == str(self.bot_user.id)]
        return data

    @property
    def application_flags(self) -> int:
        flags = 0
        for intent, flag in APP_FLAG_FOR_INTENT.items():
            if self.privileged_intents & intent:
                flags |= flag
        return flags

    def _filter_for_session(self, session: GatewaySession, event: str, data: Any) -> dict[str, Any] | None:
        if callable(data):
            data = data(session)
        if not session.holds(_guild_of(event, data)):
            return None  # another shard's guild (or, for an event of no guild, a shard other than 0)
        if event.startswith("MESSAGE_REACTION"):
            in_guild = bool(data.get("guild_id"))
            if not session.wants(GUILD_MESSAGE_REACTIONS if in_guild else DIRECT_MESSAGE_REACTIONS):
                return None
        elif event.startswith("MESSAGE_"):
            in_guild = bool(data.get("guild_id"))
            if not session.wants(GUILD_MESSAGES if in_guild else DIRECT_MESSAGES):
                return None
            if (
                event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
                and in_guild
                and self.enforce_message_content_intent
                and not session.wants(MESSAGE_CONTENT)
                and str(data.get("author", {}).get("id")) != str(self.bot_user.id)
                and str(self.bot_user.id) not in {str(u.get("id")) for u in data.get("mentions", [])}
            ):
                data = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        elif (
            event.startswith("GUILD_MEMBER")
            and event != "GUILD_MEMBERS_CHUNK"
            and not session.wants(GUILD_MEMBERS)
        ):
            return None
        return data

    # =============================================================================================
    # things users do
    # =============================================================================================
    async def send_message(
        self,
        content: str = "",
        *,
        author: FakeUser | None = None,
        channel: FakeChannel | None = None,
        guild: FakeGuild | None = None,
        embeds: list[dict[str, Any]] | None = None,
        reference: RecordedMessage | int | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> SentMessage:
        """A user posts a message (MESSAGE_CREATE). Default: ``fake.member`` in ``fake.channel``.
        A DM channel (``fake.dm_channel(user)``) gives a DM. ``await result.reply()`` waits for the
        bot's next message in that channel."""
        author = author or self.member
        if channel is None:
            if guild is not None:
                channel = next(c for c in guild.channels.values() if c.type == ChannelType.GUILD_TEXT)
            else:
                channel = self.channel
        data: dict[str, Any] = {"content": content, "embeds": embeds or [], "attachments": []}
        for a in attachments or []:
            raw = a.get("data")
            data["attachments"].append(
                self._attachment(
                    channel.id, a.get("filename", "file.txt"), raw, a.get("size"), a.get("content_type")
                )
            )
        if channel.guild_id is not None:
            g = self.guilds[channel.guild_id]
            if author.id not in g.members:
                raise ValueError(f"{author!r} is not a member of {g!r}; use fake.add_member() first")
        if reference is not None:
            ref_id = reference if isinstance(reference, int) else reference.id
            data["message_reference"] = {
                "message_id": str(ref_id),
                "channel_id": str(channel.id),
                "fail_if_not_exists": False,
            }
        msg = self._create_message(channel, author, data, source="user", allowed_mentions=None)
        await self.dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return SentMessage(self, msg)

    async def send_dm(self, content: str, *, author: FakeUser | None = None) -> SentMessage:
        author = author or self.member
        return await self.send_message(content, author=author, channel=self.dm_channel(author))

    async def add_reaction(
        self, message: RecordedMessage, emoji: str, *, user: FakeUser | None = None
    ) -> None:
        user = user or self.member
        ch = self.channels[message.channel_id]
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(ch.id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if ch.guild_id:
            data["guild_id"] = str(ch.guild_id)
            data["member"] = self.guilds[ch.guild_id].members[user.id].to_json()
        await self.dispatch("MESSAGE_REACTION_ADD", data)

    # ---- interactions --------------------------------------------------------------------------
    async def invoke_slash(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        guild: FakeGuild | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user runs ``/name`` (``"group sub"`` for sub-commands). ``options`` maps option names to
        values: str/int/float/bool, FakeUser/FakeMember, FakeChannel, FakeRole, or an attachment dict
        ``{"filename":..., "size":...}``. Option types come from the synced command when there is one
        (guild-synced first, then global), else from the Python values."""
        return await self._app_command_interaction(2, name, options, None, user, channel, guild, locale)

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        focused: str | None = None,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        guild: FakeGuild | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user types into an autocomplete option (INTERACTION_CREATE type 4). ``focused`` names
        the option being typed (default: the last one). ``await h.choices()`` -> the bot's choices."""
        if focused is None and isinstance(options, dict) and options:
            focused = list(options)[-1]
        return await self._app_command_interaction(4, name, options, focused, user, channel, guild, locale)

    async def invoke_context_menu(
        self,
        name: str,
        target: FakeUser | RecordedMessage,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user runs a user (``target`` FakeUser) or message (``target`` RecordedMessage) context menu."""
        user = user or self.member
        channel = channel or self.channel
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        ctype = 2 if isinstance(target, FakeUser) else 3
        cmd, cmd_guild = self._find_command(name, guild.id if guild else None, ctype)
        if cmd is None and self.require_synced_commands:
            raise LookupError(f"context menu {name!r} is not synced (require_synced_commands=True)")
        self._check_can_use(cmd, user, channel, guild)
        resolved: dict[str, Any] = {}
        if isinstance(target, FakeUser):
            self._resolve_user(resolved, target, guild, channel)
        else:
            resolved["messages"] = {str(target.id): copy.deepcopy(target.data)}
        data: dict[str, Any] = {
            "id": cmd["id"] if cmd else str(self._ids.next()),
            "name": name,
            "type": ctype,
            "target_id": str(target.id),
            "resolved": resolved,
        }
        if cmd_guild:
            data["guild_id"] = str(cmd_guild)
        return await self._dispatch_interaction(2, data, user, channel, locale)

    async def click_button(
        self, message: RecordedMessage | int, custom_id: str, *, user: FakeUser | None = None
    ) -> FakeInteraction:
        """A user clicks the button ``custom_id`` on one of the bot's messages (INTERACTION_CREATE type 3)."""
        return await self._component_interaction(message, custom_id, None, user, expect_type=2)

    async def select(
        self,
        message: RecordedMessage | int,
        custom_id: str,
        values: list[str],
        *,
        user: FakeUser | None = None,
    ) -> FakeInteraction:
        """A user picks ``values`` in the select menu ``custom_id`` on one of the bot's messages."""
        return await self._component_interaction(message, custom_id, values, user, expect_type=None)

    async def submit_modal(
        self,
        modal: FakeInteraction | str,
        values: dict[str, str | list[str]],
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Submit a modal the bot opened (pass the interaction whose callback was type 9), with
        ``values`` keyed by the inputs' custom_ids. A bare custom_id string builds plain text inputs."""
        components: list[dict[str, Any]]
        message = None
        if isinstance(modal, FakeInteraction):
            spec = await modal.modal()
            custom_id = spec["custom_id"]
            components = _modal_submission(spec.get("components") or [], values)
            user = user or self.users[modal.user_id]
            channel = channel or (self.channels.get(modal.channel_id) if modal.channel_id else None)
            message = modal.component_message
        else:
            custom_id = modal
            components = [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                for k, v in values.items()
            ]
        user = user or self.member
        channel = channel or self.channel
        data = {"custom_id": custom_id, "components": components}
        return await self._dispatch_interaction(5, data, user, channel, locale, component_message=message)

    async def _app_command_interaction(
        self,
        itype: int,
        name: str,
        options: Any,
        focused: str | None,
        user: FakeUser | None,
        channel: FakeChannel | None,
        guild: FakeGuild | None,
        locale: str,
    ) -> FakeInteraction:
        user = user or self.member
        if channel is None:
            channel = (
                next(c for c in guild.channels.values() if c.type == ChannelType.GUILD_TEXT)
                if guild
                else self.channel
            )
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        parts = name.split()
        root, path = parts[0], parts[1:]
        cmd, cmd_guild = self._find_command(root, guild.id if guild else None, 1)
        if cmd is None and self.require_synced_commands:
            raise LookupError(f"/{root} is not synced (require_synced_commands=True)")
        self._check_can_use(cmd, user, channel, guild)
        resolved: dict[str, Any] = {}
        defs = (cmd or {}).get("options") or []
        if isinstance(options, list):
            leaf = options
        else:
            leaf_defs = defs
            for part in path:
                sub = next((o for o in leaf_defs if o.get("name") == part), None)
                leaf_defs = (sub or {}).get("options") or []
            leaf = self._build_options(leaf_defs, options or {}, focused, guild, channel, resolved, user)
        # wrap in sub-command / group options
        opts = leaf
        level_defs = [defs]
        for part in path:
            cur = next((o for o in level_defs[-1] if o.get("name") == part), None)
            level_defs.append((cur or {}).get("options") or [])
        for i in range(len(path) - 1, -1, -1):
            part = path[i]
            cur = next((o for o in level_defs[i] if o.get("name") == part), None)
            otype = cur["type"] if cur else (1 if i == len(path) - 1 else 2)
            opts = [{"name": part, "type": otype, "options": opts}]
        data: dict[str, Any] = {
            "id": cmd["id"] if cmd else str(self._ids.next()),
            "name": root,
            "type": 1,
            "options": opts,
        }
        if resolved:
            data["resolved"] = resolved
        if cmd_guild:
            data["guild_id"] = str(cmd_guild)
        return await self._dispatch_interaction(itype, data, user, channel, locale)

    def _check_can_use(
        self, cmd: dict[str, Any] | None, user: FakeUser, channel: FakeChannel, guild: FakeGuild | None
    ) -> None:
        """Refuse what a Discord client would not offer: a synced command outside its contexts, or one
        whose ``default_member_permissions`` the user lacks."""
        if cmd is None:
            return
        if guild is None:
            contexts = cmd.get("contexts")
            if (contexts is not None and 1 not in contexts) or cmd.get("dm_permission") is False:
                raise PermissionError(f"{cmd['name']!r} is not available in DMs")
            return
        required = cmd.get("default_member_permissions")
        if required is None:
            return
        have = guild.permissions_for(user.id, channel)
        need = int(required)
        if have & Perm.ADMINISTRATOR or (need and have & need == need):
            return
        raise PermissionError(
            f"{user.username} lacks default_member_permissions={need} for {cmd['name']!r}; "
            "Discord would not show them the command"
        )

    def _find_command(
        self, name: str, guild_id: int | None, ctype: int
    ) -> tuple[dict[str, Any] | None, int | None]:
        if guild_id is not None:
            for c in self.guild_commands.get(guild_id, []):
                if c["name"] == name and c.get("type", 1) == ctype:
                    return c, guild_id
        for c in self.global_commands:
            if c["name"] == name and c.get("type", 1) == ctype:
                return c, None
        return None, None

    def _build_options(
        self,
        defs: list[dict[str, Any]],
        values: dict[str, Any],
        focused: str | None,
        guild: FakeGuild | None,
        channel: FakeChannel,
        resolved: dict[str, Any],
        user: FakeUser,
    ) -> list[dict[str, Any]]:
        out = []
        for key, value in values.items():
            d = next((o for o in defs if o.get("name") == key), None)
            otype = int(d["type"]) if d else _infer_option_type(value)
            opt: dict[str, Any] = {"name": key, "type": otype}
            if key == focused:
                opt["focused"] = True
                opt["value"] = value if isinstance(value, str) else str(value)
            elif otype == 3:
                opt["value"] = str(value)
            elif otype == 4:
                opt["value"] = int(value)
            elif otype == 5:
                opt["value"] = bool(value)
            elif otype == 10:
                opt["value"] = float(value)
            elif (
                otype in (6, 9)
                and isinstance(value, FakeUser | FakeMember | int)
                and not isinstance(value, bool)
            ):
                u = value.user if isinstance(value, FakeMember) else value
                if isinstance(u, int):
                    role = guild.roles.get(u) if guild else None
                    if otype == 9 and role is not None:
                        resolved.setdefault("roles", {})[str(role.id)] = role.to_json()
                        opt["value"] = str(role.id)
                        out.append(opt)
                        continue
                    u = self.users[u]
                self._resolve_user(resolved, u, guild, channel)
                opt["value"] = str(u.id)
            elif otype == 7:
                ch = value if isinstance(value, FakeChannel) else self.channels[int(value)]
                entry = {
                    "id": str(ch.id),
                    "name": ch.name,
                    "type": ch.type,
                    "permissions": str(self.permissions_for(user, ch) if ch.guild_id else 0),
                    "parent_id": str(ch.parent_id) if ch.parent_id else None,
                    "nsfw": ch.nsfw,
                    "flags": 0,
                }
                if ch.guild_id:
                    entry["guild_id"] = str(ch.guild_id)
                resolved.setdefault("channels", {})[str(ch.id)] = entry
                opt["value"] = str(ch.id)
            elif otype in (8, 9):
                role = value if isinstance(value, FakeRole) else (guild.roles[int(value)] if guild else None)
                if role is None:
                    raise ValueError(f"cannot resolve role option {key}={value!r}")
                resolved.setdefault("roles", {})[str(role.id)] = role.to_json()
                opt["value"] = str(role.id)
            elif otype == 11:
                att = dict(value) if isinstance(value, dict) else {"filename": str(value)}
                entry = self._attachment(
                    channel.id,
                    att.get("filename", "file.txt"),
                    att.get("data"),
                    att.get("size"),
                    att.get("content_type"),
                )
                entry["ephemeral"] = True
                aid = entry["id"]
                resolved.setdefault("attachments", {})[aid] = entry
                opt["value"] = aid
            else:
                opt["value"] = value
            out.append(opt)
        return out

    def _resolve_user(
        self, resolved: dict[str, Any], user: FakeUser, guild: FakeGuild | None, channel: FakeChannel
    ) -> None:
        resolved.setdefault("users", {})[str(user.id)] = user.to_json()
        if guild is not None and user.id in guild.members:
            perms = guild.permissions_for(user.id, channel)
            resolved.setdefault("members", {})[str(user.id)] = guild.members[user.id].to_json(
                with_user=False, permissions=perms
            )

    async def _component_interaction(
        self,
        message: RecordedMessage | int,
        custom_id: str,
        values: list[str] | None,
        user: FakeUser | None,
        expect_type: int | None,
    ) -> FakeInteraction:
        msg = message if isinstance(message, RecordedMessage) else self._find_message(int(message))
        if msg is None:
            raise LookupError(f"unknown message {message!r}")
        if msg.deleted:
            raise ValueError(f"{msg!r} was deleted; nobody can click on it")
        user = user or self.member
        comp = _find_component(msg.components, custom_id)
        if comp is None:
            raise ValueError(f"no component with custom_id {custom_id!r} on {msg!r}; it has {msg.custom_ids}")
        if comp.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if expect_type is not None and comp.get("type") != expect_type:
            raise ValueError(f"component {custom_id!r} has type {comp.get('type')}, not {expect_type}")
        if msg.ephemeral and msg.interaction_id is not None:
            owner = self.interactions.get(msg.interaction_id)
            if owner is not None and owner.user_id != user.id:
                raise ValueError("only the user who got an ephemeral message can see (and click) it")
        channel = self.channels[msg.channel_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if values is not None:
            data["values"] = list(values)
        elif comp["type"] in (3, 5, 6, 7, 8):
            data["values"] = []
        return await self._dispatch_interaction(3, data, user, channel, "en-US", component_message=msg)

    async def _dispatch_interaction(
        self,
        itype: int,
        data: dict[str, Any],
        user: FakeUser,
        channel: FakeChannel,
        locale: str,
        *,
        component_message: RecordedMessage | None = None,
    ) -> FakeInteraction:
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        iid = self._ids.next()  # a current-time snowflake: discord.py derives created_at/expiry from it
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": f"fake-interaction-{secrets.token_urlsafe(24)}",
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "channel": {**channel.to_json(), "permissions": str(self.permissions_for(user, channel))},
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": self.upload_limit,
            "app_permissions": str(self.permissions_for(self.bot_user, channel)),
        }
        if guild is not None:
            if user.id not in guild.members:
                raise ValueError(f"{user!r} is not a member of {guild!r}")
            payload["guild_id"] = str(guild.id)
            payload["guild_locale"] = guild.preferred_locale
            payload["guild"] = {
                "id": str(guild.id),
                "locale": guild.preferred_locale,
                "features": list(guild.features),
            }
            payload["member"] = guild.members[user.id].to_json(
                permissions=guild.permissions_for(user.id, channel)
            )
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = user.to_json()
            payload["authorizing_integration_owners"] = {"1": str(user.id)}
            payload["context"] = 1
        if component_message is not None:
            payload["message"] = copy.deepcopy(component_message.data)
        inter = FakeInteraction(self, payload, component_message=component_message)
        self.interactions[iid] = inter
        self._interactions_by_token[inter.token] = inter
        await self.dispatch("INTERACTION_CREATE", payload)
        return inter

    # =============================================================================================
    # waiting and inspection
    # =============================================================================================
    async def wait_for_message(
        self,
        channel_id: int | None = None,
        predicate: Callable[[RecordedMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int | None = None,
        consume: bool = True,
    ) -> RecordedMessage:
        """Wait for a message created by the bot (channel message, interaction response or
        follow-up). Returns the oldest matching message not yet returned by a wait (``consume``),
        so sequential waits see sequential messages. ``after``: only messages recorded after that
        ``RecordedMessage.seq``."""

        def check() -> RecordedMessage | None:
            for m in self.messages:
                if consume and m.consumed:
                    continue
                if after is not None and m.seq <= after:
                    continue
                if channel_id is not None and m.channel_id != int(channel_id):
                    continue
                if predicate is not None and not predicate(m):
                    continue
                return m
            return None

        msg = await self._notifier.wait_until(
            check, timeout, lambda: f"a bot message in channel {channel_id}" + self._diagnostics()
        )
        if consume:
            msg.consumed = True
        return msg

    async def wait_for_edit(
        self,
        message: RecordedMessage,
        predicate: Callable[[RecordedMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> RecordedMessage:
        """Wait until ``message`` has been edited ``count`` times (and ``predicate`` holds)."""
        return await self._notifier.wait_until(
            lambda: (
                message if len(message.edits) >= count and (predicate is None or predicate(message)) else None
            ),
            timeout,
            lambda: f"an edit of {message!r}" + self._diagnostics(),
        )

    async def wait_for_request(
        self,
        method: str,
        path: str,
        timeout: float = 5.0,
        *,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        after: int | None = None,
    ) -> RecordedRequest:
        """Wait for a request whose method and path match (pattern syntax as in :meth:`inject`)."""
        rx = compile_path_pattern(path)

        def check() -> RecordedRequest | None:
            for r in self.requests:
                if after is not None and r.seq <= after:
                    continue
                if method.upper() not in ("*", r.method) or not rx.fullmatch(r.path):
                    continue
                if predicate is None or predicate(r):
                    return r
            return None

        return await self._notifier.wait_until(
            check, timeout, lambda: f"{method} {path}" + self._diagnostics()
        )

    async def wait_for(
        self, check: Callable[[], Any], timeout: float = 5.0, what: str = "a condition"
    ) -> Any:
        """Wait until ``check()`` returns something other than None/False (re-checked on every change)."""
        return await self._notifier.wait_until(
            lambda: check() or None, timeout, lambda: what + self._diagnostics()
        )

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        rx = compile_path_pattern(path)
        return [r for r in self.requests if method.upper() in ("*", r.method) and rx.fullmatch(r.path)]

    @property
    def unexpected_requests(self) -> list[RecordedRequest]:
        """Requests to routes the fake does not implement (answered 404/405), fault-answered ones excluded."""
        return [r for r in self.requests if r.route is None and r.fault is None]

    def assert_no_unexpected_requests(self) -> None:
        if self.unexpected_requests:
            raise AssertionError(f"unexpected requests to the fake Discord: {self.unexpected_requests}")

    @property
    def unexpected_errors(self) -> list[RecordedRequest]:
        """4xx answers to known routes that no injected fault made and no :meth:`expect_status` declared:
        each is a request Discord would have refused (a bad body, a missing permission, a 429 of
        the rate limits)."""
        return [
            r
            for r in self.requests
            if r.route is not None
            and r.fault is None
            and r.status is not None
            and 400 <= r.status < 500
            and not any(e.matches(r) for e in self.expected_statuses)
        ]

    def assert_clean(self) -> None:
        """No request to a route the fake lacks and no client error the test did not ask for; the
        ``fake_discord`` fixture checks this after every test."""
        unknown = [r for r in self.unexpected_requests if not any(e.matches(r) for e in self.expected_statuses)]
        problems = [*unknown, *self.unexpected_errors]
        if problems:
            details = "\n".join(f"  {r!r}: {_short(r.response)}" for r in sorted(problems, key=lambda r: r.seq))
            raise AssertionError(
                "the fake Discord refused requests the test did not expect (declare deliberate ones with "
                f"fake.expect_status(...)):\n{details}"
            )

    def messages_in(
        self, channel: FakeChannel | int, *, include_deleted: bool = False
    ) -> list[RecordedMessage]:
        cid = channel if isinstance(channel, int) else channel.id
        return [m for m in self.channel_messages.get(cid, []) if include_deleted or not m.deleted]

    @property
    def last_sync(self) -> CommandSync | None:
        return self.command_syncs[-1] if self.command_syncs else None

    def _diagnostics(self) -> str:
        recent = self.requests[-8:]
        states = [
            (s.session_id[:8], "connected" if s.connected else "gone", *(s.shard if s.identify.get("shard") else ()))
            for s in self.sessions
        ]
        lines = [f"\n  sessions: {states}"]
        lines.append(f"  last requests: {recent}")
        if self.unexpected_requests:
            lines.append(f"  UNEXPECTED requests: {self.unexpected_requests[-5:]}")
        return "\n".join(lines)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _find_message(self, mid: int) -> RecordedMessage | None:
        for msgs in self.channel_messages.values():
            for m in msgs:
                if m.id == mid:
                    return m
        return None


# =================================================================================================
# helpers
# =================================================================================================
def _infer_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    if isinstance(value, FakeUser | FakeMember):
        return 6
    if isinstance(value, FakeChannel):
        return 7
    if isinstance(value, FakeRole):
        return 8
    if isinstance(value, dict) and "filename" in value:
        return 11
    return 3


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to (what decides its shard), or None for a DM or a user event."""
    raw = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else data.get("guild_id")
    return int(raw) if raw else None


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for c in components:
        if c.get("custom_id") == custom_id:
            return c
        for key in ("components", "accessory", "component"):
            sub = c.get(key)
            found = None
            if isinstance(sub, list):
                found = _find_component(sub, custom_id)
            elif isinstance(sub, dict):
                found = _find_component([sub], custom_id)
            if found is not None:
                return found
    return None


def _modal_submission(
    components: list[dict[str, Any]], values: dict[str, str | list[str]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in components:
        ctype = c.get("type")
        if ctype == 1:
            out.append({"type": 1, "components": _modal_submission(c.get("components") or [], values)})
        elif ctype == 18:
            inner = _modal_submission([c["component"]], values) if c.get("component") else []
            if inner:
                out.append({"type": 18, "id": c.get("id", 0), "component": inner[0]})
        elif "custom_id" in c:
            value = values.get(c["custom_id"], "" if ctype == 4 else [])
            entry: dict[str, Any] = {"type": ctype, "custom_id": c["custom_id"], "id": c.get("id", 0)}
            if ctype == 4:
                entry["value"] = value if isinstance(value, str) else ",".join(value)
            else:
                entry["values"] = [value] if isinstance(value, str) else list(value)
            out.append(entry)
    return out
