"""Background work repeated at a fixed interval: pruning old alerts, looking for spikes, planning digests."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

log = logging.getLogger(__name__)


class Periodic:
    """Runs :meth:`run_pass` at once and then every ``every`` until :meth:`stop`. A pass that fails is
    logged with :attr:`failure` and tried again at the next one: one bad pass never ends the loop."""

    failure = "a background pass failed; trying again later"

    def __init__(self, every: timedelta) -> None:
        self.every = every
        self.passes = 0  # passes completed, failed ones included (tests wait on it)
        self._stopping = asyncio.Event()

    async def run_pass(self) -> object:
        """One pass of the work; subclasses say what it is."""
        raise NotImplementedError

    def stop(self) -> None:
        """Return from :meth:`run` (at once, unless a pass is under way)."""
        self._stopping.set()

    async def run(self) -> None:
        """Pass now, then every ``every`` until stopped."""
        while not self._stopping.is_set():
            try:
                await self.run_pass()
            except Exception:
                log.exception(self.failure)
            self.passes += 1
            try:
                await asyncio.wait_for(self._stopping.wait(), self.every.total_seconds())
            except TimeoutError:
                pass
