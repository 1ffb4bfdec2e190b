"""Alert filters: rules a manager sets on a feed (``!source filter``) or on a channel (``!alerts filter``)
that decide which new articles are posted.

One rule per command, in words a manager can read back::

    lithium, copper            the article says one of these words or phrases (title or text)
    -football                  it says none of them ("not football" too)
    has:Javier Milei           it names this person, organisation or place (several: has:Milei, Musk)
    -has:Elon Musk             it does not name them
    topic:lithium mining       it is about this topic
    section:politics           its address has this section (…/news/politics/… has news and politics)
    re:^Breaking               its title or text matches this regular expression

An article is posted when it passes every rule of its feed and of the channel; a rule with several values
holds when any of them does. Filters decide the posts of every new article (watched folders, feeds);
members' and roles' follows still ping, as they asked for exactly that.

Article text is untrusted and rules are admins' input: words, names, topics and sections are compared as
sets and substrings of normalised words (linear); regular expressions run only in RE2 (google-re2), whose
matching time is linear in the text — no catastrophic backtracking, whatever the pattern — with its
memory bounded; Python's ``re`` never runs an admin's pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

Kind = Literal["words", "has", "topic", "section", "regex"]
Scope = Literal["source", "channel"]

MAX_RULES = 20  # per feed and per channel
MAX_VALUES = 10  # alternatives in one rule
MAX_VALUE_CHARS = 100
MAX_PATTERN_CHARS = 200
RE2_MAX_MEM = 8 << 20  # bytes one compiled pattern may use

_PREFIXES: dict[str, Kind] = {
    "has": "has",
    "name": "has",
    "topic": "topic",
    "section": "section",
    "re": "regex",
    "regex": "regex",
    "word": "words",
    "words": "words",
}
_LABELS: dict[Kind, str] = {"words": "words", "has": "has", "topic": "topic", "section": "section", "regex": "regex"}
_WORD = re.compile(r"\w+")  # our own pattern, linear: the only `re` that touches article text here


class RuleError(ValueError):
    """A rule that cannot be used; the message is one sentence for the manager."""


@dataclass(frozen=True, slots=True)
class RuleText:
    """A rule as typed, split into its parts: what it looks at, whether it excludes, and its values."""

    kind: Kind
    negate: bool
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FilterRule:
    """A stored rule. ``values`` are what is compared (entity or topic keys, normalised words, sections,
    a pattern); ``labels`` how they read (names as the index spells them)."""

    kind: Kind
    negate: bool
    values: tuple[str, ...]
    labels: tuple[str, ...]
    id: int = 0

    def describe(self) -> str:
        """The rule in words, as ``source list``, ``alerts filter`` and ``why`` show it."""
        shown = ", ".join(self.labels)
        return f"{'not ' if self.negate else ''}{_LABELS[self.kind]}: {shown}"


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """What rules look at in one article, computed once per article."""

    words: str  # " w1 w2 … " — the title and text as normalised words between single spaces
    text: str  # title and text as they are, for regular expressions
    names: frozenset[str]  # entity keys
    topics: frozenset[str]  # topic keys
    sections: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, title: str, body: str, url: str | None, names: Iterable[str], topics: Iterable[str]) -> ArticleFacts:
        text = f"{title}\n{body}"
        return cls(normal_words(text), text, frozenset(names), frozenset(topics), sections_of(url))


def normal_words(text: str) -> str:
    """``text`` as its words, case-folded, between single spaces (and a space at each end)."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def sections_of(url: str | None) -> frozenset[str]:
    """The path segments of an article's address, lower-cased (``/news/politics/x-123`` → news, politics,
    x-123)."""
    if not url:
        return frozenset()
    try:
        path = urlsplit(url[:2000]).path
    except ValueError:
        return frozenset()
    return frozenset(part.casefold() for part in path.split("/") if part)


