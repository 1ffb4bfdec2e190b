"""Answers of the feed commands (``source add``, ``list``, ``remove``, ``resume``), rendered by
:mod:`bot.render` like every other answer: plain facts, no Discord markup."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.alerts.filters import FilterRule
from bot.models import FeedSource


@dataclass(frozen=True, slots=True)
class SourcesAnswer:
    """``!source list``: the server's feeds, and the filters of those that have any (by feed id)."""

    sources: list[FeedSource]
    filters: dict[int, list[FilterRule]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedAdded:
    """``!source add``: the feed, how many of its items were indexed (not alerted), where new ones go."""

    source_id: int
    title: str
    items: int
    channel_id: int
    interval_minutes: float


@dataclass(frozen=True, slots=True)
class FeedRemoved:
    """``!source remove``: the feed that was removed (its articles stay indexed)."""

    source_id: int
    title: str


@dataclass(frozen=True, slots=True)
class FeedResumed:
    """``!source resume``: a paused feed is active again."""

    source_id: int
