"""Event-loop lag monitor: a task that sleeps a short interval and measures how late it wakes up.

Anything that holds the event loop (or the GIL: a long regex or C call in a worker thread blocks the loop
thread too) makes the task wake late by as long as it held it. Stalls over the threshold are logged; the
longest one is kept for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class LoopWatch:
    """Measures event-loop stalls while :meth:`start`-ed. All durations are in seconds."""

    def __init__(self, *, threshold: float, interval: float = 0.02) -> None:
        self.threshold = threshold
        self.interval = interval
        self.max_stall = 0.0  # the longest stall seen since start() or reset()
        self.stalls = 0  # stalls over the threshold since start() or reset()
        self.ticks = 0  # wake-ups measured: a test can wait for the watch to have run
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the watching task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start watching the running loop (no-op if already watching)."""
        if not self.running:
            self._task = asyncio.create_task(self._watch(), name="loopwatch")

    async def stop(self) -> None:
        """Stop watching; the figures stay readable."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    def reset(self) -> None:
        """Forget the figures so far (e.g. the start-up, before measuring a workload)."""
        self.max_stall = 0.0
        self.stalls = 0

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            stall = max(0.0, loop.time() - before - self.interval)
            self.ticks += 1
            self.max_stall = max(self.max_stall, stall)
            if stall > self.threshold:
                self.stalls += 1
                log.warning("event loop stalled for %.0f ms", stall * 1000)
