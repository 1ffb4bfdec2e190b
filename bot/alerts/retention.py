"""Retention: delivered alerts are forgotten after ``retention_days``, so the outbox stays small.

The bot prunes once at start-up and then every :data:`PRUNE_EVERY`; pending alerts are never pruned,
and neither is anything the near-duplicate check still reads.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.store import Store
from bot.wording import plural

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)


class OutboxRetention:
    """Prunes the outbox; :meth:`run` loops until :meth:`stop`."""

    def __init__(self, store: Store, *, retention_days: int, every: timedelta = PRUNE_EVERY) -> None:
        self.store = store
        self.keep = timedelta(days=retention_days)
        self.every = every
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Return from :meth:`run` (at once, unless a prune is under way)."""
        self._stopping.set()

    async def prune(self) -> int:
        """One pass; returns how many alerts were forgotten."""
        removed = await self.store.alerts.prune(self.keep)
        if removed:
            log.info("forgot %s older than %s", plural(removed, "delivered alert"), plural(self.keep.days, "day"))
        return removed

    async def run(self) -> None:
        """Prune now, then every ``every`` until stopped; a failed pass is logged and tried again later."""
        while not self._stopping.is_set():
            try:
                await self.prune()
            except Exception:
                log.exception("pruning old alerts failed; trying again later")
            try:
                await asyncio.wait_for(self._stopping.wait(), self.every.total_seconds())
            except TimeoutError:
                pass
