"""What is trending: names and topics whose coverage in a window most exceeds their own usual rate.

Pure functions over the counts the store gathers (:meth:`bot.store.trending.TrendingQueries.counts`): for
each subject, the articles about it in the window and in the :data:`BASELINE_DAYS` days before. Its usual
rate is the baseline per day, smoothed by half an article (a name never seen before is not expected at
rate zero, which would make any mention infinitely surprising); the surprise of the window's count is the
Poisson tail ``-log10 P(X >= count)`` at that rate. A subject trends when it has at least the window's
floor of articles (one article about an unknown name is not a trend), at least twice its usual rate, and
a surprise of :data:`MIN_SURPRISE` or more; the most surprising come first. A *spike* is a stronger trend
over 24 hours (:func:`is_spike`): what spike alerts announce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.models import ArticleBrief, SubjectCount

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
WINDOW_NAMES = {"24h": "24 h", "7d": "7 days"}
WINDOW_ALIASES = {"24h": "24h", "24": "24h", "1d": "24h", "day": "24h", "today": "24h", "7d": "7d", "week": "7d"}
BASELINE_DAYS = 30
MIN_ARTICLES = {"24h": 3, "7d": 5}
MIN_FACTOR = 2.0
MIN_SURPRISE = 3.0  # a count this unlikely at the usual rate: p <= 0.001
SMOOTHING_ARTICLES = 0.5
SPIKE_WINDOW = "24h"
SPIKE_MIN_FACTOR = 3.0
SPIKE_MIN_SURPRISE = 5.0
_TYPE_ORDER = {"PERSON": 0, "ORG": 1, "EVENT": 2, "PRODUCT": 3, "LAW": 3, "WORK_OF_ART": 3, "topic": 6}


@dataclass(frozen=True, slots=True)
class Trend:
    """A subject trending in a window: its counts, its usual rate per day (``0`` for a name new to the
    index), how many times that rate the window's is, the surprise, and the article most about it."""

    subject: SubjectCount
    window_days: float
    usual_per_day: float
    factor: float
    surprise: float
    lead: ArticleBrief | None = None
    also: tuple[SubjectCount, ...] = ()  # other trending names and topics whose lead article is this one's

    @property
    def is_new(self) -> bool:
        """Whether nothing was about it in the baseline days."""
        return self.subject.baseline_articles == 0


def parse_window(text: str | None) -> str:
    """``24h`` (the default) or ``7d`` from what the user typed; ``ValueError`` for anything else."""
    cleaned = "".join((text or "24h").lower().split())
    if cleaned not in WINDOW_ALIASES:
        raise ValueError(text)
    return WINDOW_ALIASES[cleaned]


def poisson_surprise(count: int, expected: float) -> float:
    """``-log10 P(X >= count)`` for ``X ~ Poisson(expected)``: the tail's first term in log space (no
    underflow), times the sum of the ratios of the next ones to it, which shrink geometrically once past
    the mean. A count at or below the mean is no surprise (``0``)."""
    if count <= expected:
        return 0.0
    if expected <= 0:
        return math.inf
    log_first = count * math.log(expected) - expected - math.lgamma(count + 1)
    ratio, tail, i = 1.0, 1.0, count
    while ratio > 1e-12 * tail:
        i += 1
        ratio *= expected / i
        tail += ratio
    return max(0.0, -(log_first + math.log(tail)) / math.log(10))


def baseline_days(window_start: datetime, first_published: datetime | None) -> int:
    """Days of baseline before a window's first day: up to :data:`BASELINE_DAYS`, fewer when the index
    is younger (``0``: no history to compare with)."""
    if first_published is None:
        return 0
    days = (window_start.date() - first_published.date()).days
    return max(0, min(BASELINE_DAYS, days))


def score(counts: list[SubjectCount], window: str, days_of_baseline: int) -> list[Trend]:
    """The subjects of ``counts`` that trend in ``window``, the most surprising first."""
    if days_of_baseline <= 0:
        return []
    window_days = WINDOWS[window] / timedelta(days=1)
    trends = []
    for subject in counts:
        if subject.articles < MIN_ARTICLES[window]:
            continue
        usual = subject.baseline_articles / days_of_baseline
        smoothed = (subject.baseline_articles + SMOOTHING_ARTICLES) / days_of_baseline
        factor = subject.articles / window_days / smoothed
        if factor < MIN_FACTOR:
            continue
        surprise = poisson_surprise(subject.articles, smoothed * window_days)
        if surprise >= MIN_SURPRISE:
            trends.append(Trend(subject, window_days, usual, factor, surprise))
    # Near-equal surprises (one story lifts its names and topics alike) put people and organisations
    # before places and topics.
    trends.sort(key=lambda t: (-round(t.surprise, 1), _TYPE_ORDER.get(t.subject.type, 5), t.subject.name))
    return trends


def by_story(trends: list[Trend]) -> list[Trend]:
    """One trend per lead article: a story lifts many names and topics at once ("Javier Milei",
    "Buenos Aires", "budget cuts"); the first of them stands for the rest, which it lists in ``also``."""
    grouped: dict[int, Trend] = {}
    shown: list[Trend] = []
    for trend in trends:
        if trend.lead is None:
            shown.append(trend)
            continue
        first = grouped.get(trend.lead.id)
        if first is None:
            grouped[trend.lead.id] = trend
            shown.append(trend)
        else:
            grouped[trend.lead.id] = replace(first, also=(*first.also, trend.subject))
            shown[shown.index(first)] = grouped[trend.lead.id]
    return shown


def is_spike(trend: Trend) -> bool:
    """Whether a 24-hour trend is strong enough to announce (spike alerts)."""
    return trend.factor >= SPIKE_MIN_FACTOR and trend.surprise >= SPIKE_MIN_SURPRISE
