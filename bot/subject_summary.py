"""``!summary <name or topic> [24h|7d|30d]``: the key sentences about a subject over a period, across
articles, with no two saying the same thing, in time order.

Pure Python over what the store returns: the period typed after the subject (:func:`split_period`), and
the choice of sentences (:func:`distinct_sentences`). Two sentences say the same thing when the content
words of one are nearly all in the other (containment: several outlets quoting one wire report, one of
them adding a clause) or the two share most of their words (Jaccard); the first said is kept, and the
articles that repeated it are counted with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.text import STOP_WORDS

# Periods a summary can cover: the three the command offers by name, and any count of hours or days
# from an hour to a quarter of a year.
PERIOD_NAMES = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}
_PERIOD_WORDS = {"today": "24h", "day": "24h", "week": "7d", "month": "30d"}
_PERIOD = re.compile(r"(\d{1,4})\s*(h|hours?|d|days?)")
MAX_PERIOD = timedelta(days=92)

# Two sentences say the same thing from these overlaps of their content words up.
SAME_CONTAINMENT = 0.8
SAME_JACCARD = 0.6
# Sentences shorter than this many content words are compared as wholes only (two short sentences
# sharing three words are not the same statement).
_MIN_CONTAINED_WORDS = 4
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True, slots=True)
class Period:
    """A summary's period: as typed in short (``"7d"``), its length, and how a sentence says it."""

    label: str
    length: timedelta

    @property
    def words(self) -> str:
        """"the last 7 days"."""
        return f"the last {PERIOD_NAMES.get(self.label) or _spelt(self.length)}"


def _spelt(length: timedelta) -> str:
    hours = int(length.total_seconds() // 3600)
    if hours % 24:
        return f"{hours} hours" if hours != 1 else "hour"
    days = hours // 24
    return f"{days} days" if days != 1 else "day"


def parse_period(text: str) -> Period | None:
    """The period ``text`` names (``24h``, ``7d``, ``30d``, ``48 hours``, ``week``…), or ``None`` when it
    names none; a period outside an hour to :data:`MAX_PERIOD` is ``None`` too."""
    word = text.strip().lower()
    word = _PERIOD_WORDS.get(word, word)
    match = _PERIOD.fullmatch(word)
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2)[0]
    length = timedelta(hours=count) if unit == "h" else timedelta(days=count)
    if not timedelta(hours=1) <= length <= MAX_PERIOD:
        return None
    return Period(f"{count}{unit}", length)


def split_period(text: str) -> tuple[str, Period | None]:
    """``"Milei 7d"`` → ``("Milei", 7d)``; text that does not end in a period comes back whole."""
    words = text.split()
    for size in (2, 1):  # "48 hours" is two words
        if len(words) > size:
            period = parse_period(" ".join(words[-size:]))
            if period is not None:
                return " ".join(words[:-size]), period
    return text, None


def content_words(sentence: str) -> frozenset[str]:
    """The words of ``sentence`` that carry its statement: lower-case, no stop words, a plural's final s
    dropped (so "subsidies"/"subsidy" and "cuts"/"cut" agree)."""
    words = set()
    for word in _WORD.findall(sentence.casefold()):
        if word in STOP_WORDS or len(word) < 2:
            continue
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def same_statement(one: frozenset[str], other: frozenset[str]) -> bool:
    """Whether two sentences' :func:`content_words` say the same thing (see the module docstring)."""
    if not one or not other:
        return one == other
    shared = len(one & other)
    if shared / len(one | other) >= SAME_JACCARD:
        return True
    smaller = min(len(one), len(other))
    return smaller >= _MIN_CONTAINED_WORDS and shared / smaller >= SAME_CONTAINMENT


@dataclass(slots=True)
class Candidate:
    """A sentence that may go into a summary: from which article, when, and how much it is about the
    subject (``weight``: higher first when there are too many)."""

    text: str
    article_id: int
    title: str
    published: str
    weight: float
    repeated_in: list[int] = field(default_factory=list)


def distinct_sentences(candidates: Iterable[Candidate], limit: int, *, per_article: int = 2) -> list[Candidate]:
    """At most ``limit`` sentences, no two saying the same thing, at most ``per_article`` from one
    article, in time order (the earliest first).

    Sentences are taken the earliest first, so a statement is credited to the article that said it
    first and the later ones that repeat it are listed in its ``repeated_in``; when more than ``limit``
    distinct statements remain, the weightiest are kept (the more articles repeated one, the weightier).
    """
    kept: list[tuple[Candidate, frozenset[str]]] = []
    for candidate in sorted(candidates, key=lambda c: (c.published, c.article_id)):
        words = content_words(candidate.text)
        earlier = next((k for k, w in kept if same_statement(words, w)), None)
        if earlier is None:
            kept.append((candidate, words))
        elif candidate.article_id != earlier.article_id and candidate.article_id not in earlier.repeated_in:
            earlier.repeated_in.append(candidate.article_id)
            earlier.weight += candidate.weight
    chosen: list[Candidate] = []
    from_article: dict[int, int] = {}
    for candidate in sorted((k for k, _ in kept), key=lambda c: -c.weight):
        if len(chosen) == limit:
            break
        if from_article.get(candidate.article_id, 0) < per_article:
            chosen.append(candidate)
            from_article[candidate.article_id] = from_article.get(candidate.article_id, 0) + 1
    return sorted(chosen, key=lambda c: (c.published, c.article_id))
