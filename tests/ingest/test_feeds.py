"""Feeds to records: RSS 2.0, RSS 1.0 and Atom, conditional polls, teaser pages, and hostile XML."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

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
