"""RSS 2.0, RSS 1.0 and Atom feeds to :class:`ArticleRecord`, with full text fetched for teaser items.

Feed bodies are untrusted XML. :func:`parse_feed` decodes a document the way feedparser would (BOMs,
UTF-16/32, EBCDIC, the declared or served encoding), refuses it when the decoded text holds a DTD internal
subset or an entity declaration anywhere (billion laughs, quadratic blow-up, external entities reading
files or URLs), and hands feedparser exactly the text it checked, re-encoded as UTF-8. Everything done
with feed text is linear in its length: feedparser's HTML sanitiser (quadratic on unclosed comments) is
off, since HTML only ever becomes plain text here, through libxml2; item texts are cut where they are
read. Feeds and article pages are parsed in the worker process of :mod:`bot.ingest.worker`.
"""

from __future__ import annotations

import asyncio
import calendar
import codecs
import functools
import io
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import feedparser.encodings
import lxml.etree
import lxml.html

from bot.ingest.fetch import FetchError, SafeFetcher, redact_url
from bot.ingest.readers import (
    SkipFile,
    cap_text,
    content_hash,
    decode_bytes,
    derive_title,
    html_main_text,
    normalise_text,
    parse_published,
)
from bot.ingest.worker import WorkerStopped, in_worker
from bot.models import ArticleRecord
from bot.text import strip_invisible

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
TEASER_WORDS = 80
PAGE_CONCURRENCY = 4
# An item's texts are cut to these many characters where they are read: nothing downstream (the indexer
# keeps max_article_chars of a body) needs more, and nothing then works on more.
MAX_ITEM_CHARS = 500_000
MAX_TITLE_CHARS = 1_000
MAX_LINK_CHARS = 2_048  # a longer "link" is no article's address
MAX_GUID_CHARS = 512  # a longer id is replaced by its hash

# Query parameters that only track the click; they make one article look like many.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wt_mc", "cmpid",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "at_")
_TEASER_END = re.compile(
    r"(?:…|\.\.\.|\[\s*(?:…|\.\.\.)\s*\]|read\s+more|continue\s+reading|keep\s+reading|read\s+the\s+full\s+story)"
    r"[\s\]\)»›>→.…:!-]*$",
    re.IGNORECASE,
)
# The teaser marks are looked for in this many last characters only: the pattern backtracks over a run
# of dots, which would cost the square of the run's length over a whole hostile text.
TEASER_TAIL_CHARS = 200
# An entity declaration, or a DOCTYPE opening an internal subset ("<!DOCTYPE rss [" ...). "<" ends the
# DOCTYPE's scan, so a document of repeated "<!DOCTYPE" stays linear.
_ENTITY_OR_SUBSET = re.compile(rb"<!ENTITY|<!DOCTYPE[^<>\[]*\[", re.IGNORECASE)
# How feedparser reads a document's first characters: (leading bytes, codec, BOM length), first match wins.
_PROLOG_CODECS = (
    (codecs.BOM_UTF32_BE, "utf-32-be", 4),
    (codecs.BOM_UTF32_LE, "utf-32-le", 4),
    (codecs.BOM_UTF16_BE, "utf-16-be", 2),
    (codecs.BOM_UTF16_LE, "utf-16-le", 2),
    (codecs.BOM_UTF8, "utf-8", 3),
    (b"\x4c\x6f\xa7\x94", "cp037", 0),  # "<?xm" in EBCDIC
    (b"\x00<\x00?", "utf-16-be", 0),
    (b"<\x00?\x00", "utf-16-le", 0),
    (b"\x00\x00\x00<", "utf-32-be", 0),
    (b"<\x00\x00\x00", "utf-32-le", 0),
)
_DECLARATION_MAX = 1024  # characters of an XML declaration (a real one has well under 100)
_UTF8_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"  # what feedparser's decoding puts first
_FIRST_ELEMENT = re.compile(rb"<\w")  # where feedparser ends the prolog
_SPACE_RUN = re.compile(rb"\s+")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)

log = logging.getLogger(__name__)
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)

ENTITIES_MESSAGE = "The feed declares XML entities, which are refused for safety."
INVALID_MESSAGE = "That address did not return a valid RSS or Atom feed."


