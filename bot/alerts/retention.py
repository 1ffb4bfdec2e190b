"""Retention: delivered alerts are forgotten after ``retention_days``, so the outbox stays small.

The bot prunes once at start-up and then every :data:`PRUNE_EVERY`; pending alerts are never pruned,
and neither is anything the near-duplicate check still reads.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.periodic import Periodic
from bot.store import Store
from bot.wording import plural

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)


class OutboxRetention(Periodic):
    """Prunes the outbox; :meth:`run` loops until :meth:`stop`."""

    failure = "pruning old alerts failed; trying again later"

    def __init__(self, store: Store, *, retention_days: int, every: timedelta = PRUNE_EVERY) -> None:
        super().__init__(every)
        self.store = store
        self.keep = timedelta(days=retention_days)

    async def run_pass(self) -> int:
        """One pruning pass."""
        return await self.prune()

    async def prune(self) -> int:
        """One pass; returns how many alerts were forgotten."""
        removed = await self.store.alerts.prune(self.keep)
        if removed:
            log.info("forgot %s older than %s", plural(removed, "delivered alert"), plural(self.keep.days, "day"))
        return removed