def split_rule(text: str) -> RuleText:
    """The parts of a typed rule (see the module docstring); :class:`RuleError` when it says nothing."""
    rule = " ".join(text.split())
    negate = False
    if rule.startswith("-"):
        negate, rule = True, rule[1:].lstrip()
    elif rule.lower().startswith("not "):
        negate, rule = True, rule[4:].lstrip()
    kind: Kind = "words"
    head, colon, rest = rule.partition(":")
    if colon and head.strip().lower() in _PREFIXES and " " not in head.strip():
        kind, rule = _PREFIXES[head.strip().lower()], rest.strip()
    if kind == "regex":
        if not rule:
            raise RuleError("Give a pattern after re:, like re:^Breaking.")
        if len(rule) > MAX_PATTERN_CHARS:
            raise RuleError(f"Keep a pattern under {MAX_PATTERN_CHARS} characters.")
        return RuleText(kind, negate, (rule,))
    values = tuple(dict.fromkeys(v.strip() for v in rule.split(",") if v.strip()))
    if not values:
        raise RuleError("Say what the filter looks for, like: has:Javier Milei, -football or topic:lithium mining.")
    if len(values) > MAX_VALUES:
        raise RuleError(f"A filter takes at most {MAX_VALUES} values; add another filter for more.")
    if any(len(v) > MAX_VALUE_CHARS for v in values):
        raise RuleError(f"Keep each value under {MAX_VALUE_CHARS} characters.")
    return RuleText(kind, negate, values)


def words_rule(parsed: RuleText) -> FilterRule:
    """A ``words`` or ``section`` rule: its values normalised as the article's words will be."""
    if parsed.kind == "section":
        values = tuple(v.strip("/ ").casefold() for v in parsed.values)
        if not all(values) or any("/" in v for v in values):
            raise RuleError("A section is one part of an address, like section:politics.")
        return FilterRule("section", parsed.negate, values, values)
    values = tuple(normal_words(v) for v in parsed.values)
    if any(v == "  " for v in values):
        raise RuleError("A word filter needs letters or digits, like -football.")
    return FilterRule("words", parsed.negate, values, parsed.values)


def regex_rule(parsed: RuleText) -> FilterRule:
    """A ``regex`` rule, once RE2 accepts its pattern."""
    try:
        compiled_pattern(parsed.values[0])
    except RuleError:
        raise
    except Exception as exc:  # re2.error and friends: the pattern itself is wrong
        raise RuleError(f"That pattern is not one RE2 accepts ({str(exc)[:100]}).") from None
    return FilterRule("regex", parsed.negate, parsed.values, parsed.values)


@lru_cache(maxsize=256)
def compiled_pattern(pattern: str) -> Any:
    """``pattern`` compiled by RE2, case-insensitive, its memory bounded."""
    try:
        import re2
    except ImportError:  # declared in the dependencies; an install without it refuses regex rules only
        raise RuleError("Regular expression filters need the google-re2 package, which is not installed.") from None
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = RE2_MAX_MEM
    return re2.compile(pattern, options)


def matches(rule: FilterRule, facts: ArticleFacts) -> bool:
    """Whether the article has what the rule looks for (before ``negate``)."""
    if rule.kind == "words":
        return any(value in facts.words for value in rule.values)
    if rule.kind == "has":
        return any(value in facts.names for value in rule.values)
    if rule.kind == "topic":
        return any(value in facts.topics for value in rule.values)
    if rule.kind == "section":
        return any(value in facts.sections for value in rule.values)
    try:
        return compiled_pattern(rule.values[0]).search(facts.text) is not None
    except Exception:  # a pattern that compiled when set but not here (another RE2 build): it cannot hold
        return False


def blocking_rule(rules: Sequence[FilterRule], facts: ArticleFacts) -> FilterRule | None:
    """The first rule the article fails, or None when it passes them all."""
    for rule in rules:
        if matches(rule, facts) == rule.negate:
            return rule
    return None
