"""The logic of every command, shared by the command line and the Discord cogs.

Each method takes what the user typed and returns a plain answer object; :mod:`bot.render` turns it
into console text or Discord embeds. Bad input raises :class:`UserError` with one sentence for the user.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass, field

from bot.name_index import NameEntry, NameIndex
from bot.nlp.names import AliasTable, name_key
from bot.nlp.topics import topic_key
from bot.store import Store
from bot.store.models import (
    Article,
    ArticleBrief,
    EntityProfile,
    EntityRef,
    RelatedArticle,
    SearchHit,
    Stats,
    TopicRef,
)

MAX_LIST = 25
SUMMARY_ARTICLES = 5
# An entity is "about" an article for !summary <entity> from this salience up (not a passing name).
SUMMARY_MIN_SALIENCE = 0.2
# A match wins outright when it has this many times the mentions of the next candidate.
DOMINANCE = 3


class UserError(Exception):
    """Input the bot cannot act on; the message is one sentence for the user."""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command as help texts, the console and slash descriptions show it."""

    name: str
    usage: str
    description: str
    example: str
    discord_only: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "who", "who <name>", "Who someone (or something) in the news is: role, mentions, company kept.", "who Milei"
    ),
    CommandSpec(
        "summary",
        "summary [id | latest | name or topic]",
        "A short summary of an article, the latest news, or everything about a name or topic.",
        "summary latest",
    ),
    CommandSpec("topics", "topics [count]", "The topics most articles are about.", "topics 10"),
    CommandSpec("topic", "topic <phrase>", "Articles about one topic.", "topic lithium industry"),
    CommandSpec("search", "search <words>", "Full-text search of titles and articles.", "search lithium battery"),
    CommandSpec("latest", "latest [count]", "The most recently published articles.", "latest 5"),
    CommandSpec("article", "article <id>", "One article: source, summary, names and topics.", "article 1"),
    CommandSpec("related", "related <id>", "Articles that share names and topics with one article.", "related 1"),
    CommandSpec("stats", "stats", "How much the index holds.", "stats"),
    CommandSpec("help", "help [command]", "Every command with an example.", "help who"),
    CommandSpec(
        "alerts",
        "alerts [here | off]",
        "Post every new article in this channel, or stop (Manage Server).",
        "alerts here",
        discord_only=True,
    ),
    CommandSpec(
        "follow",
        "follow <name or topic>",
        "Get pinged when a name or topic is central to a new article.",
        "follow Milei",
        discord_only=True,
    ),
    CommandSpec("unfollow", "unfollow <name or topic>", "Stop those pings.", "unfollow Milei", discord_only=True),
    CommandSpec("following", "following", "What you follow in this server.", "following", discord_only=True),
    CommandSpec("why", "why <id>", "Which follows and feeds made an article alert here.", "why 1", discord_only=True),
    CommandSpec(
        "source",
        "source [add <url> [minutes] | list | remove <id> | resume <id>]",
        "RSS and Atom feeds whose new items are posted here (Manage Server).",
        "source add https://example.com/feed.xml",
        discord_only=True,
    ),
    CommandSpec(
        "prefix",
        "prefix [new prefix | reset]",
        "Show or change this server's prefix (Manage Server).",
        "prefix ?",
        discord_only=True,
    ),
)
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}