class FeedError(Exception):
    """The document cannot be used as a feed; ``str(error)`` is one sentence for a Discord user."""


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed, as plain text.

    ``summary`` is the entry's description/summary; ``content`` its full content when the feed carries
    it (``content:encoded``, Atom ``content``), else ``None``. ``link`` is an absolute http(s) URL or
    ``None``; ``guid`` is the entry id, falling back to the link or a hash of the text.
    """

    guid: str
    link: str | None
    title: str
    summary: str
    content: str | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's title and home link, and its items in document order."""

    title: str
    link: str | None
    items: list[FeedItem]


@dataclass(slots=True)
class FeedPoll:
    """The outcome of one :func:`read_feed`.

    ``etag`` and ``last_modified`` are to be sent with the next poll. When ``not_modified`` the
    feed did not change and ``records`` is empty. ``page_failures`` lists the teaser pages that could
    not be read (``"<url>: <reason>"``); those items kept their summary. ``skipped`` counts items
    with no text at all.
    """

    records: list[ArticleRecord]
    etag: str | None
    last_modified: str | None
    not_modified: bool
    title: str | None
    page_failures: list[str] = field(default_factory=list)
    skipped: int = 0


# --- text ------------------------------------------------------------------------------------------


_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "aside", "blockquote", "pre", "ul", "ol",
        "li", "dl", "dt", "dd", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "figure",
        "figcaption", "main",
    }
)  # fmt: skip
_SKIPPED = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})


def html_text(fragment: str) -> str:
    """Plain, normalised text from an HTML fragment: tags dropped, entities decoded, block elements
    become paragraph breaks and ``<br>`` a line break; scripts, styles and comments are dropped.

    libxml2 parses in linear time whatever the markup (Python's ``html.parser`` takes quadratic time on
    unclosed tags and comments, minutes for a hostile feed item); the walk below is iterative, so deep
    nesting cannot exhaust the stack.
    """
    if not fragment.strip():
        return ""
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    root = lxml.etree.fromstring(fragment.replace("\x00", "").encode("utf-8", "replace"), parser)
    if root is None:
        return ""
    parts: list[str] = []
    skipping = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if not closing:
            if tag in _SKIPPED:
                skipping += 1
            elif tag == "br":
                parts.append("\n")
            elif tag in _BLOCKS:
                parts.append("\n\n")
            if tag and not skipping and element.text:
                parts.append(element.text)
            stack.append((element, True))
            stack.extend((child, False) for child in reversed(element))
            continue
        if tag in _SKIPPED:
            skipping -= 1
        elif tag in _BLOCKS:
            parts.append("\n\n")
        if not skipping and element.tail and element is not root:
            parts.append(element.tail)
    return normalise_text("".join(parts))


def _detail_text(value: str | None, detail: Any) -> str:
    """Text of a feedparser field, reducing HTML to text only when the field is HTML."""
    if not value:
        return ""
    kind = (detail or {}).get("type", "text/html") if isinstance(detail, dict) else "text/html"
    if "html" in kind:
        return html_text(value)
    return normalise_text(value)


def canonical_url(url: str) -> str:
    """``url`` without its fragment and click-tracking parameters (utm_*, fbclid, …), scheme and host
    lower-cased and the default port dropped; other parameters keep their order."""
    parts = urlsplit(url.strip())
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    scheme = parts.scheme.lower()
    netloc = parts.netloc.lower() if "@" not in parts.netloc else parts.netloc
    default_port = {"http": ":80", "https": ":443"}.get(scheme)
    if default_port and netloc.endswith(default_port):
        netloc = netloc[: -len(default_port)]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


