"""Answers as console text or Discord embeds, from one description of each answer (a :class:`Card`),
or, for the answers that are one message (a confirmation: "You now follow …"), from one sentence.

Article text is untrusted: for Discord every piece of it is markdown- and mention-escaped, and every
limit Discord sets (title 256, description 4,096, field value 1,024, 25 fields, 6,000 in all, message
content 2,000) is enforced here, so no answer can be rejected for its size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import singledispatch
from typing import TYPE_CHECKING, Any

import discord

from bot.alerts.answers import (
    AlertsFormat,
    AlertsOff,
    AlertsOn,
    AlertsStatus,
    DigestOff,
    DigestSet,
    DigestStatus,
    FiltersAnswer,
    Followed,
    FollowingAnswer,
    TimezoneAnswer,
    TrendingAlertsOff,
    TrendingAlertsOn,
    Unfollowed,
    WhyAnswer,
)
from bot.answers import (
    ArticleAnswer,
    Choices,
    DigestAnswer,
    GraphAnswer,
    HelpAnswer,
    LatestAnswer,
    NotFound,
    PrefixAnswer,
    RelatedAnswer,
    SearchAnswer,
    SpikeAnswer,
    StatsAnswer,
    StoryAnswer,
    SubjectSummary,
    SyncAnswer,
    TimelineAnswer,
    TopicAnswer,
    TopicsAnswer,
    TrendAnswer,
    TrendingAnswer,
    WhoAnswer,
)
from bot.digests import WEEKDAYS, DigestSchedule, zone_named
from bot.ingest.sources.feed_answers import FeedAdded, FeedRemoved, FeedResumed, SourcesAnswer
from bot.models import DEFAULT_ALERT_FORMAT, Article, ArticleBrief, UserData, from_iso
from bot.privacy import ForgetAsked, Forgotten, MyDataAnswer
from bot.server_aliases import AliasAdded, AliasList, AliasRemoved
from bot.trending import BASELINE_DAYS, Trend
from bot.wording import plural

if TYPE_CHECKING:
    from bot.charts import Picture

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
ITEMS_PER_PAGE = 10

COLOUR = 0x2B6CB0
COLOUR_MISS = 0x718096
TYPE_NAMES = {
    "PERSON": "Person",
    "ORG": "Organisation",
    "GPE": "Place (country, city, state)",
    "LOC": "Location",
    "NORP": "Nationality or group",
    "FAC": "Building or facility",
    "PRODUCT": "Product",
    "EVENT": "Event",
    "WORK_OF_ART": "Work of art",
    "LAW": "Law",
    "topic": "Topic",
}


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never ending on a lone escape."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip("\\ ") + "…"


class Style:
    """Plain text: what the console prints."""

    def text(self, value: str) -> str:
        """Untrusted text, made inert."""
        return value

    def bold(self, value: str) -> str:
        return value

    def italic(self, value: str) -> str:
        return value

    def code(self, value: str) -> str:
        return value

    def quote(self, value: str) -> str:
        return f'"{value}"'

    def link(self, label: str, url: str | None) -> str:
        return f"{label} <{url}>" if url else label

    def date(self, iso: str | None) -> str:
        return from_iso(iso).strftime("%d %b %Y") if iso else "unknown"

    def channel(self, channel_id: int) -> str:
        return f"channel {channel_id}"

    def role(self, role_id: int) -> str:
        return f"role {role_id}"


# Characters that format anywhere (emphasis, strike, spoilers, code, masked links), and those that do at the
# start of a line only (quotes, headings, lists, subtext).
_MARKDOWN_ANYWHERE = re.compile(r"([\\*_~|`\[\]])")
_MARKDOWN_LINE_START = re.compile(r"^([ \t]*)([>#-])", re.MULTILINE)


def escape_markdown(value: str) -> str:
    """``value`` with a backslash before every character Discord could read as markdown, in one linear pass.

    Not ``discord.utils.escape_markdown``: its masked-link pattern swallows everything from a line's
    first ``[`` to its last ``)`` and escapes only the ``[``, leaving the markup in between live.
    """
    return _MARKDOWN_LINE_START.sub(r"\1\\\2", _MARKDOWN_ANYWHERE.sub(r"\\\1", value))


class DiscordStyle(Style):
    """Discord markdown, with untrusted text escaped so it cannot format, link or ping."""

    def text(self, value: str) -> str:
        return discord.utils.escape_mentions(escape_markdown(value))

    def bold(self, value: str) -> str:
        return f"**{value}**"

    def italic(self, value: str) -> str:
        return f"*{value}*"

    def code(self, value: str) -> str:
        return f"`{value.replace('`', 'ˋ')}`"

    def quote(self, value: str) -> str:
        return f"> {value}"

    def link(self, label: str, url: str | None) -> str:
        return f"[{label}]({url})" if safe_url(url) else label

    def date(self, iso: str | None) -> str:
        return f"<t:{int(from_iso(iso).timestamp())}:d>" if iso else "unknown"

    def channel(self, channel_id: int) -> str:
        return f"<#{channel_id}>"

    def role(self, role_id: int) -> str:
        # Shown, never pinged: every answer is sent with AllowedMentions.none().
        return f"<@&{role_id}>"


PLAIN = Style()
DISCORD = DiscordStyle()


def safe_url(url: str | None) -> str | None:
    """The URL when Discord would accept it in an embed (http or https, no spaces, not too long)."""
    if url and url.startswith(("http://", "https://")) and len(url) <= 2000 and not any(c.isspace() for c in url):
        return url
    return None


@dataclass(slots=True)
class Card:
    """One answer, independent of where it is shown. ``items`` are list lines, paged on Discord."""

    title: str
    description: str = ""
    url: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    footer: str | None = None
    colour: int = COLOUR
    per_page: int = ITEMS_PER_PAGE
    picture: Picture | None = None  # attached to the message and shown in its (first) embed


def _brief_line(s: Style, brief: ArticleBrief) -> str:
    source = f" · {s.text(brief.source)}" if brief.source else ""
    return f"{s.code('#' + str(brief.id))} {s.bold(s.text(brief.title))} ({s.date(brief.published)}{source})"


@singledispatch
def build_card(answer: Any, s: Style, prefix: str = "!") -> Card:
    """The card for one answer; each answer type registers its own."""
    raise TypeError(f"no card for {type(answer).__name__}")


@build_card.register
def _(answer: WhoAnswer, s: Style, prefix: str = "!") -> Card:
    p = answer.profile
    entity = p.entity
    kind = TYPE_NAMES.get(entity.type, entity.type.title())
    headline = s.bold(kind) + (f" · {s.text(p.top_role)}" if p.top_role else "")
    lines = [headline]
    if answer.corrected_from:
        lines.append(s.italic(f"Showing {s.text(entity.name)} (you typed {s.text(answer.corrected_from)})."))
    card = Card(title=s.text(entity.name), description="\n".join(lines))
    card.fields.append(
        (
            "Coverage",
            f"{plural(entity.mention_count, 'mention')} in {plural(entity.article_count, 'article')}\n"
            f"first seen {s.date(p.first_seen)}, last seen {s.date(p.last_seen)}",
        )
    )
    if p.roles:
        roles = ", ".join(f"{s.text(role)} ({n})" for role, n in p.roles)
        if p.latest_role and p.latest_role.lower() != (p.top_role or "").lower():
            roles += f"\nlatest: {s.text(p.latest_role)}"
        card.fields.append(("Roles", roles))
    if p.co_mentions:
        card.fields.append(("Appears with", ", ".join(f"{s.text(ref.name)} ({n})" for ref, n in p.co_mentions)))
    for article in p.key_articles:
        card.fields.append(
            (
                f"In article #{article.article_id} ({PLAIN.date(article.published)})",
                s.quote(s.text(article.key_sentence)),
            )
        )
    if answer.others:
        card.fields.append(("Also matching", ", ".join(s.text(o.name) for o in answer.others)))
    card.footer = f"{prefix}summary {entity.name} · the latest · {prefix}timeline {entity.name} · roles over time"
    return card


def _month(iso: str) -> str:
    return from_iso(iso).strftime("%b %Y")


@build_card.register
def _(answer: TimelineAnswer, s: Style, prefix: str = "!") -> Card:
    entity = answer.entity
    # The role seen last is the one held now, as far as the articles tell: its period stays open.
    current = max(answer.roles, key=lambda r: (r.last_seen, r.first_seen))
    chain = " → ".join(
        f"{s.bold(s.text(r.role))} · {_month(r.first_seen)}" + (" –" if r is current else "") for r in answer.roles
    )
    lines = [chain]
    if answer.corrected_from:
        lines.append(s.italic(f"Showing {s.text(entity.name)} (you typed {s.text(answer.corrected_from)})."))
    items = []
    for r in answer.roles:
        first, last = _month(r.first_seen), _month(r.last_seen)
        if r is current:
            span = f"since {first}" + (f", last seen {last}" if last != first else "")
        else:
            span = first if last == first else f"{first} – {last}"
        line = (
            f"{s.bold(s.text(r.role))} · {span} · {plural(r.articles, 'article')} · "
            f"first in {s.code('#' + str(r.first_article_id))} ({s.date(r.first_seen)})"
        )
        if r.variants:
            line += "\nalso written: " + ", ".join(s.text(v) for v in r.variants[:4])
        items.append(line)
    card = Card(title=f"{s.text(entity.name)}: roles over time", description="\n".join(lines), items=items)
    if answer.others:
        card.fields.append(("Also matching", ", ".join(s.text(o.name) for o in answer.others)))
    card.footer = f"{prefix}article <id> for the article · {prefix}who {entity.name}"
    return card


@build_card.register
def _(answer: Choices, s: Style, prefix: str = "!") -> Card:
    items = [
        f"{i}. {s.bold(s.text(o))} — {d}"
        for i, (o, d) in enumerate(zip(answer.options, answer.details, strict=True), start=1)
    ]
    return Card(
        title="Which one did you mean?",
        description=f"Several names fit {s.bold(s.text(answer.query))}:",
        items=items,
        footer=f"Ask again with the full name, e.g. {prefix}{answer.command} {answer.options[0]}"
        + (f" {answer.then}" if answer.then else ""),
        colour=COLOUR_MISS,
    )


@build_card.register
def _(answer: NotFound, s: Style, prefix: str = "!") -> Card:
    description = s.text(answer.message)
    if answer.suggestions:
        description += "\nClosest: " + ", ".join(s.bold(s.text(x)) for x in answer.suggestions)
    return Card(title="Not found", description=description, colour=COLOUR_MISS)


@build_card.register
def _(answer: ArticleAnswer, s: Style, prefix: str = "!") -> Card:
    a = answer.article
    meta = [s.date(a.published)]
    if a.source:
        meta.insert(0, s.text(a.source))
    description = " · ".join(meta) + "\n\n" + "\n".join(f"• {s.text(sentence)}" for sentence in a.summary)
    card = Card(title=s.text(a.title), url=safe_url(a.url), description=description)
    people = [e for e in a.entities if e.salience >= 0.2][:8] or a.entities[:5]
    if people:
        card.fields.append(
            ("Main names", ", ".join(s.text(e.name) + (f" ({s.text(e.roles[0])})" if e.roles else "") for e in people))
        )
    if a.topics:
        card.fields.append(("Topics", ", ".join(s.text(t.name) for t in a.topics[: 6 if answer.summary_only else 10])))
    if not answer.summary_only:
        card.fields.append(
            (
                "Size",
                f"{plural(a.word_count, 'word')} · {plural(len(a.entities), 'name')} · indexed {s.date(a.ingested_at)}",
            )
        )
        if a.url:
            card.fields.append(("Link", s.link(s.text(a.url), a.url)))
    card.footer = f"Article #{a.id} · {prefix}related {a.id} · {prefix}article {a.id}"
    return card


@build_card.register
def _(answer: StoryAnswer, s: Style, prefix: str = "!") -> Card:
    story = answer.story
    count = story.article_count
    spread = (
        f"{plural(count, 'article')} from {plural(len(answer.outlets), 'outlet')}"
        if answer.outlets
        else plural(count, "article")
    )
    lines = [f"{spread} · {s.date(story.first_published)} → {s.date(story.last_published)}"]
    for sentence in answer.summary:
        also = "".join(f" · also {s.code('#' + str(a))}" for a in sentence.repeated_in[:3])
        lines.append(f"• {s.text(sentence.text)} ({s.code('#' + str(sentence.article_id))}{also})")
    items = [
        f"{s.code('#' + str(m.article_id))} {s.date(m.published)} · {s.text(m.source or 'unknown outlet')} — "
        + s.link(s.bold(s.text(m.title)) if m.article_id == answer.asked else s.text(m.title), safe_url(m.url))
        for m in story.members
    ]
    return Card(
        title=f"Story #{story.id}: {s.text(story.title)}",
        description="\n".join(lines),
        items=items,
        per_page=8,
        footer=f"{prefix}why <id> says why an article joined · {prefix}article <id> for one",
    )


@build_card.register
def _(answer: SubjectSummary, s: Style, prefix: str = "!") -> Card:
    kind = TYPE_NAMES.get(answer.kind, answer.kind.title())
    items = []
    for x in answer.sentences:
        line = f"• {s.text(x.text)} — {s.code('#' + str(x.article_id))} {s.date(x.published)}"
        if x.also_in:
            line += " · also " + ", ".join(s.code(f"#{a}") for a in x.also_in[:5])
            line += f" and {len(x.also_in) - 5} more" if len(x.also_in) > 5 else ""
        items.append(line)
    if answer.period is None:
        title = f"{s.text(answer.subject)}: the latest"
        description = f"{kind} · {plural(answer.article_count, 'article')}; the newest first."
    else:
        title = f"{s.text(answer.subject)}: {answer.period.words}"
        description = (
            f"{kind} · {plural(answer.article_count, 'article')} in {answer.period.words}; "
            "the key sentences in time order, each said once."
        )
    return Card(
        title=title,
        description=description,
        items=items or ["No sentence about it yet."],
        per_page=5 if answer.period is None else 8,
        footer=f"{prefix}summary <id> for one article",
    )


@build_card.register
def _(answer: TopicsAnswer, s: Style, prefix: str = "!") -> Card:
    items = [
        f"{i}. {s.bold(s.text(t.name))} — {plural(t.article_count, 'article')}"
        for i, t in enumerate(answer.topics, start=1)
    ]
    return Card(
        title="Top topics",
        description=f"Across {plural(answer.total_articles, 'indexed article')}.",
        items=items or ["No topics yet."],
        footer=f"{prefix}topic <phrase> for the articles on one",
    )


@build_card.register
def _(answer: TopicAnswer, s: Style, prefix: str = "!") -> Card:
    return Card(
        title=f"Topic: {s.text(answer.topic.name)}",
        description=f"{plural(answer.topic.article_count, 'article')}, last {s.date(answer.topic.last_seen)}.",
        items=[_brief_line(s, b) for b in answer.articles],
        footer=f"{prefix}summary {answer.topic.name} for what they say",
    )


@build_card.register
def _(answer: SearchAnswer, s: Style, prefix: str = "!") -> Card:
    items = []
    for hit in answer.hits:
        snippet = hit.snippet.replace("\n", " ")
        if s is PLAIN:
            snippet = snippet.replace("\x02", "").replace("\x03", "")
        else:
            # Escape the article text first, then turn the match markers into bold.
            snippet = s.text(snippet).replace("\x02", "**").replace("\x03", "**")
        items.append(f"{_brief_line(s, hit.article)}\n{snippet}")
    return Card(
        title=f"Search: {s.text(answer.query)}",
        items=items,
        per_page=5,
        footer=f"{prefix}summary <id> for an article's summary",
    )


@build_card.register
def _(answer: LatestAnswer, s: Style, prefix: str = "!") -> Card:
    return Card(
        title="Latest articles",
        items=[_brief_line(s, b) for b in answer.articles],
        footer=f"{prefix}summary <id> for a summary",
    )


@build_card.register
def _(answer: RelatedAnswer, s: Style, prefix: str = "!") -> Card:
    items = [
        f"{_brief_line(s, r.article)}\nshares: {', '.join(s.text(x) for x in r.shared[:5])}" for r in answer.related
    ]
    return Card(title=f"Related to #{answer.article.id}: {s.text(answer.article.title)}", items=items, per_page=5)


def per_day(rate: float) -> str:
    """A rate per day with the digits that matter: 12/day, 2.5/day, 0.4/day, 0.033/day."""
    if rate >= 10:
        return f"{rate:.0f}/day"
    return f"{rate:.1f}/day" if rate >= 1 else f"{rate:.2g}/day"


def trend_line(s: Style, trend: Trend, window_name: str) -> str:
    """One trend as a sentence: "Javier Milei: 9 articles in 24 h, usually 0.4/day" and what drives it."""
    subject = trend.subject
    name = s.bold(s.text(subject.name)) + (" (topic)" if subject.kind == "topic" else "")
    usual = (
        f"new: none in the {BASELINE_DAYS} days before"
        if trend.is_new
        else f"usually {per_day(trend.usual_per_day)} (×{trend.factor:.0f})"
    )
    line = f"{name}: {plural(subject.articles, 'article')} in {window_name}, {usual}"
    if trend.also:
        line += f"; with {', '.join(s.text(other.name) for other in trend.also[:6])}"
        line += f" and {len(trend.also) - 6} more" if len(trend.also) > 6 else ""
    if trend.lead is not None:
        line += f"\n{s.code('#' + str(trend.lead.id))} {s.text(trend.lead.title)}"
    return line


@build_card.register
def _(answer: TrendingAnswer, s: Style, prefix: str = "!") -> Card:
    if not answer.articles:
        description = f"No article was published in the last {answer.window_name}: nothing can stand out."
    elif not answer.history:
        description = (
            f"Not enough history yet: trending compares the last {answer.window_name} with the "
            f"{BASELINE_DAYS} days before, and the index holds nothing older."
        )
    else:
        description = (
            f"Covered far more than usual, against the {BASELINE_DAYS} days before "
            f"({plural(answer.articles, 'article')} in the last {answer.window_name})."
        )
    items = [f"{i}. {trend_line(s, t, answer.window_name)}" for i, t in enumerate(answer.trends, start=1)]
    if answer.history and answer.articles and not items:
        items = ["Nothing stands out: every name and topic is within its usual coverage."]
    other = "7d" if answer.window == "24h" else "24h"
    return Card(
        title=f"Trending: the last {answer.window_name}",
        description=description,
        items=items,
        per_page=10,
        footer=f"{prefix}trending {other} · {prefix}summary <id> for an article",
    )


@build_card.register
def _(answer: DigestAnswer, s: Style, prefix: str = "!") -> Card:
    zone = zone_named(answer.zone)
    end = answer.end.astimezone(zone)
    day = f"{end:%a} {end.day} {end:%b %Y}"
    title = f"Daily digest · {day}" if answer.cadence == "daily" else f"Weekly digest · the week to {day}"
    if answer.subject:
        title += f" · {s.text(answer.subject)}"
    span = "day" if answer.cadence == "daily" else "week"
    what = f"The {span}'s articles about {s.text(answer.subject)}" if answer.subject else f"The {span}'s top stories"
    description = f"{what}, to {end:%H:%M} ({answer.zone})."
    if answer.late:
        description += " " + s.italic(f"Sent late: the bot was offline at {end:%H:%M}.")
    items = []
    for item in answer.items:
        source = f" ({s.text(item.article.source)})" if item.article.source else ""
        lines = [f"{s.code('#' + str(item.article.id))} {s.bold(s.text(item.article.title))}{source}"]
        lines += [f"• {s.text(truncate(sentence, 300))}" for sentence in item.sentences]
        items.append("\n".join(lines))
    return Card(
        title=title,
        description=description,
        items=items or ["Nothing new in this period."],
        per_page=max(1, len(items)),
        footer=f"{prefix}summary <id> for an article · {prefix}digest off to stop",
    )


@build_card.register
def _(answer: SpikeAnswer, s: Style, prefix: str = "!") -> Card:
    trend = answer.trend
    lead = trend.lead
    return Card(
        title=f"Spiking: {s.text(trend.subject.name)}",
        description=trend_line(s, trend, answer.window_name),
        footer=f"{prefix}trending for all that stands out" + (f" · {prefix}summary {lead.id}" if lead else ""),
    )


@build_card.register
def _(answer: StatsAnswer, s: Style, prefix: str = "!") -> Card:
    st = answer.stats
    card = Card(title="Newsdesk index")
    card.fields.append(("Articles", f"{st.articles:,} ({st.origins:,} files or links)"))
    card.fields.append(("Names", f"{st.entities:,} entities, {st.mentions:,} mentions"))
    card.fields.append(("Topics", f"{st.topics:,}"))
    card.fields.append(("Published", f"{s.date(st.first_published)} to {s.date(st.last_published)}"))
    if st.entities_by_type:
        card.fields.append(
            (
                "Names by type",
                ", ".join(f"{TYPE_NAMES.get(t, t)}: {n:,}" for t, n in list(st.entities_by_type.items())[:8]),
            )
        )
    card.fields.append(("Last indexed", s.date(st.last_ingested)))
    card.footer = f"Database: {st.database_bytes / 1_048_576:.1f} MB"
    return card


def _day(day: date, s: Style) -> str:
    return s.date(f"{day.isoformat()}T12:00:00Z")


@build_card.register
def _(answer: TrendAnswer, s: Style, prefix: str = "!") -> Card:
    names = " vs ".join(s.text(line.name) for line in answer.lines)
    card = Card(
        title=f"Mentions per {answer.chart.unit}: {names}",
        description=s.italic(s.text(answer.picture.alt_text)),
        picture=answer.picture,
    )
    for line in answer.lines:
        kind = TYPE_NAMES.get(line.kind, line.kind.title())
        value = f"{kind} · {plural(line.total, 'mention')} from {_day(answer.first, s)} to {_day(answer.last, s)}"
        if line.peak is not None:
            when = "the week of " if answer.chart.unit == "week" else ""
            value += f"\nbusiest: {line.peak[1]} in {when}{_day(line.peak[0], s)}"
            if line.peak_title:
                value += f" — {s.text(line.peak_title)}"
        card.fields.append((s.text(line.name), value))
    card.footer = f"A mention is an article naming it · {prefix}summary <name> for what they say"
    return card


@build_card.register
def _(answer: GraphAnswer, s: Style, prefix: str = "!") -> Card:
    graph = answer.graph
    lines = []
    if answer.corrected_from:
        lines.append(s.italic(f"Showing {s.text(graph.centre)} (you typed {s.text(answer.corrected_from)})."))
    lines.append(s.italic(s.text(answer.picture.alt_text)))
    card = Card(title=f"Who appears with {s.text(graph.centre)}", description="\n".join(lines), picture=answer.picture)
    top = graph.top()
    if top:
        by_kind: dict[str, list[str]] = {}
        for neighbour in top:
            kind = TYPE_NAMES.get(neighbour.type, neighbour.type.title())
            by_kind.setdefault(kind, []).append(f"{s.text(neighbour.name)} ({neighbour.shared_articles})")
        for kind, names in by_kind.items():
            card.fields.append((kind, ", ".join(names)))
    card.footer = f"(n): articles naming both · {prefix}who {graph.centre} for more"
    return card


@build_card.register
def _(answer: HelpAnswer, s: Style, prefix: str = "!") -> Card:
    items = [
        f"{s.code(answer.prefix + c.usage)} — {c.description} Example: {s.code(answer.prefix + c.example)}"
        for c in answer.commands
    ]
    return Card(
        title="Newsdesk commands",
        description="Every command also works as a slash command (/who, /summary, …).",
        items=items,
        per_page=len(items),
    )


@build_card.register
def _(answer: FollowingAnswer, s: Style, prefix: str = "!") -> Card:
    items = [f"• {s.bold(s.text(f.name))} ({f.kind}{', spikes only' if f.spikes else ''})" for f in answer.follows]
    card = Card(
        title="What you follow here",
        description=(
            f"You are pinged when one of these is central to a new article (salience {answer.salience:g} or more)."
            if items
            else f"Nothing yet: try {prefix}follow Milei."
        ),
        items=items,
        footer=f"{prefix}unfollow <name> to stop",
    )
    roles: dict[int, list[str]] = {}
    for follow in answer.role_follows:
        roles.setdefault(follow.role_id, []).append(f"{s.text(follow.name)} ({follow.kind})")
    for role_id, names in list(roles.items())[: FIELD_COUNT_LIMIT - 1]:
        card.fields.append(("Roles pinged here", f"{s.role(role_id)}: " + ", ".join(names)))
    if roles:
        card.footer += f" · {prefix}unfollow <name> @role (managers)"
    return card


@build_card.register
def _(answer: SourcesAnswer, s: Style, prefix: str = "!") -> Card:
    items = []
    for src in answer.sources:
        state = "paused" if src.paused else f"every {src.interval_minutes:g} min"
        if src.shared:
            state += ", shared with every server"
        line = f"{s.code('#' + str(src.id))} {s.bold(s.text(src.title or src.url))} — {state}"
        if src.failures:
            line += f", {plural(src.failures, 'failure')}: {s.text(src.last_error or '')}"
        line += f"\n{s.text(src.url)}"
        rules = answer.filters.get(src.id, [])
        if rules:
            line += "\nfilters: " + "; ".join(f"{s.code('#' + str(r.id))} {s.text(r.describe())}" for r in rules)
        items.append(line)
    return Card(
        title="Feeds of this server",
        description="" if items else f"No feeds yet: {prefix}source add <url>.",
        items=items,
        per_page=5,
        footer=f"{prefix}source remove <id> · {prefix}source resume <id> · {prefix}source filter <id> <rule>",
    )


def _reasons(s: Style, reasons: list[dict[str, object]]) -> str:
    """Why an alert was planned, in words: feeds, watched folders, follows."""
    labels = {"folder": "a watched folder", "source": "feed", "follow": "follow of"}
    shown = []
    for reason in reasons:
        kind = str(reason.get("kind"))
        name = s.text(str(reason.get("name", "")))
        if kind == "source":
            shown.append(f"feed #{reason.get('id')} ({name})")
        elif kind == "follow" and "role" in reason:
            shown.append(f"{s.role(int(str(reason['role'])))} following {name}")
        elif kind == "follow":
            shown.append(f"following {name}")
        else:
            shown.append(labels.get(kind, kind))
    return ", ".join(shown)


@build_card.register
def _(answer: WhyAnswer, s: Style, prefix: str = "!") -> Card:
    items = []
    for alert in answer.alerts:
        pinged = []
        if alert.ping_user_ids:
            pinged.append(plural(len(alert.ping_user_ids), "follower"))
        if alert.ping_role_ids:
            pinged.append(plural(len(alert.ping_role_ids), "role"))
        pinged = f"; pinged {' and '.join(pinged)}" if pinged else ""
        status = f"{alert.status} with its story's post" if alert.story_entry else alert.status
        items.append(f"{s.channel(alert.channel_id)} ({status}{pinged}): " + _reasons(s, alert.reasons))
    for kept_out in answer.filtered:
        whose = f"feed #{kept_out.scope_id}" if kept_out.scope == "source" else f"{s.channel(kept_out.scope_id)}"
        items.append(
            f"{s.channel(kept_out.channel_id)} (not posted): {_reasons(s, kept_out.reasons)} — kept out by the "
            f"filter of {whose} {s.code(kept_out.rule)}"
        )
    card = Card(
        title=f"Why article #{answer.article_id} alerted here",
        description=s.bold(s.text(answer.title)) + ("" if items else "\nIt was not alerted in this server."),
        items=items,
    )
    if answer.story is not None:
        explanation = s.text(answer.story.explain()[0].upper() + answer.story.explain()[1:])
        card.fields.append(("Story", f"{explanation}. More: {prefix}story {answer.article_id}"))
    return card


@build_card.register
def _(answer: FiltersAnswer, s: Style, prefix: str = "!") -> Card:
    if answer.scope == "source":
        whose = f"feed #{answer.scope_id}" + (f" ({s.text(answer.name)})" if answer.name else "")
        command = f"{prefix}source filter {answer.scope_id}"
    else:
        whose = s.channel(answer.scope_id)
        command = f"{prefix}alerts filter"
    lines = []
    if answer.change == "added" and answer.rule is not None:
        lines.append(f"Added filter {s.code('#' + str(answer.rule.id))} {s.text(answer.rule.describe())}.")
    elif answer.change == "removed":
        lines.append(f"Removed filter #{answer.count}.")
    elif answer.change == "cleared":
        lines.append(f"Removed {plural(answer.count, 'filter')}.")
    lines.append(
        f"New articles are posted when they pass every filter ({', '.join(s.code(x) for x in _FILTER_EXAMPLES)})."
        if answer.rules
        else f"No filters: every new article is posted. Add one with {s.code(command + ' -football')}."
    )
    return Card(
        title=f"Filters of {whose}",
        description="\n".join(lines),
        items=[f"{s.code('#' + str(r.id))} {s.text(r.describe())}" for r in answer.rules],
        footer=f"{command} <rule> adds one · {command} remove <number> · {command} clear",
    )


_FILTER_EXAMPLES = ("lithium, copper", "-football", "has:Javier Milei", "topic:lithium mining", "re:^Breaking")


# ------------------------------------------------------------------------------- one-message answers


@build_card.register
def _(answer: AliasList, s: Style, prefix: str = "!") -> Card:
    items = [f"• {s.bold(s.text(a.alias))} → {s.text(a.target)}" for a in answer.aliases]
    return Card(
        title="Aliases of this server",
        description=(
            "In this server these names stand for the ones after the arrow." if items else
            f"None yet: {prefix}alias add JM = Javier Milei."
        ),
        items=items,
        footer=f"{prefix}alias add <alias> = <name> · {prefix}alias remove <alias>",
    )


def _user_data_lines(data: UserData, s: Style, servers: Any) -> list[str]:
    def server(guild_id: int) -> str:
        name = servers.get(guild_id) if servers else None
        return f"{s.text(name)} ({guild_id})" if name else f"server {guild_id}"

    lines = [f"• follow {s.bold(s.text(name))} ({kind}) in {server(g)}" for g, kind, name in data.follows]
    lines += [f"• added feed #{feed} in {server(g)}" for g, feed in data.feeds_added]
    lines += [f"• added the alias {s.bold(s.text(alias))} in {server(g)}" for g, alias in data.aliases_added]
    lines += [f"• set up alerts, spikes or a digest in {server(g)}" for g in data.set_up_in]
    if data.alerts_naming:
        lines.append(f"• named in {plural(data.alerts_naming, 'alert')} as someone to ping")
    return lines


@build_card.register
def _(answer: MyDataAnswer, s: Style, prefix: str = "!") -> Card:
    items = _user_data_lines(answer.data, s, answer.servers)
    return Card(
        title="What Newsdesk stores about you",
        description=(
            "Your user id, with:" if items else "Nothing: you follow nothing and set nothing up in any server."
        ),
        items=items,
        footer=f"{prefix}forget me deletes all of it" if items else None,
    )


@build_card.register
def _(answer: ForgetAsked, s: Style, prefix: str = "!") -> Card:
    # Counts only: the prompt may be seen by a whole channel, and what is followed elsewhere is no one's business.
    data = answer.data
    if data.empty:
        return Card(title="Nothing to forget", description="Newsdesk stores nothing about you.")
    servers = {g for g, _, _ in data.follows}
    parts = [f"your {plural(len(data.follows), 'follow')} in {plural(len(servers), 'server')}"] if data.follows else []
    set_up = len(data.feeds_added) + len(data.aliases_added) + len(data.set_up_in)
    if set_up:
        parts.append(f"your name on {plural(set_up, 'thing')} you set up for servers")
    if data.alerts_naming:
        parts.append(f"your name in {plural(data.alerts_naming, 'alert')}")
    return Card(
        title="Forget you?",
        description=(
            f"This deletes {', '.join(parts)}. What you set up stays for its server, without your name. "
            "Press **Forget me** to confirm."
        ),
        colour=COLOUR_MISS,
    )


@singledispatch
def build_message(answer: Any, s: Style, prefix: str = "!") -> str:
    """The sentence of an answer that is one message rather than a card; each such answer registers its own."""
    raise TypeError(f"no message for {type(answer).__name__}")


def is_message(answer: Any) -> bool:
    """Whether ``answer`` is shown as one message (see :func:`build_message`) rather than as a card."""
    return build_message.dispatch(type(answer)) is not build_message.dispatch(object)


@build_message.register
def _(answer: AlertsStatus, s: Style, prefix: str = "!") -> str:
    if answer.channel_id is None:
        text = f"Alerts are off here; a manager can turn them on with {prefix}alerts here."
    else:
        how = [] if answer.format == DEFAULT_ALERT_FORMAT else [f"{answer.format} format"]
        if answer.threads:
            how.append("a thread on each")
        if answer.filters:
            how.append(f"{plural(answer.filters, 'filter')} ({prefix}alerts filter there lists them)")
        text = f"New articles go to {s.channel(answer.channel_id)}" + (f": {', '.join(how)}." if how else ".")
    if answer.trending_channel_id is not None:
        text += f" Spikes go to {s.channel(answer.trending_channel_id)}."
    return text


def _schedule_text(s: Style, schedule: DigestSchedule, zone: str) -> str:
    when = "every day" if schedule.cadence == "daily" else f"every {WEEKDAYS[schedule.weekday or 0].title()}"
    about = f" about {s.text(schedule.subject_name)}" if schedule.subject_name else ""
    return f"A {schedule.cadence} digest{about} is posted here {when} at {schedule.at} ({zone})"


@build_message.register
def _(answer: DigestStatus, s: Style, prefix: str = "!") -> str:
    if answer.schedule is None:
        return f"No digest in this channel; a manager can start one with {prefix}digest daily 08:00."
    return f"{_schedule_text(s, answer.schedule, answer.zone)}; the next on {answer.next_run}."


@build_message.register
def _(answer: DigestSet, s: Style, prefix: str = "!") -> str:
    return (
        f"Done. {_schedule_text(s, answer.schedule, answer.zone)}; the first on {answer.next_run}. "
        f"Change the time zone with {prefix}timezone."
    )


@build_message.register
def _(answer: DigestOff, s: Style, prefix: str = "!") -> str:
    return "The digest of this channel is off." if answer.had_one else "This channel had no digest."


@build_message.register
def _(answer: TimezoneAnswer, s: Style, prefix: str = "!") -> str:
    if answer.change == "set":
        return f"Done: digest times in this server are now in {s.text(answer.zone)}."
    if answer.change == "reset":
        return "Digest times in this server are back to UTC."
    zone = s.text(answer.zone)
    return f"This server's time zone is {zone} (a manager can change it, e.g. {prefix}timezone Europe/London)."


@build_message.register
def _(answer: TrendingAlertsOn, s: Style, prefix: str = "!") -> str:
    return (
        f"Spikes will be posted in {s.channel(answer.channel_id)}: a name or topic suddenly covered far more "
        f"than usual, once when it starts (see {prefix}trending)."
    )


@build_message.register
def _(answer: TrendingAlertsOff, s: Style, prefix: str = "!") -> str:
    if answer.previous_channel_id is None:
        return "Spikes were not being posted in this server."
    return f"Spikes are no longer posted (they were going to {s.channel(answer.previous_channel_id)})."


@build_message.register
def _(answer: AlertsOn, s: Style, prefix: str = "!") -> str:
    if answer.forum:
        return f"New articles will be posted in {s.channel(answer.channel_id)}, one post each, tagged from its topics."
    if answer.threads:
        return f"New articles will be posted in {s.channel(answer.channel_id)}, each with a thread for discussion."
    return f"New articles will be posted in {s.channel(answer.channel_id)}."


@build_message.register
def _(answer: AlertsOff, s: Style, prefix: str = "!") -> str:
    if answer.previous_channel_id is None:
        return "Alerts were not on in this server."
    return (
        f"Alerts are off (they were going to {s.channel(answer.previous_channel_id)}). "
        "Follows still ping where they were made."
    )


_FORMAT_WORDS = {
    "compact": "a link and the title",
    "card": "an embed with the summary",
    "full": "the summary with the names and topics",
}


@build_message.register
def _(answer: AlertsFormat, s: Style, prefix: str = "!") -> str:
    words = f"{answer.format} ({_FORMAT_WORDS[answer.format]})"
    if answer.changed:
        return f"Alerts in {s.channel(answer.channel_id)} will now look {words}."
    return f"Alerts in {s.channel(answer.channel_id)} look {words}; {prefix}alerts format compact|card|full changes it."


@build_message.register
def _(answer: Followed, s: Style, prefix: str = "!") -> str:
    if answer.role_id is not None:
        role = s.role(answer.role_id)
        if answer.already:
            return f"{role} already follows {s.text(answer.name)}."
        return (
            f"{role} now follows {s.text(answer.name)} ({answer.kind}): it will be pinged in "
            f"{s.channel(answer.channel_id)} when it is central to a new article."
        )
    if answer.already:
        return f"You already follow {s.text(answer.name)}" + (" for its spikes." if answer.spikes else ".")
    when = "when it spikes (far more articles than usual)" if answer.spikes else "when it is central to a new article"
    return (
        f"You now follow {s.text(answer.name)} ({answer.kind}). "
        f"You will be pinged in {s.channel(answer.channel_id)} {when}."
    )


@build_message.register
def _(answer: Unfollowed, s: Style, prefix: str = "!") -> str:
    if answer.role_id is not None:
        if not answer.followed:
            return f"{s.role(answer.role_id)} does not follow {s.text(answer.name)}; see following for what it does."
        return f"{s.role(answer.role_id)} is no longer pinged about {s.text(answer.name)}."
    if not answer.followed:
        return f"You do not follow {s.text(answer.name)}; see following for what you do."
    return f"You no longer follow {s.text(answer.name)}."


@build_message.register
def _(answer: FeedAdded, s: Style, prefix: str = "!") -> str:
    # The title is the feed's own (untrusted, any length): cut so that the sentence always ends.
    return (
        f"Added feed #{answer.source_id}: {truncate(s.text(answer.title), TITLE_LIMIT)} — "
        f"{plural(answer.items, 'item')} indexed, not alerted. New items will be posted in "
        f"{s.channel(answer.channel_id)}, checked every {plural(answer.interval_minutes, 'minute')}. "
        + ("Every server sees its articles." if answer.shared else "Only this server sees its articles.")
    )


@build_message.register
def _(answer: FeedRemoved, s: Style, prefix: str = "!") -> str:
    gone = (
        f"{plural(answer.articles_removed, 'article')} no other source delivered went with it."
        if answer.articles_removed
        else "Its articles that another source delivered stay."
    )
    return f"Removed feed #{answer.source_id} ({truncate(s.text(answer.title), TITLE_LIMIT)}). {gone}"


@build_message.register
def _(answer: FeedResumed, s: Style, prefix: str = "!") -> str:
    return f"Feed #{answer.source_id} is active again and will be checked now."


@build_message.register
def _(answer: Forgotten, s: Style, prefix: str = "!") -> str:
    if answer.done:
        return "Done: Newsdesk no longer stores anything about you."
    return "Nothing was deleted."


@build_message.register
def _(answer: AliasAdded, s: Style, prefix: str = "!") -> str:
    already = "already stands" if answer.already else "now stands"
    return f"In this server, {s.bold(s.text(answer.alias))} {already} for {s.bold(s.text(answer.target))}."


@build_message.register
def _(answer: AliasRemoved, s: Style, prefix: str = "!") -> str:
    return f"{s.bold(s.text(answer.alias))} no longer stands for {s.text(answer.target)} here."


@build_message.register
def _(answer: PrefixAnswer, s: Style, prefix: str = "!") -> str:
    shown = s.text(answer.prefix)
    if answer.change == "set":
        return f"Done: commands here now start with {shown}, e.g. {shown}who Milei."
    if answer.change == "reset":
        return f"The prefix is back to {shown}."
    return f"The prefix here is {shown} (slash commands always work)."


@build_message.register
def _(answer: SyncAnswer, s: Style, prefix: str = "!") -> str:
    where = "this server" if answer.here else "every server (global commands can take a while to appear)"
    return f"Synced {plural(answer.count, 'slash command')} to {where}."


def to_message(answer: Any, prefix: str = "!") -> str:
    """A one-message answer as Discord message content: untrusted text escaped, within 2,000 characters."""
    return truncate(build_message(answer, DISCORD, prefix), CONTENT_LIMIT)


# -------------------------------------------------------------------------------------- output


def to_text(answer: Any, prefix: str = "!") -> str:
    """The answer as plain text for the console and ``newsdesk ask``."""
    if is_message(answer):
        return build_message(answer, PLAIN, prefix) + "\n"
    card = build_card(answer, PLAIN, prefix)
    parts = [card.title + (f" <{card.url}>" if card.url else ""), "=" * min(len(card.title), 72)]
    if card.description:
        parts.append(card.description)
    for name, value in card.fields:
        parts.append(f"{name}:\n  " + value.replace("\n", "\n  "))
    if card.items:
        parts.append("\n".join(card.items))
    if card.footer:
        parts.append(f"({card.footer})")
    return "\n".join(parts) + "\n"


def picture_of(answer: Any) -> Picture | None:
    """The picture an answer comes with (attached to its message), if any."""
    return answer.picture if isinstance(answer, TrendAnswer | GraphAnswer) else None


def to_embeds(answer: Any, prefix: str = "!") -> list[discord.Embed]:
    """The answer as Discord embeds: one per page, each within every limit."""
    return card_embeds(build_card(answer, DISCORD, prefix))


def alert_message(article: Article, alert_format: str, prefix: str = "!") -> tuple[str | None, discord.Embed | None]:
    """An alert's message in one of :data:`bot.models.ALERT_FORMATS`: its content (``compact``: the id,
    the title and the link, the link's preview suppressed) or its embed (``card``: the summary; ``full``:
    the summary, the names and the topics), within every Discord limit."""
    if alert_format == "compact":
        # Each part cut on its own, so the markup around it stays whole: at most 12 + 260 + 103 + 1,003.
        source = f" ({truncate(DISCORD.text(article.source), 100)})" if article.source else ""
        url = safe_url(article.url)
        link = f" <{url}>" if url and len(url) <= 1000 else ""
        return f"`#{article.id}` **{truncate(DISCORD.text(article.title), TITLE_LIMIT)}**{source}{link}", None
    card = build_card(ArticleAnswer(article, summary_only=True), DISCORD, prefix)
    if alert_format == "card":
        card.fields.clear()
    return None, card_embeds(card)[0]


def card_embeds(card: Card) -> list[discord.Embed]:
    """A card as Discord embeds: one per page, each within every limit."""
    pages = _pages(card)
    embeds = []
    for number, page in enumerate(pages, start=1):
        description = "\n\n".join(x for x in (card.description, page) if x)
        embed = discord.Embed(
            title=truncate(card.title, TITLE_LIMIT),
            url=card.url,
            description=truncate(description, DESCRIPTION_LIMIT),
            colour=card.colour,
        )
        for name, value in card.fields[:FIELD_COUNT_LIMIT]:
            embed.add_field(
                name=truncate(name, FIELD_NAME_LIMIT), value=truncate(value or "—", FIELD_VALUE_LIMIT), inline=False
            )
        footer = card.footer or ""
        if len(pages) > 1:
            footer = f"Page {number}/{len(pages)}" + (f" · {footer}" if footer else "")
        if footer:
            embed.set_footer(text=truncate(footer, FOOTER_LIMIT))
        if card.picture is not None and number == 1:
            embed.set_image(url=f"attachment://{card.picture.filename}")
        _fit_total(embed)
        embeds.append(embed)
    return embeds


def _pages(card: Card) -> list[str]:
    """Split the card's items into pages that each fit one embed description."""
    if not card.items:
        return [""]
    room = DESCRIPTION_LIMIT - len(card.description) - 4
    pages: list[str] = []
    current: list[str] = []
    for item in card.items:
        item = truncate(item, max(room, 100))
        if current and (len(current) >= card.per_page or len("\n".join([*current, item])) > room):
            pages.append("\n".join(current))
            current = []
        current.append(item)
    pages.append("\n".join(current))
    return pages


def _fit_total(embed: discord.Embed) -> None:
    """Shorten a long description (to no less than a field's worth), then drop fields from the end, then
    shorten the description further, until the embed is within 6,000: the fields are the card's structure
    (an article's names and topics), the end of a long description the least of it."""
    excess = len(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.description and len(embed.description) > FIELD_VALUE_LIMIT:
        embed.description = truncate(embed.description, max(FIELD_VALUE_LIMIT, len(embed.description) - excess))
    while len(embed) > EMBED_TOTAL_LIMIT and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL_LIMIT and embed.description:
        excess = len(embed) - EMBED_TOTAL_LIMIT
        embed.description = truncate(embed.description, max(1, len(embed.description) - excess - 1))


def message_text(text: str) -> str:
    """Untrusted text for a plain message: escaped, within the 2,000-character limit."""
    return truncate(DISCORD.text(text), CONTENT_LIMIT)
