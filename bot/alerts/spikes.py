"""Spike alerts: every few minutes the 24-hour trends are read (:meth:`bot.answers.Answers.trends`, as
``!trending`` shows them), and each strong one (:func:`bot.trending.is_spike`) is handed to the store,
which posts it once per server when it starts — to the server's spike channel (``!alerts trending here``)
and to members who follow one of its names or topics for spikes (``!follow <name> spikes``) — and
remembers it, so that a spike lasting a day is not posted every hour (:meth:`AlertQueries.plan_spike`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.alerts.server_posts import ServerPostPlanner
from bot.answers import SpikeAnswer
from bot.models import PlannedPost, Viewer, to_iso
from bot.render import to_embeds
from bot.trending import SPIKE_WINDOW, WINDOWS, Trend, is_spike

log = logging.getLogger(__name__)

SPIKES_PER_CHECK = 10  # the strongest stories of a check; the rest wait for the next one, if they last


def spike_payload(trend: Trend, window: str) -> dict[str, Any]:
    """What a spike post shows: its embed (commands in it by slash, which works in every server), and
    what its pings say it is about."""
    embed = to_embeds(SpikeAnswer(trend, window), "/")[0]
    return {"embed": embed.to_dict(), "about": f"{trend.subject.name} is spiking"}


class SpikeWatch(ServerPostPlanner):
    """Looks for spikes every ``every`` and plans their posts; :meth:`run` loops until :meth:`stop`.

    Only servers that ``owns`` accepts get posts from this watch: with several gateway processes on one
    index, each plans the posts of the servers of its shards (:mod:`bot.shards`), so none is planned twice."""

    failure = "looking for spikes failed; trying again later"

    async def check(self) -> int:
        """One look at the trends now, as each server sees them; returns how many spike posts were planned.

        Servers with no articles of their own all see the shared articles: one look serves them all. A
        server with its own feeds' articles gets a look of its own, and only its spikes."""
        now = self.clock()
        own = set(await self.store.articles.servers_with_own_articles())
        planned = await self._check_view(
            Viewer.dm(), now, lambda guild_id: guild_id not in own and self.owns(guild_id)
        )
        for server in sorted(filter(self.owns, own)):
            planned += await self._check_view(Viewer.server(server), now, lambda guild_id, s=server: guild_id == s)
        await self.store.alerts.forget_spikes(now - 2 * WINDOWS[SPIKE_WINDOW])
        return planned

    async def _check_view(self, viewer: Viewer, now: datetime, for_server: Callable[[int], bool]) -> int:
        answer = await self.answers.trends(SPIKE_WINDOW, now, limit=SPIKES_PER_CHECK, viewer=viewer)
        planned = 0
        for trend in answer.trends:
            if is_spike(trend):
                planned += await self._plan(trend, answer.window_name, now, for_server)
        return planned

    async def _plan(self, trend: Trend, window_name: str, now: datetime, for_server: Callable[[int], bool]) -> int:
        payload = spike_payload(trend, window_name)
        subject = trend.subject

        def make_post(guild_id: int, channel_id: int, reasons: list[dict[str, Any]], pings: list[int]) -> PlannedPost:
            key = f"spike:{channel_id}:{subject.kind}:{subject.key}:{to_iso(now)}"
            return PlannedPost("spike", key, guild_id, channel_id, payload, reasons, pings)

        subjects = [(subject.kind, subject.key), *((other.kind, other.key) for other in trend.also)]
        return await self.store.alerts.plan_spike(subjects, SPIKE_WINDOW, now, make_post, for_server=for_server)
