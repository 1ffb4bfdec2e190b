"""Answers of the alert commands, rendered by :mod:`bot.render` like every other answer.

The service returns these plain facts (channel ids, names as stored); how they read, with channel
mentions and escaped names on Discord, is the renderer's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.alerts.filters import FilterRule
from bot.digests import DigestSchedule
from bot.models import DEFAULT_ALERT_FORMAT, FilteredRecord, Follow, RoleFollow, SentAlert
from bot.stories import StoryDecision


@dataclass(frozen=True, slots=True)
class AlertsStatus:
    """``!alerts``: where every new article is posted in this server (``None``: nowhere), how (its format,
    whether each opens a thread), how many filters that channel has, and where the server's spikes are."""

    channel_id: int | None
    format: str = DEFAULT_ALERT_FORMAT
    threads: bool = False
    filters: int = 0
    trending_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class AlertsOn:
    """``!alerts here``: this channel now gets every new article; as a post each (a ``forum``), or with
    a thread opened on each (``threads``)."""

    channel_id: int
    threads: bool = False
    forum: bool = False


@dataclass(frozen=True, slots=True)
class AlertsOff:
    """``!alerts off``: the channel that was getting the alerts (``None``: alerts were not on)."""

    previous_channel_id: int | None


@dataclass(frozen=True, slots=True)
class AlertsFormat:
    """``!alerts format``: how alerts look in a channel, and whether that was just ``changed``."""

    channel_id: int
    format: str
    changed: bool = False


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
    role_id: int | None = None  # set when a role (not the asker) is pinged about it
    spikes: bool = False


@dataclass(frozen=True, slots=True)
class Unfollowed:
    """``!unfollow``: ``name`` is no longer followed; ``followed`` is false when it never was."""

    name: str
    followed: bool = True
    role_id: int | None = None


@dataclass(frozen=True, slots=True)
class FollowingAnswer:
    """``!following``: what a member follows here, and which roles the server has pinged about what."""

    follows: list[Follow]
    salience: float
    role_follows: list[RoleFollow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WhyAnswer:
    """``!why``: how an article was alerted in this server, and how it was grouped into its story
    (``None`` for an article indexed before stories were kept)."""

    article_id: int
    title: str
    alerts: list[SentAlert]
    filtered: list[FilteredRecord] = field(default_factory=list)
    story: StoryDecision | None = None


@dataclass(frozen=True, slots=True)
class FiltersAnswer:
    """``!alerts filter`` and ``!source filter``: the rules of a channel or a feed (``scope``), and what was
    just done: a rule ``added``, ``removed`` (by number) or all ``cleared`` (``count`` of them)."""

    scope: Literal["channel", "source"]
    scope_id: int
    rules: list[FilterRule]
    change: Literal["shown", "added", "removed", "cleared"] = "shown"
    rule: FilterRule | None = None
    count: int = 0
    name: str | None = None  # the feed's title


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
