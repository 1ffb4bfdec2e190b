"""The feeds listed in the settings are the operator's: shared with every server, registered at start,
and removed (with the articles no other source keeps) when they leave the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.planning import FeedOrigin, plan_alerts
from bot.ingest.fetch import SafeFetcher
from bot.ingest.indexer import Indexer
from bot.ingest.sources.feeds import FeedPoller
from bot.models import OPERATOR_SERVER, AlertPolicy, FeedSource, Viewer, to_iso
from bot.store import Store
from tests.feed_server import FeedServer, rss_document

STORY = {
    "title": "Porto opens a tram line",
    "link": "https://wire.example/porto-tram",
    "guid": "porto-tram",
    "content": "<p>The mayor of Porto opened a new tram line on Monday, city officials said. The line links the "
    "harbour with the university and will carry thousands of passengers a day.</p>",
    "published": datetime(2024, 6, 1, tzinfo=UTC),
}


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    async with SafeFetcher(timeout=5.0, max_bytes=1_000_000, allowed_private_networks=("127.0.0.1",)) as opened:
        yield opened


def _poller(store: Store, indexer: Indexer, fetcher: SafeFetcher, urls: list[str]) -> FeedPoller:
    async def notify(source: FeedSource, text: str) -> None:
        raise AssertionError(f"no server is told about the operator's feeds: {text}")

    return FeedPoller(
        store,
        indexer,
        fetcher,
        follow_salience=0.35,
        max_failures=5,
        fetch_full_text=False,
        notify=notify,
        operator_feeds=urls,
    )


async def test_the_settings_feeds_are_shared_and_leave_with_the_settings(
    store: Store, indexer_for: Callable[..., Indexer], fetcher: SafeFetcher, feeds: FeedServer
) -> None:
    url = feeds.serve("/wire.xml", rss_document([STORY], title="Wire"))
    poller = _poller(store, indexer_for(store), fetcher, [url, url, "http://169.254.169.254/feed"])
    await poller.sync_operator_feeds()
    await poller.sync_operator_feeds()  # again: nothing changes
    [source] = await store.sources.due(to_iso(datetime.now(UTC) + timedelta(days=1)))
    assert (source.guild_id, source.shared, source.url) == (OPERATOR_SERVER, 1, url)
    outcome = await poller.poll(source)
    assert outcome.ok and outcome.items == 1
    [match] = await store.search.find("Porto tram", viewer=Viewer.dm())
    assert match.article.title == STORY["title"]
    assert await store.search.find("Porto tram", viewer=Viewer.server(42))

    # Taken out of the settings: the feed goes, and its article with it.
    await _poller(store, indexer_for(store), fetcher, []).sync_operator_feeds()
    assert await store.sources.due(to_iso(datetime.now(UTC) + timedelta(days=1))) == []
    assert await store.articles.get(match.article.id) is None


def test_an_operator_feed_alerts_every_server_when_new_and_no_channel_otherwise() -> None:
    feed = FeedOrigin(id=3, guild_id=OPERATOR_SERVER, channel_id=0, name="Wire", shared=True)
    policy = AlertPolicy(0.35, source_id=3)
    channels: dict[int, Any] = {1: 100, 2: 200}
    new = plan_alerts(policy, is_new=True, feed=feed, alert_channels=channels, follows=[], scopes={0})
    assert [(p.guild_id, p.channel_id) for p in new] == [(1, 100), (2, 200)]
    assert plan_alerts(policy, is_new=False, feed=feed, alert_channels=channels, follows=[], scopes={0}) == []
