"""A clock a test sets and moves: the bot asks it what time it is (``NewsdeskBot(clock=...)``)."""

from __future__ import annotations

from datetime import datetime, timedelta


class TestClock:
    """Callable like :func:`bot.models.utc_now`; :meth:`advance` and :attr:`now` move it."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move the clock on by ``delta``."""
        self.now += delta
