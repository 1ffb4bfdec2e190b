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
    """``!source add``: the feed, how many of its items were indexed (not alerted), where new ones go, and
    whether every server sees its articles (``shared``) or this one only."""

    source_id: int
    title: str
    items: int
    channel_id: int
    interval_minutes: float
    shared: bool = False


@dataclass(frozen=True, slots=True)
class FeedRemoved:
    """``!source remove``: the feed that was removed, and how many of its articles went with it (those no
    other source kept)."""

    source_id: int
    title: str
    articles_removed: int = 0


@dataclass(frozen=True, slots=True)
class FeedResumed:
    """``!source resume``: a paused feed is active again."""

    source_id: int
