"""Rate limits as Discord applies them, for a fake that is asked to (off by default).

Discord gives each route a bucket per major parameter (the channel, the guild, or the webhook or
interaction token): ``limit`` requests per window. Every answer reports the bucket in
``X-RateLimit-Limit / -Remaining / -Reset / -Reset-After / -Bucket``; a request beyond it is
answered 429 with ``retry_after``, ``"global": false`` and ``X-RateLimit-Scope: user``. On top, the
global limit counts every request of the bot except interaction callbacks; beyond it the answer is
429 with ``"global": true``, ``X-RateLimit-Global: true`` and ``X-RateLimit-Scope: global``.

A window opens with the first request after the previous one ran out, as Discord's do. A client that
waits ``X-RateLimit-Reset-After`` once ``Remaining`` is 0 (discord.py does) never sees a 429 from a
bucket; the global limit has no headers to read, so a client can only honour its 429.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Path parameters that give a route its own bucket per value, as Discord's major parameters do.
MAJOR_PARAMETERS = ("channel_id", "guild_id", "interaction_id", "token")
CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{token}/callback"


def bucket_hash(route_name: str) -> str:
    """The ``X-RateLimit-Bucket`` of a route (``"POST /channels/{channel_id}/messages"``)."""
    return f"fake-{zlib.crc32(route_name.encode()):08x}"


def _seconds(value: float) -> float:
    """Rounded up to the millisecond: a client waiting what the header says is never early."""
    return math.ceil(round(max(value, 0.0) * 1000, 6)) / 1000


@dataclass
class Window:
    """``limit`` requests per ``per`` seconds, counted from the window's first request."""

    limit: int
    per: float
    opened: float | None = None
    used: int = 0

    def roll(self, now: float) -> None:
        if self.opened is None or now >= self.opened + self.per:
            self.opened, self.used = now, 0

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def reset_after(self, now: float) -> float:
        return (self.opened if self.opened is not None else now) + self.per - now


@dataclass(frozen=True)
class Verdict:
    """What the limiter says about one request: pass with these headers, or answer 429 with them."""

    headers: dict[str, str]
    body: dict[str, Any] | None = None
    is_global: bool = False

    @property
    def limited(self) -> bool:
        return self.body is not None


@dataclass
class RateLimits:
    """Per-route buckets and a global limit. ``routes`` overrides ``(limit, per)`` for some routes,
    by name (``"POST /channels/{channel_id}/messages"``); ``global_limit=None`` turns the global
    limit off."""

    limit: int = 5
    per: float = 5.0
    routes: dict[str, tuple[int, float]] = field(default_factory=dict)
    global_limit: int | None = 50
    global_per: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, tuple[str, ...]], Window] = field(default_factory=dict, init=False)
    _global: Window | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.global_limit is not None:
            self._global = Window(self.global_limit, self.global_per)

    def bucket(self, route_name: str, params: dict[str, str]) -> Window:
        major = tuple(params.get(p, "") for p in MAJOR_PARAMETERS)
        key = (route_name, major)
        window = self._buckets.get(key)
        if window is None:
            limit, per = self.routes.get(route_name, (self.limit, self.per))
            window = self._buckets[key] = Window(limit, per)
        return window

    def admit(self, route_name: str, params: dict[str, str]) -> Verdict:
        """Count one request, or refuse it with Discord's 429 when a limit is used up."""
        now = self.clock()
        window = self.bucket(route_name, params)
        window.roll(now)
        counts_globally = self._global is not None and route_name != CALLBACK_ROUTE
        if counts_globally:
            assert self._global is not None
            self._global.roll(now)
            if self._global.exhausted:
                retry = _seconds(self._global.reset_after(now))
                headers = {
                    "Retry-After": str(math.ceil(retry)),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Via": "1.1 google",
                }
                body = {"message": "You are being rate limited.", "retry_after": retry, "global": True, "code": 0}
                return Verdict(headers, body, is_global=True)
        if window.exhausted:
            retry = _seconds(window.reset_after(now))
            headers = {
                **self._bucket_headers(route_name, window, now),
                "Retry-After": str(math.ceil(retry)),
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",
            }
            return Verdict(headers, {"message": "You are being rate limited.", "retry_after": retry, "global": False})
        window.used += 1
        if counts_globally:
            assert self._global is not None
            self._global.used += 1
        return Verdict(self._bucket_headers(route_name, window, now))

    @staticmethod
    def _bucket_headers(route_name: str, window: Window, now: float) -> dict[str, str]:
        reset_after = _seconds(window.reset_after(now))
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(window.limit - window.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route_name),
        }
