"""What the spike watch and the digest scheduler share: a :class:`~bot.periodic.Periodic` check that plans
posts for the servers its process owns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.answers import Answers
from bot.models import Clock
from bot.periodic import Periodic
from bot.store import Store


class ServerPostPlanner(Periodic):
    """Runs :meth:`check` every ``every``, planning posts only for servers that ``owns`` accepts: with several
    gateway processes on one index, each plans those of its shards' servers (:mod:`bot.shards`), so none is
    planned twice."""

    def __init__(
        self,
        store: Store,
        answers: Answers,
        *,
        every: timedelta,
        clock: Clock,
        owns: Callable[[int], bool] = lambda guild_id: True,
    ) -> None:
        super().__init__(every)
        self.store = store
        self.answers = answers
        self.clock = clock
        self.owns = owns

    async def run_pass(self) -> int:
        """One check."""
        return await self.check()

    async def check(self) -> int:
        """Plan what is due; returns how many posts were planned."""
        raise NotImplementedError
