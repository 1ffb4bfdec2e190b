"""Data people can see and delete, and what goes when a server removes the bot.

``!mydata`` lists what the bot holds about the asker; ``!forget me`` deletes it after a confirmation
button. When the bot is removed from a server, :class:`ServerRetirement` deletes that server's data
after a grace period (``server_grace_days``), unless the bot is added back before it ends.

Each command method is catalogued (:mod:`bot.catalogue`) and returns an answer object that
:mod:`bot.render` formats; the privacy cog only parses input, shows the button, and calls these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.catalogue import command
from bot.models import UserData, from_iso, to_iso
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MyDataAnswer:
    """``!mydata``: what the bot holds about the asker; ``servers`` names the servers it knows."""

    data: UserData
    servers: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ForgetAsked:
    """``!forget me``, before the button: what will be deleted (``data.empty``: nothing)."""

    data: UserData


@dataclass(frozen=True, slots=True)
class Forgotten:
    """``!forget me`` confirmed (``done``) or cancelled or timed out."""

    done: bool


class PrivacyCommands:
    """Answers ``mydata`` and ``forget me`` for one user, over the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @command(
        "mydata",
        "mydata",
        "What the bot stores about you: your follows in each server, and anything you set up.",
        "mydata",
        where="server",
    )
    async def mydata(self, user_id: int, servers: Mapping[int, str]) -> MyDataAnswer:
        """What the bot holds about ``user_id`` (``servers``: the names of the servers it is in)."""
        return MyDataAnswer(await self.store.servers.user_data(user_id), servers)

    @command(
        "forget",
        "forget me",
        "Delete everything the bot stores about you, in every server (asks you to confirm).",
        "forget me",
        where="server",
    )
    async def forget_prompt(self, user_id: int) -> ForgetAsked:
        """What ``forget me`` would delete; the deletion waits for the confirmation button."""
        return ForgetAsked(await self.store.servers.user_data(user_id))

    async def forget(self, user_id: int) -> Forgotten:
        """Delete what the bot holds about ``user_id`` (confirmed with the button)."""
        await self.store.servers.forget_user(user_id)
        return Forgotten(done=True)


class ServerRetirement:
    """Deletes the data of servers that removed the bot, once their grace period has ended; a server that
    adds the bot back within it keeps everything. :meth:`run` loops until :meth:`stop`.

    ``owns`` tells the servers this process answers for: with several gateway processes (shards, see
    :mod:`bot.shards`) each judges and deletes only its own, since it knows nothing of the others' servers."""

    def __init__(
        self,
        store: Store,
        *,
        grace: timedelta,
        idle_seconds: float = 3600.0,
        owns: Callable[[int], bool] = lambda guild_id: True,
    ) -> None:
        self.store = store
        self.grace = grace
        self.idle_seconds = idle_seconds
        self.owns = owns
        self.wake = asyncio.Event()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Return from :meth:`run` after the deletion in hand."""
        self._stop.set()
        self.wake.set()

    async def departed(self, guild_id: int) -> str:
        """The bot was removed from a server: its data will be deleted after the grace period. Returns when."""
        due = await self.store.servers.departed(guild_id, self.grace)
        log.info("removed from server %s: its data will be deleted at %s unless the bot is added back", guild_id, due)
        self.wake.set()
        return due

    async def returned(self, guild_id: int) -> None:
        """The bot is in a server (added back, or seen at start-up): nothing of it is deleted."""
        if await self.store.servers.returned(guild_id):
            log.info("back in server %s within the grace period: its data stays", guild_id)

    async def present(self, guild_ids: list[int]) -> None:
        """The bot is in exactly these servers (it connected; a server in an outage is still listed): none
        of their data is deleted, and a server that holds data but removed the bot while it was away is
        treated as if it had just left."""
        here = set(guild_ids)
        for guild_id in here & set(await self.store.servers.departing()):
            await self.returned(guild_id)
        for guild_id in sorted(set(await self.store.servers.with_data()) - here):
            if self.owns(guild_id):
                await self.departed(guild_id)

    async def _departures(self) -> list[tuple[int, str]]:
        return [(guild_id, due) for guild_id, due in await self.store.servers.departures() if self.owns(guild_id)]

    async def delete_due(self) -> list[int]:
        """Delete the data of every server whose grace period has ended; returns those servers."""
        deleted = []
        now = to_iso(datetime.now(UTC))
        for guild_id in [guild_id for guild_id, due in await self._departures() if due <= now]:
            articles = await self.store.servers.delete_server(guild_id)
            log.info("deleted the data of server %s (and %d of its own articles)", guild_id, articles)
            deleted.append(guild_id)
        return deleted

    async def run(self) -> None:
        """Delete what is due, then sleep until the next grace period ends (or a server leaves)."""
        while not self._stop.is_set():
            self.wake.clear()
            wait = self.idle_seconds
            try:
                await self.delete_due()
                departures = await self._departures()
                if departures:
                    due = departures[0][1]
                    wait = min(wait, max((from_iso(due) - datetime.now(UTC)).total_seconds(), 0.05))
            except Exception:
                log.exception("deleting the data of departed servers failed; retrying later")
            try:
                await asyncio.wait_for(self.wake.wait(), wait)
            except TimeoutError:
                pass
