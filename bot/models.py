"""The data every layer shares: what a source reads, what analysis finds, what the store keeps and returns.

Plain dataclasses and a few constants, with neither spaCy nor aiosqlite imported, so that the store, the
answers, the renderer and the cogs can use them without loading a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.text import tokenizable


def to_iso(moment: datetime) -> str:
    """UTC timestamp text that sorts in time order: ``2024-04-12T18:00:00Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """The inverse of :func:`to_iso`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


SHARED_SCOPE = 0
"""The scope of what every server sees: the operator's folders and shared feeds."""

OPERATOR_SERVER = 0
"""The server id of the feeds listed in the settings (``feeds``): the operator's, in no server."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking, which decides what of the index they may see: ``everything`` (the console and the
    command line), a DM (shared articles only) or one server (shared articles and that server's own).
    Build one with :meth:`everything`, :meth:`dm` or :meth:`server`."""

    guild_id: int | None = None
    sees_all: bool = False

    @classmethod
    def everything(cls) -> Viewer:
        """The operator's view: every article of every server."""
        return cls(None, True)

    @classmethod
    def dm(cls) -> Viewer:
        """A direct message: shared articles only."""
        return cls(None, False)

    @classmethod
    def server(cls, guild_id: int) -> Viewer:
        """A member of one server: shared articles and the articles of that server's own feeds."""
        return cls(guild_id, False)

    @property
    def scopes(self) -> tuple[int, ...] | None:
        """The article scopes this viewer sees; ``None`` for all of them."""
        if self.sees_all:
            return None
        return (SHARED_SCOPE,) if self.guild_id is None else (SHARED_SCOPE, self.guild_id)


EVERYTHING = Viewer.everything()
"""The console's view, the default of every store read (the bot always passes its asker's)."""


# The entity labels the index keeps, in the order that breaks ties between them.
ENTITY_TYPES = (
    "PERSON",
    "ORG",
    "GPE",
    "LOC",
    "NORP",
    "FAC",
    "PRODUCT",
    "EVENT",
    "WORK_OF_ART",
    "LAW",
)


# How an alert looks in a channel (!alerts format): a link and the title; an embed with the summary; the
# summary with the names and topics. A channel that chose none gets the last.
ALERT_FORMATS = ("compact", "card", "full")
DEFAULT_ALERT_FORMAT = "full"


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """How alerts are posted in one channel: their format, and whether each opens a thread (text channels;
    a forum always gets one post per article)."""

    format: str = DEFAULT_ALERT_FORMAT
    threads: bool = False


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What analysis needs of an article: its headline (possibly derived) and body."""

    title: str
    body: str
    title_derived: bool = False

    def doc_text(self) -> tuple[str, int]:
        """The text given to spaCy and the offset where the body starts in it.

        A real headline is analysed with the body (a name in the headline is salient); a derived one
        only repeats the first sentence, so it is left out. Both are made :func:`~bot.text.tokenizable`.
        """
        body = tokenizable(self.body)
        if self.title_derived or not self.title:
            return body, 0
        title = tokenizable(self.title)
        return f"{title}\n\n{body}", len(title) + 2


@dataclass(slots=True)
class EntityInArticle:
    """One canonical entity as one article mentions it."""

    name: str
    key: str
    type: str
    label_counts: dict[str, int]
    mentions: int
    salience: float
    in_headline: bool
    in_lead: bool
    key_sentence: str
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AnalysisFailed:
    """The analysis of one article raised; ``reason`` says what, in one line."""

    reason: str


@dataclass(slots=True)
class ArticleAnalysis:
    """Everything precomputed for one article."""

    summary: list[str]
    topics: list[Keyphrase]
    entities: list[EntityInArticle]
    word_count: int


@dataclass(frozen=True, slots=True)
class Keyphrase:
    """A ranked keyphrase: ``text`` to show, ``key`` to index and look up (``topic_key(text)``)."""

    text: str
    key: str
    score: float


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """An article as read from a file or feed, before analysis."""

    origin: str
    title: str
    body: str
    content_hash: str
    published: datetime
    title_derived: bool = False
    source: str | None = None
    url: str | None = None
    file: str | None = None
    # False when ``published`` is only when the file was written or the feed read (it had no date).
    date_known: bool = True


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """A file whose records are all indexed, as it was when read."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to one record: ``new``, ``updated`` (same origin, new text) or ``duplicate``."""

    origin: str
    article_id: int
    status: str


