"""The feed poller on a real store, a real feed server and the real analyzer, without Discord.

Concurrent polls, the first poll of a new feed colliding with the loop, failures of any kind, fair
scheduling across servers, and teaser pages fetched once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.ingest.fetch import SafeFetcher
from bot.ingest.indexer import Indexer
from bot.ingest.sources.feeds import UNEXPECTED_ERROR, FeedPoller
from bot.models import FeedSource, from_iso, to_iso
from bot.store import Store
from tests.feed_server import HTML_TYPE, FeedServer, html_page, rss_document

GUILD, CHANNEL, ADMIN = 1, 100, 9
TOWNS = ["Lisbon", "Porto", "Faro", "Braga", "Coimbra", "Evora", "Aveiro", "Viseu"]


def item(n: int, *, link: str | None = None) -> dict[str, Any]:
    """A feed item that carries its full text (no page to fetch)."""
    town = TOWNS[n % len(TOWNS)]
    sentences = [
        f"The mayor of {town} opened tram line number {n} on Monday, city officials said.",
        f"The line links the harbour of {town} with its university and carries {n * 1000 + 500} people a day.",
        f"Residents of {town} welcomed the tram, and shop owners said the works had hurt trade for two years.",
        "Engineers said the new trams are quieter than buses and run every six minutes at peak hours.",
        "The city council approved a second line last week, with work due to start in the spring.",
        "Cyclists asked for safe crossings over the rails, and the council promised to add them.",
    ]
    return {
        "title": f"{town} opens tram line {n}",
        "link": link or f"https://news.example/{town.lower()}/tram-{n}",
        "guid": f"tram-{n}",
        "content": "<p>" + " ".join(sentences) + "</p>",
        "published": datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=n),
    }


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    async with SafeFetcher(timeout=5.0, max_bytes=1_000_000, allowed_private_networks=("127.0.0.1",)) as opened:
        yield opened


@pytest.fixture
def notices() -> list[tuple[int, str]]:
    return []


@pytest.fixture
def poller_for(
    store: Store, indexer_for: Callable[..., Indexer], fetcher: SafeFetcher, notices: list[tuple[int, str]]
) -> Callable[..., FeedPoller]:
    def make(
        *, max_failures: int = 5, fetch_full_text: bool = False, batch_size: int = 64, polls_due: bool = True
    ) -> FeedPoller:
        async def notify(source: FeedSource, text: str) -> None:
            notices.append((source.id, text))

        return FeedPoller(
            store,
            indexer_for(store, batch_size=batch_size),
            fetcher,
            follow_salience=0.35,
            max_failures=max_failures,
            fetch_full_text=fetch_full_text,
            notify=notify,
            idle_seconds=0.2,
            polls_due=polls_due,
        )

    return make


async def _add(store: Store, url: str, *, guild: int = GUILD, minutes: float = 10.0) -> FeedSource:
    source = await store.sources.add(guild, CHANNEL, url, minutes, ADMIN)
    assert source is not None
    return source


async def _outbox(store: Store) -> list[Any]:
    return await store.db.fetchall("SELECT article_id, channel_id FROM outbox")


async def _wait_for(condition: Callable[[], Any]) -> None:
    """Until ``condition()`` holds (at most 20 s): the feed server's counters have no event to await."""
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_four_concurrent_polls_all_succeed(
    store: Store, poller_for: Callable[..., FeedPoller], feeds: FeedServer
) -> None:
    poller = poller_for()
    sources = [
        await _add(store, feeds.serve(f"/{n}.xml", rss_document([item(2 * n), item(2 * n + 1)]))) for n in range(4)
    ]
    outcomes = await asyncio.gather(*(poller.poll(s) for s in sources))
    assert [(o.ok, o.error) for o in outcomes] == [(True, None)] * 4
    assert await store.articles.count() == 8
    for source in await store.sources.of_server(GUILD):
        assert source.failures == 0 and source.last_polled_at is not None


