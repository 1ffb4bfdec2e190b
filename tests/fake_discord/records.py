# ruff: noqa: ASYNC109
# (the public waiting API takes timeout= seconds, by design)
"""What the fake records, and the awaitable handles the dispatch helpers return."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .server import FakeDiscord

T = TypeVar("T")

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15


class Notifier:
    """A broadcast "something changed" signal; waiters re-check their condition on every bump."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def bump(self) -> None:
        ev, self._event = self._event, asyncio.Event()
        ev.set()

    async def wait_until(
        self, check: Callable[[], T | None], timeout: float, what: str | Callable[[], str], poll: float = 0.02
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._event
            result = check()
            if result is not None:
                return result
            left = deadline - loop.time()
            if left <= 0:
                desc = what() if callable(what) else what
                raise TimeoutError(f"fake discord: timed out after {timeout}s waiting for {desc}")
            # bumps wake us at once; the poll covers conditions on state the fake doesn't own
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), min(left, poll))


@dataclass(eq=False)
class RecordedRequest:
    """One HTTP request the bot made (REST or webhook), with the answer it got."""

    seq: int
    method: str
    path: str
    """Path relative to the API base, e.g. ``/channels/123/messages``."""
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    """Parsed JSON body, or the ``payload_json`` part of a multipart body; None when there is none."""
    files: list[RecordedFile] = field(default_factory=list)
    route: str | None = None
    """The matched route template (``POST /channels/{channel_id}/messages``); None when unknown."""
    status: int | None = None
    response: Any = None
    fault: str | None = None
    """Label of the injected fault that answered this request, if any."""
    deduplicated: bool = False
    """True when a message POST was answered with an earlier message because of its nonce."""
    rate_limited: bool = False
    """True when the fake's rate limits (:meth:`FakeDiscord.enable_rate_limits`) answered it 429."""
    at: float = field(default_factory=time.monotonic)

    @property
    def unknown_route(self) -> bool:
        return self.route is None

    def __repr__(self) -> str:
        extra = f" fault={self.fault}" if self.fault else (" rate-limited" if self.rate_limited else "")
        return f"<RecordedRequest #{self.seq} {self.method} {self.path} -> {self.status}{extra}>"