@dataclass(frozen=True, slots=True)
class EntityRef:
    """An entity as lists show it."""

    id: int
    name: str
    type: str
    article_count: int
    mention_count: int


@dataclass(frozen=True, slots=True)
class EntityArticle:
    """An article about an entity, with the sentence that says most about it there."""

    article_id: int
    title: str
    published: str
    salience: float
    key_sentence: str


@dataclass(frozen=True, slots=True)
class EntityProfile:
    """Everything ``!who`` shows about one entity."""

    entity: EntityRef
    first_seen: str | None
    last_seen: str | None
    roles: list[tuple[str, int]]
    latest_role: str | None
    co_mentions: list[tuple[EntityRef, int]]
    key_articles: list[EntityArticle]
    aliases: list[str] = field(default_factory=list)

    @property
    def top_role(self) -> str | None:
        """The role the articles give most often."""
        return self.roles[0][0] if self.roles else None


@dataclass(frozen=True, slots=True)
class ArticleEntity:
    """An entity as one article mentions it."""

    entity_id: int
    name: str
    type: str
    mentions: int
    salience: float
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ArticleTopic:
    """A topic as one article ranks it."""

    topic_id: int
    name: str
    key: str
    score: float


@dataclass(frozen=True, slots=True)
class Article:
    """One stored article with its precomputed analysis."""

    id: int
    title: str
    source: str | None
    url: str | None
    published: str
    ingested_at: str
    summary: list[str]
    word_count: int
    origins: list[str]
    entities: list[ArticleEntity]
    topics: list[ArticleTopic]
    body: str | None = None


@dataclass(frozen=True, slots=True)
class SubjectArticle:
    """An article about an entity or topic within a period: how much it is about it (``weight``: the
    entity's salience or the topic's score), the entity's key sentence in it (``""`` for a topic), and
    its summary sentences."""

    article_id: int
    title: str
    published: str
    weight: float
    key_sentence: str
    summary: list[str]


@dataclass(frozen=True, slots=True)
class RoleUse:
    """How the articles used one role of an entity, as written ("Argentine President"): in how many
    articles, first and last when, and the first article that did."""

    role: str
    articles: int
    first_seen: str
    first_article_id: int
    last_seen: str


@dataclass(frozen=True, slots=True)
class ArticleBrief:
    """An article as lists show it."""

    id: int
    title: str
    source: str | None
    url: str | None
    published: str


@dataclass(frozen=True, slots=True)
class SearchMatch:
    """An article a full-text search found, with its body; ``rank`` is its BM25 score (lower is better)."""

    article: ArticleBrief
    body: str
    rank: float


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A full-text search result; ``snippet`` marks matches with \\x02 … \\x03."""

    article: ArticleBrief
    snippet: str
    rank: float


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A topic as lists show it."""

    id: int
    name: str
    key: str
    article_count: int
    last_seen: str | None


@dataclass(frozen=True, slots=True)
class RelatedArticle:
    """An article related to another, with the names and topics they share."""

    article: ArticleBrief
    score: float
    shared: list[str]


@dataclass(frozen=True, slots=True)
class Stats:
    """Size of the index."""

    articles: int
    entities: int
    topics: int
    mentions: int
    origins: int
    first_published: str | None
    last_published: str | None
    last_ingested: str | None
    database_bytes: int
    entities_by_type: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How a write plans alerts: the follow threshold, the feed the records came from, or no alerts."""

    follow_salience: float
    source_id: int | None = None
    suppress: bool = False  # index without alerting (a feed's existing items when it is added)


@dataclass(frozen=True, slots=True)
class Follow:
    """A member following an entity or a topic in one server."""

    guild_id: int
    user_id: int
    kind: str
    target_key: str
    name: str
    channel_id: int
    spikes: bool = False  # pinged when it spikes, not for every article about it


@dataclass(frozen=True, slots=True)
class RoleFollow:
    """A server's role pinged about an entity or a topic (set by a manager)."""

    guild_id: int
    role_id: int
    kind: str
    target_key: str
    name: str
    channel_id: int


