"""Feeds to records: RSS 2.0, RSS 1.0 and Atom, conditional polls, teaser pages, and hostile XML."""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.ingest import feeds
from bot.ingest.feeds import (
    ENTITIES_MESSAGE,
    FeedError,
    FeedItem,
    ParsedFeed,
    canonical_url,
    html_text,
    is_teaser,
    item_record,
    parse_feed,
    read_feed,
)
from bot.ingest.fetch import PRIVATE_MESSAGE, FetchError, SafeFetcher
from bot.ingest.readers import content_hash
from tests.feed_server import (
    ATOM_TYPE,
    BILLION_LAUGHS,
    HTML_TYPE,
    MALFORMED_XML,
    FeedServer,
    atom_document,
    external_entity_document,
    html_page,
    rss1_document,
    rss_document,
)

FEED_URL = "https://news.example/feed.xml"
WHEN = datetime(2024, 4, 12, 18, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 1, tzinfo=UTC)
LONG = " ".join(f"Sentence number {n} of the full article says something about the budget." for n in range(20))
ARTICLE = [
    "The finance minister presented the budget to parliament on Tuesday, promising lower deficits.",
    "Opposition leaders said the plan would cut spending on schools and hospitals across the provinces.",
    "Economists expect inflation to slow further this year as the central bank keeps rates steady.",
    "The vote on the budget is scheduled for next month after three weeks of committee hearings.",
]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    async with SafeFetcher(timeout=2.0, max_bytes=1_000_000, allowed_private_networks=("127.0.0.1",)) as opened:
        yield opened


def _item(**changes: object) -> FeedItem:
    values: dict[str, object] = {
        "guid": "g1",
        "link": "https://news.example/a",
        "title": "Budget passes",
        "summary": "Short teaser.",
        "content": None,
        "published": WHEN,
    }
    values.update(changes)
    return FeedItem(**values)  # type: ignore[arg-type]


# --- parsing ---------------------------------------------------------------------------------------


async def test_rss2_feed_becomes_records(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.serve(
        "/rss.xml",
        rss_document(
            [
                {
                    "title": "Budget <b>passes</b>",
                    "link": "https://news.example/budget?utm_source=rss&id=7#top",
                    "guid": "budget-7",
                    "description": "<p>Teaser &amp; more</p>",
                    "content": f"<p>{LONG}</p><script>alert('x')</script>",
                    "published": WHEN,
                },
                {"title": "No date", "link": "https://news.example/other", "description": LONG},
            ],
            title="Example News",
        ),
    )
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False)
    assert poll.title == "Example News" and not poll.not_modified and not poll.page_failures
    first, second = poll.records
    assert first.origin == "https://news.example/budget?id=7"
    assert first.url == "https://news.example/budget?utm_source=rss&id=7#top"
    assert (first.title, first.source, first.published) == ("Budget passes", "Example News", WHEN)
    assert first.body == LONG and first.content_hash == content_hash(LONG)  # content:encoded, no script
    assert not first.title_derived and first.file is None
    assert second.body == LONG and second.published > WHEN  # no date: the time it was fetched


async def test_atom_feed_becomes_records(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.serve(
        "/atom.xml",
        atom_document(
            [
                {
                    "title": "Atom &amp; Eve",
                    "link": "https://news.example/atom-1",
                    "id": "urn:atom:1",
                    "summary": "<em>Short</em> summary.",
                    "content": "<h2>Heading</h2><p>" + LONG + "</p>",
                    "updated": "2024-04-12T20:00:00+02:00",
                }
            ],
            title="Atom News",
        ),
        content_type=ATOM_TYPE,
    )
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False)
    [record] = poll.records
    assert (record.title, record.source, record.origin) == ("Atom & Eve", "Atom News", "https://news.example/atom-1")
    assert record.body == "Heading\n\n" + LONG
    assert record.published == WHEN


