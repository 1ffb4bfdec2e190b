# ruff: noqa: ASYNC109
# (the waiting helpers take timeout= seconds, like the fake Discord's)
"""Waiting until the running bot's background work is done, so a test can then assert that nothing more
happened: never a fixed sleep, always something the bot reports (a finished polling or delivery pass, a
processed batch of watched files, an outbox with nothing pending).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.app import NewsdeskBot
from tests.feed_server import FeedServer

T = TypeVar("T")

POLL_SECONDS = 0.05


async def eventually(
    check: Callable[[], T | Awaitable[T | None] | None], *, timeout: float = 20.0, what: str = "a condition"
) -> T:
    """The first truthy result of ``check()`` (a function or a coroutine function), re-checked until
    ``timeout`` seconds have passed; then the test fails, naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


async def passes(counter: Callable[[], int], count: int = 1, *, what: str, timeout: float = 20.0) -> None:
    """Wait until ``counter()`` (a pass or batch counter of the bot) has moved on by ``count``."""
    start = counter()
    await eventually(lambda: counter() >= start + count, timeout=timeout, what=f"{count} more {what}")


async def settled_outbox(newsdesk: NewsdeskBot, *, timeout: float = 20.0) -> dict[str, int]:
    """The outbox counts once no alert is pending: every planned alert has reached the fake Discord
    (a message is posted before its alert is marked sent)."""

    async def check() -> tuple[dict[str, int]] | None:
        counts = await newsdesk.store.alerts.counts()
        return None if counts.get("pending") else (counts,)

    (counts,) = await eventually(check, timeout=timeout, what="the outbox to have nothing pending")
    return counts


async def polled_again(newsdesk: NewsdeskBot, feeds: FeedServer, path: str, times: int = 2) -> None:
    """Wait until the feed at ``path`` has been fetched ``times`` more times, the polling pass of the last
    fetch has finished (its items indexed, its alerts planned) and the outbox has settled."""
    poller = newsdesk.feeds.poller
    seen = len(feeds.requests[path])
    await eventually(lambda: len(feeds.requests[path]) >= seen + times, what=f"{times} more polls of {path}")
    await passes(lambda: poller.passes, what="polling pass")
    await settled_outbox(newsdesk)
