"""The fake gateway: HELLO / IDENTIFY / READY / GUILD_CREATE, heartbeats, RESUME with replay, sharding.

A session that IDENTIFIEs with ``shard: [shard_id, shard_count]`` holds the guilds with
``(guild_id >> 22) % shard_count == shard_id`` and receives their events only; events of no guild (DMs)
go to shard 0, as on Discord. An invalid shard is closed with 4010, a session that would hold more than
``FakeDiscord.max_guilds_per_session`` guilds with 4011 ("sharding required").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger("tests.fake_discord.gateway")

# Opcodes
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# Intents
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

REPLAY_BUFFER = 2000


@dataclass(eq=False)
class GatewayConnection:
    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    compressor: Any = None
    heartbeats: int = 0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self.send_lock:
            if self.ws.closed:
                raise ConnectionResetError("gateway socket closed")
            if self.compressor is not None:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


@dataclass(eq=False)
class GatewaySession:
    """One identified bot session; survives disconnects until invalidated (resumable)."""

    session_id: str
    identify: dict[str, Any]
    seq: int = 0
    log: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    conn: GatewayConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    resumes: int = 0
    replayed: int = 0
    """How many events were re-sent after RESUMEs (missed while disconnected)."""
    ready: bool = False
    """True once READY and every GUILD_CREATE were sent."""
    presence: dict[str, Any] | None = None
    created: float = field(default_factory=time.monotonic)

    @property
    def intents(self) -> int:
        return int(self.identify.get("intents", 0) or 0)

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.ws.closed

    @property
    def shard(self) -> tuple[int, int]:
        """``(shard_id, shard_count)`` as identified; ``(0, 1)`` for an unsharded session (every guild)."""
        shard = self.identify.get("shard")
        return (int(shard[0]), int(shard[1])) if shard else (0, 1)

    def holds(self, guild_id: int | None) -> bool:
        """Whether events of ``guild_id`` reach this session (``None``: an event of no guild, shard 0's)."""
        shard_id, shard_count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % shard_count == shard_id

    def wants(self, intent: int) -> bool:
        return bool(self.intents & intent)


class Gateway:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self.received: list[dict[str, Any]] = []
        """Every payload the bot sent on the gateway (IDENTIFY tokens included)."""
        self.sent: list[tuple[str | None, dict[str, Any]]] = []
        """(session_id, payload) for every payload the fake sent."""
        self.heartbeat_interval_ms = 41250
        self.ack_heartbeats = True
        self.connect_paths: list[str] = []
        self.identifies = 0
        """IDENTIFYs accepted so far (what ``session_start_limit.remaining`` counts down)."""
        self.closes: list[tuple[int, str]] = []
        """(code, reason) of every connection the fake closed on its own (4004, 4010, 4011, 4014)."""

    # ---- helpers -------------------------------------------------------------------------------
    def live_sessions(self) -> list[GatewaySession]:
        return list(self.sessions.values())

    async def _send(
        self, conn: GatewayConnection, payload: dict[str, Any], session: GatewaySession | None
    ) -> None:
        self.sent.append((session.session_id if session else None, payload))
        await conn.send(payload)

    async def dispatch(
        self, event: str, data: dict[str, Any], *, session: GatewaySession | None = None
    ) -> int:
        """Send a DISPATCH to one or all sessions. Returns how many sessions got (or queued) it."""
        targets = [session] if session is not None else self.live_sessions()
        n = 0
        for s in targets:
            payload_data = self.fake._filter_for_session(s, event, data)
            if payload_data is None:
                continue
            async with s.lock:
                s.seq += 1
                payload = {"op": DISPATCH, "t": event, "s": s.seq, "d": payload_data}
                s.log.append((s.seq, payload))
                n += 1
                if s.connected and s.ready:
                    assert s.conn is not None
                    try:
                        await self._send(s.conn, payload, s)
                    except (ConnectionError, RuntimeError):
                        log.debug("session %s: send failed, event kept for replay", s.session_id)
        self.fake._notifier.bump()
        return n

    async def disconnect(
        self, code: int = 4000, *, session: GatewaySession | None = None, resumable: bool = True
    ) -> None:
        for s in [session] if session else self.live_sessions():
            conn = s.conn
            s.conn = None
            if not resumable:
                self.sessions.pop(s.session_id, None)
            if conn is not None and not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=code, message=b"fake discord closed the connection")
        self.fake._notifier.bump()

    async def send_op(self, op: int, d: Any = None, *, session: GatewaySession | None = None) -> None:
        for s in [session] if session else self.live_sessions():
            if s.conn is not None:
                await self._send(s.conn, {"op": op, "d": d, "s": None, "t": None}, s)

    # ---- the websocket -------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        query = dict(request.query)
        self.connect_paths.append(request.path_qs)
        conn = GatewayConnection(ws=ws, path=request.path, query=query)
        compress = query.get("compress")
        if compress == "zlib-stream":
            conn.compressor = zlib.compressobj()
        # zstd-stream (asked for when zstandard is installed) is answered with plain text frames,
        # which discord.py accepts as well.
        self.connections.append(conn)
        session: GatewaySession | None = None
        try:
            await self._send(
                conn,
                {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None},
                None,
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    payload = json.loads(msg.data.decode())
                else:
                    break
                self.received.append(payload)
                op = payload.get("op")
                d = payload.get("d")
                if op == HEARTBEAT:
                    conn.heartbeats += 1
                    if self.ack_heartbeats:
                        await self._send(
                            conn, {"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None}, session
                        )
                elif op == IDENTIFY:
                    session = await self._identify(conn, d or {})
                    if session is None:
                        break
                elif op == RESUME:
                    session = await self._resume(conn, d or {})
                    if session is None:
                        continue
                elif op == PRESENCE_UPDATE:
                    if session is not None:
                        session.presence = d
                    self.fake._notifier.bump()
                elif op == REQUEST_MEMBERS:
                    await self._request_members(conn, session, d or {})
                elif op == VOICE_STATE:
                    pass
                else:
                    log.debug("gateway: ignoring op %s", op)
                self.fake._notifier.bump()
        finally:
            log.debug(
                "gateway connection closed: code=%s session=%s", ws.close_code, session and session.session_id
            )
            if session is not None and session.conn is conn:
                session.conn = None
                # A client-initiated close with 1000/1001 ends the session, as on Discord.
                if ws.close_code in (1000, 1001):
                    self.sessions.pop(session.session_id, None)
            with contextlib.suppress(ValueError):
                self.connections.remove(conn)
            self.fake._notifier.bump()
        return ws

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> GatewaySession | None:
        fake = self.fake
        if d.get("token") != fake.token:
            await self._refuse(conn, 4004, "Authentication failed.")
            return None
        intents = int(d.get("intents", 0) or 0)
        missing = intents & PRIVILEGED_INTENTS & ~fake.privileged_intents
        if missing:
            await self._refuse(conn, 4014, "Disallowed intent(s).")
            return None
        shard = d.get("shard")
        if shard is not None and not _valid_shard(shard):
            await self._refuse(conn, 4010, "Invalid shard.")
            return None
        session = GatewaySession(session_id=secrets.token_hex(16), identify=d, conn=conn)
        guilds = [g for g in fake._bot_guilds() if session.holds(g.id)]
        if len(guilds) > fake.max_guilds_per_session:
            await self._refuse(conn, 4011, "Sharding required.")
            return None
        self.identifies += 1
        self.sessions[session.session_id] = session
        async with session.lock:
            session.seq += 1
            ready = {
                "v": 10,
                "user": fake._bot_user_json(),
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": fake.resume_gateway_url,
                "application": {"id": str(fake.application_id), "flags": fake.application_flags},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": ["fake"],
                "user_settings": {},
                "shard": d.get("shard") or [0, 1],
                "_trace": ["fake-discord"],
            }
            payload = {"op": DISPATCH, "t": "READY", "s": session.seq, "d": ready}
            session.log.append((session.seq, payload))
            await self._send(conn, payload, session)
            for g in guilds:
                session.seq += 1
                payload = {
                    "op": DISPATCH,
                    "t": "GUILD_CREATE",
                    "s": session.seq,
                    "d": fake._guild_create_json(g, session),
                }
                session.log.append((session.seq, payload))
                await self._send(conn, payload, session)
            session.ready = True
        fake._notifier.bump()
        return session

    async def _refuse(self, conn: GatewayConnection, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        await conn.ws.close(code=code, message=reason.encode())
        self.fake._notifier.bump()

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(d.get("session_id") or "")
        if session is None or d.get("token") != self.fake.token:
            await self._send(conn, {"op": INVALID_SESSION, "d": False, "s": None, "t": None}, None)
            return None
        old = session.conn
        if old is not None and old is not conn and not old.ws.closed:
            session.conn = None
            with contextlib.suppress(Exception):
                await old.ws.close(code=4000)
        last = int(d.get("seq") or 0)
        async with session.lock:
            for seq, payload in list(session.log):
                if seq > last:
                    await self._send(conn, payload, session)
                    session.replayed += 1
            session.seq += 1
            resumed = {"op": DISPATCH, "t": "RESUMED", "s": session.seq, "d": {"_trace": ["fake-discord"]}}
            session.log.append((session.seq, resumed))
            await self._send(conn, resumed, session)
            session.conn = conn
            session.resumes += 1
            session.ready = True
        self.fake._notifier.bump()
        return session

    async def _request_members(
        self, conn: GatewayConnection, session: GatewaySession | None, d: dict[str, Any]
    ) -> None:
        if session is None:
            return
        gids = d.get("guild_id")
        for gid in gids if isinstance(gids, list) else [gids]:
            guild = self.fake.guilds.get(int(gid))
            if guild is None:
                continue
            members = list(guild.members.values())
            query = d.get("query") or ""
            user_ids = d.get("user_ids")
            if user_ids:
                wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
                members = [m for m in members if m.user.id in wanted]
            elif query:
                members = [m for m in members if m.user.username.lower().startswith(query.lower())]
            limit = int(d.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk = {
                "guild_id": str(guild.id),
                "members": [m.to_json() for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if d.get("nonce") is not None:
                chunk["nonce"] = d["nonce"]
            if d.get("presences"):
                chunk["presences"] = []
            await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, session=session)


def _valid_shard(shard: Any) -> bool:
    """``[shard_id, shard_count]`` with ``0 <= shard_id < shard_count``, as Discord accepts it."""
    if not isinstance(shard, list | tuple) or len(shard) != 2:
        return False
    shard_id, shard_count = shard
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shard):
        return False
    return shard_count >= 1 and 0 <= shard_id < shard_count