@dataclass(frozen=True, slots=True)
class WhoAnswer:
    """``!who``: one entity's profile; ``corrected_from`` is set when a typo was fixed."""

    profile: EntityProfile
    corrected_from: str | None = None
    others: list[EntityRef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Choices:
    """Several entities or topics fit what was typed: the user picks one."""

    query: str
    command: str
    options: list[str]
    details: list[str]

    @classmethod
    def of_entities(cls, query: str, command: str, candidates: list[EntityRef]) -> Choices:
        """The first five candidate entities, each with its type and coverage."""
        top = candidates[:5]
        return cls(
            query, command, [c.name for c in top], [f"{c.type.lower()}, {c.article_count} article(s)" for c in top]
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
    """A sentence from one article, with where it comes from."""

    article_id: int
    title: str
    published: str
    text: str


@dataclass(frozen=True, slots=True)
class SubjectSummary:
    """``!summary <entity or topic>``: the top sentences across the latest articles about it."""

    subject: str
    kind: str
    article_count: int
    sentences: list[SubjectSentence]


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

    article: Article
    related: list[RelatedArticle]


@dataclass(frozen=True, slots=True)
class StatsAnswer:
    """``!stats``."""

    stats: Stats


@dataclass(frozen=True, slots=True)
class HelpAnswer:
    """``!help``: the commands (one, when asked about one) and the prefix in use."""

    commands: tuple[CommandSpec, ...]
    prefix: str


Answer = (
    WhoAnswer
    | Choices
    | NotFound
    | ArticleAnswer
    | SubjectSummary
    | TopicsAnswer
    | TopicAnswer
    | SearchAnswer
    | LatestAnswer
    | RelatedAnswer
    | StatsAnswer
    | HelpAnswer
)


def is_number(text: str) -> bool:
    """Whether ``text`` is a plain whole number in ASCII digits (``"²"`` and ``"٣"`` are not)."""
    return re.fullmatch(r"[0-9]{1,18}", text) is not None


def parse_count(text: str | None, default: int, *, maximum: int = MAX_LIST) -> int:
    """A list length typed by the user: a whole number from 1 to ``maximum``."""
    if text is None or not text.strip():
        return default
    if not is_number(text.strip()):
        raise UserError(f"The count must be a whole number from 1 to {maximum}.")
    return max(1, min(int(text.strip()), maximum))


def parse_article_id(text: str | None) -> int:
    """An article id typed by the user (``42`` or ``#42``)."""
    cleaned = (text or "").strip().lstrip("#")
    if not is_number(cleaned):
        raise UserError("Article ids are whole numbers, like 42 (see the latest with the latest command).")
    return int(cleaned)


class Answers:
    """Answers questions from the index. One instance serves the console or the whole bot."""

    def __init__(
        self,
        store: Store,
        aliases: AliasTable,
        *,
        summary_sentences: int = 3,
        max_query_chars: int = 200,
        prefix: str = "!",
    ) -> None:
        self.store = store
        self.aliases = aliases
        self.summary_sentences = summary_sentences
        self.max_query_chars = max_query_chars
        self.prefix = prefix
        self._entity_index: NameIndex | None = None
        self._topic_index: NameIndex | None = None
        self._indexed_at: tuple[int, int] | None = None
        self._refresh_lock = asyncio.Lock()
        self._rebuild: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------------------------ helpers

    def _check_length(self, text: str, what: str) -> str:
        text = " ".join(text.split())
        if len(text) > self.max_query_chars:
            raise UserError(f"That {what} is too long: keep it under {self.max_query_chars} characters.")
        return text

    async def _indexes(self) -> tuple[NameIndex, NameIndex]:
        """The in-memory name indexes. The first build is awaited; later, when the database has changed,
        the current index keeps serving while a fresh one is built off the event loop, so a keystroke
        never waits for a rebuild."""
        version = (await self.store.data_version(), self.store.generation)
        if self._entity_index is None or self._topic_index is None:
            async with self._refresh_lock:
                if self._entity_index is None or self._topic_index is None:
                    await self._rebuild_indexes(version)
        elif version != self._indexed_at and (self._rebuild is None or self._rebuild.done()):
            self._rebuild = asyncio.create_task(self._rebuild_indexes(version))
        assert self._entity_index is not None and self._topic_index is not None
        return self._entity_index, self._topic_index

    async def _rebuild_indexes(self, version: tuple[int, int]) -> None:
        entity_rows = await self.store.entity_names()
        topic_rows = await self.store.topic_names()
        self._entity_index, self._topic_index = await asyncio.to_thread(
            lambda: (NameIndex(entity_rows), NameIndex(topic_rows))
        )
        self._indexed_at = version

    async def entity_candidates(self, query: str) -> tuple[list[EntityRef], str | None]:
        """Entities that fit ``query``: exact or alias, then by whole words, then by prefix, then fuzzy.

        Returns the candidates (best first) and, when they came from a typo correction, the query.
        """
        key = name_key(self.aliases.canonical(query) or query)
        if not key:
            return [], None
        exact = await self.store.entity_by_key(key)
        if exact:
            return [exact], None
        words = list(dict.fromkeys(key.split(" ")))
        by_words = await self.store.entities_with_words(words, limit=6)
        if by_words:
            return by_words, None
        by_most_words = await self.store.entities_with_most_words(words)
        if by_most_words:
            return by_most_words, query
        entity_index, _ = await self._indexes()
        if len(key) >= 3:
            by_prefix = [await self.store.entity(entry.id) for entry in entity_index.prefix(key, limit=6)]
            if by_prefix:
                return [r for r in by_prefix if r is not None], None
        close = entity_index.fuzzy(key, limit=6, cutoff=75)
        if close:
            refs = [await self.store.entity(entry.id) for entry, _ in close]
            return [r for r in refs if r is not None], query
        return [], None

    async def _suggestions(self, query: str) -> list[str]:
        entity_index, topic_index = await self._indexes()
        key = name_key(query)
        names = [e.name for e, _ in entity_index.fuzzy(key, limit=3, cutoff=55)]
        names += [e.name for e, _ in topic_index.fuzzy(topic_key(query), limit=2, cutoff=60)]
        return list(dict.fromkeys(names))[:5]

    @staticmethod
    def is_dominant(candidates: list[EntityRef]) -> bool:
        return len(candidates) == 1 or candidates[0].mention_count >= DOMINANCE * max(1, candidates[1].mention_count)

    # ----------------------------------------------------------------------------------- commands

    async def who(self, name: str) -> WhoAnswer | Choices | NotFound:
        """Who (or what) ``name`` is, from the index."""
        name = self._check_length(name, "name")
        if not name_key(name):
            raise UserError("Tell me a name to look up, like: who Milei.")
        candidates, corrected = await self.entity_candidates(name)
        if not candidates:
            articles = await self.store.article_count()
            return NotFound(f"No one called {name} in {articles:,} indexed articles.", await self._suggestions(name))
        if not self.is_dominant(candidates):
            return Choices.of_entities(name, "who", candidates)
        profile = await self.store.entity_profile(candidates[0].id)
        if profile is None:  # removed between the two queries by a concurrent ingest
            return NotFound(f"No one called {name} in the index any more.")
        return WhoAnswer(profile=profile, corrected_from=corrected, others=candidates[1:4])

    async def summary(self, target: str | None = None) -> ArticleAnswer | SubjectSummary | Choices | NotFound:
        """A summary of an article (id or ``latest``, the default) or of a name or topic."""
        text = self._check_length(target or "", "subject")
        if not text or text.lower() in {"latest", "last", "newest"}:
            latest = await self.store.latest_article_id()
            if latest is None:
                return NotFound("The index is empty: there is nothing to summarise yet.")
            text = str(latest)
        if is_number(text.lstrip("#")):
            article = await self.store.article(parse_article_id(text))
            if article is None:
                return NotFound(f"There is no article {text.lstrip('#')}.")
            return ArticleAnswer(article, summary_only=True)

        key = name_key(self.aliases.canonical(text) or text)
        topic = await self.store.topic_by_key(topic_key(text))
        exact_entity = await self.store.entity_by_key(key) if key else None
        if exact_entity is None and topic is not None:
            return await self._topic_summary(topic)
        candidates, _ = ([exact_entity], None) if exact_entity else await self.entity_candidates(text)
        if candidates and self.is_dominant(candidates):
            return await self._entity_summary(candidates[0])
        if candidates:
            return Choices.of_entities(text, "summary", candidates)
        _, topic_index = await self._indexes()
        close = topic_index.prefix(topic_key(text), limit=1) or [e for e, _ in topic_index.fuzzy(topic_key(text), 1)]
        if close:
            found = await self.store.topic(close[0].id)
            if found:
                return await self._topic_summary(found)
        return NotFound(f"Nothing about {text} in the index.", await self._suggestions(text))

    async def _entity_summary(self, entity: EntityRef) -> SubjectSummary:
        rows = await self.store.entity_articles(entity.id, SUMMARY_ARTICLES, min_salience=SUMMARY_MIN_SALIENCE)
        if not rows:  # only passing mentions: show those rather than nothing
            rows = await self.store.entity_articles(entity.id, SUMMARY_ARTICLES)
        sentences = [
            SubjectSentence(r.article_id, r.title, r.published, r.key_sentence) for r in rows if r.key_sentence
        ]
        return SubjectSummary(entity.name, entity.type, entity.article_count, sentences)

    async def _topic_summary(self, topic: TopicRef) -> SubjectSummary:
        words = [w for w in re.findall(r"\w+", topic.key) if len(w) > 2]
        sentences: list[SubjectSentence] = []
        for brief, summary in await self.store.topic_articles(topic.id, SUMMARY_ARTICLES):
            if not summary:
                continue
            # The summary sentence that names the topic says most about it; else the article's first.
            about = [s for s in summary if all(w[:5] in s.lower() for w in words)]
            sentences.append(SubjectSentence(brief.id, brief.title, brief.published, (about or summary)[0]))
        return SubjectSummary(topic.name, "topic", topic.article_count, sentences)

    async def topics(self, count: str | None = None) -> TopicsAnswer:
        """The most covered topics."""
        stats = await self.store.stats()
        return TopicsAnswer(await self.store.top_topics(parse_count(count, 10)), stats.articles)

    async def topic(self, phrase: str) -> TopicAnswer | Choices | NotFound:
        """One topic and its latest articles."""
        phrase = self._check_length(phrase, "topic")
        key = topic_key(phrase)
        if not key:
            raise UserError("Tell me a topic, like: topic lithium industry.")
        topic = await self.store.topic_by_key(key)
        if topic is None:
            _, topic_index = await self._indexes()
            options: list[NameEntry] = topic_index.prefix(key, limit=5) or [
                e for e, _ in topic_index.fuzzy(key, limit=5, cutoff=70)
            ]
            if len(options) == 1:
                topic = await self.store.topic(options[0].id)
            elif options:
                return Choices(phrase, "topic", [o.name for o in options], [f"{o.weight} article(s)" for o in options])
        if topic is None:
            return NotFound(f"No topic called {phrase} in the index.", await self._suggestions(phrase))
        articles = [brief for brief, _ in await self.store.topic_articles(topic.id, 10)]
        return TopicAnswer(topic, articles)

    async def search(self, query: str) -> SearchAnswer | NotFound:
        """Full-text search; any text is safe (it is quoted word by word)."""
        query = self._check_length(query, "search")
        if not re.search(r"\w", query):
            raise UserError("Tell me what to search for, like: search lithium.")
        hits = await self.store.search(query, limit=5)
        if not hits:
            return NotFound(f"No article matches {query}.", await self._suggestions(query))
        return SearchAnswer(query, hits)

    async def latest(self, count: str | None = None) -> LatestAnswer | NotFound:
        """The newest articles."""
        articles = await self.store.latest(parse_count(count, 5))
        if not articles:
            return NotFound("The index is empty: no articles yet.")
        return LatestAnswer(articles)

    async def article(self, article_id: str) -> ArticleAnswer | NotFound:
        """One article in full detail."""
        number = parse_article_id(article_id)
        article = await self.store.article(number)
        return ArticleAnswer(article) if article else NotFound(f"There is no article {number}.")

    async def related(self, article_id: str) -> RelatedAnswer | NotFound:
        """Articles close to one article."""
        number = parse_article_id(article_id)
        article = await self.store.article(number)
        if article is None:
            return NotFound(f"There is no article {number}.")
        related = await self.store.related(number, limit=5)
        if not related:
            return NotFound(f"No other article shares names or topics with article {number}.")
        return RelatedAnswer(article, related)

    async def stats(self) -> StatsAnswer:
        """How much the index holds."""
        return StatsAnswer(await self.store.stats())

    def help(self, command: str | None = None, prefix: str | None = None, *, in_discord: bool = False) -> HelpAnswer:
        """Every command (or one) with an example; server commands only when asked from Discord."""
        prefix = prefix or self.prefix
        available = tuple(c for c in COMMANDS if in_discord or not c.discord_only)
        if command:
            wanted = command.strip().lstrip(prefix).lstrip("/").lower()
            found = tuple(c for c in available if c.name == wanted)
            if not found:
                raise UserError(f"There is no command {command.strip()}; try help for the list.")
            return HelpAnswer(found, prefix)
        return HelpAnswer(available, prefix)

    # ------------------------------------------------------------------------------ autocomplete

    async def complete_entities(self, prefix: str, limit: int = 25) -> list[str]:
        """Entity names for a slash-command autocomplete: prefix matches by any word, then typo matches."""
        entity_index, _ = await self._indexes()
        return _complete(entity_index, name_key(prefix[: self.max_query_chars]), limit)

    async def complete_topics(self, prefix: str, limit: int = 25) -> list[str]:
        """Topic names for a slash-command autocomplete, found the same way."""
        _, topic_index = await self._indexes()
        return _complete(topic_index, topic_key(prefix[: self.max_query_chars]), limit)

    async def complete_subjects(self, prefix: str, limit: int = 25) -> list[str]:
        """Names first, then topics, for commands that take either (``summary``, ``follow``)."""
        names = await self.complete_entities(prefix, limit=min(15, limit))
        return [*names, *await self.complete_topics(prefix, limit=limit - len(names))]

    # ------------------------------------------------------------------------------- text commands

    async def ask(self, line: str) -> Answer:
        """Answer a command line as typed in chat (``!who Milei``); the prefix is optional here."""
        text = line.strip()
        if text.startswith(self.prefix):
            text = text[len(self.prefix) :]
        name, _, rest = text.partition(" ")
        name = name.lower()
        rest = rest.strip()
        if name not in COMMANDS_BY_NAME:
            raise UserError(f"There is no command {name or '(empty)'}; try help for the list.")
        usage = COMMANDS_BY_NAME[name].usage
        handlers = {
            "who": self.who,
            "summary": self.summary,
            "topics": self.topics,
            "topic": self.topic,
            "search": self.search,
            "latest": self.latest,
            "article": self.article,
            "related": self.related,
        }
        if name == "stats":
            return await self.stats()
        if name == "help":
            return self.help(rest or None)
        required = "<" in usage
        if required and not rest:
            raise UserError(f"Usage: {self.prefix}{usage}")
        if name in {"who", "topic", "search", "summary"}:
            rest = _unquote(rest)
        return await handlers[name](rest) if (rest or required) else await handlers[name]()  # type: ignore[operator]


def _complete(index: NameIndex, key: str, limit: int) -> list[str]:
    """Up to ``limit`` names starting with ``key`` by any word, topped up with typo matches."""
    found = index.prefix(key, limit)
    if len(found) < limit and len(key) >= 3:
        found += [e for e, _ in index.fuzzy(key, limit=limit - len(found), cutoff=70) if e not in found]
    return [e.name[:100] for e in found[:limit]]


def _unquote(text: str) -> str:
    """``"Javier Milei"`` → ``Javier Milei``; unbalanced quotes are kept as typed."""
    try:
        parts = shlex.split(text)
    except ValueError:
        return text
    return " ".join(parts) if len(parts) > 1 or (parts and text[:1] in "\"'") else text
