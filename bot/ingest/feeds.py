"""RSS 2.0, RSS 1.0 and Atom feeds to :class:`ArticleRecord`, with full text fetched for teaser items.

Feed bodies are untrusted XML. Before feedparser sees them, :func:`parse_feed` refuses documents that
declare XML entities (billion laughs, quadratic blow-up, external entities reading files or URLs):
well-formed documents are checked by defusedxml's expat parser, and for malformed ones (which
feedparser hands to its lenient parser) the prolog is searched for entity declarations.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import logging
import re
import xml.sax
import xml.sax.handler
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import defusedxml
import defusedxml.expatreader
import feedparser

from bot.ingest.fetch import FetchError, SafeFetcher, redact_url
from bot.ingest.readers import (
    SkipFile,
    content_hash,
    decode_bytes,
    derive_title,
    html_to_record,
    normalise_text,
    parse_published,
)
from bot.models import ArticleRecord
from bot.text import strip_invisible

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
TEASER_WORDS = 80
PAGE_CONCURRENCY = 4

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
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<\w")
_EBCDIC_XML_DECLARATION = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC, which feedparser also reads
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)

log = logging.getLogger(__name__)
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)

ENTITIES_MESSAGE = "The feed declares XML entities, which are refused for safety."


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


class _TextExtractor(HTMLParser):
    """The text of an HTML fragment: block elements become paragraph breaks, scripts are dropped."""

    _BLOCKS = frozenset(
        {
            "p", "div", "section", "article", "header", "footer", "aside", "blockquote", "pre", "ul", "ol",
            "li", "dl", "dt", "dd", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "figure",
            "figcaption", "main",
        }
    )  # fmt: skip
    _SKIPPED = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    """Plain, normalised text from an HTML fragment (tags dropped, entities decoded)."""
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    return normalise_text("".join(extractor.parts))


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
    if not isinstance(value, str):
        return None
    link = value.strip()
    return link if urlsplit(link).scheme.lower() in ("http", "https") and urlsplit(link).netloc else None


# --- parsing ---------------------------------------------------------------------------------------


def _refuse_entities(body: bytes) -> None:
    """Raise :class:`FeedError` when the document declares XML entities."""
    # expat checks the whole document through a no-op SAX handler (no tree is built); defusedxml
    # raises as soon as expat reports an entity declaration, internal or external, general or
    # parameter. A reference to an external DTD (RSS 0.91's Netscape DOCTYPE) is allowed because it
    # is never loaded: external entities stay off here and in feedparser's own SAX parser.
    parser = defusedxml.expatreader.create_parser(forbid_dtd=False, forbid_entities=True, forbid_external=False)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    parser.setContentHandler(xml.sax.handler.ContentHandler())
    try:
        parser.parse(io.BytesIO(body))
        return
    except defusedxml.DefusedXmlException:
        raise FeedError(ENTITIES_MESSAGE) from None
    except (xml.sax.SAXException, ValueError):
        pass  # not well-formed: feedparser will use its lenient parser, checked below
    # feedparser (both parsers) takes entity declarations only from the prolog, before the first
    # element. NULs are dropped so UTF-16/32 text is searched too; EBCDIC is decoded.
    views = [body, body.replace(b"\x00", b"")]
    if body.startswith(_EBCDIC_XML_DECLARATION):
        views.append(body.decode("cp037", errors="replace").encode("utf-8"))
    for view in views:
        first = _FIRST_ELEMENT.search(view)
        prolog = view[: first.start()] if first else view
        if _ENTITY_DECLARATION.search(prolog):
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


def _item(entry: Any) -> FeedItem:
    link = _http_link(entry.get("link"))
    title = _detail_text(entry.get("title"), entry.get("title_detail"))
    title = " ".join(strip_invisible(title).split())
    summary = _detail_text(entry.get("summary"), entry.get("summary_detail"))
    content = _content(entry)
    guid = str(entry.get("id") or "").strip() or link or content_hash(title + "\n" + summary)[:16]
    return FeedItem(guid=guid, link=link, title=title, summary=summary, content=content, published=_published(entry))


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse an RSS 2.0, RSS 1.0 or Atom document fetched from ``url`` (relative links resolve against it).

    Raises :class:`FeedError` for documents declaring XML entities, HTML pages, and anything
    feedparser cannot read entries or a feed type from.
    """
    if not body.strip():
        raise FeedError("The address returned an empty document, not a feed.")
    _refuse_entities(body)
    # A stream, never bytes: feedparser.parse(bytes) first tries open(bytes), which would read a local
    # file if a server answered with a path such as b"/etc/passwd".
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": url})
    entries = parsed.get("entries") or []
    # Encoding and content-type complaints are not errors: feedparser still read the document.
    broken = parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _BENIGN_BOZO)
    if not entries and (broken or not parsed.get("version")):
        if _HTML_START.match(body[:4096]):
            raise FeedError("That address is a web page, not an RSS or Atom feed.")
        raise FeedError("That address did not return a valid RSS or Atom feed.")
    channel = parsed.get("feed") or {}
    title = " ".join(strip_invisible(_detail_text(channel.get("title"), channel.get("title_detail"))).split())
    return ParsedFeed(title=title, link=_http_link(channel.get("link")), items=[_item(e) for e in entries])


