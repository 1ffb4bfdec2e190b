"""REST side of the fake: the message store and every HTTP route, mixed into FakeDiscord.

Routes live under ``/api/v{N}`` and are matched by :meth:`RestApi._match_route`; a handler gets a
``_Ctx`` and returns ``(status, json_body)`` or raises ``DiscordError``. Everything is recorded in
``FakeDiscord.requests``; injected faults (``FakeDiscord.inject``) are applied before routing.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import mimetypes
import re
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote

from aiohttp import web

from . import faults as fc
from .models import ChannelType, FakeChannel, FakeGuild, FakeUser, Perm, iso_now
from .ratelimits import Verdict, bucket_hash
from .records import (
    EPHEMERAL,
    IS_COMPONENTS_V2,
    LOADING,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    FakeInteraction,
    RecordedCallback,
    RecordedFile,
    RecordedMessage,
    RecordedRequest,
)
from .validation import (
    EMBED_MEDIA_URLS,
    DiscordError,
    FormErrors,
    file_index,
    invalid_form,
    uploaded_filenames,
    validate_choices,
    validate_commands,
    validate_message,
    validate_modal,
    validate_upload,
)

log = logging.getLogger("tests.fake_discord")

API_PREFIX = re.compile(r"^/api(?:/v\d+)?(/.*)?$")
INTERACTION_TOKEN_TTL = 15 * 60
HAS_THREAD = 1 << 5  # message flag: a thread was started from this message


@dataclass(eq=False)
class CommandSync:
    """One bulk overwrite (``PUT .../commands``) the bot made."""

    guild_id: int | None
    payload: list[dict[str, Any]]
    response: list[dict[str, Any]]
    at: float = field(default_factory=time.monotonic)

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.payload]


@dataclass
class _Ctx:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    headers: dict[str, str]
    record: RecordedRequest


@dataclass
class _Route:
    method: str
    template: str
    handler: Callable[[_Ctx], Awaitable[tuple[int, Any]]]
    auth: bool = True
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        parts = re.split(r"(\{[^}/]+\})", self.template)
        rx = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        self.regex = re.compile(rx + "/?")

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class RestApi:
    """Mixin for :class:`FakeDiscord`: message store + REST handlers."""

    # =============================================================================================
    # messages
    # =============================================================================================
    def _create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        payload: dict[str, Any],
        *,
        source: str,
        allowed_mentions: dict[str, Any] | None,
        files: list[RecordedFile] | None = None,
        flags: int = 0,
        message_type: int = 0,
        interaction: FakeInteraction | None = None,
        request: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> RecordedMessage:
        if source != "user":
            validate_upload(payload, files or [], limit_bytes=self.upload_limit)
        mid = message_id or self._ids.next()
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        data: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "author": author.to_json(),
            "content": payload.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": (
                copy.deepcopy(payload.get("attachments") or [])
                if source == "user"  # a test user's message carries ready-made attachment objects
                else self._attachments_for(channel, payload, files or [])
            ),
            "embeds": [_normalize_embed(e) for e in payload.get("embeds") or []],
            "pinned": False,
            "type": message_type,
            "flags": flags,
            "components": copy.deepcopy(payload.get("components") or []),
        }
        _show_attachments_in_embeds(data)
        if payload.get("nonce") is not None:
            data["nonce"] = str(payload["nonce"])
        if payload.get("poll"):
            data["poll"] = copy.deepcopy(payload["poll"])
        if guild is not None:
            data["guild_id"] = str(guild.id)
        ref_msg: RecordedMessage | None = None
        ref = payload.get("message_reference")
        if ref and int(ref.get("type", 0)) == 0:
            ref_msg = self._find_message(int(ref["message_id"]))
            if ref_msg is None or ref_msg.channel_id != channel.id:
                if ref.get("fail_if_not_exists", True):
                    raise invalid_form(
                        "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    )
            else:
                data["type"] = 19
                data["message_reference"] = {
                    "type": 0,
                    "message_id": str(ref_msg.id),
                    "channel_id": str(channel.id),
                    **({"guild_id": str(guild.id)} if guild else {}),
                }
                data["referenced_message"] = copy.deepcopy(ref_msg.data)
        if interaction is not None:
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
            data["interaction_metadata"] = self._interaction_metadata(interaction)
            if interaction.type == 2:
                idata = interaction.payload["data"]
                data["interaction"] = {
                    "id": str(interaction.id),
                    "type": 2,
                    "name": idata.get("name", ""),
                    "user": self.users[interaction.user_id].to_json(),
                }
        self._apply_mentions(data, guild, channel, author, allowed_mentions, ref_msg)
        msg = RecordedMessage(
            data=data,
            source=source,
            seq=self._next_seq(),
            request=request,
            interaction_id=interaction.id if interaction else None,
            files=list(files or []),
        )
        self.channel_messages.setdefault(channel.id, []).append(msg)
        channel.last_message_id = mid
        channel.message_count += 1
        if source != "user":
            self.messages.append(msg)
        self._notifier.bump()
        return msg

    def _interaction_metadata(self, inter: FakeInteraction) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "user": self.users[inter.user_id].to_json(),
            "authorizing_integration_owners": inter.payload.get("authorizing_integration_owners", {}),
        }
        if inter.type == 2:
            meta["name"] = inter.payload["data"].get("name", "")
            meta["command_type"] = inter.payload["data"].get("type", 1)
        if inter.component_message is not None:
            meta["interacted_message_id"] = str(inter.component_message.id)
        return meta

    def _attachment(
        self, channel_id: int, filename: str, data: bytes | None, size: int | None, content_type: str | None
    ) -> dict[str, Any]:
        """An attachment object; its bytes (if given) are served at its URL."""
        aid = str(self._ids.next())
        if data is not None:
            self.attachment_data[aid] = bytes(data)
        url = f"{self.http_url}/attachments/{channel_id}/{aid}/{filename}"
        entry: dict[str, Any] = {
            "id": aid,
            "filename": filename,
            "size": len(data) if data is not None else int(size or 0),
            "url": url,
            "proxy_url": url,
            # Discord names the type itself (a bot's parts all say application/octet-stream).
            "content_type": mimetypes.guess_type(filename)[0] or content_type,
        }
        dimensions = _png_size(data) if data is not None else None
        if dimensions is not None:
            entry["width"], entry["height"] = dimensions
        return entry

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        data = self.attachment_data.get(request.match_info["attachment_id"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _attachments_for(
        self, channel: FakeChannel, payload: dict[str, Any], files: list[RecordedFile]
    ) -> list[dict[str, Any]]:
        out = []
        meta = {str(a.get("id")): a for a in payload.get("attachments") or []}
        for f, filename in zip(files, uploaded_filenames(payload, files), strict=True):
            m = meta.get(str(file_index(f)), {})
            entry = self._attachment(channel.id, filename, f.data, None, f.content_type)
            if m.get("description"):
                entry["description"] = m["description"]
            out.append(entry)
        return out

    def _apply_mentions(
        self,
        data: dict[str, Any],
        guild: FakeGuild | None,
        channel: FakeChannel,
        author: FakeUser,
        am: dict[str, Any] | None,
        ref_msg: RecordedMessage | None,
    ) -> None:
        """Fill mentions / mention_roles / mention_everyone the way Discord does, honouring
        ``allowed_mentions`` (absent: everything may ping, subject to permissions)."""
        content = data.get("content") or ""
        parse = ["users", "roles", "everyone"] if am is None else list(am.get("parse") or [])
        allowed_users = {str(u) for u in (am or {}).get("users") or []}
        allowed_roles = {str(r) for r in (am or {}).get("roles") or []}
        author_perms = guild.permissions_for(author.id, channel) if guild is not None else 0
        can_everyone = bool(author_perms & Perm.MENTION_EVERYONE)
        users: list[dict[str, Any]] = []
        seen: set[str] = set()
        for uid in re.findall(r"<@!?(\d+)>", content):
            if uid in seen or int(uid) not in self.users:
                continue
            if "users" in parse or uid in allowed_users:
                seen.add(uid)
                users.append(self._mention_json(int(uid), guild))
        if ref_msg is not None and (am is None or am.get("replied_user")):
            rid = str(ref_msg.author_id)
            if rid not in seen:
                seen.add(rid)
                users.append(self._mention_json(int(rid), guild))
        roles: list[str] = []
        if guild is not None:
            for rid in re.findall(r"<@&(\d+)>", content):
                role = guild.roles.get(int(rid))
                if role is None or rid in roles:
                    continue
                if ("roles" in parse or rid in allowed_roles) and (role.mentionable or can_everyone):
                    roles.append(rid)
        everyone = (
            bool(re.search(r"@(everyone|here)\b", content))
            and "everyone" in parse
            and (can_everyone or guild is None)
        )
        data["mentions"] = users
        data["mention_roles"] = roles
        data["mention_everyone"] = everyone and guild is not None

    def _mention_json(self, uid: int, guild: FakeGuild | None) -> dict[str, Any]:
        data = self.users[uid].to_json()
        if guild is not None and uid in guild.members:
            data["member"] = guild.members[uid].to_json(with_user=False)
        return data

    def _gateway_message(self, msg: RecordedMessage) -> dict[str, Any]:
        data = copy.deepcopy(msg.data)
        gid = msg.guild_id
        if gid is not None:
            member = self.guilds[gid].members.get(msg.author_id)
            if member is not None and not data.get("webhook_id"):
                data["member"] = member.to_json(with_user=False)
        return data

    async def _echo(self, event: str, msg: RecordedMessage) -> None:
        if not self.echo_bot_messages or msg.ephemeral or not self.gateway.sessions:
            return
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id:
                data["guild_id"] = str(msg.guild_id)
            await self.dispatch(event, data)
        else:
            await self.dispatch(event, self._gateway_message(msg))

    def _edit_message(self, msg: RecordedMessage, payload: dict[str, Any], files: list[RecordedFile]) -> None:
        validate_message(payload, has_files=bool(files), creating=False, existing=msg.data)
        validate_upload(payload, files, limit_bytes=self.upload_limit, existing=msg.data.get("attachments"))
        msg.history.append(copy.deepcopy(msg.data))
        data = msg.data
        if "content" in payload:
            data["content"] = payload["content"] or ""
        if "embeds" in payload:
            data["embeds"] = [_normalize_embed(e) for e in payload["embeds"] or []]
        if "components" in payload:
            data["components"] = copy.deepcopy(payload["components"] or [])
        if "flags" in payload and payload["flags"] is not None:
            keep = int(data.get("flags", 0)) & (EPHEMERAL | IS_COMPONENTS_V2 | SUPPRESS_NOTIFICATIONS)
            data["flags"] = keep | (int(payload["flags"]) & (SUPPRESS_EMBEDS | IS_COMPONENTS_V2))
        if "attachments" in payload or files:
            kept_ids = {str(a.get("id")) for a in payload.get("attachments") or []}
            kept = (
                [a for a in data.get("attachments", []) if a["id"] in kept_ids]
                if "attachments" in payload
                else list(data.get("attachments", []))
            )
            channel = self.channels[msg.channel_id]
            data["attachments"] = kept + self._attachments_for(channel, payload, files)
            msg.files.extend(files)
        _show_attachments_in_embeds(data)
        data["flags"] = int(data.get("flags", 0)) & ~LOADING
        data["edited_timestamp"] = iso_now()
        if "content" in payload or "allowed_mentions" in payload:
            guild = self.guilds.get(msg.guild_id) if msg.guild_id else None
            channel = self.channels[msg.channel_id]
            am = payload.get("allowed_mentions", msg.allowed_mentions)
            self._apply_mentions(data, guild, channel, self.users[msg.author_id], am, None)
        msg.edits.append(copy.deepcopy(payload))
        self._notifier.bump()

    # =============================================================================================
    # HTTP plumbing
    # =============================================================================================
    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        m = API_PREFIX.match(request.path)
        rel = (m.group(1) or "/") if m else request.path
        files: list[RecordedFile] = []
        body: Any = None
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            form = await request.post()
            for key, value in form.items():
                if key == "payload_json":
                    if isinstance(value, web.FileField):
                        value = value.file.read()
                    body = json.loads(value if isinstance(value, str) else bytes(value).decode())
                elif isinstance(value, web.FileField):
                    files.append(RecordedFile(key, value.filename, value.content_type, value.file.read()))
        else:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
        rec = RecordedRequest(
            seq=self._next_seq(),
            method=request.method,
            path=rel,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            files=files,
        )
        self.requests.append(rec)
        self._notifier.bump()

        route, params = self._match_route(request.method, rel)
        rec.route = route.name if route is not None else None
        inj = self._match_injection(request.method, rel)
        fault = inj.fault if inj else None
        if fault is not None:
            rec.fault = fault.label or "fault"
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop and not fault.process:
                return self._drop(request, rec)
            if fault.status is not None:
                rec.status = fault.status
                rec.response = fault.json if fault.text is None else fault.text
                self._notifier.bump()
                text = fault.text if fault.text is not None else json.dumps(fault.json)
                headers = {"Content-Type": fault.content_type, **fault.headers}
                if route is not None and "X-RateLimit-Bucket" in headers:
                    headers["X-RateLimit-Bucket"] = bucket_hash(route.name)  # same bucket as the successes
                return web.Response(status=fault.status, body=text.encode(), headers=headers)

        verdict: Verdict | None = None
        if route is not None and self.rate_limits is not None:
            verdict = self.rate_limits.admit(route.name, params)
            if verdict.limited:
                rec.status, rec.response, rec.rate_limited = 429, verdict.body, True
                self._notifier.bump()
                headers = {"Content-Type": "application/json", **verdict.headers}
                return web.Response(status=429, body=json.dumps(verdict.body).encode(), headers=headers)

        if route is None:
            status = 405 if params else 404
            body_out: Any = {
                "message": f"{status}: {'Method Not Allowed' if status == 405 else 'Not Found'}",
                "code": 0,
            }
            log.warning("fake discord: unexpected %s %s", request.method, rel)
        else:
            ctx = _Ctx(
                request.method, rel, params, dict(request.query), body, files, dict(request.headers), rec
            )
            try:
                if route.auth:
                    self._check_auth(request)
                status, body_out = await route.handler(ctx)
            except DiscordError as e:
                status, body_out = e.status, e.body()
        rec.status = status
        rec.response = body_out
        self._notifier.bump()
        if fault is not None and fault.drop:
            return self._drop(request, rec)
        return self._json(status, body_out, route, verdict)

    def _drop(self, request: web.Request, rec: RecordedRequest) -> web.StreamResponse:
        rec.fault = rec.fault or "drop"
        if request.transport is not None:
            request.transport.abort()
        self._notifier.bump()
        return web.Response(status=499)

    def _json(self, status: int, body: Any, route: _Route | None, verdict: Verdict | None = None) -> web.Response:
        headers = {"Via": "1.1 google"}
        if verdict is not None:
            headers.update(verdict.headers)
        elif route is not None and status < 300:
            now = time.time()
            headers.update(
                {
                    "X-RateLimit-Limit": "50",
                    "X-RateLimit-Remaining": "49",
                    "X-RateLimit-Reset": f"{now + 1:.3f}",
                    "X-RateLimit-Reset-After": "1.000",
                    "X-RateLimit-Bucket": bucket_hash(route.name),
                }
            )
        if status == 204 or body is None:
            return web.Response(status=204, headers=headers)
        # Exactly "application/json": discord.py only parses JSON for that exact content type.
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)

    def _check_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordError(401, 0, "401: Unauthorized")

    def _match_route(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        path_matched = False
        for route in self._routes:
            m = route.regex.fullmatch(path)
            if m is None:
                continue
            if route.method == method:
                return route, m.groupdict()
            path_matched = True
        return None, {"_path_matched": "1"} if path_matched else {}

    def _build_routes(self) -> list[_Route]:
        r = _Route
        return [
            r("GET", "/users/@me", self._h_me),
            r("GET", "/oauth2/applications/@me", self._h_application),
            r("GET", "/applications/@me", self._h_application),
            r("GET", "/gateway", self._h_gateway, auth=False),
            r("GET", "/gateway/bot", self._h_gateway_bot),
            r("POST", "/users/@me/channels", self._h_create_dm),
            r("GET", "/users/{user_id}", self._h_get_user),
            r("GET", "/channels/{channel_id}", self._h_get_channel),
            r("POST", "/channels/{channel_id}/typing", self._h_typing),
            r("GET", "/channels/{channel_id}/messages", self._h_history),
            r("POST", "/channels/{channel_id}/messages", self._h_create_message),
            r("POST", "/channels/{channel_id}/threads", self._h_start_thread),
            r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._h_thread_from_message),
            r("GET", "/channels/{channel_id}/messages/{message_id}", self._h_get_message),
            r("PATCH", "/channels/{channel_id}/messages/{message_id}", self._h_edit_message),
            r("DELETE", "/channels/{channel_id}/messages/{message_id}", self._h_delete_message),
            r(
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._h_add_reaction,
            ),
            r(
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._h_remove_reaction,
            ),
            r("GET", "/guilds/{guild_id}", self._h_get_guild),
            r("GET", "/guilds/{guild_id}/channels", self._h_guild_channels),
            r("GET", "/guilds/{guild_id}/roles", self._h_guild_roles),
            r("GET", "/guilds/{guild_id}/members/{user_id}", self._h_guild_member),
            r("GET", "/applications/{app_id}/commands", self._h_get_commands),
            r("PUT", "/applications/{app_id}/commands", self._h_put_commands),
            r("POST", "/applications/{app_id}/commands", self._h_upsert_command),
            r("GET", "/applications/{app_id}/commands/{command_id}", self._h_get_command),
            r("DELETE", "/applications/{app_id}/commands/{command_id}", self._h_delete_command),
            r("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._h_get_commands),
            r("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._h_put_commands),
            r("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self._h_upsert_command),
            r("GET", "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}", self._h_get_command),
            r(
                "DELETE",
                "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_delete_command,
            ),
            r("POST", "/interactions/{interaction_id}/{token}/callback", self._h_callback, auth=False),
            r("GET", "/webhooks/{app_id}/{token}/messages/@original", self._h_wh_get, auth=False),
            r("PATCH", "/webhooks/{app_id}/{token}/messages/@original", self._h_wh_edit, auth=False),
            r("DELETE", "/webhooks/{app_id}/{token}/messages/@original", self._h_wh_delete, auth=False),
            r("POST", "/webhooks/{app_id}/{token}", self._h_followup, auth=False),
            r("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._h_wh_get, auth=False),
            r("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._h_wh_edit, auth=False),
            r("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._h_wh_delete, auth=False),
        ]

    # =============================================================================================
    # REST handlers
    # =============================================================================================
    def _application_json(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.owner.to_json(),
            "team": None,
            "bot": self.bot_user.to_json(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self._bot_guilds()),
            "integration_types_config": {"0": {}},
            "tags": [],
        }

    async def _h_me(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, self._bot_user_json()

    async def _h_application(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, self._application_json()

    async def _h_gateway(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _h_gateway_bot(self, ctx: _Ctx) -> tuple[int, Any]:
        guilds = len(self._bot_guilds())
        return 200, {
            "url": self.gateway_url,
            "shards": max(1, -(-guilds // self.guilds_per_recommended_shard)),
            "session_start_limit": {
                "total": self.session_start_total,
                "remaining": max(0, self.session_start_total - self.gateway.identifies),
                "reset_after": 14400000,
                "max_concurrency": self.max_concurrency,
            },
        }

    async def _h_get_user(self, ctx: _Ctx) -> tuple[int, Any]:
        user = self.users.get(_int(ctx.params["user_id"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return 200, user.to_json()

    async def _h_create_dm(self, ctx: _Ctx) -> tuple[int, Any]:
        rid = _int((ctx.json or {}).get("recipient_id"))
        user = self.users.get(rid)
        if user is None or user.id == self.bot_user.id:
            raise DiscordError(400, 50033, "Invalid Recipient(s)")
        return 200, self.dm_channel(user).to_json()

    def _channel(self, ctx: _Ctx) -> FakeChannel:
        ch = self.channels.get(_int(ctx.params["channel_id"]))
        if ch is None:
            raise DiscordError(404, fc.UNKNOWN_CHANNEL, "Unknown Channel")
        return ch

    def _require(self, channel: FakeChannel, perms: int) -> None:
        if channel.guild_id is None:
            return
        have = self.guilds[channel.guild_id].permissions_for(self.bot_user.id, channel)
        if not have & Perm.VIEW_CHANNEL:
            raise DiscordError(403, fc.MISSING_ACCESS, "Missing Access")
        if have & perms != perms:
            raise DiscordError(403, fc.MISSING_PERMISSIONS, "Missing Permissions")

    async def _h_get_channel(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL)
        return 200, ch.to_json()

    async def _h_typing(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
        self.typing.append((ch.id, time.monotonic()))
        self._notifier.bump()
        return 204, None

    async def _h_history(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL)
        if (
            ch.guild_id is not None
            and not self.permissions_for(self.bot_user, ch) & Perm.READ_MESSAGE_HISTORY
        ):
            return 200, []
        msgs = [m for m in self.channel_messages.get(ch.id, []) if not m.deleted and not m.ephemeral]
        limit = max(1, min(100, int(ctx.query.get("limit", 50))))
        if "before" in ctx.query:
            b = int(ctx.query["before"])
            msgs = [m for m in msgs if m.id < b][-limit:]
        elif "after" in ctx.query:
            a = int(ctx.query["after"])
            msgs = [m for m in msgs if m.id > a][:limit]
        elif "around" in ctx.query:
            c = int(ctx.query["around"])
            older = [m for m in msgs if m.id <= c][-(limit // 2 + 1) :]
            newer = [m for m in msgs if m.id > c][: limit - len(older)]
            msgs = older + newer
        else:
            msgs = msgs[-limit:]
        return 200, [_as_stored(m) for m in reversed(msgs)]

    async def _h_create_message(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        if ch.type in (ChannelType.GUILD_FORUM, ChannelType.GUILD_CATEGORY, ChannelType.GUILD_VOICE):
            # A forum takes posts (threads), not messages.
            raise DiscordError(400, fc.CANNOT_SEND_IN_NON_TEXT_CHANNEL, "Cannot send messages in a non-text channel")
        needed = Perm.VIEW_CHANNEL | (Perm.SEND_MESSAGES_IN_THREADS if ch.is_thread else Perm.SEND_MESSAGES)
        if ch.is_thread and ch.locked:
            self._require(ch, Perm.MANAGE_THREADS)
        if payload.get("embeds"):
            needed |= Perm.EMBED_LINKS
        if ctx.files:
            needed |= Perm.ATTACH_FILES
        self._require(ch, needed)
        if ch.is_dm:
            recipient = ch.recipients[0]
            if recipient.bot or not recipient.accepts_dms:
                raise DiscordError(403, fc.CANNOT_DM_USER, "Cannot send messages to this user")
        validate_message(payload, has_files=bool(ctx.files), creating=True)
        nonce = payload.get("nonce")
        now = time.monotonic()
        if nonce is not None and payload.get("enforce_nonce"):
            key = (ch.id, str(nonce))
            hit = self._nonces.get(key)
            if hit is not None and now - hit[0] <= self.nonce_ttl:
                ctx.record.deduplicated = True
                return 200, copy.deepcopy(hit[1].data)
        flags = int(payload.get("flags") or 0) & (SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2)
        msg = self._create_message(
            ch,
            self.bot_user,
            payload,
            source="channel",
            allowed_mentions=payload.get("allowed_mentions"),
            files=ctx.files,
            flags=flags,
            request=copy.deepcopy(payload),
        )
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[(ch.id, str(nonce))] = (now, msg)
        if ch.is_thread:
            ch.archived = False  # a message unarchives a thread that is not locked
        await self._echo("MESSAGE_CREATE", msg)
        return 200, copy.deepcopy(msg.data)

    # ---- threads and forum posts ------------------------------------------------------------------
    def _new_thread(self, parent: FakeChannel, name: str, thread_id: int, auto_archive: int) -> FakeChannel:
        thread = FakeChannel(
            id=thread_id,
            name=name,
            type=ChannelType.PUBLIC_THREAD,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            auto_archive_duration=auto_archive,
        )
        guild = self.guilds[parent.guild_id] if parent.guild_id else None
        if guild is not None:
            guild.channels[thread.id] = thread
        self.channels[thread.id] = thread
        return thread

    @staticmethod
    def _validate_thread(errs: FormErrors, payload: dict[str, Any]) -> None:
        name = payload.get("name")
        if errs.required(["name"], name) and isinstance(name, str):
            errs.max_len(["name"], name, 100)
        archive = payload.get("auto_archive_duration")
        if archive is not None and archive not in (60, 1440, 4320, 10080):
            errs.add(["auto_archive_duration"], "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")

    async def _h_start_thread(self, ctx: _Ctx) -> tuple[int, Any]:
        """A forum post (a thread with its first message and tags), or a thread in a text channel."""
        parent = self._channel(ctx)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        errs = FormErrors()
        self._validate_thread(errs, payload)
        if parent.type == ChannelType.GUILD_FORUM:
            message = payload.get("message")
            if not isinstance(message, dict):
                errs.add(["message"], "BASE_TYPE_REQUIRED", "This field is required")
            tags = payload.get("applied_tags") or []
            known = {str(t["id"]): t for t in parent.available_tags}
            if len(tags) > 5:
                errs.add(["applied_tags"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
            for i, tag in enumerate(tags):
                if str(tag) not in known:
                    errs.add(["applied_tags", i], "TAG_INVALID", "Unknown tag for this forum.")
            errs.raise_if_any()
            assert isinstance(message, dict)
            needed = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES  # "Create Posts" is Send Messages in a forum
            if message.get("embeds"):
                needed |= Perm.EMBED_LINKS
            if ctx.files:
                needed |= Perm.ATTACH_FILES
            if any(known[str(t)].get("moderated") for t in tags):
                needed |= Perm.MANAGE_THREADS
            self._require(parent, needed)
            validate_message(message, has_files=bool(ctx.files), creating=True)
            archive = payload.get("auto_archive_duration") or 1440
            thread = self._new_thread(parent, payload["name"], self._ids.next(), archive)
            thread.applied_tags = [int(t) for t in tags]
            msg = self._create_message(
                thread,
                self.bot_user,
                message,
                source="channel",
                allowed_mentions=message.get("allowed_mentions"),
                files=ctx.files,
                request=copy.deepcopy(payload),
                message_id=thread.id,  # a forum post's first message has the thread's id
            )
            parent.last_message_id = thread.id
            await self.dispatch("THREAD_CREATE", {**thread.to_json(), "newly_created": True})
            await self._echo("MESSAGE_CREATE", msg)
            return 201, {**thread.to_json(), "message": copy.deepcopy(msg.data)}
        if parent.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
            raise DiscordError(400, fc.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        if payload.get("type", ChannelType.PUBLIC_THREAD) != ChannelType.PUBLIC_THREAD:
            errs.add(["type"], "BASE_TYPE_CHOICES", "The fake opens public threads only.")
        errs.raise_if_any()
        self._require(parent, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        archive = payload.get("auto_archive_duration") or 1440
        thread = self._new_thread(parent, payload["name"], self._ids.next(), archive)
        await self.dispatch("THREAD_CREATE", {**thread.to_json(), "newly_created": True})
        return 201, thread.to_json()

    async def _h_thread_from_message(self, ctx: _Ctx) -> tuple[int, Any]:
        """A thread opened on a message: it has the message's id, and a message has at most one."""
        parent = self._channel(ctx)
        if parent.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
            raise DiscordError(400, fc.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        self._require(parent, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        msg = self._message(ctx, parent)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        errs = FormErrors()
        self._validate_thread(errs, payload)
        errs.raise_if_any()
        if msg.id in self.channels:
            raise DiscordError(400, fc.THREAD_ALREADY_CREATED, "A thread has already been created for this message")
        thread = self._new_thread(parent, payload["name"], msg.id, payload.get("auto_archive_duration") or 1440)
        msg.data["thread"] = thread.to_json()
        msg.data["flags"] = int(msg.data.get("flags") or 0) | HAS_THREAD
        await self.dispatch("THREAD_CREATE", {**thread.to_json(), "newly_created": True})
        return 201, thread.to_json()

    def threads_of(self, channel: FakeChannel) -> list[FakeChannel]:
        """The threads (forum posts) opened in ``channel``, oldest first."""
        threads = [c for c in self.channels.values() if c.is_thread and c.parent_id == channel.id]
        return sorted(threads, key=lambda c: c.id)

    def _message(self, ctx: _Ctx, ch: FakeChannel) -> RecordedMessage:
        mid = _int(ctx.params["message_id"])
        for m in self.channel_messages.get(ch.id, []):
            if m.id == mid and not m.deleted and not m.ephemeral:
                return m
        raise DiscordError(404, fc.UNKNOWN_MESSAGE, "Unknown Message")

    async def _h_get_message(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return 200, _as_stored(self._message(ctx, ch))

    async def _h_edit_message(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL)
        msg = self._message(ctx, ch)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        if msg.author_id != self.bot_user.id:
            only_flags = set(payload) <= {"flags"}
            if not only_flags:
                raise DiscordError(
                    403, fc.CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user"
                )
            self._require(ch, Perm.MANAGE_MESSAGES)
        self._edit_message(msg, payload, ctx.files)
        await self._echo("MESSAGE_UPDATE", msg)
        return 200, copy.deepcopy(msg.data)

    async def _h_delete_message(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL)
        msg = self._message(ctx, ch)
        if msg.author_id != self.bot_user.id:
            self._require(ch, Perm.MANAGE_MESSAGES)
        msg.deleted = True
        self._notifier.bump()
        await self._echo("MESSAGE_DELETE", msg)
        return 204, None

    async def _h_add_reaction(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        self._require(ch, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY | Perm.ADD_REACTIONS)
        msg = self._message(ctx, ch)
        emoji = _emoji_json(ctx.params["emoji"])
        reactions = msg.data.setdefault("reactions", [])
        for r in reactions:
            if r["emoji"] == emoji:
                if not r["me"]:
                    r["me"] = True
                    r["count"] += 1
                break
        else:
            reactions.append({"emoji": emoji, "count": 1, "me": True, "burst_count": 0, "me_burst": False})
        self._notifier.bump()
        return 204, None

    async def _h_remove_reaction(self, ctx: _Ctx) -> tuple[int, Any]:
        ch = self._channel(ctx)
        msg = self._message(ctx, ch)
        emoji = _emoji_json(ctx.params["emoji"])
        reactions = msg.data.get("reactions", [])
        for r in list(reactions):
            if r["emoji"] == emoji and r["me"]:
                r["me"] = False
                r["count"] -= 1
                if r["count"] <= 0:
                    reactions.remove(r)
        self._notifier.bump()
        return 204, None

    def _guild(self, ctx: _Ctx) -> FakeGuild:
        g = self.guilds.get(_int(ctx.params["guild_id"]))
        if g is None:
            raise DiscordError(404, fc.UNKNOWN_GUILD, "Unknown Guild")
        if self.bot_user.id not in g.members:
            raise DiscordError(403, fc.MISSING_ACCESS, "Missing Access")
        return g

    async def _h_get_guild(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, self._guild(ctx).to_rest_json()

    async def _h_guild_channels(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, [c.to_json() for c in self._guild(ctx).channels.values() if not c.is_thread]

    async def _h_guild_roles(self, ctx: _Ctx) -> tuple[int, Any]:
        return 200, [r.to_json() for r in self._guild(ctx).roles.values()]

    async def _h_guild_member(self, ctx: _Ctx) -> tuple[int, Any]:
        member = self._guild(ctx).members.get(_int(ctx.params["user_id"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return 200, member.to_json()

    # ---- application commands ------------------------------------------------------------------
    def _command_scope(self, ctx: _Ctx) -> tuple[int | None, list[dict[str, Any]]]:
        if _int(ctx.params["app_id"]) != self.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild_id" in ctx.params:
            guild = self._guild(ctx)
            return guild.id, self.guild_commands.setdefault(guild.id, [])
        return None, self.global_commands

    def _echo_command(
        self, cmd: dict[str, Any], guild_id: int | None, existing: list[dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = cmd.get("type", 1)
        old = next((c for c in existing if c["name"] == cmd.get("name") and c.get("type", 1) == ctype), None)
        out: dict[str, Any] = {
            "id": old["id"] if old else str(self._ids.next()),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": ctype,
            "name": cmd.get("name"),
            "description": cmd.get("description", "") if ctype == 1 else "",
            "options": copy.deepcopy(cmd.get("options") or []),
            "default_member_permissions": (
                None
                if cmd.get("default_member_permissions") is None
                else str(cmd["default_member_permissions"])
            ),
            "nsfw": bool(cmd.get("nsfw", False)),
            "name_localizations": cmd.get("name_localizations"),
            "description_localizations": cmd.get("description_localizations"),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types") or [0],
        }
        if guild_id is not None:
            out["guild_id"] = str(guild_id)
        else:
            out["dm_permission"] = cmd.get("dm_permission", True)
        return out

    async def _h_get_commands(self, ctx: _Ctx) -> tuple[int, Any]:
        _, cmds = self._command_scope(ctx)
        return 200, copy.deepcopy(cmds)

    async def _h_put_commands(self, ctx: _Ctx) -> tuple[int, Any]:
        guild_id, existing = self._command_scope(ctx)
        payload = ctx.json if isinstance(ctx.json, list) else []
        validate_commands(payload)
        new = [self._echo_command(c, guild_id, existing) for c in payload]
        existing[:] = new
        self.command_syncs.append(
            CommandSync(guild_id=guild_id, payload=copy.deepcopy(payload), response=copy.deepcopy(new))
        )
        self._notifier.bump()
        return 200, copy.deepcopy(new)

    async def _h_upsert_command(self, ctx: _Ctx) -> tuple[int, Any]:
        guild_id, existing = self._command_scope(ctx)
        cmd = ctx.json if isinstance(ctx.json, dict) else {}
        validate_commands([cmd])
        out = self._echo_command(cmd, guild_id, existing)
        existing[:] = [c for c in existing if c["id"] != out["id"]] + [out]
        self._notifier.bump()
        return 201, copy.deepcopy(out)

    async def _h_get_command(self, ctx: _Ctx) -> tuple[int, Any]:
        _, cmds = self._command_scope(ctx)
        for c in cmds:
            if c["id"] == ctx.params["command_id"]:
                return 200, copy.deepcopy(c)
        raise DiscordError(404, 10063, "Unknown application command")

    async def _h_delete_command(self, ctx: _Ctx) -> tuple[int, Any]:
        _, cmds = self._command_scope(ctx)
        before = len(cmds)
        cmds[:] = [c for c in cmds if c["id"] != ctx.params["command_id"]]
        if len(cmds) == before:
            raise DiscordError(404, 10063, "Unknown application command")
        return 204, None

    # ---- interactions --------------------------------------------------------------------------
    _ALLOWED_CALLBACKS: ClassVar[dict[int, set[int]]] = {
        1: {1},
        2: {4, 5, 9},
        3: {4, 5, 6, 7, 9},
        4: {8},
        5: {4, 5, 6, 7},
    }

    async def _h_callback(self, ctx: _Ctx) -> tuple[int, Any]:
        inter = self.interactions.get(_int(ctx.params["interaction_id"]))
        if inter is None or inter.token != ctx.params["token"]:
            raise DiscordError(404, fc.UNKNOWN_INTERACTION, "Unknown interaction")
        if inter.acknowledged:
            raise DiscordError(400, fc.ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if time.monotonic() - inter.created > self.interaction_ack_timeout:
            raise DiscordError(404, fc.UNKNOWN_INTERACTION, "Unknown interaction")
        body = ctx.json if isinstance(ctx.json, dict) else {}
        ctype = int(body.get("type", 0))
        data = body.get("data")
        if ctype not in self._ALLOWED_CALLBACKS.get(inter.type, set()):
            text = f"Callback type {ctype} is invalid for interaction type {inter.type}"
            raise invalid_form("type", "INTERACTION_RESPONSE_TYPE_INVALID", text)
        cb = RecordedCallback(type=ctype, data=copy.deepcopy(data), request=ctx.record)
        channel = self.channels.get(inter.channel_id or 0) or self.channel
        msg: RecordedMessage | None = None
        data = data or {}
        if ctype == 4:
            validate_message(data, has_files=bool(ctx.files), creating=True)
            flags = int(data.get("flags") or 0) & (
                EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
            )
            msg = self._create_message(
                channel,
                self.bot_user,
                data,
                source="interaction",
                allowed_mentions=data.get("allowed_mentions"),
                files=ctx.files,
                flags=flags,
                message_type=20 if inter.type == 2 else 0,
                interaction=inter,
                request=copy.deepcopy(data),
            )
            inter.original = msg
            inter.visible = msg
        elif ctype == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            msg = self._create_message(
                channel,
                self.bot_user,
                {},
                source="interaction",
                allowed_mentions=None,
                flags=flags,
                message_type=20 if inter.type == 2 else 0,
                interaction=inter,
                request=copy.deepcopy(data),
            )
            inter.original = msg
        elif ctype == 6:
            inter.original = inter.component_message
        elif ctype == 7:
            target = inter.component_message
            if target is None:
                raise DiscordError(400, fc.INVALID_FORM_BODY, "Invalid Form Body")
            self._edit_message(target, data, ctx.files)
            inter.original = target
            inter.visible = target
            msg = target
        elif ctype == 8:
            validate_choices(data.get("choices", []))
        elif ctype == 9:
            validate_modal(data)
        cb.message = msg
        inter.callbacks.append(cb)
        self._notifier.bump()
        if msg is not None:
            await self._echo("MESSAGE_UPDATE" if ctype == 7 else "MESSAGE_CREATE", msg)
        out: dict[str, Any] = {
            "interaction": {
                "id": str(inter.id),
                "type": inter.type,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(msg.ephemeral) if msg is not None else False,
            }
        }
        if msg is not None:
            out["interaction"]["response_message_id"] = str(msg.id)
            out["resource"] = {"type": ctype, "message": copy.deepcopy(msg.data)}
        elif ctype in (8, 9):
            out["resource"] = {"type": ctype}
        return 200, out

    def _webhook_interaction(self, ctx: _Ctx) -> FakeInteraction:
        inter = self._interactions_by_token.get(ctx.params["token"])
        if inter is None or _int(ctx.params["app_id"]) != self.application_id:
            raise DiscordError(404, fc.UNKNOWN_WEBHOOK, "Unknown Webhook")
        if time.monotonic() - inter.created > INTERACTION_TOKEN_TTL:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if not inter.acknowledged:
            raise DiscordError(404, fc.UNKNOWN_WEBHOOK, "Unknown Webhook")
        return inter

    def _webhook_message(self, ctx: _Ctx, inter: FakeInteraction) -> RecordedMessage:
        mid = ctx.params.get("message_id")
        if mid is None:  # @original
            msg = inter.original
        else:
            wanted = _int(mid)
            msg = next(
                (m for m in [inter.original, *inter.followups] if m is not None and m.id == wanted), None
            )
        if msg is None or msg.deleted:
            raise DiscordError(404, fc.UNKNOWN_MESSAGE, "Unknown Message")
        return msg

    async def _h_wh_get(self, ctx: _Ctx) -> tuple[int, Any]:
        inter = self._webhook_interaction(ctx)
        return 200, copy.deepcopy(self._webhook_message(ctx, inter).data)

    async def _h_wh_edit(self, ctx: _Ctx) -> tuple[int, Any]:
        inter = self._webhook_interaction(ctx)
        msg = self._webhook_message(ctx, inter)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        self._edit_message(msg, payload, ctx.files)
        if inter.visible is None or msg is inter.original:
            inter.visible = msg
        self._notifier.bump()
        await self._echo("MESSAGE_UPDATE", msg)
        return 200, copy.deepcopy(msg.data)

    async def _h_wh_delete(self, ctx: _Ctx) -> tuple[int, Any]:
        inter = self._webhook_interaction(ctx)
        msg = self._webhook_message(ctx, inter)
        msg.deleted = True
        self._notifier.bump()
        await self._echo("MESSAGE_DELETE", msg)
        return 204, None

    async def _h_followup(self, ctx: _Ctx) -> tuple[int, Any]:
        inter = self._webhook_interaction(ctx)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        original = inter.original
        first = inter.callbacks[0]
        if (
            first.type == 5
            and original is not None
            and original.loading
            and not inter.followup_edited_original
        ):
            # Discord: the first follow-up after a deferred (thinking) response edits the loading message.
            edit = {k: v for k, v in payload.items() if k not in ("flags", "tts", "username", "avatar_url")}
            self._edit_message(original, edit, ctx.files)
            original.edits[-1] = copy.deepcopy(payload)
            inter.followup_edited_original = True
            inter.followups.append(original)
            msg = original
            await self._echo("MESSAGE_UPDATE", msg)
        else:
            validate_message(payload, has_files=bool(ctx.files), creating=True)
            channel = self.channels.get(inter.channel_id or 0) or self.channel
            flags = int(payload.get("flags") or 0) & (
                EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
            )
            msg = self._create_message(
                channel,
                self.bot_user,
                payload,
                source="followup",
                allowed_mentions=payload.get("allowed_mentions"),
                files=ctx.files,
                flags=flags,
                interaction=inter,
                request=copy.deepcopy(payload),
            )
            inter.followups.append(msg)
            await self._echo("MESSAGE_CREATE", msg)
        if inter.visible is None:
            inter.visible = msg
        self._notifier.bump()
        if str(ctx.query.get("wait", "")).lower() in ("1", "true"):
            return 200, copy.deepcopy(msg.data)
        return 204, None


# =================================================================================================
# helpers
# =================================================================================================
def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _as_stored(msg: RecordedMessage) -> dict[str, Any]:
    """A message as fetching it returns it: Discord does not keep nonces, only the create answer has one."""
    data = copy.deepcopy(msg.data)
    data.pop("nonce", None)
    return data


def _emoji_json(raw: str) -> dict[str, Any]:
    text = unquote(raw)
    m = re.fullmatch(r"<?a?:?(\w+):(\d+)>?", text)
    if m:
        return {"id": m.group(2), "name": m.group(1)}
    return {"id": None, "name": text}


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header; None for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _show_attachments_in_embeds(data: dict[str, Any]) -> None:
    """What Discord stores for an embed showing an uploaded file: the ``attachment://name`` URL
    becomes the attachment's URL, with its proxy URL and, for an image, its size."""
    by_name = {a["filename"]: a for a in data.get("attachments", [])}
    for embed in data.get("embeds", []):
        for key, url_key in EMBED_MEDIA_URLS:
            media = embed.get(key)
            url = media.get(url_key) if isinstance(media, dict) else None
            if not isinstance(url, str) or not url.startswith("attachment://"):
                continue
            attachment = by_name.get(url.removeprefix("attachment://"))
            if attachment is None:
                continue
            media[url_key] = attachment["url"]
            proxy_key = "proxy_icon_url" if url_key == "icon_url" else "proxy_url"
            media[proxy_key] = attachment["proxy_url"]
            if url_key == "url" and "width" in attachment:
                media["width"], media["height"] = attachment["width"], attachment["height"]


def _normalize_embed(embed: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in embed.items() if v is not None}
    out.setdefault("type", "rich")
    for f in out.get("fields", []):
        f.setdefault("inline", False)
    return out
