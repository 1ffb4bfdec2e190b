"""Entities of the fake Discord: snowflakes, users, roles, channels, guilds and permissions.

Everything here is plain data plus ``to_json`` methods that produce payloads shaped the way
Discord's API v10 shapes them (and the way discord.py 2.7 parses them).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000


class Perm:
    """Discord permission bits (the subset a news bot cares about, plus the big ones)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40
    ALL = (1 << 53) - 1

    EVERYONE_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | EMBED_LINKS
        | ATTACH_FILES
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS
        | CREATE_PUBLIC_THREADS
        | CREATE_INSTANT_INVITE
        | CHANGE_NICKNAME
    )
    ADMIN_ROLE_DEFAULT = MANAGE_GUILD | MANAGE_MESSAGES | MANAGE_CHANNELS | MENTION_EVERYONE | KICK_MEMBERS
    BOT_ROLE_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | SEND_MESSAGES_IN_THREADS
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | USE_EXTERNAL_EMOJIS
    )


class ChannelType:
    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    PUBLIC_THREAD = 11
    GUILD_FORUM = 15


class SnowflakeFactory:
    """Current-time snowflakes, strictly increasing, safe to call from any thread."""

    def __init__(self, worker: int = 1) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._inc = itertools.count()
        self._worker = worker & 0x1F

    def next(self, *, shard: tuple[int, int] | None = None) -> int:
        """The next id; with ``shard=(shard_id, shard_count)`` one that Discord puts in that shard
        (``(id >> 22) % shard_count == shard_id``): its millisecond is moved up to the next one that fits."""
        with self._lock:
            now = int(time.time() * 1000)
            if now > self._last_ms:
                self._last_ms = now
                self._inc = itertools.count()
            while True:
                ms = self._last_ms
                if shard is not None and (ms - DISCORD_EPOCH_MS) % shard[1] != shard[0]:
                    self._last_ms = ms + (shard[0] - (ms - DISCORD_EPOCH_MS)) % shard[1]
                    self._inc = itertools.count()
                    continue
                inc = next(self._inc)
                if inc >= 4096:  # more than 4096 ids in one millisecond: borrow the next one
                    self._last_ms += 1
                    self._inc = itertools.count()
                    continue
                return ((ms - DISCORD_EPOCH_MS) << 22) | (self._worker << 17) | inc


def snowflake_time(snowflake: int) -> dt.datetime:
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat()


@dataclass(eq=False)
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    accepts_dms: bool = True
    """False makes the bot's DMs to this user fail with 403 / 50007, as with closed DMs."""

    @property
    def name(self) -> str:
        return self.username

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data

    def __repr__(self) -> str:
        return f"<FakeUser id={self.id} username={self.username!r}>"


@dataclass(eq=False)
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data

    def __repr__(self) -> str:
        return f"<FakeRole id={self.id} name={self.name!r} permissions={self.permissions}>"


@dataclass(eq=False)
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(eq=False)
class FakeChannel:
    id: int
    name: str
    type: int = ChannelType.GUILD_TEXT
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    recipients: list[FakeUser] = field(default_factory=list)
    last_message_id: int | None = None
    # A forum's tags: {"id", "name", "moderated", "emoji_id", "emoji_name"}.
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    # A thread's: who started it, its tags (a forum post's), how long until it archives, its messages.
    owner_id: int | None = None
    applied_tags: list[int] = field(default_factory=list)
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    message_count: int = 0

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM

    @property
    def is_thread(self) -> bool:
        return self.type == ChannelType.PUBLIC_THREAD

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_json(self, *, include_guild_id: bool = True) -> dict[str, Any]:
        if self.is_dm:
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": str(self.last_message_id) if self.last_message_id else None,
                "recipients": [u.to_json() for u in self.recipients],
                "flags": 0,
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.to_json() for o in self.overwrites],
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "nsfw": self.nsfw,
            "flags": 0,
        }
        if self.is_thread:
            data.pop("permission_overwrites")
            data.pop("position")
            data.update(
                owner_id=str(self.owner_id) if self.owner_id else None,
                last_message_id=str(self.last_message_id) if self.last_message_id else None,
                rate_limit_per_user=0,
                message_count=self.message_count,
                member_count=1,
                total_message_sent=self.message_count,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso_now(),
                    "locked": self.locked,
                },
            )
        elif self.type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
            data.update(
                topic=self.topic,
                rate_limit_per_user=0,
                last_message_id=str(self.last_message_id) if self.last_message_id else None,
            )
        elif self.type == ChannelType.GUILD_FORUM:
            data.update(
                topic=self.topic,
                rate_limit_per_user=0,
                last_message_id=str(self.last_message_id) if self.last_message_id else None,
                available_tags=[dict(tag) for tag in self.available_tags],
                default_reaction_emoji=None,
                default_thread_rate_limit_per_user=0,
                default_sort_order=None,
                default_forum_layout=0,
            )
        elif self.is_thread:
            data.update(
                owner_id=str(self.owner_id) if self.owner_id else None,
                last_message_id=str(self.last_message_id) if self.last_message_id else None,
                rate_limit_per_user=0,
                message_count=self.message_count,
                member_count=1,
                total_message_sent=self.message_count,
                applied_tags=[str(t) for t in self.applied_tags],
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso_now(),
                    "locked": False,
                },
            )
        elif self.type == ChannelType.GUILD_VOICE:
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        if include_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data

    def __repr__(self) -> str:
        return f"<FakeChannel id={self.id} name={self.name!r} type={self.type}>"


