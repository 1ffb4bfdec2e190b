"""Event-loop lag monitor: a task that sleeps a short interval and measures how late it wakes up.

Anything that holds the event loop (or the GIL: a long regex or C call in a worker thread blocks the loop
thread too) makes the task wake late by as long as it held it. Stalls over the threshold are logged with
where the loop thread was while it was held: a small sampling thread looks at the loop thread's stack once
a wake-up is overdue, because by the time the task runs again the culprit has returned. The longest stall
is kept for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from pathlib import Path

log = logging.getLogger(__name__)

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)


def _where(frame: object) -> str:
    """The innermost frame, and the innermost of the project's own frames when that is another one.

    A stall whose innermost frame is the selector's ``select`` means the loop was waiting, not working:
    the process was not given the CPU (a loaded machine), which no code change here would fix.
    """
    stack = traceback.extract_stack(frame)  # type: ignore[arg-type]
    innermost = stack[-1]
    ours = [entry for entry in stack if entry.filename.startswith(_PROJECT_ROOT)]
    described = [innermost] if not ours or ours[-1] is innermost else [innermost, ours[-1]]
    return " from ".join(f"{Path(entry.filename).name}:{entry.lineno} in {entry.name}" for entry in described)


class LoopWatch:
    """Measures event-loop stalls while :meth:`start`-ed. All durations are in seconds."""

    def __init__(self, *, threshold: float, interval: float = 0.02) -> None:
        self.threshold = threshold
        self.interval = interval
        self.max_stall = 0.0  # the longest stall seen since start() or reset()
        self.stalls = 0  # stalls over the threshold since start() or reset()
        self.ticks = 0  # wake-ups measured: a test can wait for the watch to have run
        self.last_culprit: str | None = None  # where the loop thread was during the last logged stall
        # The longest stall during which the loop thread was seen running code rather than waiting in the
        # selector: waiting while late means the process was not scheduled (a loaded machine), not blocked.
        self.max_busy_stall = 0.0
        self._task: asyncio.Task[None] | None = None
        self._sampler: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_due = float("inf")  # time.monotonic() by which the watching task should have woken
        self._culprit: str | None = None
        self._culprit_waiting = False

    @property
    def running(self) -> bool:
        """Whether the watching task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start watching the running loop (no-op if already watching)."""
        if self.running:
            return
        self._task = asyncio.create_task(self._watch(), name="loopwatch")
        self._stopping.clear()
        self._sampler = threading.Thread(
            target=self._sample, args=(threading.get_ident(),), name="loopwatch-sampler", daemon=True
        )
        self._sampler.start()

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
        self._stopping.set()
        if self._sampler is not None:
            await asyncio.to_thread(self._sampler.join)
            self._sampler = None

    def reset(self) -> None:
        """Forget the figures so far (e.g. the start-up, before measuring a workload)."""
        self.max_stall = 0.0
        self.max_busy_stall = 0.0
        self.stalls = 0

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            self._culprit = None
            self._wake_due = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            self._wake_due = float("inf")
            stall = max(0.0, loop.time() - before - self.interval)
            self.ticks += 1
            self.max_stall = max(self.max_stall, stall)
            if stall > self.threshold:
                self.stalls += 1
                self.last_culprit = self._culprit
                if self._culprit is not None and not self._culprit_waiting:
                    self.max_busy_stall = max(self.max_busy_stall, stall)
                log.warning(
                    "event loop stalled for %.0f ms (in %s)", stall * 1000, self._culprit or "an unknown place"
                )

    def _sample(self, loop_thread: int) -> None:
        # Half the threshold between looks: a stall over the threshold is seen at least once while it lasts.
        period = max(self.threshold / 2, 0.005)
        while not self._stopping.wait(period):
            if self._culprit is None and time.monotonic() > self._wake_due + self.threshold / 2:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    self._culprit_waiting = frame.f_code.co_filename.endswith("selectors.py")
                    self._culprit = _where(frame)
