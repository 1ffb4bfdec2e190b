"""The event-loop lag monitor: it sees a blocked loop, logs stalls over its threshold, and runs in the bot."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.loopwatch import LoopWatch
from tests.fake_discord import FakeDiscord


async def _ticked(watch: LoopWatch, ticks: int) -> None:
    target = watch.ticks + ticks
    while watch.ticks < target:  # noqa: ASYNC110  (the watch's own wake-ups are what is awaited)
        await asyncio.sleep(watch.interval)


async def test_a_blocked_loop_is_measured_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch(threshold=0.1, interval=0.01)
    watch.start()
    try:
        await _ticked(watch, 2)
        assert watch.stalls == 0
        with caplog.at_level(logging.WARNING, logger="bot.loopwatch"):
            time.sleep(0.4)  # noqa: ASYNC251  (what a slow regex or a long C call does to the loop)
            await _ticked(watch, 2)
        assert watch.max_stall >= 0.3 and watch.stalls == 1
        assert "event loop stalled for" in caplog.text
        # The sampling thread saw where the loop thread was held: this very function, by file and name.
        assert watch.last_culprit is not None
        assert "test_loopwatch.py" in watch.last_culprit
        assert "test_a_blocked_loop_is_measured_and_logged" in watch.last_culprit
        assert watch.last_culprit in caplog.text
        assert watch.max_busy_stall == watch.max_stall  # the loop thread was running code, not waiting
        watch.reset()
        assert (watch.max_stall, watch.max_busy_stall, watch.stalls) == (0.0, 0.0, 0)
    finally:
        await watch.stop()
    assert not watch.running
    await watch.stop()  # stopping twice is harmless


async def test_the_bot_runs_the_watch_from_start_to_close(fake_discord: FakeDiscord, bot_settings: Settings) -> None:
    newsdesk = NewsdeskBot(bot_settings.replace(loop_stall_ms=250))
    async with fake_discord.run_bot(newsdesk):
        assert newsdesk.loopwatch.running and newsdesk.loopwatch.threshold == 0.25
        await _ticked(newsdesk.loopwatch, 2)
    assert not newsdesk.loopwatch.running