# --- records ---------------------------------------------------------------------------------------


def is_teaser(item: FeedItem) -> bool:
    """Whether the item carries only a teaser: its text (content, else summary) is under
    ``TEASER_WORDS`` words or ends in "…", "Read more" and the like."""
    text = item.content or item.summary
    return len(text.split()) < TEASER_WORDS or bool(_TEASER_END.search(text))


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
        source=feed.title.strip() or None,
        url=item.link,
    )


def _page_text(body: bytes, content_type: str, url: str, fetched_at: datetime) -> str:
    """The main text of an article page (boilerplate removed by readers.html_to_record)."""
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
        return html_to_record(html, origin=url, file=None, url=url, fallback_time=fetched_at).body
    except SkipFile:
        raise
    except Exception as exc:
        # One odd page must not fail the whole poll; the item keeps its summary.
        log.debug("text extraction failed for %s", redact_url(url), exc_info=True)
        raise FeedError("The article text could not be extracted.") from exc


async def read_feed(
    fetcher: SafeFetcher,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    fetch_full_text: bool,
    known_origins: Callable[[list[str]], Awaitable[Collection[str]]] | None = None,
    max_items: int = 50,
) -> FeedPoll:
    """Poll one feed: a conditional fetch, parsing, and (with ``fetch_full_text``) the article page of
    each new teaser item, fetched through the same ``fetcher`` (same address checks), at most
    ``PAGE_CONCURRENCY`` at a time.

    ``known_origins`` tells which of the items' origins are indexed already. A teaser item among them
    is left out: its page was read when it was new, and its teaser must not replace that text.

    Raises :class:`FetchError` when the feed cannot be fetched and :class:`FeedError` when it is not a
    usable feed; a page that fails only lands in ``page_failures``.
    """
    result = await fetcher.fetch(url, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT)
    if result.not_modified:
        return FeedPoll(records=[], etag=result.etag, last_modified=result.last_modified, not_modified=True, title=None)
    fetched_at = datetime.now(UTC)
    # feedparser is CPU-bound (a large feed takes a while); a thread keeps the event loop answering.
    feed = await asyncio.to_thread(parse_feed, result.body, result.url)
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
            # trafilatura is CPU-bound; a thread keeps the bot's event loop answering.
            text = await asyncio.to_thread(_page_text, page.body, page.content_type, page.url, fetched_at)
        except (FetchError, FeedError, SkipFile) as exc:
            failures.append(f"{item.link}: {exc}")
            return None
        # An extraction shorter than the teaser picked the wrong part of the page.
        if len(text.split()) <= len((item.content or item.summary).split()):
            failures.append(f"{item.link}: The page had no more text than the feed.")
            return None
        return text

    texts: Sequence[str | None] = await asyncio.gather(*(full_text(item) for item in items))
    records: list[ArticleRecord] = []
    seen: set[str] = set()
    skipped = 0
    for item, text in zip(items, texts, strict=True):
        try:
            # The subscribed URL, not the final one: origins must not change when a feed moves.
            record = item_record(item, feed, url, full_text=text, fetched_at=fetched_at)
        except FeedError:
            skipped += 1
            continue
        if record.origin not in seen:  # a feed listing one article twice gives one record
            seen.add(record.origin)
            records.append(record)
    return FeedPoll(
        records=records,
        etag=result.etag,
        last_modified=result.last_modified,
        not_modified=False,
        title=feed.title or None,
        page_failures=failures,
        skipped=skipped,
    )