def test_rss1_feed_is_parsed() -> None:
    feed = parse_feed(
        rss1_document(
            [
                {
                    "title": "RDF item",
                    "link": "https://news.example/rdf",
                    "description": "Old &amp; good",
                    "published": WHEN,
                }
            ],
            title="RDF News",
        ),
        FEED_URL,
    )
    assert feed.title == "RDF News"
    [item] = feed.items
    assert (item.title, item.link, item.summary, item.published) == (
        "RDF item",
        "https://news.example/rdf",
        "Old & good",
        WHEN,
    )


def test_relative_links_resolve_against_the_feed_url() -> None:
    feed = parse_feed(rss_document([{"title": "Rel", "link": "/story/1", "description": "x"}]), FEED_URL)
    assert feed.items[0].link == "https://news.example/story/1"


def test_bidi_controls_and_zero_width_characters_leave_feed_titles() -> None:
    items = [{"title": "\u202egnp.exe \u200bnews", "link": "https://news.example/b", "description": "x"}]
    feed = parse_feed(rss_document(items, title="\u2067Daily\u2069 News"), FEED_URL)
    assert feed.title == "Daily News" and feed.items[0].title == "gnp.exe news"
    record = item_record(_item(title="\u202eevil\u200f title"), feed, FEED_URL, fetched_at=NOW)
    assert record.title == "evil title" and record.source == "Daily News"


def test_html_in_titles_and_summaries_becomes_text() -> None:
    feed = parse_feed(
        rss_document(
            [
                {
                    "title": "<i>Big</i> &amp; <b>bold</b>",
                    "link": "https://news.example/b",
                    "description": "<p>One <a href='x'>link</a>.</p><style>p{}</style><ul><li>Two</li></ul>",
                }
            ]
        ),
        FEED_URL,
    )
    [item] = feed.items
    assert item.title == "Big & bold"
    assert item.summary == "One link.\n\nTwo"


def test_html_text_keeps_words_and_drops_scripts() -> None:
    html = "<h1>Title</h1><p>One&nbsp;<b>two</b><br>three</p><script>var x = 1;</script><style>p{}</style>"
    assert html_text(html) == "Title\n\nOne two\nthree"


def test_slightly_malformed_feed_is_read_leniently() -> None:
    """An unescaped & is not XML, but feedparser's lenient parser still finds the item."""
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>A & B</title><item><title>Fish & chips</title><link>https://news.example/f</link></item></channel></rss>'
    [item] = parse_feed(body, FEED_URL).items
    assert item.title == "Fish & chips"


def test_feed_without_items_is_not_an_error() -> None:
    body = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(body, FEED_URL) == ParsedFeed(title="Quiet", link=None, items=[])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (MALFORMED_XML, "That address did not return a valid RSS or Atom feed."),
        (b"just some text", "That address did not return a valid RSS or Atom feed."),
        (b'{"items": []}', "That address did not return a valid RSS or Atom feed."),
        (html_page("A page", ["Hello."]), "That address is a web page, not an RSS or Atom feed."),
        (b"  \n", "The address returned an empty document, not a feed."),
    ],
)
def test_malformed_documents_raise_feed_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(body, FEED_URL)
    assert str(caught.value) == message


async def test_malformed_feed_from_the_server_raises_feed_error(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.malformed("/bad.xml")
    with pytest.raises(FeedError, match="not return a valid RSS or Atom feed"):
        await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=True)


def test_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    """feedparser.parse(bytes) would open() a body that happens to be a file path; we never let it."""
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss_document([{"title": "LOCAL SECRET", "link": "https://x.example/s"}]))
    with pytest.raises(FeedError):
        parse_feed(str(secret).encode(), FEED_URL)


# --- hostile XML -----------------------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(FeedError) as caught:
        parse_feed(BILLION_LAUGHS, FEED_URL)
    assert str(caught.value) == ENTITIES_MESSAGE
    assert time.perf_counter() - started < 1


async def test_billion_laughs_from_the_server_is_refused(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.billion_laughs("/lol.xml")
    with pytest.raises(FeedError, match="entities"):
        await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False)


