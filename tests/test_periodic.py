"""The background loop shared by outbox retention, spike alerts and digests: a failed pass is logged and
the loop goes on; stop() ends it."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.periodic import Periodic


class _Flaky(Periodic):
    failure = "the flaky pass failed"

    def __init__(self) -> None:
        super().__init__(timedelta(milliseconds=5))
        self.calls = 0

    async def run_pass(self) -> None:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("boom")


async def test_a_failed_pass_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    flaky = _Flaky()
    with caplog.at_level(logging.ERROR, logger="bot.periodic"):
        running = asyncio.create_task(flaky.run())
        while flaky.passes < 4:  # noqa: ASYNC110  (the loop's own passes are what is awaited)
            await asyncio.sleep(0.005)
        flaky.stop()
        await asyncio.wait_for(running, 1)
    assert flaky.calls >= 4
    assert [r.getMessage() for r in caplog.records] == ["the flaky pass failed"]
    assert caplog.records[0].exc_info is not None and "boom" in str(caplog.records[0].exc_info[1])