@dataclass(frozen=True, slots=True)
class FeedSource:
    """An RSS or Atom feed a server added (``shared``: the bot's owner added it for every server), with
    its polling state."""

    id: int
    guild_id: int
    channel_id: int
    url: str
    title: str | None
    interval_minutes: float
    etag: str | None
    last_modified: str | None
    last_polled_at: str | None
    next_poll_at: str
    failures: int
    last_error: str | None
    paused: int
    pause_notified: int
    added_by: int | None
    created_at: str
    shared: int = 0
    lease_owner: str | None = None  # the worker polling it now, if any…
    lease_until: str | None = None  # …until when, unless it renews the lease


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An outbox row ready to send: an article's alert, or a post (``kind`` "spike" or "digest", no
    article) whose ``payload`` holds what it shows."""

    id: int
    article_id: int | None
    guild_id: int
    channel_id: int
    ping_user_ids: list[int]
    reasons: list[dict[str, object]]
    nonce: str
    attempts: int
    status: str = "pending"
    message_id: int | None = None  # set once the alert's own message is out (only pings may be left)
    pings_left: list[int] = field(default_factory=list)
    unknown_since: str | None = None
    ping_role_ids: list[int] = field(default_factory=list)
    thread_id: int | None = None  # the thread its message opened, where the rest of its pings go
    thread_of: int | None = None  # an entry of its story's post (that alert's id), not a post of its own
    kind: str = "article"
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FilteredRecord:
    """An article a filter kept out of a channel: the reasons it would have been posted for, and the rule
    (its number and words) of the feed or channel (``scope``, ``scope_id``) that stopped it."""

    channel_id: int
    reasons: list[dict[str, object]]
    rule: str
    scope: str
    scope_id: int


@dataclass(frozen=True, slots=True)
class PlannedPost:
    """A post that is no article's alert, to be written to the outbox once: ``key`` makes it unique for
    good, ``payload`` is what it shows (``{"embed": …, "about": …}``)."""

    kind: str  # "spike" or "digest"
    key: str
    guild_id: int
    channel_id: int
    payload: dict[str, Any]
    reasons: list[dict[str, Any]] = field(default_factory=list)
    pings: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SentAlert:
    """How an article was alerted in one channel of a server."""

    channel_id: int
    status: str
    reasons: list[dict[str, object]]
    ping_user_ids: list[int]
    sent_at: str | None
    error: str | None
    ping_role_ids: list[int] = field(default_factory=list)
    story_entry: bool = False  # added to its story's post (thread or footer), not a post of its own


@dataclass(frozen=True, slots=True)
class StoryPost:
    """The alert that is a story's post in a channel, as its later articles are added to it."""

    id: int
    article_id: int
    guild_id: int
    channel_id: int
    status: str
    message_id: int | None
    thread_id: int | None  # the thread on its message; 0 when none can be made there
    next_attempt_at: str


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One article of a story, as ``!story`` lists it."""

    article_id: int
    title: str
    source: str | None
    url: str | None
    published: str
    summary: list[str]
    joined: bool


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story with its articles, oldest first (the first 50 of ``article_count``)."""

    id: int
    title: str
    article_count: int
    first_published: str
    last_published: str
    members: list[StoryMember]


@dataclass(frozen=True, slots=True)
class ServerAlias:
    """A name that stands for an entity or a topic in one server (``!alias add JM = Javier Milei``)."""

    alias: str
    target: str


@dataclass(frozen=True, slots=True)
class UserData:
    """Everything the bot holds about one user (``!mydata``): follows as (server, kind, name), feeds as
    (server, feed id), aliases as (server, alias), the servers where they set up an alert or spike channel
    or a digest, and how many alerts in the outbox name them."""

    follows: list[tuple[int, str, str]] = field(default_factory=list)
    feeds_added: list[tuple[int, int]] = field(default_factory=list)
    aliases_added: list[tuple[int, str]] = field(default_factory=list)
    set_up_in: list[int] = field(default_factory=list)
    alerts_naming: int = 0

    @property
    def empty(self) -> bool:
        """Whether the bot holds nothing about them."""
        return not (
            self.follows or self.feeds_added or self.aliases_added or self.set_up_in or self.alerts_naming
        )
Clock = Callable[[], datetime]
"""What tells the time: :func:`utc_now` in production, a fixed or stepped clock in tests."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SubjectCount:
    """An entity or topic with how many articles were about it in a window and in the days before it."""

    kind: str  # "entity" or "topic"
    id: int
    key: str
    name: str
    type: str  # the entity's type (PERSON, ORG …), or "topic"
    articles: int
    baseline_articles: int