def test_quadratic_blowup_is_refused() -> None:
    big = "x" * 50_000
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]><rss version="2.0"><channel><title>Q</title>'
        f"<item><title>t</title><description>{'&a;' * 5000}</description></item></channel></rss>"
    ).encode()
    with pytest.raises(FeedError, match="entities"):
        parse_feed(body, FEED_URL)


def test_external_file_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    with pytest.raises(FeedError) as caught:
        parse_feed(external_entity_document(secret.as_uri()), FEED_URL)
    assert str(caught.value) == ENTITIES_MESSAGE and "SECRET" not in str(caught.value)


async def test_external_http_entities_are_refused_without_fetching(server: FeedServer) -> None:
    server.serve("/secret", b"TOP SECRET", content_type="text/plain")
    general = external_entity_document(server.url("/secret"))
    parameter = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % remote SYSTEM "{server.url("/secret")}"> %remote;]>'
        '<rss version="2.0"><channel><title>P</title><item><title>t</title></item></channel></rss>'
    ).encode()
    for body in (general, parameter):
        with pytest.raises(FeedError, match="entities"):
            parse_feed(body, FEED_URL)
    assert server.hits["/secret"] == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entities_in_a_malformed_document_are_refused(encoding: str) -> None:
    """A syntax error before the DTD stops expat early; the prolog is still searched."""
    body = BILLION_LAUGHS.replace(b"<!DOCTYPE", b"<!-- bad -- comment -->\n<!DOCTYPE", 1)
    body = body.replace(b'<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>'.encode(), 1)
    with pytest.raises(FeedError) as caught:
        parse_feed(body.decode().encode(encoding), FEED_URL)
    assert str(caught.value) == ENTITIES_MESSAGE


async def test_external_dtd_reference_is_allowed_but_never_loaded(server: FeedServer) -> None:
    """RSS 0.91 feeds name Netscape's DTD; no entities are declared, so the feed is fine."""
    server.serve("/rss-0.91.dtd", b"<!ENTITY eacute '&#233;'>", content_type="application/xml-dtd")
    # (An &eacute; in such a feed is dropped by feedparser's strict parser: the DTD is never read.)
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        f'"{server.url("/rss-0.91.dtd")}"><rss version="0.91"><channel><title>Old</title>'
        "<link>https://news.example/</link><description>d</description>"
        "<item><title>Old times</title><link>https://news.example/c</link><description>x</description></item>"
        "</channel></rss>"
    ).encode()
    [item] = parse_feed(body, FEED_URL).items
    assert (item.title, item.link) == ("Old times", "https://news.example/c")
    assert server.hits["/rss-0.91.dtd"] == 0


# --- conditional polls -----------------------------------------------------------------------------


async def test_unchanged_feed_is_not_modified(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.serve(
        "/rss.xml",
        rss_document([{"title": "A", "link": "https://news.example/a", "description": LONG}]),
        etag='"abc"',
        last_modified=WHEN,
    )
    first = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False)
    assert len(first.records) == 1 and first.etag == '"abc"' and first.last_modified
    second = await read_feed(fetcher, url, etag=first.etag, last_modified=first.last_modified, fetch_full_text=False)
    assert second.not_modified and second.records == []
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    assert server.requests["/rss.xml"][1]["If-None-Match"] == '"abc"'
    assert server.hits["/rss.xml"] == 2


# --- teasers and pages -----------------------------------------------------------------------------


async def test_teaser_page_is_fetched_and_its_main_text_used(server: FeedServer, fetcher: SafeFetcher) -> None:
    page = server.serve("/articles/budget", html_page("Budget passes", ARTICLE), content_type=HTML_TYPE)
    full = server.serve("/articles/full", html_page("Full", ARTICLE), content_type=HTML_TYPE)
    url = server.serve(
        "/rss.xml",
        rss_document(
            [
                {"title": "Budget passes", "link": page, "description": "The minister presented… Read more"},
                {"title": "Full item", "link": full, "description": "Teaser", "content": LONG},
            ]
        ),
    )
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=True)
    teaser, complete = poll.records
    assert poll.page_failures == []
    assert all(paragraph in teaser.body for paragraph in ARTICLE)
    assert "Privacy policy" not in teaser.body and "Sport" not in teaser.body  # boilerplate removed
    assert teaser.title == "Budget passes" and teaser.url == page
    assert complete.body == LONG
    assert server.hits["/articles/budget"] == 1 and server.hits["/articles/full"] == 0


