"""The digest scheduler: every minute, each channel's digest period that has ended is made into a post
and planned through the outbox, exactly once (:meth:`bot.store.digests.DigestQueries.plan`); a period
missed while the bot was offline is planned on return, marked late (:func:`bot.digests.due_period`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.alerts.server_posts import ServerPostPlanner
from bot.digests import DigestSchedule, due_period, zone_named
from bot.models import PlannedPost, to_iso
from bot.render import to_embeds

log = logging.getLogger(__name__)


class DigestScheduler(ServerPostPlanner):
    """Plans the digests that are due, of the servers ``owns`` accepts (with several gateway processes on one
    index, each plans those of its shards' servers: :mod:`bot.shards`); :meth:`run` loops until :meth:`stop`."""

    failure = "checking digests failed; trying again later"

    async def check(self) -> int:
        """Plan every digest whose period has ended; returns how many posts were planned. One digest that
        fails is logged and tried again at the next check; the others go on."""
        now = self.clock()
        planned = 0
        for schedule, zone_name in await self.store.digests.schedules():
            if not self.owns(schedule.guild_id):
                continue
            try:
                planned += await self._plan(schedule, zone_name, now)
            except Exception:
                log.exception("the digest of channel %s could not be planned; trying again", schedule.channel_id)
        return planned

    async def _plan(self, schedule: DigestSchedule, zone_name: str | None, now: datetime) -> int:
        try:
            zone = zone_named(zone_name)
        except ValueError:  # a zone this system's database no longer has
            zone_name, zone = "UTC", zone_named(None)
        period = due_period(schedule, zone, now)
        if period is None:
            return 0
        answer = await self.answers.digest(schedule, period, zone_name or "UTC")
        post = None
        if answer.items:  # an empty period is marked done without a post
            post = PlannedPost(
                "digest",
                f"digest:{schedule.channel_id}:{to_iso(period.start)}",
                schedule.guild_id,
                schedule.channel_id,
                {"embed": to_embeds(answer, "/")[0].to_dict(), "about": f"{schedule.cadence} digest"},
                [{"kind": "digest", "name": schedule.cadence}],
            )
        done = await self.store.digests.plan(schedule.channel_id, period.end, post, now)
        return int(done and post is not None)