def _http_link(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_LINK_CHARS:
        return None
    link = value.strip()
    return link if urlsplit(link).scheme.lower() in ("http", "https") and urlsplit(link).netloc else None


# --- parsing ---------------------------------------------------------------------------------------


def _declaration_on_its_own_line(body: bytes) -> bytes:
    """``body`` with a line break after its XML declaration (if it has one and none follows it).

    feedparser looks for the declared encoding with a pattern whose cost grows with the cube of the first
    line's length (a 13 KB line of repeated ``encoding="a"`` takes seconds); a declaration ends within
    :data:`_DECLARATION_MAX` characters, so afterwards the first line is short. Raises
    :class:`FeedError` for a declaration that does not end there.
    """
    codec, skip = next(((codec, skip) for lead, codec, skip in _PROLOG_CODECS if body.startswith(lead)), ("ascii", 0))
    width = len("<".encode(codec))
    opening, closing, newline = ("<?".encode(codec), "?>".encode(codec), "\n".encode(codec))
    if not body.startswith(opening, skip):
        return body
    # Whole characters only: in UTF-16 and UTF-32 a misaligned match would be parts of two characters.
    for at in range(skip, min(len(body), skip + _DECLARATION_MAX * width), width):
        if body.startswith(closing, at):
            end = at + len(closing)
            return body if body.startswith(newline, end) else body[:end] + newline + body[end:]
    raise FeedError(INVALID_MESSAGE)


def _decoded(body: bytes, headers: dict[str, str]) -> bytes:
    """The document as feedparser would read it, re-encoded as UTF-8 under a UTF-8 XML declaration.

    feedparser's own decoding (BOMs, UTF-16/32 and EBCDIC sniffing, the declared or served encoding, its
    fallbacks) decides what its parsers see. Fed back this output, feedparser decodes it as UTF-8 into
    the same text, so what :func:`_refuse_entities` checks is exactly what gets parsed. The prolog (up to
    the first element) is tidied so that feedparser's own scans of it stay linear: the declaration on a
    line of its own, whitespace runs collapsed, at most one DOCTYPE.
    """
    converted = feedparser.encodings.convert_to_utf8(headers, _declaration_on_its_own_line(body), {})
    if not converted.startswith(_UTF8_DECLARATION):  # no encoding worked: feedparser gets the bytes as they are
        return converted
    rest = converted[len(_UTF8_DECLARATION) :]
    first_element = _FIRST_ELEMENT.search(rest)
    split = first_element.start() if first_element else len(rest)
    prolog = rest[:split]
    if prolog.count(b"<!DOCTYPE") > 1:
        raise FeedError(INVALID_MESSAGE)
    prolog = _SPACE_RUN.sub(lambda run: b"\n" if b"\n" in run.group() else b" ", prolog)
    return _UTF8_DECLARATION + b"\n" + prolog + rest[split:]


def _refuse_entities(body: bytes, decoded: bytes) -> None:
    """Raise :class:`FeedError` when the document declares entities or a DTD internal subset.

    The decoded text is what counts; the raw bytes, and the bytes with NULs dropped (UTF-16/32 text),
    are searched too, so no choice of encoding can hide a declaration from both. A DOCTYPE naming an
    external DTD only (RSS 0.91's Netscape DOCTYPE) is fine: the DTD is never loaded.
    """
    for view in (decoded, body, body.replace(b"\x00", b"")):
        if _ENTITY_OR_SUBSET.search(view):
            raise FeedError(ENTITIES_MESSAGE)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            # feedparser gives UTC struct_time; readers.parse_published turns a timestamp into a datetime.
            return parse_published(calendar.timegm(parsed))
    for key in ("published", "updated"):
        moment = parse_published(entry.get(key))
        if moment is not None:
            return moment
    return None


def _content(entry: Any) -> str | None:
    texts = [_detail_text(part.get("value"), part) for part in entry.get("content") or []]
    texts = [text for text in texts if text]
    return max(texts, key=len) if texts else None


def _item(entry: Any, max_chars: int) -> FeedItem:
    link = _http_link(entry.get("link"))
    title = _detail_text(entry.get("title"), entry.get("title_detail"))
    title = cap_text(" ".join(strip_invisible(title).split()), MAX_TITLE_CHARS)
    summary = cap_text(_detail_text(entry.get("summary"), entry.get("summary_detail")), max_chars)
    content = _content(entry)
    guid = str(entry.get("id") or "").strip() or link or content_hash(title + "\n" + summary)[:16]
    if len(guid) > MAX_GUID_CHARS:  # it becomes part of an origin: kept short, still one per item
        guid = content_hash(guid)
    return FeedItem(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        content=cap_text(content, max_chars) if content else content,
        published=_published(entry),
    )


def parse_feed(body: bytes, url: str, *, max_chars: int = MAX_ITEM_CHARS) -> ParsedFeed:
    """Parse an RSS 2.0, RSS 1.0 or Atom document fetched from ``url`` (relative links resolve against it).

    Each item's summary and content are cut to ``max_chars`` characters (see :data:`MAX_ITEM_CHARS`).

    Raises :class:`FeedError` for documents declaring XML entities, HTML pages, and anything
    feedparser cannot read entries or a feed type from.
    """
    if not body.strip():
        raise FeedError("The address returned an empty document, not a feed.")
    headers = {"content-location": url}
    decoded = _decoded(body, headers)
    _refuse_entities(body, decoded)
    # A stream, never bytes: feedparser.parse(bytes) first tries open(bytes), which would read a local
    # file if a server answered with a path such as b"/etc/passwd". Embedded HTML is neither sanitised
    # nor rewritten (html_text reduces it to text), which also keeps feedparser's work linear.
    parsed = feedparser.parse(
        io.BytesIO(decoded), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries = parsed.get("entries") or []
    # Encoding and content-type complaints are not errors: feedparser still read the document.
    broken = parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _BENIGN_BOZO)
    if not entries and (broken or not parsed.get("version")):
        if _HTML_START.match(body[:4096]):
            raise FeedError("That address is a web page, not an RSS or Atom feed.")
        raise FeedError(INVALID_MESSAGE)
    channel = parsed.get("feed") or {}
    title = " ".join(strip_invisible(_detail_text(channel.get("title"), channel.get("title_detail"))).split())
    items = [_item(entry, max_chars) for entry in entries]
    return ParsedFeed(title=title, link=_http_link(channel.get("link")), items=items)


# --- records ---------------------------------------------------------------------------------------


def is_teaser(item: FeedItem) -> bool:
    """Whether the item carries only a teaser: its text (content, else summary) is under
    ``TEASER_WORDS`` words or ends in "…", "Read more" and the like."""
    text = item.content or item.summary
    # Bounded work whatever the text's length: it runs for every item of every poll.
    return len(text.split(maxsplit=TEASER_WORDS)) < TEASER_WORDS or bool(_TEASER_END.search(text[-TEASER_TAIL_CHARS:]))


def item_origin(item: FeedItem, feed_url: str) -> str:
    """Where an item's article is recorded as coming from (see :func:`item_record`)."""
    return canonical_url(item.link) if item.link else f"{feed_url}#{item.guid}"


def item_record(
    item: FeedItem,
    feed: ParsedFeed,
    feed_url: str,
    *,
    full_text: str | None = None,
    fetched_at: datetime,
) -> ArticleRecord:
    """The article record of a feed item.

    ``origin`` is the canonical link (see :func:`canonical_url`) or ``<feed_url>#<guid>`` without a
    link; the body is ``full_text`` (from the article page) or the content or the summary. Raises
    :class:`FeedError` when the item has no text at all.
    """
    body = normalise_text(full_text or item.content or item.summary or "")
    if not body:
        raise FeedError("The feed item has no text.")
    title = " ".join(strip_invisible(item.title).split())
    return ArticleRecord(
        origin=item_origin(item, feed_url),
        title=title or derive_title(body),
        title_derived=not title,
        body=body,
        content_hash=content_hash(body),
        published=item.published or fetched_at,
        date_known=item.published is not None,
        source=feed.title.strip() or None,
        url=item.link,
    )


def _page_text(body: bytes, content_type: str, url: str) -> str:
    """The main text of an article page (boilerplate removed by readers.html_main_text)."""
    lowered = content_type.lower()
    if lowered and "html" not in lowered:
        raise FeedError("The article page is not HTML.")
    charset = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    html: str | None = None
    if charset:
        try:
            html = body.decode(charset.group(1))
        except (LookupError, UnicodeDecodeError):
            html = None  # a wrong or unknown charset: guess instead
    if html is None:
        html = decode_bytes(body)  # SkipFile for binary data
    try:
        return html_main_text(html, url)
    except SkipFile:
        raise
    except Exception as exc:
        # One odd page must not fail the whole poll; the item keeps its summary.
        log.debug("text extraction failed for %s", redact_url(url), exc_info=True)
        raise FeedError("The article text could not be extracted.") from exc


def _longer_page_text(item: FeedItem, body: bytes, content_type: str, url: str, max_chars: int) -> str:
    """The page's text (cut to ``max_chars``), or :class:`FeedError` when it has no more words than the
    item already carries (an extraction shorter than the teaser picked the wrong part of the page)."""
    text = cap_text(_page_text(body, content_type, url), max_chars)
    if len(text.split()) <= len((item.content or item.summary).split()):
        raise FeedError("The page had no more text than the feed.")
    return text


def _records(
    items: Sequence[FeedItem], texts: Sequence[str | None], feed: ParsedFeed, feed_url: str, fetched_at: datetime
) -> tuple[list[ArticleRecord], int]:
    """The records of ``items`` (one per origin) and how many items had no text at all."""
    records: list[ArticleRecord] = []
    seen: set[str] = set()
    skipped = 0
    for item, text in zip(items, texts, strict=True):
        try:
            # The subscribed URL, not the final one: origins must not change when a feed moves.
            record = item_record(item, feed, feed_url, full_text=text, fetched_at=fetched_at)
        except FeedError:
            skipped += 1
            continue
        if record.origin not in seen:  # a feed listing one article twice gives one record
            seen.add(record.origin)
            records.append(record)
    return records, skipped


async def read_feed(
    fetcher: SafeFetcher,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    fetch_full_text: bool,
    known_origins: Callable[[list[str]], Awaitable[Collection[str]]] | None = None,
    max_items: int = 50,
    max_chars: int = MAX_ITEM_CHARS,
) -> FeedPoll:
    """Poll one feed: a conditional fetch, parsing, and (with ``fetch_full_text``) the article page of
    each new teaser item, fetched through the same ``fetcher`` (same address checks), at most
    ``PAGE_CONCURRENCY`` at a time.

    Feeds and pages are parsed in the worker process (:mod:`bot.ingest.worker`); item and page texts
    are cut to ``max_chars`` characters there. ``known_origins`` tells which of the items' origins are
    indexed already. A teaser item among them
    is left out: its page was read when it was new, and its teaser must not replace that text.

    Raises :class:`FetchError` when the feed cannot be fetched and :class:`FeedError` when it is not a
    usable feed; a page that fails only lands in ``page_failures``.
    """
    result = await fetcher.fetch(url, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT)
    if result.not_modified:
        return FeedPoll(records=[], etag=result.etag, last_modified=result.last_modified, not_modified=True, title=None)
    fetched_at = datetime.now(UTC)
    try:
        feed = await in_worker(functools.partial(parse_feed, max_chars=max_chars), result.body, result.url)
    except WorkerStopped as exc:
        raise FeedError(str(exc)) from None
    items = feed.items[:max_items]
    if fetch_full_text and known_origins is not None:
        known = await known_origins([item_origin(item, url) for item in items])
        items = [item for item in items if not (item.link and item_origin(item, url) in known and is_teaser(item))]
    failures: list[str] = []
    limit = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def full_text(item: FeedItem) -> str | None:
        if not (fetch_full_text and item.link and is_teaser(item)):
            return None
        try:
            async with limit:
                page = await fetcher.fetch(item.link, accept=PAGE_ACCEPT)
            return await in_worker(_longer_page_text, item, page.body, page.content_type, page.url, max_chars)
        except (FetchError, FeedError, SkipFile, WorkerStopped) as exc:
            failures.append(f"{item.link}: {exc}")
            return None

    texts: Sequence[str | None] = await asyncio.gather(*(full_text(item) for item in items))
    # Normalising and hashing every item's text is CPU work on untrusted text: not on the event loop.
    records, skipped = await asyncio.to_thread(_records, items, texts, feed, url, fetched_at)
    return FeedPoll(
        records=records,
        etag=result.etag,
        last_modified=result.last_modified,
        not_modified=False,
        title=feed.title or None,
        page_failures=failures,
        skipped=skipped,
    )