async def test_failed_teaser_pages_keep_the_summary(server: FeedServer, fetcher: SafeFetcher) -> None:
    missing = server.url("/articles/missing")  # 404
    private = "http://10.255.255.1/articles/x"
    url = server.serve(
        "/rss.xml",
        rss_document(
            [
                {"title": "Gone", "link": missing, "description": "A short teaser."},
                {"title": "Internal", "link": private, "description": "Another teaser."},
            ]
        ),
    )
    started = time.perf_counter()
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=True)
    assert time.perf_counter() - started < 1.5  # the private page was refused, not waited for
    assert [r.body for r in poll.records] == ["A short teaser.", "Another teaser."]
    assert sorted(poll.page_failures) == sorted(
        [f"{missing}: The server answered 404 (Not Found).", f"{private}: {PRIVATE_MESSAGE}"]
    )


async def test_pages_are_not_fetched_without_full_text(server: FeedServer, fetcher: SafeFetcher) -> None:
    page = server.serve("/articles/a", html_page("A", ARTICLE), content_type=HTML_TYPE)
    url = server.serve("/rss.xml", rss_document([{"title": "A", "link": page, "description": "Teaser…"}]))
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False)
    assert poll.records[0].body == "Teaser…"
    assert server.hits["/articles/a"] == 0


async def test_pages_are_fetched_only_for_new_teaser_items(server: FeedServer, fetcher: SafeFetcher) -> None:
    known_page = server.serve("/articles/known", html_page("Known", ARTICLE), content_type=HTML_TYPE)
    new_page = server.serve("/articles/new", html_page("New", ARTICLE), content_type=HTML_TYPE)
    url = server.serve(
        "/rss.xml",
        rss_document(
            [
                {"title": "Known", "link": known_page + "?utm_source=rss", "description": "Old news… Read more"},
                {"title": "New", "link": new_page, "description": "New news… Read more"},
                {"title": "Full", "link": "https://news.example/full", "description": LONG},
            ]
        ),
    )
    asked: list[list[str]] = []

    async def known_origins(origins: list[str]) -> set[str]:
        asked.append(origins)
        return {known_page, "https://news.example/full"}

    poll = await read_feed(
        fetcher, url, etag=None, last_modified=None, fetch_full_text=True, known_origins=known_origins
    )
    assert asked == [[known_page, new_page, "https://news.example/full"]]  # canonical origins, one query
    # The known teaser keeps the text it was indexed with; a known full item is compared as usual.
    assert [r.title for r in poll.records] == ["New", "Full"]
    assert server.hits["/articles/known"] == 0 and server.hits["/articles/new"] == 1


async def test_page_fetches_are_capped_at_four_at_once(server: FeedServer, fetcher: SafeFetcher) -> None:
    items = []
    for n in range(10):
        link = server.slow(f"/articles/{n}", 0.1, html_page(f"Story {n}", ARTICLE), content_type=HTML_TYPE)
        items.append({"title": f"Story {n}", "link": link, "description": "Teaser."})
    url = server.serve("/rss.xml", rss_document(items))
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=True)
    assert len(poll.records) == 10 and not poll.page_failures
    assert 2 <= server.max_in_flight <= 4


async def test_max_items_and_duplicate_links(server: FeedServer, fetcher: SafeFetcher) -> None:
    items = [{"title": f"T{n}", "link": f"https://news.example/{n}", "description": LONG} for n in range(5)]
    items.insert(1, {"title": "Again", "link": "https://news.example/0?utm_campaign=x", "description": LONG})
    url = server.serve("/rss.xml", rss_document(items))
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False, max_items=4)
    assert [r.origin for r in poll.records] == [f"https://news.example/{n}" for n in range(3)]


