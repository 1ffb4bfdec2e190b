"""Answers of the alert commands, rendered by :mod:`bot.render` like every other answer.

The service returns these plain facts (channel ids, names as stored); how they read, with channel
mentions and escaped names on Discord, is the renderer's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Follow, SentAlert
from bot.stories import StoryDecision


@dataclass(frozen=True, slots=True)
class AlertsStatus:
    """``!alerts``: where every new article is posted in this server (``None``: nowhere)."""

    channel_id: int | None


@dataclass(frozen=True, slots=True)
class AlertsOn:
    """``!alerts here``: this channel now gets every new article."""

    channel_id: int


@dataclass(frozen=True, slots=True)
class AlertsOff:
    """``!alerts off``: the channel that was getting the alerts (``None``: alerts were not on)."""

    previous_channel_id: int | None


@dataclass(frozen=True, slots=True)
class Followed:
    """``!follow``: what is followed now (or was already), and where the pings will go."""

    name: str
    kind: str
    channel_id: int
    already: bool = False


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
