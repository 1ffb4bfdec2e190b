"""The logic of every command, shared by the command line and the Discord cogs.

Each method takes what the user typed and returns a plain answer object; :mod:`bot.render` turns it
into console text or Discord embeds. Bad input raises :class:`UserError` with one sentence for the user.
Each command method is catalogued (:mod:`bot.catalogue`) by the ``@command`` above it, which is how the
cogs, ``help`` and :meth:`Answers.ask` know it. Every name or topic typed goes through :meth:`Answers.resolve`.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import shlex
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Literal

from bot.catalogue import CommandSpec, command, entries, find, subcommands
from bot.digests import DigestSchedule
from bot.digests import Period as DigestPeriod
from bot.models import (
    EVERYTHING,
    Article,
    ArticleBrief,
    Clock,
    EntityProfile,
    EntityRef,
    RelatedArticle,
    SearchHit,
    Stats,
    StoryRecord,
    TopicRef,
    Viewer,
    from_iso,
    to_iso,
    utc_now,
)
from bot.name_index import NameEntry, NameIndex
from bot.nlp.names import AliasTable, name_key
from bot.nlp.topics import topic_key
from bot.roles import RolePeriod, role_timeline
from bot.store import Store
from bot.stories import story_summary
from bot.subject_summary import Candidate, Period, distinct_sentences, parse_period, split_period
from bot.text import search_terms, snippet
from bot.trending import (
    BASELINE_DAYS,
    MIN_ARTICLES,
    WINDOW_NAMES,
    WINDOWS,
    Trend,
    baseline_days,
    by_story,
    parse_window,
    score,
)
from bot.wording import plural

if TYPE_CHECKING:
    # matplotlib takes half a second to import: only a process that draws a picture loads it.
    from bot.charts import CoMentionGraph, Picture, PictureRenderer, TrendChart

MAX_LIST = 25
# Name indexes kept in memory: the shared one and the servers' own (small), least recently used dropped.
MAX_NAME_INDEXES = 200
TRENDS_SHOWN = 10
DIGEST_STORIES = 8
DIGEST_LONG = 3  # the first stories of a digest get two sentences, the rest one
SUMMARY_ARTICLES = 5
# An entity is "about" an article for !summary <entity> from this salience up (not a passing name).
SUMMARY_MIN_SALIENCE = 0.2
# !summary <subject> <period>: the articles most about it in the period it reads, and the sentences shown.
PERIOD_ARTICLES = 40
LATEST = frozenset({"latest", "last", "newest"})
PERIOD_SENTENCES = 8
# A summary sentence naming the subject beside the article's key sentence about it counts this much.
SECOND_SENTENCE_WEIGHT = 0.5
# A match wins outright when it has this many times the mentions of the next candidate.
DOMINANCE = 3
# !trend's periods, as typed, in days; the default is the first.
TREND_PERIODS = {"90d": 90, "30d": 30, "1y": 365}
TREND_SUBJECTS = 4
_TREND_SEPARATOR = re.compile(r"\s+(?:vs\.?|versus)\s+", re.IGNORECASE)


class UserError(Exception):
    """Input the bot cannot act on; the message is one sentence for the user."""


@dataclass(frozen=True, slots=True)
class WhoAnswer:
    """``!who``: one entity's profile; ``corrected_from`` is set when a typo was fixed."""

    profile: EntityProfile
    corrected_from: str | None = None
    others: list[EntityRef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TimelineAnswer:
    """``!timeline``: the roles one entity held over time, the first seen first (see :mod:`bot.roles`)."""

    entity: EntityRef
    roles: list[RolePeriod]
    corrected_from: str | None = None
    others: list[EntityRef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Choices:
    """Several entities or topics fit what was typed: the user picks one. ``then`` is what followed the
    name in the command (a period: ``summary Brown 7d``), to type again after the chosen name."""

    query: str
    command: str
    options: list[str]
    details: list[str]
    then: str = ""

    @classmethod
    def of_entities(cls, query: str, command: str, candidates: list[EntityRef]) -> Choices:
        """The first five candidate entities, each with its type and coverage."""
        top = candidates[:5]
        return cls(
            query,
            command,
            [c.name for c in top],
            [f"{c.type.lower()}, {plural(c.article_count, 'article')}" for c in top],
        )


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing fits; the message says what was looked for, and the closest names are offered."""

    message: str
    suggestions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ArticleAnswer:
    """``!article`` and ``!summary <id>``: one article. ``summary_only`` hides names and origins."""

    article: Article
    summary_only: bool = False


@dataclass(frozen=True, slots=True)
class SubjectSentence:
    """A sentence from one article, with where it comes from; ``also_in``: later articles that said the
    same thing."""

    article_id: int
    title: str
    published: str
    text: str
    also_in: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SubjectSummary:
    """``!summary <entity or topic> [period]``: without a period, the top sentences of the latest articles
    about it, the newest first; with one, the period's key sentences across its articles, no two saying
    the same thing, in time order (``article_count``: the articles in the period)."""

    subject: str
    kind: str
    article_count: int
    sentences: list[SubjectSentence]
    period: Period | None = None


@dataclass(frozen=True, slots=True)
class TopicsAnswer:
    """``!topics``: the most covered topics."""

    topics: list[TopicRef]
    total_articles: int


@dataclass(frozen=True, slots=True)
class TopicAnswer:
    """``!topic``: one topic and its latest articles."""

    topic: TopicRef
    articles: list[ArticleBrief]


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """``!search``: the best matches."""

    query: str
    hits: list[SearchHit]


@dataclass(frozen=True, slots=True)
class LatestAnswer:
    """``!latest``: the newest articles."""

    articles: list[ArticleBrief]


@dataclass(frozen=True, slots=True)
class RelatedAnswer:
    """``!related``: articles close to one article."""

    article: ArticleBrief
    related: list[RelatedArticle]


@dataclass(frozen=True, slots=True)
class StoryAnswer:
    """``!story``: a story's articles (outlets, times, headlines) and a summary drawn from several of
    them, in time order, each statement once; ``asked`` is the article the user named, if any."""

    story: StoryRecord
    summary: list[Candidate]
    outlets: list[str]
    asked: int | None = None


@dataclass(frozen=True, slots=True)
class TrendingAnswer:
    """``!trending``: what most exceeds its usual coverage in the window (``"24h"`` or ``"7d"``) ending
    ``until``; ``history`` is false when the index has nothing older to compare with."""

    window: str
    until: str
    trends: list[Trend]
    articles: int
    history: bool = True

    @property
    def window_name(self) -> str:
        """The window as a sentence says it ("24 h", "7 days")."""
        return WINDOW_NAMES[self.window]


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One story of a digest: its article and the sentences that tell it."""

    article: ArticleBrief
    sentences: list[str]


@dataclass(frozen=True, slots=True)
class DigestAnswer:
    """A scheduled digest: the period (``start`` to ``end``, shown in ``zone``), its top stories (or, with a
    ``subject``, the articles about it), and whether it is sent ``late`` (the bot was offline at its time)."""

    cadence: str
    start: datetime
    end: datetime
    zone: str
    items: list[DigestItem]
    subject: str | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class SpikeAnswer:
    """A spike alert: one trend that has just started, over ``window_name`` ("24 h")."""

    trend: Trend
    window_name: str


@dataclass(frozen=True, slots=True)
class StatsAnswer:
    """``!stats``."""

    stats: Stats


@dataclass(frozen=True, slots=True)
class HelpAnswer:
    """``!help``: the commands (one, when asked about one) and the prefix in use."""

    commands: tuple[CommandSpec, ...]
    prefix: str


@dataclass(frozen=True, slots=True)
class PrefixAnswer:
    """``!prefix``: the prefix in use here, and whether it was just ``set`` or ``reset`` to the default."""

    prefix: str
    change: Literal["shown", "set", "reset"] = "shown"


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    """``!sync``: how many slash commands were published, to this server only or to every server."""

    count: int
    here: bool


@dataclass(frozen=True, slots=True)
class TrendLine:
    """One subject of a trend in words: its name, kind (an entity type or ``topic``), mentions in the period,
    and its busiest day (or week) with that day's headline."""

    name: str
    kind: str
    total: int
    peak: tuple[date, int] | None
    peak_title: str | None


@dataclass(frozen=True, slots=True)
class TrendAnswer:
    """``!trend``: mentions per day (or week) of up to four subjects, as a picture and in words."""

    chart: TrendChart
    lines: list[TrendLine]
    picture: Picture
    first: date
    last: date


@dataclass(frozen=True, slots=True)
class GraphAnswer:
    """``!graph``: the names a name appears with most, as a picture and in words."""

    graph: CoMentionGraph
    entity: EntityRef
    picture: Picture
    corrected_from: str | None = None


Answer = (
    WhoAnswer
    | TimelineAnswer
    | Choices
    | NotFound
    | ArticleAnswer
    | SubjectSummary
    | TopicsAnswer
    | TopicAnswer
    | SearchAnswer
    | LatestAnswer
    | RelatedAnswer
    | StoryAnswer
    | StatsAnswer
    | TrendingAnswer
    | HelpAnswer
    | TrendAnswer
    | GraphAnswer
)


def is_number(text: str) -> bool:
    """Whether ``text`` is a plain whole number in ASCII digits (``"²"`` and ``"٣"`` are not)."""
    return re.fullmatch(r"[0-9]{1,18}", text) is not None


def parse_count(text: str | int | None, default: int, *, maximum: int = MAX_LIST) -> int:
    """A list length from the user (typed, or a slash command's number): a whole number from 1 to ``maximum``."""
    if isinstance(text, int):
        return max(1, min(text, maximum))
    if text is None or not text.strip():
        return default
    if not is_number(text.strip()):
        raise UserError(f"The count must be a whole number from 1 to {maximum}.")
    return max(1, min(int(text.strip()), maximum))


def parse_id(text: str | int | None, error: str) -> int:
    """An id from the user: a slash command's number, or typed as ``42`` or ``#42``; else ``error``."""
    if isinstance(text, int):
        return text
    cleaned = (text or "").strip().lstrip("#")
    if not is_number(cleaned):
        raise UserError(error)
    return int(cleaned)


def parse_trend(text: str) -> tuple[list[str], int]:
    """``Milei vs Musk 30d`` → (["Milei", "Musk"], 30): the subjects, split at ``vs``, and the period
    (``30d``, ``90d`` or ``1y`` as the last word; 90 days when none is given)."""
    words = text.split()
    days = TREND_PERIODS["90d"]
    if words and words[-1].lower() in TREND_PERIODS:
        days = TREND_PERIODS[words.pop().lower()]
    subjects = [s.strip() for s in _TREND_SEPARATOR.split(" " + " ".join(words) + " ")]
    subjects = list(dict.fromkeys(s for s in subjects if s))
    if not subjects:
        raise UserError("Tell me a name or topic, like: trend Milei vs Musk 90d.")
    if len(subjects) > TREND_SUBJECTS:
        raise UserError(f"A trend compares at most {TREND_SUBJECTS} names or topics.")
    return subjects, days


def parse_article_id(text: str | int | None) -> int:
    """An article id from the user (``42`` or ``#42``)."""
    return parse_id(text, "Article ids are whole numbers, like 42 (see the latest with the latest command).")


_STORY_ID = re.compile(r"(?:s|story)\s*#?\s*([0-9]{1,18})", re.IGNORECASE)


def parse_story_ref(text: str | int | None) -> tuple[Literal["article", "story"], int]:
    """What ``!story`` was asked about: an article (``42``, ``#42``) or a story (``s12``, ``story 12``)."""
    if isinstance(text, int):
        return "article", text
    match = _STORY_ID.fullmatch((text or "").strip())
    if match:
        return "story", int(match.group(1))
    return "article", parse_id(
        text, "Give an article id like 42, or a story id like s12 (!why <article> names an article's story)."
    )


class Wanted(Enum):
    """What a command takes for the name or topic the user typed (see :meth:`Answers.resolve`)."""

    NAME = "name"
    """``who``: an entity in the index."""
    TOPIC = "topic"
    """``topic``: a topic in the index."""
    SUBJECT = "subject"
    """``summary``: an entity or a topic in the index."""
    SUBJECT_OR_NEW_NAME = "subject or new name"
    """``follow``: an entity or topic in the index, else the name as typed (the first article about it pings)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """The one entity or topic that what was typed stands for. ``entity`` and ``topic`` are ``None`` for a
    name not indexed yet; ``corrected_from`` is set when a typo was fixed, ``others`` are runner-up names."""

    kind: Literal["entity", "topic"]
    key: str
    name: str
    entity: EntityRef | None = None
    topic: TopicRef | None = None
    corrected_from: str | None = None
    others: tuple[EntityRef, ...] = ()

    @classmethod
    def of_entity(
        cls, entity: EntityRef, corrected_from: str | None = None, others: list[EntityRef] | None = None
    ) -> Resolved:
        return cls("entity", name_key(entity.name), entity.name, entity, None, corrected_from, tuple(others or ()))

    @classmethod
    def of_topic(cls, topic: TopicRef) -> Resolved:
        return cls("topic", topic.key, topic.name, topic=topic)


@dataclass(slots=True)
class _Names:
    """The in-memory name indexes of one scope, and the database version they were built from."""

    entities: NameIndex
    topics: NameIndex
    version: tuple[int, int]
    rebuild: asyncio.Task[None] | None = None


class Answers:
    """Answers questions from the index. One instance serves the console or the whole bot; every command
    answers from what its ``viewer`` may see (:class:`~bot.models.Viewer`)."""

    def __init__(
        self,
        store: Store,
        aliases: AliasTable,
        *,
        summary_sentences: int = 3,
        max_query_chars: int = 200,
        prefix: str = "!",
        clock: Clock = utc_now,
        pictures: PictureRenderer | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self._pictures = pictures
        self.aliases = aliases
        self.summary_sentences = summary_sentences
        self.max_query_chars = max_query_chars
        self.prefix = prefix
        # Name indexes by scope (None: every name), least recently used first.
        self._names: OrderedDict[int | None, _Names] = OrderedDict()
        self._refresh_lock = asyncio.Lock()

    # ------------------------------------------------------------------------------------ helpers

    def _check_length(self, text: str, what: str) -> str:
        text = " ".join(text.split())
        if len(text) > self.max_query_chars:
            raise UserError(f"That {what} is too long: keep it under {self.max_query_chars} characters.")
        return text

    async def _indexes(self, viewer: Viewer) -> list[_Names]:
        """The in-memory name indexes ``viewer`` looks names up in: every name (the console), the shared
        articles' names (a DM), or those and the server's own (a server). The first build of each is
        awaited; later, when the database has changed, the current one keeps serving while a fresh one
        is built off the event loop, so a keystroke never waits for a rebuild."""
        version = (await self.store.db.data_version(), self.store.db.generation)
        scopes: tuple[int | None, ...] = viewer.scopes or (None,)
        found = []
        for scope in scopes:
            names = self._names.get(scope)
            if names is None:
                async with self._refresh_lock:
                    names = self._names.get(scope) or await self._build_names(scope, version)
            elif names.version != version and (names.rebuild is None or names.rebuild.done()):
                names.rebuild = asyncio.create_task(self._rebuild_names(scope, version))
            self._names.move_to_end(scope)
            found.append(names)
        while len(self._names) > MAX_NAME_INDEXES:
            self._names.popitem(last=False)
        return found

    async def refresh_names(self, viewer: Viewer = EVERYTHING) -> None:
        """Bring ``viewer``'s name indexes up to date now, waiting for any rebuild in progress (for tests
        and benchmarks, which must not see an index from before their last write)."""
        version = (await self.store.db.data_version(), self.store.db.generation)
        for scope in viewer.scopes or (None,):
            names = self._names.get(scope)
            if names is not None and names.rebuild is not None:
                await names.rebuild
            if names is None or self._names[scope].version != version:
                await self._build_names(scope, version)

    async def _build_names(self, scope: int | None, version: tuple[int, int]) -> _Names:
        entity_rows = await self.store.entities.names(scope)
        topic_rows = await self.store.topics.names(scope)
        entities, topics = await asyncio.to_thread(lambda: (NameIndex(entity_rows), NameIndex(topic_rows)))
        names = _Names(entities, topics, version)
        self._names[scope] = names
        return names

    async def _rebuild_names(self, scope: int | None, version: tuple[int, int]) -> None:
        await self._build_names(scope, version)

    async def _entity_prefix(self, key: str, limit: int, viewer: Viewer) -> list[NameEntry]:
        return _merged([n.entities.prefix(key, limit) for n in await self._indexes(viewer)], limit)

    async def _topic_prefix(self, key: str, limit: int, viewer: Viewer) -> list[NameEntry]:
        return _merged([n.topics.prefix(key, limit) for n in await self._indexes(viewer)], limit)

    async def _entity_fuzzy(
        self, key: str, limit: int, viewer: Viewer, cutoff: float = 75.0
    ) -> list[tuple[NameEntry, float]]:
        return _merged_fuzzy([n.entities.fuzzy(key, limit, cutoff) for n in await self._indexes(viewer)], limit)

    async def _topic_fuzzy(
        self, key: str, limit: int, viewer: Viewer, cutoff: float = 75.0
    ) -> list[tuple[NameEntry, float]]:
        return _merged_fuzzy([n.topics.fuzzy(key, limit, cutoff) for n in await self._indexes(viewer)], limit)

    async def canonical(self, text: str, viewer: Viewer) -> str:
        """What ``text`` stands for by alias: the viewer's server's own aliases first, then the global table
        (``config/aliases.toml``); else ``text`` as typed."""
        if viewer.guild_id is not None and not viewer.sees_all:
            target = await self.store.servers.alias(viewer.guild_id, name_key(text))
            if target is not None:
                return target
        return self.aliases.canonical(text) or text

    async def _alias_targets(self, prefix_key: str, viewer: Viewer) -> list[str]:
        """For autocomplete: what the server's aliases starting with ``prefix_key`` stand for."""
        if viewer.guild_id is None or viewer.sees_all or not prefix_key:
            return []
        return [a.target for a in await self.store.servers.aliases(viewer.guild_id, starting=prefix_key, limit=5)]

    async def entity_candidates(self, query: str, *, viewer: Viewer = EVERYTHING) -> tuple[list[EntityRef], str | None]:
        """Entities ``viewer`` sees that fit ``query``: exact or alias, then by whole words, then by
        prefix, then fuzzy.

        Returns the candidates (best first) and, when they came from a typo correction, the query.
        """
        key = name_key(await self.canonical(query, viewer))
        if not key:
            return [], None
        entities = self.store.entities
        exact = await entities.by_key(key, viewer=viewer)
        if exact:
            return [exact], None
        words = list(dict.fromkeys(key.split(" ")))
        by_words = await entities.with_words(words, limit=6, viewer=viewer)
        if by_words:
            return by_words, None
        by_most_words = await entities.with_most_words(words, viewer=viewer)
        if by_most_words:
            return by_most_words, query
        if len(key) >= 3:
            by_prefix = [
                await entities.get(entry.id, viewer=viewer) for entry in await self._entity_prefix(key, 6, viewer)
            ]
            if by_prefix:
                return [r for r in by_prefix if r is not None], None
        close = await self._entity_fuzzy(key, 6, viewer)
        if close:
            refs = [await entities.get(entry.id, viewer=viewer) for entry, _ in close]
            return [r for r in refs if r is not None], query
        return [], None

    async def _suggestions(self, query: str, viewer: Viewer) -> list[str]:
        key = name_key(query)
        names = [e.name for e, _ in await self._entity_fuzzy(key, 3, viewer, cutoff=55)]
        names += [e.name for e, _ in await self._topic_fuzzy(topic_key(query), 2, viewer, cutoff=60)]
        return list(dict.fromkeys(names))[:5]

    @staticmethod
    def is_dominant(candidates: list[EntityRef]) -> bool:
        return len(candidates) == 1 or candidates[0].mention_count >= DOMINANCE * max(1, candidates[1].mention_count)

    async def resolve(
        self, text: str, wanted: Wanted, command: str, *, viewer: Viewer = EVERYTHING
    ) -> Resolved | Choices | NotFound:
        """What ``text`` stands for, the same way for every command that takes a name or a topic, among
        what ``viewer`` sees (and with its server's aliases).

        Names are looked up exact or by alias, then by whole words, then by prefix, then fuzzy; one
        that clearly has the most mentions wins, else the user chooses (``command`` is the one to ask
        again). A subject is an exact name, else an exact topic (unless a name with those words has more
        articles), else a name found as above, else (``summary``) the closest topic or (``follow``) the
        name as typed.
        """
        if wanted is Wanted.TOPIC:
            return await self._resolve_topic(text, command, viewer)
        if wanted is Wanted.NAME:
            candidates, corrected = await self.entity_candidates(text, viewer=viewer)
            if not candidates:
                articles = await self.store.articles.count(viewer=viewer)
                return NotFound(
                    f"No one called {text} in {plural(articles, 'indexed article')}.",
                    await self._suggestions(text, viewer),
                )
            if not self.is_dominant(candidates):
                return Choices.of_entities(text, command, candidates)
            return Resolved.of_entity(candidates[0], corrected, candidates[1:4])
        canonical = await self.canonical(text, viewer)
        key = name_key(canonical)
        exact = await self.store.entities.by_key(key, viewer=viewer) if key else None
        if exact is not None:
            return Resolved.of_entity(exact)
        topic = await self.store.topics.by_key(topic_key(canonical), viewer=viewer)
        if topic is not None:
            # A surname is sometimes a topic too ("Milei", of a headline): the person wins when more
            # articles are about them than about the topic.
            named = (
                await self.store.entities.with_words(list(dict.fromkeys(key.split(" "))), limit=6, viewer=viewer)
                if key
                else []
            )
            if named and self.is_dominant(named) and named[0].article_count > topic.article_count:
                return Resolved.of_entity(named[0], None, named[1:4])
            return Resolved.of_topic(topic)
        candidates, corrected = await self.entity_candidates(text, viewer=viewer)
        if candidates:
            if not self.is_dominant(candidates):
                return Choices.of_entities(text, command, candidates)
            return Resolved.of_entity(candidates[0], corrected, candidates[1:4])
        if wanted is Wanted.SUBJECT_OR_NEW_NAME:
            return Resolved("entity", name_key(text), text)
        close = await self._topic_prefix(topic_key(text), 1, viewer) or [
            e for e, _ in await self._topic_fuzzy(topic_key(text), 1, viewer)
        ]
        found = await self.store.topics.get(close[0].id, viewer=viewer) if close else None
        if found is not None:
            return Resolved.of_topic(found)
        return NotFound(f"Nothing about {text} in the index.", await self._suggestions(text, viewer))

    async def _resolve_topic(self, text: str, command: str, viewer: Viewer) -> Resolved | Choices | NotFound:
        key = topic_key(await self.canonical(text, viewer))
        topic = await self.store.topics.by_key(key, viewer=viewer)
        if topic is None:
            options: list[NameEntry] = await self._topic_prefix(key, 5, viewer) or [
                e for e, _ in await self._topic_fuzzy(key, 5, viewer, cutoff=70)
            ]
            if len(options) == 1:
                topic = await self.store.topics.get(options[0].id, viewer=viewer)
            elif options:
                return Choices(text, command, [o.name for o in options], [plural(o.weight, "article") for o in options])
        if topic is None:
            return NotFound(f"No topic called {text} in the index.", await self._suggestions(text, viewer))
        return Resolved.of_topic(topic)

    @property
    def pictures(self) -> PictureRenderer:
        """What draws the pictures, off the event loop (its worker process starts at the first picture)."""
        if self._pictures is None:
            from bot.charts import PictureRenderer

            self._pictures = PictureRenderer()
        return self._pictures

    def close(self) -> None:
        """Stop the picture worker, if one was started."""
        if self._pictures is not None:
            self._pictures.close()

    # ----------------------------------------------------------------------------------- commands

    @command(
        "who", "who <name>", "Who someone (or something) in the news is: role, mentions, company kept.", "who Milei"
    )
    async def who(self, name: str, *, viewer: Viewer = EVERYTHING) -> WhoAnswer | Choices | NotFound:
        """Who (or what) ``name`` is, from what ``viewer`` sees of the index."""
        name = self._check_length(name, "name")
        if not name_key(name):
            raise UserError("Tell me a name to look up, like: who Milei.")
        found = await self.resolve(name, Wanted.NAME, "who", viewer=viewer)
        if not isinstance(found, Resolved):
            return found
        assert found.entity is not None
        profile = await self.store.entities.profile(found.entity.id, viewer=viewer)
        if profile is None:  # removed between the two queries by a concurrent ingest
            return NotFound(f"No one called {name} in the index any more.")
        return WhoAnswer(profile=profile, corrected_from=found.corrected_from, others=list(found.others))

    @command(
        "timeline",
        "timeline <name>",
        "The roles someone held over time, each with the article that first shows it.",
        "timeline Milei",
    )
    async def timeline(self, name: str, *, viewer: Viewer = EVERYTHING) -> TimelineAnswer | Choices | NotFound:
        """The roles ``name`` held over time, in the articles ``viewer`` sees."""
        name = self._check_length(name, "name")
        if not name_key(name):
            raise UserError("Tell me a name to look up, like: timeline Milei.")
        found = await self.resolve(name, Wanted.NAME, "timeline", viewer=viewer)
        if not isinstance(found, Resolved):
            return found
        assert found.entity is not None
        roles = role_timeline(await self.store.entities.role_uses(found.entity.id, viewer=viewer))
        if not roles:
            return NotFound(
                f"No article gives {found.entity.name} a role yet "
                f"(roles come from words like \"President\" or \"chief executive\" beside the name)."
            )
        return TimelineAnswer(found.entity, roles, found.corrected_from, list(found.others))

    @command(
        "summary",
        "summary [id | latest | name or topic [24h | 7d | 30d]]",
        "A summary of an article, the latest news, or a name or topic (over a period: 24h, 7d, 30d).",
        "summary Milei 7d",
    )
    async def summary(
        self, target: str | None = None, *, viewer: Viewer = EVERYTHING
    ) -> ArticleAnswer | SubjectSummary | Choices | NotFound:
        """A summary of an article (id or ``latest``, the default) or of a name or topic, the latest about
        it or, with a period after it (``Milei 7d``), the period's key sentences in time order."""
        text = self._check_length(target or "", "subject")
        if not text or text.lower() in LATEST:
            latest = await self.store.articles.latest_id(viewer=viewer)
            if latest is None:
                return NotFound("The index is empty: there is nothing to summarise yet.")
            text = str(latest)
        if is_number(text.lstrip("#")):
            article = await self.store.articles.get(parse_article_id(text), viewer=viewer)
            if article is None:
                return NotFound(f"There is no article {text.lstrip('#')}.")
            return ArticleAnswer(article, summary_only=True)
        subject, period = split_period(text)
        without_subject = parse_period(text) if period is None else period if subject.lower() in LATEST else None
        if without_subject is not None:  # "summary 7d", "summary latest 7d": a period of what?
            raise UserError(
                f"Tell me a name or topic to summarise over {without_subject.words}, "
                f"like: summary Milei {without_subject.label}."
            )
        found = await self.resolve(subject, Wanted.SUBJECT, "summary", viewer=viewer)
        if isinstance(found, Choices) and period is not None:
            return replace(found, then=period.label)
        if not isinstance(found, Resolved):
            return found
        if period is not None:
            return await self.period_summary(found, period, self.clock(), viewer=viewer)
        if found.topic is not None:
            return await self._topic_summary(found.topic, viewer)
        assert found.entity is not None
        return await self._entity_summary(found.entity, viewer)

    async def period_summary(
        self, found: Resolved, period: Period, now: datetime, *, viewer: Viewer = EVERYTHING
    ) -> SubjectSummary | NotFound:
        """The key sentences about ``found`` in the ``period`` ending ``now`` (see :meth:`summary`), from
        what ``viewer`` sees."""
        since = to_iso(now - period.length)
        candidates: list[Candidate] = []
        if found.topic is not None:
            count, rows = await self.store.topics.articles_since(
                found.topic.id, since, PERIOD_ARTICLES, viewer=viewer
            )
            for row in rows:
                about = _naming_topic(found.topic, row.summary)
                candidates += [Candidate(x, row.article_id, row.title, row.published, row.weight) for x in about]
                if not about and row.summary:
                    weight = row.weight * SECOND_SENTENCE_WEIGHT
                    candidates.append(Candidate(row.summary[0], row.article_id, row.title, row.published, weight))
            kind = "topic"
        else:
            assert found.entity is not None
            entity = found.entity
            count, rows = await self.store.entities.articles_since(
                entity.id, since, PERIOD_ARTICLES, min_salience=SUMMARY_MIN_SALIENCE, viewer=viewer
            )
            if count and not rows:  # only passing mentions: show those rather than nothing
                count, rows = await self.store.entities.articles_since(
                    entity.id, since, PERIOD_ARTICLES, viewer=viewer
                )
            for row in rows:
                if row.key_sentence:
                    candidates.append(Candidate(row.key_sentence, row.article_id, row.title, row.published, row.weight))
                weight = row.weight * SECOND_SENTENCE_WEIGHT
                candidates += [
                    Candidate(x, row.article_id, row.title, row.published, weight)
                    for x in _naming_entity(entity, row.summary)
                    if x != row.key_sentence
                ]
            kind = entity.type
        if not count:
            return NotFound(f"Nothing about {found.name} in {period.words}; summary {found.name} shows the latest.")
        sentences = [
            SubjectSentence(c.article_id, c.title, c.published, c.text, tuple(c.repeated_in))
            for c in distinct_sentences(candidates, PERIOD_SENTENCES)
        ]
        return SubjectSummary(found.name, kind, count, sentences, period)

    async def _entity_summary(self, entity: EntityRef, viewer: Viewer) -> SubjectSummary:
        rows = await self.store.entities.articles(
            entity.id, SUMMARY_ARTICLES, min_salience=SUMMARY_MIN_SALIENCE, viewer=viewer
        )
        if not rows:  # only passing mentions: show those rather than nothing
            rows = await self.store.entities.articles(entity.id, SUMMARY_ARTICLES, viewer=viewer)
        candidates = [
            Candidate(r.key_sentence, r.article_id, r.title, r.published, r.salience) for r in rows if r.key_sentence
        ]
        return SubjectSummary(entity.name, entity.type, entity.article_count, _newest_first(candidates))

    async def _topic_summary(self, topic: TopicRef, viewer: Viewer) -> SubjectSummary:
        candidates: list[Candidate] = []
        for brief, summary in await self.store.topics.articles(topic.id, SUMMARY_ARTICLES, viewer=viewer):
            if not summary:
                continue
            # The summary sentence that names the topic says most about it; else the article's first.
            sentence = (_naming_topic(topic, summary) or summary)[0]
            candidates.append(Candidate(sentence, brief.id, brief.title, brief.published, 1.0))
        return SubjectSummary(topic.name, "topic", topic.article_count, _newest_first(candidates))

    @command("topics", "topics [count]", "The topics most articles are about.", "topics 10")
    async def topics(self, count: str | int | None = None, *, viewer: Viewer = EVERYTHING) -> TopicsAnswer:
        """The most covered topics among the articles ``viewer`` sees."""
        articles = await self.store.articles.count(viewer=viewer)
        return TopicsAnswer(await self.store.topics.top(parse_count(count, 10), viewer=viewer), articles)

    @command("topic", "topic <phrase>", "The latest articles about one topic.", "topic lithium industry")
    async def topic(self, phrase: str, *, viewer: Viewer = EVERYTHING) -> TopicAnswer | Choices | NotFound:
        """One topic and its latest articles."""
        phrase = self._check_length(phrase, "topic")
        if not topic_key(phrase):
            raise UserError("Tell me a topic, like: topic lithium industry.")
        found = await self.resolve(phrase, Wanted.TOPIC, "topic", viewer=viewer)
        if not isinstance(found, Resolved):
            return found
        assert found.topic is not None
        articles = [brief for brief, _ in await self.store.topics.articles(found.topic.id, 10, viewer=viewer)]
        return TopicAnswer(found.topic, articles)

    @command("search", "search <words>", "Full-text search of titles and articles.", "search lithium battery")
    async def search(self, query: str, *, viewer: Viewer = EVERYTHING) -> SearchAnswer | NotFound:
        """Full-text search; any text is safe (it is quoted word by word)."""
        query = self._check_length(query, "search")
        if not re.search(r"\w", query):
            raise UserError("Tell me what to search for, like: search lithium.")
        matches = await self.store.search.find(query, limit=5, viewer=viewer)
        if not matches:
            return NotFound(f"No article matches {query}.", await self._suggestions(query, viewer))
        terms = search_terms(query)
        return SearchAnswer(query, [SearchHit(m.article, snippet(m.body, terms), m.rank) for m in matches])

    @command("latest", "latest [count]", "The most recently published articles.", "latest 5")
    async def latest(self, count: str | int | None = None, *, viewer: Viewer = EVERYTHING) -> LatestAnswer | NotFound:
        """The newest articles."""
        articles = await self.store.articles.latest(parse_count(count, 5), viewer=viewer)
        if not articles:
            return NotFound("The index is empty: no articles yet.")
        return LatestAnswer(articles)

    @command("article", "article <id>", "One article: source, summary, names and topics.", "article 1")
    async def article(self, article_id: str | int, *, viewer: Viewer = EVERYTHING) -> ArticleAnswer | NotFound:
        """One article in full detail."""
        number = parse_article_id(article_id)
        article = await self.store.articles.get(number, viewer=viewer)
        return ArticleAnswer(article) if article else NotFound(f"There is no article {number}.")

    @command("related", "related <id>", "Articles that share names and topics with one article.", "related 1")
    async def related(self, article_id: str | int, *, viewer: Viewer = EVERYTHING) -> RelatedAnswer | NotFound:
        """Articles close to one article."""
        number = parse_article_id(article_id)
        found = await self.store.articles.related_to(number, limit=5, viewer=viewer)
        if found is None:
            return NotFound(f"There is no article {number}.")
        article, related = found
        if not related:
            return NotFound(
                f"Nothing closely related to article {number}: no other article shares its main names or topics."
            )
        return RelatedAnswer(article, related)

    @command(
        "story",
        "story <article or story id>",
        "One story across outlets: its articles and a summary drawn from them.",
        "story 1",
    )
    async def story(self, reference: str | int, *, viewer: Viewer = EVERYTHING) -> StoryAnswer | NotFound:
        """The story an article belongs to (or a story by id, ``s12``): outlets, times, headlines, and a
        de-duplicated summary in time order, of the articles ``viewer`` sees."""
        kind, number = parse_story_ref(reference)
        asked: int | None = None
        story_id = number
        if kind == "article":
            asked = number
            if await self.store.articles.get(number, viewer=viewer) is None:
                return NotFound(f"There is no article {number}.")
            found = await self.store.stories.story_of(number)
            if found is None:
                return NotFound(f"Article {number} was indexed before stories were kept (newsdesk stories groups it).")
            story_id = found
        story = await self.store.stories.get(story_id, viewer=viewer)
        if story is None:
            return NotFound(f"There is no story {number}.")
        summary = story_summary([(m.article_id, m.title, m.published, m.summary) for m in story.members])
        outlets = list(dict.fromkeys(m.source for m in story.members if m.source))
        return StoryAnswer(story, summary, outlets, asked)

    @command(
        "trending",
        "trending [window]",
        "Names and topics covered far more than usual in the last 24 hours or 7 days.",
        "trending 7d",
    )
    async def trending(self, window: str | None = None, *, viewer: Viewer = EVERYTHING) -> TrendingAnswer:
        """What most exceeds its usual coverage in the last 24 hours (or 7 days), in what ``viewer`` sees."""
        try:
            name = parse_window(window)
        except ValueError:
            raise UserError("The window is 24h or 7d, like: trending 7d.") from None
        return await self.trends(name, self.clock(), viewer=viewer)

    async def trends(
        self, window: str, now: datetime, *, limit: int = TRENDS_SHOWN, viewer: Viewer = EVERYTHING
    ) -> TrendingAnswer:
        """The trends of ``window`` (a key of :data:`bot.trending.WINDOWS`) ending at ``now``, each with
        the article most about it, counted in the articles ``viewer`` sees; spike alerts read the same."""
        since = now - WINDOWS[window]
        # The counts need not wait for the viewer's first article: summed over the longest baseline, a
        # subject's baseline is that of a younger index's shorter one (no day count precedes the first
        # article), so the store may read both at once.
        (articles, first), counts = await self.store.trending.window_and_counts(
            since, now, baseline_days=BASELINE_DAYS, min_articles=MIN_ARTICLES[window], viewer=viewer
        )
        days = baseline_days(since, from_iso(first) if first else None)
        if days == 0 or not articles:
            return TrendingAnswer(window, to_iso(now), [], articles, history=days > 0)
        # A story lifts several names and topics at once: more are scored than shown, then grouped by story.
        top = score(counts, window, days)[: limit * 4]
        subjects = [(t.subject.kind, t.subject.id) for t in top]
        leads = await self.store.trending.lead_articles(subjects, since, now, viewer=viewer)
        trends = by_story([replace(t, lead=leads.get((t.subject.kind, t.subject.id))) for t in top])
        return TrendingAnswer(window, to_iso(now), trends[:limit], articles)

    async def digest(self, schedule: DigestSchedule, period: DigestPeriod, zone: str) -> DigestAnswer:
        """A scheduled digest of ``period``: its top stories, or the articles about the schedule's subject
        (a subject no longer indexed has none), from what the digest's server sees."""
        items: list[DigestItem] = []
        viewer = Viewer.server(schedule.guild_id)
        if schedule.subject_kind is None:
            top = await self.store.digests.top_articles(period.start, period.end, DIGEST_STORIES, viewer=viewer)
            for place, (brief, summary, _, _) in enumerate(top):
                items.append(DigestItem(brief, summary[: 2 if place < DIGEST_LONG else 1]))
        else:
            key = schedule.subject_key or ""
            subjects = self.store.entities if schedule.subject_kind == "entity" else self.store.topics
            found = await subjects.by_key(key, viewer=viewer)
            if found is not None:
                rows = await self.store.digests.subject_articles(
                    schedule.subject_kind, found.id, period.start, period.end, DIGEST_STORIES * 4, viewer=viewer
                )
                titles: set[str] = set()
                for brief, sentences in rows:  # one line per story: the same headline again is a copy
                    title = " ".join(brief.title.casefold().split())
                    if title not in titles and len(items) < DIGEST_STORIES:
                        titles.add(title)
                        items.append(DigestItem(brief, sentences[:1]))
        return DigestAnswer(
            schedule.cadence, period.start, period.end, zone, items, schedule.subject_name, period.late
        )

    @command("stats", "stats", "How much the index holds.", "stats")
    async def stats(self, *, viewer: Viewer = EVERYTHING) -> StatsAnswer:
        """How much the index holds (what ``viewer`` sees of it)."""
        return StatsAnswer(await self.store.articles.stats(viewer=viewer))

    @command(
        "trend",
        "trend <name or topic> [vs <name or topic>…] [30d | 90d | 1y]",
        "A chart of mentions per day: up to four names or topics, the biggest peak with its headline.",
        "trend Milei vs Musk 90d",
    )
    async def trend(self, text: str, *, viewer: Viewer = EVERYTHING) -> TrendAnswer | Choices | NotFound:
        """Mentions per day (per week over a year) of up to four names or topics, drawn as a line chart,
        in the articles ``viewer`` sees."""
        from bot.charts import TrendChart, TrendSeries, per_week, unit_for

        subjects, days = parse_trend(self._check_length(text, "request"))
        resolved: list[Resolved] = []
        for subject in subjects:
            found = await self.resolve(subject, Wanted.SUBJECT, "trend", viewer=viewer)
            if not isinstance(found, Resolved):
                return found
            if all((r.kind, r.key) != (found.kind, found.key) for r in resolved):
                resolved.append(found)
        today = self.clock().astimezone(UTC).date()
        # An archive's "last 90 days" are those of its newest article (never a day in the future).
        last = min(today, await self.store.trends.newest_day(viewer=viewer) or today)
        first = last - timedelta(days=days - 1)
        unit = unit_for(days)
        series: list[TrendSeries] = []
        lines: list[TrendLine] = []
        for found in resolved:
            subject_id = found.entity.id if found.entity else found.topic.id if found.topic else None
            assert subject_id is not None
            counts = await self.store.trends.per_day(found.kind, subject_id, first, last, viewer=viewer)
            points = [(first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)]
            if unit == "week":
                points = per_week(points)
            shown = TrendSeries(found.name, points)
            peak = shown.peak
            title = None
            if peak is not None:
                peak_last = min(last, peak[0] + timedelta(days=6)) if unit == "week" else peak[0]
                title = await self.store.trends.top_title(
                    found.kind, subject_id, max(first, peak[0]), peak_last, viewer=viewer
                )
            series.append(TrendSeries(found.name, points, title))
            kind = found.entity.type if found.entity else "topic"
            lines.append(TrendLine(found.name, kind, sum(counts.values()), peak, title))
        chart = TrendChart(series, days=days, unit=unit)
        return TrendAnswer(chart, lines, await self.pictures.render(chart), first, last)

    @command(
        "graph",
        "graph <name>",
        "A picture of the 15 names someone appears with most, linked by the articles they share.",
        "graph Milei",
    )
    async def graph(self, name: str, *, viewer: Viewer = EVERYTHING) -> GraphAnswer | Choices | NotFound:
        """The co-mention network of ``name``: the names it appears with most in the articles ``viewer``
        sees, drawn as a graph."""
        from bot.charts import MAX_NEIGHBOURS, CoMentionGraph, Neighbour

        name = self._check_length(name, "name")
        if not name_key(name):
            raise UserError("Tell me a name, like: graph Milei.")
        found = await self.resolve(name, Wanted.NAME, "graph", viewer=viewer)
        if not isinstance(found, Resolved):
            return found
        assert found.entity is not None
        neighbours, links = await self.store.trends.co_mentions(found.entity.id, MAX_NEIGHBOURS, viewer=viewer)
        names = {ref.id: ref.name for ref, _ in neighbours}
        graph = CoMentionGraph(
            found.entity.name,
            found.entity.type,
            [Neighbour(ref.name, ref.type, shared) for ref, shared in neighbours],
            [(names[a], names[b], shared) for a, b, shared in links],
        )
        return GraphAnswer(graph, found.entity, await self.pictures.render(graph), found.corrected_from)

    @command("help", "help [command]", "Every command with an example.", "help who")
    def help(
        self, command: str | None = None, prefix: str | None = None, *, in_discord: bool = False, owner: bool = False
    ) -> HelpAnswer:
        """Every command the asker may use with an example; one command (with its subcommands) when named.

        Server commands are listed only when asked from Discord, the owner's only to the owner; a command
        named on purpose is shown to anyone who could see it listed somewhere.
        """
        prefix = prefix or self.prefix

        def usable(spec: CommandSpec) -> bool:
            return spec.where == "anywhere" or (in_discord and (spec.where == "server" or owner))

        if command:
            wanted = " ".join(command.strip().lstrip(prefix).lstrip("/").lower().split())
            spec = find(wanted)
            if spec is None:
                raise UserError(f"There is no command {command.strip()}; try help for the list.")
            if spec.where != "anywhere" and not in_discord:
                raise UserError(_discord_only(spec))
            return HelpAnswer((spec, *subcommands(spec.name)), prefix)
        return HelpAnswer(tuple(spec for spec in entries() if spec.parent is None and usable(spec)), prefix)

    # ------------------------------------------------------------------------------ autocomplete

    async def complete_entities(self, prefix: str, limit: int = 25, *, viewer: Viewer = EVERYTHING) -> list[str]:
        """Entity names ``viewer`` sees for a slash-command autocomplete: prefix matches by any word, then
        typo matches."""
        indexes = [n.entities for n in await self._indexes(viewer)]
        key = name_key(prefix[: self.max_query_chars])
        targets = [
            t
            for t in await self._alias_targets(key, viewer)
            if await self.store.entities.by_key(name_key(t), viewer=viewer)
        ]
        return _with_aliases(targets, _complete(indexes, key, limit), limit)

    async def complete_topics(self, prefix: str, limit: int = 25, *, viewer: Viewer = EVERYTHING) -> list[str]:
        """Topic names ``viewer`` sees for a slash-command autocomplete, found the same way."""
        indexes = [n.topics for n in await self._indexes(viewer)]
        found = _complete(indexes, topic_key(prefix[: self.max_query_chars]), limit)
        targets = await self._alias_targets(name_key(prefix[: self.max_query_chars]), viewer)
        targets = [t for t in targets if await self.store.topics.by_key(topic_key(t), viewer=viewer)]
        return _with_aliases(targets, found, limit)

    async def complete_subjects(self, prefix: str, limit: int = 25, *, viewer: Viewer = EVERYTHING) -> list[str]:
        """Names first, then topics, for commands that take either (``summary``, ``follow``)."""
        names = await self.complete_entities(prefix, limit=min(15, limit), viewer=viewer)
        return [*names, *await self.complete_topics(prefix, limit=limit - len(names), viewer=viewer)]

    # ------------------------------------------------------------------------------- text commands

    async def ask(self, line: str, *, viewer: Viewer = EVERYTHING) -> Answer:
        """Answer a command line as typed in chat (``!who Milei``) as ``viewer`` would see it; the prefix
        is optional here.

        The command is looked up in the catalogue; what follows its name is its one argument.
        """
        text = line.strip()
        if text.startswith(self.prefix):
            text = text[len(self.prefix) :]
        name, _, rest = text.partition(" ")
        name = name.lower()
        rest = _unquote(rest.strip())
        spec = find(name)
        if spec is None or spec.handler is None:
            raise UserError(f"There is no command {name or '(empty)'}; try help for the list.")
        if spec.where != "anywhere":
            raise UserError(_discord_only(spec))
        signature = inspect.signature(spec.handler).parameters
        scoped = {"viewer": viewer} if "viewer" in signature else {}
        parameters = [p for p in list(signature.values())[1:] if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if not parameters:
            result = spec.handler(self, **scoped)
        elif rest:
            result = spec.handler(self, rest, **scoped)
        elif parameters[0].default is inspect.Parameter.empty:
            raise UserError(f"Usage: {self.prefix}{spec.usage}")
        else:
            result = spec.handler(self, **scoped)
        return await result if inspect.isawaitable(result) else result


def _newest_first(candidates: list[Candidate]) -> list[SubjectSentence]:
    """The latest articles' sentences, no two saying the same thing, the newest first."""
    return [
        SubjectSentence(c.article_id, c.title, c.published, c.text, tuple(c.repeated_in))
        for c in reversed(distinct_sentences(candidates, len(candidates)))
    ]


def _naming_topic(topic: TopicRef, sentences: list[str]) -> list[str]:
    """The sentences that name a topic: each of its words of three letters or more, by its first five
    letters (so "reserves" names "lithium reserve")."""
    words = [w[:5] for w in re.findall(r"\w+", topic.key) if len(w) > 2]
    return [s for s in sentences if words and all(w in s.lower() for w in words)]


def _naming_entity(entity: EntityRef, sentences: list[str]) -> list[str]:
    """The sentences that name an entity: its full name, or a person's surname, as whole words."""
    names = {entity.name}
    if entity.type == "PERSON" and " " in entity.name:
        names.add(entity.name.rsplit(" ", 1)[1])
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE)
    return [s for s in sentences if pattern.search(s)]




def _merged(found: list[list[NameEntry]], limit: int) -> list[NameEntry]:
    """Entries from several name indexes (shared, and a server's own), each name once with its larger
    weight (a server's index counts its shared articles too), most popular first."""
    best: dict[int, NameEntry] = {}
    for listed in found:
        for entry in listed:
            if entry.id not in best or entry.weight > best[entry.id].weight:
                best[entry.id] = entry
    return sorted(best.values(), key=lambda e: (-e.weight, e.key))[:limit]


def _merged_fuzzy(found: list[list[tuple[NameEntry, float]]], limit: int) -> list[tuple[NameEntry, float]]:
    """Fuzzy matches from several name indexes, each name once, best score first, then most popular."""
    best: dict[int, tuple[NameEntry, float]] = {}
    for matches in found:
        for entry, closeness in matches:
            known = best.get(entry.id)
            if known is None or (closeness, entry.weight) > (known[1], known[0].weight):
                best[entry.id] = (max(entry, known[0], key=lambda e: e.weight) if known else entry, closeness)
    return sorted(best.values(), key=lambda m: (-m[1], -m[0].weight, m[0].key))[:limit]


def _with_aliases(targets: list[str], found: list[str], limit: int) -> list[str]:
    """Autocomplete names: what the server's aliases typed so far stand for first, then the names found."""
    return list(dict.fromkeys([t[:100] for t in targets] + found))[:limit]


def _complete(indexes: list[NameIndex], key: str, limit: int) -> list[str]:
    """Up to ``limit`` names starting with ``key`` by any word, topped up with typo matches."""
    found = _merged([index.prefix(key, limit) for index in indexes], limit)
    if len(found) < limit and len(key) >= 3:
        ids = {e.id for e in found}
        typos = _merged_fuzzy([index.fuzzy(key, limit=limit - len(found), cutoff=70) for index in indexes], limit)
        found += [e for e, _ in typos if e.id not in ids]
    return [e.name[:100] for e in found[:limit]]


def _unquote(text: str) -> str:
    """``"Javier Milei"`` → ``Javier Milei``; unbalanced quotes are kept as typed."""
    try:
        parts = shlex.split(text)
    except ValueError:
        return text
    return " ".join(parts) if len(parts) > 1 or (parts and text[:1] in "\"'") else text


def _discord_only(spec: CommandSpec) -> str:
    """Why a catalogued command cannot be used outside Discord."""
    if spec.where == "owner":
        return f"The {spec.name} command is for the bot's owner, on Discord."
    return f"The {spec.name} command only works on Discord, in a server."