async def test_feed_fetch_errors_propagate(server: FeedServer, fetcher: SafeFetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await read_feed(fetcher, server.fail("/rss.xml", 500), etag=None, last_modified=None, fetch_full_text=True)
    assert not caught.value.permanent


# Billion laughs, five levels deep (100 000 "lol"s), declared however a document may declare it.
_LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{n} "{("&lol" + ("" if n == 1 else str(n - 1)) + ";") * 10}">' for n in range(1, 6)
)
_PARAMETER_LAUGHS = '<!ENTITY % p "<!ENTITY lol \'lol\'>"> %p;'


def _laughs_document(encoding: str, *, comment: bool, subset: str = _LAUGHS, bom: bool = False) -> bytes:
    """A feed declaring entities in an internal subset, encoded in ``encoding`` (a BOM first if asked)."""
    declared = encoding.split("-sig")[0].lower()
    prolog = f'<?xml version="1.0" encoding="{declared}"?>\n'
    if comment:  # a comment holding "<x>" once ended the old prolog scan before the subset
        prolog += "<!-- generated by <x> 2.0 -->\n"
    text = (
        f"{prolog}<!DOCTYPE rss [{subset}]>\n"
        '<rss version="2.0"><channel><title>Feed 日本</title><item><title>Laughs</title>'
        "<link>https://news.example/lol</link><description>&lol5;</description></item></channel></rss>"
    )
    data = text.encode(encoding)
    return (codecs.BOM_UTF8 if bom and encoding == "utf-8" else b"") + data


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "shift_jis", "euc-jp"]
)
@pytest.mark.parametrize("comment", [False, True])
def test_entities_are_refused_in_every_encoding(encoding: str, comment: bool) -> None:
    """Whatever the encoding feedparser would decode (BOM or not, one defusedxml refuses or not), and
    whatever precedes the subset, a document declaring entities is refused before feedparser sees it."""
    for body in (
        _laughs_document(encoding, comment=comment),
        _laughs_document(encoding, comment=comment, subset=_PARAMETER_LAUGHS),
    ):
        with pytest.raises(FeedError) as caught:
            parse_feed(body, FEED_URL)
        assert str(caught.value) == ENTITIES_MESSAGE


def test_entities_hidden_by_a_declared_encoding_are_refused() -> None:
    """In UTF-7 "<!ENTITY" need not contain a "<" byte; the document is checked as feedparser decodes it."""
    hidden = ("<!DOCTYPE rss [" + _LAUGHS + "]>").replace("<", "+ADw-").replace("!", "+ACE-")
    body = (
        b'<?xml version="1.0" encoding="utf-7"?>\n'
        + hidden.encode("ascii")
        + b'\n<rss version="2.0"><channel><title>T</title><item><title>x</title>'
        b"<description>&lol5;</description></item></channel></rss>"
    )
    assert b"<!ENTITY" not in body and b"<!DOCTYPE" not in body
    with pytest.raises(FeedError) as caught:
        parse_feed(body, FEED_URL)
    assert str(caught.value) == ENTITIES_MESSAGE


def test_an_internal_subset_without_entities_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ATTLIST rss version CDATA "2.0">]>'
        b'<rss version="2.0"><channel><title>T</title><item><title>x</title></item></channel></rss>'
    )
    with pytest.raises(FeedError) as caught:
        parse_feed(body, FEED_URL)
    assert str(caught.value) == ENTITIES_MESSAGE


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "shift_jis", "cp037"])
def test_feeds_in_other_encodings_still_parse(encoding: str) -> None:
    declared = encoding.split("-sig")[0]
    title = "Feed" if encoding == "cp037" else "Feed 日本"  # EBCDIC has no kanji
    body = (
        f'<?xml version="1.0" encoding="{declared}"?>\n<!-- a comment -->\n'
        f'<rss version="2.0"><channel><title>{title}</title><item><title>Tokyo news</title>'
        "<link>https://news.example/t</link><description>Trains ran on time.</description></item></channel></rss>"
    ).encode(encoding)
    feed = parse_feed(body, FEED_URL)
    assert feed.title == title
    assert [(i.title, i.summary) for i in feed.items] == [("Tokyo news", "Trains ran on time.")]


