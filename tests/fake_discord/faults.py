"""Fault injection: queue canned failures for REST routes.

A :class:`Fault` says what to do instead of (or around) the normal handling of one request;
an :class:`Injection` binds a fault to a method + path pattern for the next ``times`` matching
requests.  Path patterns are relative to ``/api/v10`` and may use ``{name}`` or ``*`` for one
path segment and ``**`` for any rest, e.g. ``"/channels/{channel_id}/messages"`` or
``f"/channels/{channel.id}/messages"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import RecordedRequest

# Discord JSON error codes used by the presets.
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
CANNOT_DM_USER = 50007
MISSING_PERMISSIONS = 50013
INVALID_CHANNEL_TYPE = 50024
THREAD_ALREADY_CREATED = 160004
THREAD_LOCKED = 160005
INVALID_FORM_BODY = 50035
CANNOT_SEND_IN_NON_TEXT_CHANNEL = 50008
INVALID_CHANNEL_TYPE = 50024
THREAD_ALREADY_CREATED = 160004
ALREADY_ACKNOWLEDGED = 40060
MAX_ATTACHMENTS_REACHED = 30015
REQUEST_ENTITY_TOO_LARGE = 40005


@dataclass
class Fault:
    """What to answer instead of the real handling.

    - ``status``/``json``/``headers``: answer this instead of handling the request (no side effects).
    - ``delay``: sleep this long first (alone: then handle the request normally).
    - ``drop``: close the connection without an answer. With ``process=True`` (the default for
      :meth:`drop`) the request is handled first, so its side effects happen but the client sees
      a connection error: the "unknown outcome" case.
    """

    status: int | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    process: bool = False
    text: str | None = None
    content_type: str = "application/json"
    label: str = ""

    # ---- presets --------------------------------------------------------------------------
    @classmethod
    def rate_limited(
        cls,
        retry_after: float = 0.05,
        *,
        is_global: bool = False,
        scope: str | None = None,
        bucket: str = "fake",
    ) -> Fault:
        """429 as Discord sends it: JSON body with ``retry_after`` plus the headers discord.py reads.

        discord.py retries after ``retry_after`` seconds (it needs the ``Via`` header, or it
        treats the 429 as a Cloudflare ban and raises).
        """
        scope = scope or ("global" if is_global else "user")
        headers = {
            "Retry-After": str(max(1, round(retry_after + 0.4999))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": scope,
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        if is_global:
            body["code"] = 0
        return cls(status=429, json=body, headers=headers, label="429")

    @classmethod
    def cloudflare_ban(cls) -> Fault:
        """429 without ``Via`` and with an HTML body: discord.py raises HTTPException, no retry."""
        return cls(
            status=429,
            text="<html><body>Error 1015: You are being rate limited.</body></html>",
            content_type="text/html",
            headers={"Retry-After": "60"},
            label="cloudflare-429",
        )

    @classmethod
    def error(cls, status: int, code: int = 0, message: str | None = None, **extra: Any) -> Fault:
        body = {"message": message or f"{status}: error", "code": code, **extra}
        return cls(status=status, json=body, label=str(status))

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """500/502/503/504: discord.py retries 500, 502, 504, 524 after 1 s, 3 s, ... (up to 5 tries)."""
        messages = {
            500: "500: Internal Server Error",
            502: "502: Bad Gateway",
            503: "503: Service Unavailable",
        }
        return cls.error(status, 0, messages.get(status, f"{status}: Server Error"))

    @classmethod
    def forbidden(cls, code: int = MISSING_PERMISSIONS, message: str = "Missing Permissions") -> Fault:
        return cls.error(403, code, message)

    @classmethod
    def missing_access(cls) -> Fault:
        return cls.error(403, MISSING_ACCESS, "Missing Access")

    @classmethod
    def not_found(cls, code: int = UNKNOWN_CHANNEL, message: str = "Unknown Channel") -> Fault:
        return cls.error(404, code, message)

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls.error(401, 0, "401: Unauthorized")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Delay, then handle the request normally."""
        return cls(delay=seconds, label=f"delay {seconds}s")

    @classmethod
    def dropped(cls, *, process: bool = True) -> Fault:
        """Drop the connection. ``process=True``: the request took effect anyway (unknown outcome)."""
        return cls(drop=True, process=process, label="drop-after-processing" if process else "drop")


@dataclass(eq=False)
class Injection:
    method: str
    pattern: str
    fault: Fault
    times: int | None = 1
    hits: int = 0
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self._regex = compile_path_pattern(self.pattern)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.hits)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        if self.exhausted:
            return False
        if self.method not in ("*", method.upper()):
            return False
        return bool(self._regex.fullmatch(path))


@dataclass(eq=False)
class ExpectedStatus:
    """A client error a test provokes on purpose (:meth:`FakeDiscord.expect_status`).

    Matching answers are not reported by :meth:`FakeDiscord.assert_clean`. ``code``: only answers
    with that Discord JSON error code (``None``: any).
    """

    status: int
    method: str = "*"
    pattern: str = "**"
    code: int | None = None
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self._regex = compile_path_pattern(self.pattern)

    def matches(self, request: RecordedRequest) -> bool:
        if request.status != self.status or self.method not in ("*", request.method):
            return False
        if self.code is not None:
            body = request.response if isinstance(request.response, dict) else {}
            if body.get("code") != self.code:
                return False
        return bool(self._regex.fullmatch(request.path))


def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """``/channels/{id}/messages`` -> regex; ``{x}`` and ``*`` match one segment, ``**`` the rest."""
    if not pattern.startswith("/"):
        pattern = "/" + pattern
    out = []
    for part in re.split(r"(\{[^}/]+\}|\*\*|\*)", pattern):
        if part == "**":
            out.append(r".*")
        elif part == "*" or (part.startswith("{") and part.endswith("}")):
            out.append(r"[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out).rstrip("/") + "/?")
