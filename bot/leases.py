"""Leases: how several processes share the feeds to poll and the alerts to send, with no coordinator
but the database.

A process claims work in one statement that writes its name (:func:`lease_owner`) and an expiry on the
rows it takes; while it works it renews its leases every third of their length (:class:`Lease`), and
it gives them back when done. A process that dies (kill -9, a lost machine) renews nothing: once its
leases run out, any other process claims the rows and takes the work over.

The length (``lease_seconds`` in the settings, a minute by default) is a trade: a holder loses its
work only when it cannot renew for two thirds of it (a frozen process, a database out of reach for
40 s), and after a crash its work waits at most that long — less than the shortest feed interval.
Expiries are each process's own clock: processes on several machines need their clocks in step (NTP)
to well within a lease.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.models import to_iso
from bot.periodic import Periodic

DEFAULT_LEASE_SECONDS = 60.0


def lease_owner(role: str) -> str:
    """A name for this process's leases, unique among processes (host, pid and a random part, so a
    restarted process that got the same pid is still another holder), readable in the database."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease(Periodic):
    """One process's hold on what it claimed of one kind (feeds, or alerts). :meth:`until` is the expiry
    a claim writes; :meth:`run` renews every lease ``owner`` holds every third of ``seconds``."""

    failure = "renewing leases failed; trying again (they last a while longer)"

    def __init__(self, owner: str, seconds: float, renew: Callable[[str, str], Awaitable[object]]) -> None:
        super().__init__(timedelta(seconds=seconds / 3))
        self.owner = owner
        self.seconds = seconds
        self._renew = renew

    def until(self) -> str:
        """When a lease taken or renewed now runs out."""
        return to_iso(datetime.now(UTC) + timedelta(seconds=self.seconds))

    async def run_pass(self) -> None:
        """Renew every lease this process holds."""
        await self._renew(self.owner, self.until())