def test_a_hostile_xml_declaration_is_refused_at_once() -> None:
    """feedparser reads the declared encoding with a pattern cubic in the first line's length; the
    declaration must end within 1024 characters, so that line is short (13 KB once took 5 s)."""
    body = (
        b'<?xml version="1.0" ' + b'encoding="a" ' * 100_000 + b'\n<rss version="2.0"><channel><title>T</title>'
        b"<item><title>x</title></item></channel></rss>"
    )
    with pytest.raises(FeedError, match="valid RSS or Atom"):
        parse_feed(body, FEED_URL)


def test_a_hostile_first_line_after_the_declaration_parses() -> None:
    """A one-line feed whose text repeats 'encoding="…"' parses: the declaration gets a line of its own."""
    text = 'encoding="a" ' * 30_000
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title><item><title>x</title>'
        f"<link>https://news.example/x</link><description>{text}</description></item></channel></rss>"
    ).encode()
    [item] = parse_feed(body, FEED_URL).items
    assert item.summary == text.strip()


def test_a_huge_prolog_is_read_in_linear_time() -> None:
    """feedparser's DOCTYPE scan is quadratic in the blank lines before the first element (80 KB took
    36 s); runs of white space in the prolog are collapsed first, and a second DOCTYPE is refused."""
    rss = b'<rss version="2.0"><channel><title>T</title><item><title>x</title></item></channel></rss>'
    [item] = parse_feed(b'<?xml version="1.0"?>' + b"\n" * 2_000_000 + rss, FEED_URL).items
    assert item.title == "x"
    with pytest.raises(FeedError, match="valid RSS or Atom"):
        parse_feed(b'<?xml version="1.0"?>' + b"<!DOCTYPE rss>\n" * 100_000 + rss, FEED_URL)


def test_an_unclosed_comment_in_an_item_is_read_in_linear_time() -> None:
    """feedparser's HTML sanitiser searched the rest of the item for the end of every unclosed comment
    in one regex call holding the GIL: 1.75 MB took 210 s. HTML is only ever reduced to text here."""
    body = rss_document([{"title": "C", "link": "https://news.example/c", "description": "<!--" * 250_000}])
    started = time.perf_counter()
    [item] = parse_feed(body, FEED_URL).items
    assert time.perf_counter() - started < 5  # about 0.3 s; the sanitiser took minutes
    assert item.summary == ""


def test_html_text_of_hostile_markup_is_linear() -> None:
    """html.parser takes quadratic time on unclosed tags (120 KB of "<a b='" took 36 s); libxml2 does not."""
    started = time.perf_counter()
    for hostile in ("<a b='" * 20_000, "<!--" * 30_000, "<a" * 60_000, "</" * 60_000, "<div>" * 50_000):
        assert html_text(hostile) == ""
    assert time.perf_counter() - started < 2


def test_html_text_keeps_tails_of_comments_and_decodes_what_it_keeps() -> None:
    assert html_text("a<!-- c -->b<?pi x?>c &amp; d\x00e") == "abc & de"
    assert html_text("<p>é</p>".encode().decode("utf-8")) == "é"
    assert html_text("<!-- only a comment -->") == ""


# --- records, teasers, URLs ------------------------------------------------------------------------


def test_item_without_link_gets_feed_url_and_guid_origin() -> None:
    feed = ParsedFeed(title="Example News", link=None, items=[])
    record = item_record(_item(link=None, guid="tag:news,2024:7"), feed, FEED_URL, fetched_at=NOW)
    assert record.origin == f"{FEED_URL}#tag:news,2024:7" and record.url is None