async def test_the_first_poll_of_a_new_feed_alerts_nothing_whoever_makes_it(
    store: Store, poller_for: Callable[..., FeedPoller], feeds: FeedServer
) -> None:
    poller = poller_for()
    url = feeds.serve("/a.xml", rss_document([item(1), item(2), item(3)]))
    source = await _add(store, url)
    # source add inserts the row, then polls it; the loop must not find it due in between…
    assert await store.sources.due(to_iso(datetime.now(UTC))) == []
    # …and when the loop's poll of the new feed comes first anyway, it is still the first poll.
    by_loop = asyncio.create_task(poller.poll(source))
    await asyncio.sleep(0)
    by_add = await poller.poll(source, adding=True)
    assert (await by_loop).ok and by_add.ok
    assert await store.articles.count() == 3
    assert await _outbox(store) == []
    feeds.serve("/a.xml", rss_document([item(1), item(2), item(3), item(4)]))
    assert (await poller.poll(source)).ok
    assert len(await _outbox(store)) == 1  # from then on, new items alert


async def test_any_exception_in_a_poll_is_a_counted_failure(
    store: Store,
    poller_for: Callable[..., FeedPoller],
    feeds: FeedServer,
    notices: list[tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    poller = poller_for(max_failures=2)
    source = await _add(store, feeds.serve("/a.xml", rss_document([item(1)])))

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("a bug in indexing")

    monkeypatch.setattr(poller.ingest, "index_records", broken)
    before = datetime.now(UTC).replace(microsecond=0)  # stored times are whole seconds
    with caplog.at_level(logging.ERROR, logger="bot.ingest.sources.feeds"):
        outcome = await poller.poll(source)
    assert not outcome.ok and outcome.error == UNEXPECTED_ERROR
    [failed] = await store.sources.of_server(GUILD)
    assert failed.failures == 1 and failed.last_error == UNEXPECTED_ERROR and not failed.paused
    assert from_iso(failed.next_poll_at) >= before + timedelta(minutes=10)  # backed off, not retried at once
    [record] = [r for r in caplog.records if r.exc_info]
    assert feeds.url("/a.xml") in record.getMessage() and f"#{source.id}" in record.getMessage()
    assert "a bug in indexing" in caplog.text

    outcome = await poller.poll(source)
    [paused] = await store.sources.of_server(GUILD)
    assert outcome.paused and paused.paused and paused.failures == 2
    assert notices == [(source.id, notices[0][1])] and "paused after 2 failures" in notices[0][1]


async def test_the_loop_goes_on_past_a_broken_feed_and_pauses_it(
    store: Store,
    poller_for: Callable[..., FeedPoller],
    feeds: FeedServer,
    notices: list[tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poller = poller_for(max_failures=3)
    broken_url = feeds.serve("/broken.xml", rss_document([item(1)]))
    good_url = feeds.serve("/good.xml", rss_document([item(2)]))
    broken = await _add(store, broken_url, minutes=0.002)
    await _add(store, good_url, minutes=0.002)
    real_index = poller.ingest.index_records

    async def index_records(records: Any, **kwargs: Any) -> Any:
        if any(r.origin.endswith("/tram-1") for r in records):
            raise ZeroDivisionError("a bug that only this feed's items reach")
        return await real_index(records, **kwargs)

    monkeypatch.setattr(poller.ingest, "index_records", index_records)
    loop = asyncio.create_task(poller.run())
    try:
        await _wait_for(lambda: notices)
        await _wait_for(lambda: feeds.hits["/good.xml"] >= 4)
    finally:
        poller.stop()
        await loop
    assert notices[0][0] == broken.id and "paused after 3 failures" in notices[0][1]
    by_url = {s.url: s for s in await store.sources.of_server(GUILD)}
    assert by_url[broken_url].paused and by_url[broken_url].failures == 3
    assert feeds.hits["/broken.xml"] == 3  # backed off and paused: not polled on every pass
    assert not by_url[good_url].paused and by_url[good_url].failures == 0
    assert await store.articles.count() == 1


async def test_one_server_with_many_due_feeds_does_not_starve_another(
    store: Store, poller_for: Callable[..., FeedPoller], feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    poller = poller_for()
    empty = rss_document([])
    for n in range(100):
        await _add(store, feeds.serve(f"/busy/{n}.xml", empty), guild=1, minutes=0.001)
    await _add(store, feeds.serve("/quiet.xml", empty), guild=2, minutes=0.001)
    await asyncio.sleep(0.1)  # all due; the busy server's feeds are the most overdue
    polled: list[int] = []  # the server of each poll the loop starts, in order
    poll = poller.poll

    async def recorded(source: FeedSource, **kwargs: Any) -> Any:
        polled.append(source.guild_id)
        return await poll(source, **kwargs)

    monkeypatch.setattr(poller, "poll", recorded)
    loop = asyncio.create_task(poller.run())
    try:
        await _wait_for(lambda: 2 in polled)
    finally:
        poller.stop()
        await loop
    assert feeds.hits["/quiet.xml"] >= 1
    # The loop's first pass takes 20 due feeds, in turns across servers: the quiet server's among them.
    assert polled.index(2) < 20


async def test_teaser_pages_are_fetched_once_and_full_text_is_never_replaced_by_the_teaser(
    store: Store, poller_for: Callable[..., FeedPoller], feeds: FeedServer
) -> None:
    poller = poller_for(fetch_full_text=True)
    paragraphs = [
        "The finance minister presented the budget to parliament on Tuesday, promising lower deficits.",
        "Opposition leaders said the plan would cut spending on schools and hospitals across the provinces.",
        "Economists expect inflation to slow further this year as the central bank keeps rates steady.",
    ]
    page = feeds.serve("/articles/budget", html_page("Budget passes", paragraphs), content_type=HTML_TYPE)
    teaser = {"title": "Budget passes", "link": page, "guid": "budget", "description": "The minister… Read more"}
    source = await _add(store, feeds.serve("/a.xml", rss_document([teaser])))
    assert (await poller.poll(source, adding=True)).ok
    [indexed] = await store.articles.latest(1)
    full_text = await _body(store, indexed.id)
    assert all(p in full_text for p in paragraphs)
    feeds.fail("/articles/budget", 500)  # were the page fetched again, this poll would fall back to the teaser
    feeds.serve("/a.xml", rss_document([teaser, item(5)]))
    assert (await poller.poll(source)).ok
    assert feeds.hits["/articles/budget"] == 1
    assert await _body(store, indexed.id) == full_text
    assert await store.articles.count() == 2


async def _body(store: Store, article_id: int) -> str:
    article = await store.articles.get(article_id, with_body=True)
    assert article is not None and article.body is not None
    return article.body


async def test_a_poll_cut_short_inside_a_batch_is_done_again_whole(
    store: Store, poller_for: Callable[..., FeedPoller], feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll that dies in the middle of a batch (its process killed, another worker taking the feed over)
    leaves nothing of that batch: its articles and their alerts are one transaction. The next poll then
    indexes and alerts every item once."""
    await store.alerts.set_channel(GUILD, CHANNEL, ADMIN)
    poller = poller_for(batch_size=2)
    source = await _add(store, feeds.serve("/a.xml", rss_document([item(n) for n in range(5)])))
    now = to_iso(datetime.now(UTC))
    await store.sources.polled(source.id, title=None, etag=None, last_modified=None, next_poll_at=now)
    real_plan = store.alerts.plan
    planned: list[int] = []

    async def dies_in_the_second_batch(article_id: int, *args: Any, **kwargs: Any) -> int:
        planned.append(article_id)
        if len(planned) == 3:  # the second batch's first article is written; its alert is not
            raise RuntimeError("the worker died here")
        return await real_plan(article_id, *args, **kwargs)

    monkeypatch.setattr(store.alerts, "plan", dies_in_the_second_batch)
    assert not (await poller.poll(source)).ok
    assert await store.articles.count() == 2 and len(await _outbox(store)) == 2  # the first batch only

    monkeypatch.setattr(store.alerts, "plan", real_plan)
    assert (await poller.poll(source)).ok
    alerted = [row["article_id"] for row in await _outbox(store)]
    assert await store.articles.count() == 5
    assert sorted(alerted) == sorted(set(alerted)) and len(alerted) == 5


async def test_where_workers_poll_the_feeds_the_bot_only_reads_a_feed_being_added(
    store: Store, poller_for: Callable[..., FeedPoller], feeds: FeedServer
) -> None:
    """``ingest = "workers"``: the bot's poller polls no due feed (a `newsdesk worker` does), and loads no
    model for them at start; `source add` still reads the new feed once, to answer at once."""
    poller = poller_for(polls_due=False)
    due = await _add(store, feeds.serve("/due.xml", rss_document([item(1)])))
    now = to_iso(datetime.now(UTC))
    await store.sources.polled(due.id, title=None, etag=None, last_modified=None, next_poll_at=now)
    assert not await poller.will_index()
    await asyncio.wait_for(poller.run(), 5)  # returns at once
    assert feeds.hits["/due.xml"] == 0
    added = await _add(store, feeds.serve("/new.xml", rss_document([item(2)])))
    assert (await poller.poll(added, adding=True)).ok and await store.articles.count() == 1
