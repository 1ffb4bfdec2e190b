"""Answers of the alert commands, rendered by :mod:`bot.render` like every other answer.

The service returns these plain facts (channel ids, names as stored); how they read, with channel
mentions and escaped names on Discord, is the renderer's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.digests import DigestSchedule
from bot.models import Follow, SentAlert
from bot.stories import StoryDecision


@dataclass(frozen=True, slots=True)
class AlertsStatus:
    """``!alerts``: where every new article is posted in this server (``None``: nowhere), and where its
    spikes are."""

    channel_id: int | None
    trending_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class AlertsOn:
    """``!alerts here``: this channel now gets every new article."""

    channel_id: int


@dataclass(frozen=True, slots=True)
class AlertsOff:
    """``!alerts off``: the channel that was getting the alerts (``None``: alerts were not on)."""

    previous_channel_id: int | None


@dataclass(frozen=True, slots=True)
class TrendingAlertsOn:
    """``!alerts trending here``: this channel now gets the server's spikes."""

    channel_id: int


@dataclass(frozen=True, slots=True)
class TrendingAlertsOff:
    """``!alerts trending off``: the channel that was getting spikes (``None``: they were not on)."""

    previous_channel_id: int | None


@dataclass(frozen=True, slots=True)
class Followed:
    """``!follow``: what is followed now (or was already), where the pings will go, and whether for its
    spikes only."""

    name: str
    kind: str
    channel_id: int
    already: bool = False
    spikes: bool = False


@dataclass(frozen=True, slots=True)
class Unfollowed:
    """``!unfollow``: ``name`` is no longer followed; ``followed`` is false when it never was."""

    name: str
    followed: bool = True


@dataclass(frozen=True, slots=True)
class FollowingAnswer:
    """``!following``: what a member follows here."""

    follows: list[Follow]
    salience: float


@dataclass(frozen=True, slots=True)
class WhyAnswer:
    """``!why``: how an article was alerted in this server, and how it was grouped into its story
    (``None`` for an article indexed before stories were kept)."""

    article_id: int
    title: str
    alerts: list[SentAlert]
    story: StoryDecision | None = None


@dataclass(frozen=True, slots=True)
class DigestStatus:
    """``!digest``: this channel's digest (``None``: none), the server's time zone, and when it next runs
    (local time, as "Mon 8 Dec 08:00")."""

    schedule: DigestSchedule | None
    zone: str
    next_run: str | None = None


@dataclass(frozen=True, slots=True)
class DigestSet:
    """``!digest daily 08:00 [subject]`` / ``!digest weekly mon 08:00 [subject]``: the digest set here."""

    schedule: DigestSchedule
    zone: str
    next_run: str


@dataclass(frozen=True, slots=True)
class DigestOff:
    """``!digest off``: whether this channel had a digest."""

    had_one: bool


@dataclass(frozen=True, slots=True)
class TimezoneAnswer:
    """``!timezone``: the server's time zone, and whether it was just set or reset to UTC."""

    zone: str
    change: Literal["shown", "set", "reset"] = "shown"
