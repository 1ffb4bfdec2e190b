"""`newsdesk worker` processes sharing one index: real subprocesses of ``python -m bot.cli worker`` on one
SQLite file (WAL), polling feeds from a local feed server.

Two workers split the feeds between them and index every article once; one killed with SIGKILL in the
middle of its polls loses nothing, as the other takes its feeds over when their leases run out; a
worker stopped with SIGTERM finishes the poll under way and gives its leases back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Secrets, Settings
from bot.locations import Location
from bot.models import FeedSource, to_iso
from bot.store import Store
from bot.worker import FeedWorker
from tests.conftest import ROOT
from tests.fake_discord import FakeDiscord
from tests.feed_server import Behaviour, FeedServer, rss_document
from tests.settle import eventually

GUILD, CHANNEL, ADMIN = 1, 100, 9
FEEDS = 8
ITEMS = 3
LEASE_SECONDS = 2.0  # short, so that a takeover happens within the test
FEED_DELAY = 0.6  # each feed answers after this long, so a worker is caught in the middle of its polls
CITIES = ["Lyon", "Nantes", "Lille", "Rennes", "Dijon", "Nancy", "Metz", "Brest", "Caen", "Tours"]


def item(feed: int, n: int) -> dict[str, Any]:
    """A feed item with its full text: a distinct story for each feed and number."""
    city = CITIES[(feed + n) % len(CITIES)]
    number = feed * 100 + n
    sentences = [
        f"The council of {city} approved cycle path number {number} on Tuesday, the mayor's office said.",
        f"The path will run {number % 17 + 3} kilometres along the river and cost {number * 2 + 9} million euros.",
        f"Residents of {city} had asked for a safe route to the station for years, councillors said.",
        "Shop owners worried about deliveries, and the council promised loading bays on every street.",
        "Work starts in the spring and should end before the next winter, engineers said.",
    ]
    return {
        "title": f"{city} approves cycle path {number}",
        "link": f"https://news.example/{city.lower()}/path-{number}",
        "guid": f"path-{number}",
        "content": "<p>" + " ".join(sentences) + "</p>",
        "published": datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=number),
    }


def serve_feed(server: FeedServer, feed: int, items: int) -> str:
    body = rss_document([item(feed, n) for n in range(items)], title=f"Feed {feed}")
    return server.add(f"/feed-{feed}.xml", Behaviour(body=body, delay=FEED_DELAY))


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


async def start_worker(
    database: Location, log: Path, settings: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``python -m bot.cli worker`` on ``database``, in a process group of its own (its parsing and
    analysis processes with it), with short leases, the local feed server allowed and ``settings``
    (``NEWSDESK_<KEY>`` values) over them; it logs to ``log``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_") and k != "DISCORD_TOKEN"},
        "PYTHONPATH": str(ROOT),
        "NEWSDESK_LEASE_SECONDS": str(LEASE_SECONDS),
        "NEWSDESK_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1",
        "NEWSDESK_FETCH_FULL_TEXT": "false",
        "NEWSDESK_WORKERS": "1",
        "NEWSDESK_DATABASE": str(database),
        **(settings or {}),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "--config",
        str(ROOT / "config" / "newsdesk.toml"),
        "worker",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )


def holders(sources: list[FeedSource]) -> dict[int, set[int]]:
    """The feeds each worker process (by pid) holds a live lease on."""
    now = to_iso(datetime.now(UTC))
    held: dict[int, set[int]] = {}
    for source in sources:
        if source.lease_owner is not None and source.lease_until is not None and source.lease_until > now:
            pid = int(source.lease_owner.split(":")[-2])
            held.setdefault(pid, set()).add(source.id)
    return held


async def test_workers_share_the_feeds_and_a_killed_one_loses_nothing(
    location: Callable[..., Awaitable[Location]], tmp_path: Path, feed_server: FeedServer
) -> None:
    database = await location()
    async with Store.open(database) as store:
        await store.alerts.set_channel(GUILD, CHANNEL, ADMIN)
        now = to_iso(datetime.now(UTC))
        feed_of: dict[int, int] = {}
        for feed in range(FEEDS):
            source = await store.sources.add(GUILD, CHANNEL, serve_feed(feed_server, feed, ITEMS), 60, ADMIN)
            assert source is not None
            feed_of[source.id] = feed
            # Polled once before (so its new items are alerted), and due now.
            await store.sources.polled(source.id, title=None, etag=None, last_modified=None, next_poll_at=now)

        first = await start_worker(database, tmp_path / "first.log")
        second = await start_worker(database, tmp_path / "second.log")
        workers = {first.pid: first, second.pid: second}
        try:
            # Both are polling: each holds some feeds (at most four at a time, so neither takes them all).
            held = await eventually(
                lambda: _both_hold(store, set(workers)), timeout=30, what="both workers to hold feeds"
            )
            victim = first.pid
            taken_from_victim = held[victim]
            os.killpg(victim, signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL

            expected = FEEDS * ITEMS
            await eventually(
                lambda: _indexed(store, expected), timeout=30, what=f"{expected} articles and no lease held"
            )
            # Every item once, and every new article alerted once (nothing lost, nothing duplicated).
            assert await store.articles.count() == expected
            assert await store.alerts.counts() == {"pending": expected}
            polled = {s.id: s for s in await store.sources.of_server(GUILD)}
            assert all(polled[i].next_poll_at > now and polled[i].failures == 0 for i in taken_from_victim)
            # Each feed was read by one worker, but those the killed one held (read again by the other).
            for source_id, feed in feed_of.items():
                assert feed_server.hits[f"/feed-{feed}.xml"] in ((1, 2) if source_id in taken_from_victim else (1,))

            # A worker told to stop finishes the poll under way, then gives its leases back.
            source = polled[min(polled)]
            serve_feed(feed_server, feed_of[source.id], ITEMS + 1)
            await store.sources.polled(
                source.id, title=None, etag=None, last_modified=None, next_poll_at=to_iso(datetime.now(UTC))
            )
            await eventually(
                lambda: _holds(store, second.pid, source.id), timeout=15, what="the worker to claim the feed again"
            )
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 20) == 0
            assert await store.articles.count() == expected + 1
            assert holders(await store.sources.of_server(GUILD)) == {}
        finally:
            for process in workers.values():
                if process.returncode is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()


async def _both_hold(store: Store, pids: set[int]) -> dict[int, set[int]] | None:
    held = holders(await store.sources.of_server(GUILD))
    return held if set(held) == pids else None


async def _holds(store: Store, pid: int, source_id: int) -> bool:
    return source_id in holders(await store.sources.of_server(GUILD)).get(pid, set())


async def _indexed(store: Store, expected: int) -> bool:
    sources = await store.sources.of_server(GUILD)
    return await store.articles.count() >= expected and all(s.lease_owner is None for s in sources)


async def test_a_worker_tells_a_server_that_its_feed_is_paused(
    fake_discord: FakeDiscord, bot_settings: Settings, feed_server: FeedServer
) -> None:
    """A worker has no gateway: with the bot's token it posts the notice over Discord's REST API, in the
    channel where the feed was added, pinging no one."""
    fake = fake_discord
    settings = bot_settings.replace(feed_max_failures=1, allowed_private_networks=("127.0.0.1",))
    async with Store.open(settings.database) as store:
        source = await store.sources.add(fake.guild.id, fake.channel.id, feed_server.fail("/gone.xml", 503), 60, ADMIN)
        assert source is not None
        now = to_iso(datetime.now(UTC))
        await store.sources.polled(source.id, title=None, etag=None, last_modified=None, next_poll_at=now)
    stopping = asyncio.Event()
    running = asyncio.create_task(FeedWorker(settings, Secrets(discord_token=fake.token)).run(stopping))
    try:
        notice = await fake.wait_for_message(channel_id=fake.channel.id, timeout=20)
    finally:
        stopping.set()
        await running
    assert f"Feed #{source.id}" in notice.content and "is paused after 1 failure" in notice.content
    assert notice.allowed_mentions == {"parse": []}
    async with Store.open(settings.database) as store:
        [paused] = await store.sources.of_server(fake.guild.id)
    assert paused.paused and paused.pause_notified and paused.lease_owner is None