def test_item_record_prefers_full_text_then_content_then_summary() -> None:
    feed = ParsedFeed(title="", link=None, items=[])
    item = _item(summary="Summary.", content="Content.", published=None, title="")
    assert item_record(item, feed, FEED_URL, full_text="Full text.", fetched_at=NOW).body == "Full text."
    record = item_record(item, feed, FEED_URL, fetched_at=NOW)
    assert record.body == "Content." and record.published == NOW and record.source is None
    assert not record.date_known  # only when it was read: the story clustering must not trust it
    assert item_record(_item(), feed, FEED_URL, fetched_at=NOW).date_known
    assert record.title == "Content." and record.title_derived
    assert item_record(_item(summary="Summary."), feed, FEED_URL, fetched_at=NOW).body == "Summary."
    with pytest.raises(FeedError):
        item_record(_item(summary=""), feed, FEED_URL, fetched_at=NOW)


@pytest.mark.parametrize(
    ("item", "teaser"),
    [
        (_item(summary="Short teaser."), True),
        (_item(summary=LONG), False),
        (_item(summary=LONG + " Read more"), True),
        (_item(summary=LONG + " Continue reading →"), True),
        (_item(summary=LONG + " …"), True),
        (_item(summary=LONG + " [...]"), True),
        (_item(summary="Short.", content=LONG), False),
    ],
)
def test_is_teaser(item: FeedItem, teaser: bool) -> None:
    assert is_teaser(item) is teaser


def test_is_teaser_looks_only_at_the_end_of_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The end-of-teaser pattern backtracks over a run of dots: over a whole text that is quadratic
    (40 000 dots took 5 s, on every poll, on the event loop). Only the last characters are searched."""
    searched: list[int] = []
    pattern = feeds._TEASER_END

    class Spy:
        def search(self, text: str) -> object:
            searched.append(len(text))
            return pattern.search(text)

    monkeypatch.setattr(feeds, "_TEASER_END", Spy())
    assert is_teaser(_item(summary=LONG + " Read more" + "." * 40_000))
    assert not is_teaser(_item(summary=LONG + " " + "x" * 40_000))
    assert searched and max(searched) <= feeds.TEASER_TAIL_CHARS


async def test_items_become_records_off_the_event_loop(
    server: FeedServer, fetcher: SafeFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Normalising and hashing item text is CPU work on untrusted text: it runs in a worker thread."""
    threads: list[bool] = []
    make = feeds.item_record

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return make(*args, **kwargs)

    monkeypatch.setattr(feeds, "item_record", spy)
    url = server.serve("/f.xml", rss_document([{"title": "A", "link": "https://news.example/a", "content": LONG}]))
    poll = await read_feed(fetcher, url, etag=None, last_modified=None, fetch_full_text=False)
    assert len(poll.records) == 1 and threads == [False]


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://news.example/a?utm_source=rss&utm_medium=feed&id=3", "https://news.example/a?id=3"),
        ("https://news.example/a?id=3&UTM_Campaign=x#comments", "https://news.example/a?id=3"),
        ("https://news.example/a?fbclid=abc&gclid=def", "https://news.example/a"),
        ("HTTPS://News.Example:443/a?b=2&a=1", "https://news.example/a?b=2&a=1"),
        ("http://news.example", "http://news.example/"),
        ("https://news.example/a?q=&utm_term=", "https://news.example/a?q="),
    ],
)
def test_canonical_url_drops_tracking_and_fragment(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_item_fields_are_bounded_where_they_are_read() -> None:
    """Nothing downstream needs more than MAX_ITEM_CHARS of an item's text, a real link or a short id."""
    body = rss_document(
        [
            {"title": "T " * 2000, "link": "https://news.example/" + "a" * 3000, "guid": "g" * 5000,
             "description": "Harbour news. " * 60_000, "content": "<p>Ferry news.</p>" * 60_000},
        ]
    )  # fmt: skip
    [item] = parse_feed(body, FEED_URL).items
    assert item.link is None and len(item.guid) == 64  # the id's hash
    assert len(item.summary) <= feeds.MAX_ITEM_CHARS and item.summary.endswith("news.")
    assert item.content is not None and len(item.content) <= feeds.MAX_ITEM_CHARS
    assert len(item.title) <= feeds.MAX_TITLE_CHARS