@dataclass(eq=False)
class FakeMember:
    user: FakeUser
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    def to_json(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_json()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def __repr__(self) -> str:
        return f"<FakeMember user={self.user.username!r} guild={self.guild_id} roles={self.roles}>"


@dataclass(eq=False)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    preferred_locale: str = "en-US"

    @property
    def everyone_role(self) -> FakeRole:
        return self.roles[self.id]

    def shard(self, shard_count: int) -> int:
        """The shard that carries this guild when a bot runs ``shard_count`` shards (Discord's rule)."""
        return (self.id >> 22) % shard_count

    def get_channel(self, name_or_id: str | int) -> FakeChannel | None:
        for ch in self.channels.values():
            if ch.id == name_or_id or ch.name == name_or_id:
                return ch
        return None

    def get_role(self, name_or_id: str | int) -> FakeRole | None:
        for role in self.roles.values():
            if role.id == name_or_id or role.name == name_or_id:
                return role
        return None

    # ---- permissions, computed the way Discord documents it -----------------------------------
    def base_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return Perm.ALL
        member = self.members.get(user_id)
        perms = self.everyone_role.permissions
        if member is not None:
            for rid in member.roles:
                role = self.roles.get(rid)
                if role is not None:
                    perms |= role.permissions
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        return perms

    def permissions_for(self, user_id: int, channel: FakeChannel | None = None) -> int:
        if channel is not None and channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]  # a thread has its parent's permissions
        perms = self.base_permissions(user_id)
        if perms == Perm.ALL or channel is None:
            return perms
        member = self.members.get(user_id)
        role_ids = set(member.roles) if member else set()
        ow = {o.id: o for o in channel.overwrites}
        everyone = ow.get(self.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for o in channel.overwrites:
            if o.type == 0 and o.id in role_ids:
                allow |= o.allow
                deny |= o.deny
        perms = (perms & ~deny) | allow
        mine = ow.get(user_id)
        if mine is not None and mine.type == 1:
            perms = (perms & ~mine.deny) | mine.allow
        if not perms & Perm.VIEW_CHANNEL:
            return 0
        if channel.type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT) and not (
            perms & Perm.SEND_MESSAGES
        ):
            perms &= ~(Perm.MENTION_EVERYONE | Perm.SEND_TTS_MESSAGES | Perm.ATTACH_FILES | Perm.EMBED_LINKS)
        return perms

    def to_json(self, *, bot_user_id: int | None = None) -> dict[str, Any]:
        """The full GUILD_CREATE payload."""
        members = list(self.members.values())
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "features": list(self.features),
            "roles": [r.to_json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.to_json(include_guild_id=False) for c in self.channels.values() if not c.is_thread],
            "threads": [c.to_json() for c in self.channels.values() if c.is_thread],
            "members": [m.to_json() for m in members],
            "member_count": len(members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "lazy": True,
            "joined_at": (
                self.members[bot_user_id].joined_at
                if bot_user_id is not None and bot_user_id in self.members
                else iso_now()
            ),
        }

    def to_rest_json(self) -> dict[str, Any]:
        """GET /guilds/{id} shape (no channels / members)."""
        data = self.to_json()
        for key in (
            "channels",
            "threads",
            "members",
            "presences",
            "voice_states",
            "stage_instances",
            "guild_scheduled_events",
            "soundboard_sounds",
            "joined_at",
            "large",
            "lazy",
            "member_count",
            "unavailable",
        ):
            data.pop(key, None)
        data["approximate_member_count"] = len(self.members)
        return data

    def __repr__(self) -> str:
        return f"<FakeGuild id={self.id} name={self.name!r}>"
