"""Answers of the alert commands, rendered by :mod:`bot.render` like every other answer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.models import FeedSource, Follow, SentAlert


@dataclass(frozen=True, slots=True)
class FollowingAnswer:
    """``!following``: what a member follows here."""

    follows: list[Follow]
    salience: float


@dataclass(frozen=True, slots=True)
class SourcesAnswer:
    """``!source list``."""

    sources: list[FeedSource]


@dataclass(frozen=True, slots=True)
class WhyAnswer:
    """``!why``: how an article was alerted in this server."""

    article_id: int
    title: str
    alerts: list[SentAlert]