@dataclass(eq=False)
class RecordedFile:
    field_name: str
    filename: str
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(eq=False)
class RecordedMessage:
    """A message in the fake: sent by the bot (REST, interaction response, follow-up) or by a user.

    ``data`` is the current full message object (as the API would return it); ``request`` is the
    raw JSON the bot sent to create it; ``edits`` holds the raw JSON of each later edit.
    """

    data: dict[str, Any]
    source: str
    """``channel`` (POST /channels/../messages), ``interaction`` (callback 4/5), ``followup``,
    ``user`` (sent by a test through the fake)."""
    seq: int
    request: dict[str, Any] | None = None
    interaction_id: int | None = None
    files: list[RecordedFile] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    """Snapshots of ``data`` before each edit."""
    deleted: bool = False
    consumed: bool = False

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def channel_id(self) -> int:
        return int(self.data["channel_id"])

    @property
    def guild_id(self) -> int | None:
        gid = self.data.get("guild_id")
        return int(gid) if gid else None

    @property
    def author_id(self) -> int:
        return int(self.data["author"]["id"])

    @property
    def content(self) -> str:
        return self.data.get("content", "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.data.get("embeds", [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.data.get("components", [])

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return self.data.get("attachments", [])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags", 0))

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """The ``allowed_mentions`` the bot sent (latest edit wins), None if it sent none."""
        for payload in reversed([self.request or {}, *self.edits]):
            if "allowed_mentions" in payload:
                return payload["allowed_mentions"]
        return None

    @property
    def nonce(self) -> str | None:
        return self.data.get("nonce")

    @property
    def mentions(self) -> list[int]:
        """Users actually pinged (Discord drops mentions that ``allowed_mentions`` suppressed)."""
        return [int(u["id"]) for u in self.data.get("mentions", [])]

    @property
    def mention_roles(self) -> list[int]:
        return [int(r) for r in self.data.get("mention_roles", [])]

    @property
    def mention_everyone(self) -> bool:
        return bool(self.data.get("mention_everyone"))

    @property
    def custom_ids(self) -> list[str]:
        """All component custom_ids on the message, depth first."""
        out: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for c in items:
                if "custom_id" in c:
                    out.append(c["custom_id"])
                for key in ("components", "accessory", "component"):
                    sub = c.get(key)
                    if isinstance(sub, list):
                        walk(sub)
                    elif isinstance(sub, dict):
                        walk([sub])

        walk(self.components)
        return out

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def __repr__(self) -> str:
        flags = " ephemeral" if self.ephemeral else ""
        gone = " deleted" if self.deleted else ""
        return (
            f"<RecordedMessage id={self.data.get('id')} channel={self.data.get('channel_id')} "
            f"source={self.source}{flags}{gone} content={self.content[:60]!r} embeds={len(self.embeds)}>"
        )


@dataclass(eq=False)
class RecordedCallback:
    """One POST /interactions/{id}/{token}/callback."""

    type: int
    data: dict[str, Any] | None
    request: RecordedRequest
    message: RecordedMessage | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(int((self.data or {}).get("flags", 0)) & EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list((self.data or {}).get("choices", []))

    def __repr__(self) -> str:
        return f"<RecordedCallback type={self.type} data={self.data!r}>"


class FakeInteraction:
    """An interaction the fake dispatched; await its outcome.

    - ``await h.callback()``: the first callback the bot posted (:class:`RecordedCallback`).
    - ``await h.response()``: the message the user ends up seeing: the callback message (type 4),
      the original message after the bot edits it or sends a follow-up (deferred types 5/6), or the
      component's message after an update (type 7).
    - ``await h.choices()``: the autocomplete choices (callback type 8).
    - ``await h.modal()``: the modal the bot opened (callback type 9).
    - ``await h.followup(n)``: the n-th follow-up message.
    - ``await h.expect_no_callback(within)``: assert the bot did not acknowledge it.
    """

    def __init__(
        self,
        fake: FakeDiscord,
        payload: dict[str, Any],
        *,
        component_message: RecordedMessage | None = None,
    ) -> None:
        self.fake = fake
        self.payload = payload
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = int(payload["type"])
        self.channel_id: int | None = int(payload["channel_id"]) if payload.get("channel_id") else None
        self.guild_id: int | None = int(payload["guild_id"]) if payload.get("guild_id") else None
        self.user_id: int = int((payload.get("member") or {}).get("user", payload.get("user", {}))["id"])
        self.created = time.monotonic()
        self.callbacks: list[RecordedCallback] = []
        self.followups: list[RecordedMessage] = []
        self.original: RecordedMessage | None = None
        """The @original message: the callback message, or the component's message for types 6/7."""
        self.component_message = component_message
        self.visible: RecordedMessage | None = None
        self.followup_edited_original = False

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return bool(self.callbacks) and self.callbacks[0].type in (5, 6)

    @property
    def messages(self) -> list[RecordedMessage]:
        out: list[RecordedMessage] = []
        for m in [self.original, *self.followups]:
            if m is not None and m.interaction_id == self.id and m not in out:
                out.append(m)
        return out

    def _what(self, thing: str) -> Callable[[], str]:
        def describe() -> str:
            return (
                f"{thing} of interaction {self.id} (callbacks so far: {self.callbacks!r})"
                + self.fake._diagnostics()
            )

        return describe

    async def callback(self, timeout: float = 5.0) -> RecordedCallback:
        return await self.fake._notifier.wait_until(
            lambda: self.callbacks[0] if self.callbacks else None, timeout, self._what("a callback")
        )

    async def response(self, timeout: float = 5.0) -> RecordedMessage:
        msg = await self.fake._notifier.wait_until(lambda: self.visible, timeout, self._what("the response"))
        msg.consumed = True
        return msg

    async def choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        cb = await self.callback(timeout)
        if cb.type != 8:
            raise AssertionError(f"expected an autocomplete result (type 8), got {cb!r}")
        return cb.choices

    async def modal(self, timeout: float = 5.0) -> dict[str, Any]:
        cb = await self.callback(timeout)
        if cb.type != 9:
            raise AssertionError(f"expected a modal (type 9), got {cb!r}")
        return cb.data or {}

    async def followup(self, index: int = 0, timeout: float = 5.0) -> RecordedMessage:
        msg = await self.fake._notifier.wait_until(
            lambda: self.followups[index] if len(self.followups) > index else None,
            timeout,
            self._what(f"follow-up #{index}"),
        )
        msg.consumed = True
        return msg

    async def expect_no_callback(self, within: float = 0.5) -> None:
        """Raise AssertionError if the bot acknowledges the interaction within ``within`` seconds."""
        try:
            cb = await self.callback(within)
        except TimeoutError:
            return
        raise AssertionError(f"interaction {self.id} was acknowledged: {cb!r}")

    def __repr__(self) -> str:
        return f"<FakeInteraction id={self.id} type={self.type} callbacks={len(self.callbacks)}>"


class SentMessage:
    """A message a test user sent through the fake (MESSAGE_CREATE). ``await sent.reply()`` waits for
    the bot's next message in the same channel after this one."""

    def __init__(self, fake: FakeDiscord, message: RecordedMessage) -> None:
        self.fake = fake
        self.message = message
        self.data = message.data
        self.id = message.id
        self.channel_id = message.channel_id

    async def reply(
        self, timeout: float = 5.0, predicate: Callable[[RecordedMessage], bool] | None = None
    ) -> RecordedMessage:
        return await self.fake.wait_for_message(
            channel_id=self.channel_id, predicate=predicate, timeout=timeout, after=self.message.seq
        )

    def __repr__(self) -> str:
        return f"<SentMessage id={self.id} channel={self.channel_id} content={self.data.get('content')!r}>"
