"""Newsdesk beyond one box, end to end: on one PostgreSQL database, two gateway processes (``newsdesk run
--shards 0 --shard-count 2`` and ``--shards 1 --shard-count 2``) against the fake Discord, and two
``newsdesk worker`` processes polling feeds served locally (``ingest = "workers"``), all real subprocesses.

A burst of articles arrives through the operator's feeds (shared with every server); one worker is killed
with SIGKILL in the middle of its polls. Every article is indexed once, and every server on either shard
receives each article exactly once in its alert channel (as a post, an entry in its story's thread, or a
line of a flood-control digest), its follower pinged once per story: the surviving worker takes the dead
one's feeds over when their leases run out, and each gateway process sends its own servers' alerts.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.locations import Location
from bot.models import Follow, RoleFollow, to_iso
from bot.nlp.names import name_key
from bot.store import Store
from tests.fake_discord import FakeDiscord
from tests.fake_discord.child import start_bot_process
from tests.feed_server import FeedServer
from tests.ingest.test_workers import feed_server, holders, item, serve_feed, start_worker  # noqa: F401
from tests.settle import eventually

pytestmark = pytest.mark.postgresql_only  # several processes on one server: what PostgreSQL is there for

# A worker polls four feeds at a time: sixteen make four rounds, and the first worker is killed in its
# second, with articles of its first indexed.
FEEDS = 16
ITEMS = 45  # per feed: 720 articles, about 40 s of analysis on two busy cores
SERVERS_PER_SHARD = 2
LEASE_SECONDS = 2.0  # short, so that the dead worker's feeds are taken over within the test
FOLLOWED = "Lyon"  # a city of the feeds' stories (tests.ingest.test_workers.item), central in a tenth of them
_FOOTER = re.compile(r"^Article #(\d+) ")
_LISTED = re.compile(r"`#(\d+)`")
_MENTION = re.compile(r"<@[!&]?(\d+)>")  # a member's or a role's


async def test_two_gateways_and_two_workers_deliver_every_alert_once_though_a_worker_is_killed(
    location: Callable[..., Awaitable[Location]],
    fake_discord: FakeDiscord,
    feed_server: FeedServer,  # noqa: F811  (the fixture)
    tmp_path: Path,
) -> None:
    fake = fake_discord
    database = await location()
    guilds = [
        fake.create_guild(f"server {n} on shard {shard}", shard=(shard, 2))
        for shard in (0, 1)
        for n in range(SERVERS_PER_SHARD)
    ]
    alert_channel = {guild.id: next(iter(guild.channels)) for guild in guilds}
    follower = {guild.id: fake.create_user(f"reader of {guild.name}") for guild in guilds}
    # A role is pinged only by the process whose cache holds its server (the other would leave it out).
    readers = {guild.id: fake.create_role(guild, "Readers", mentionable=True) for guild in guilds}
    urls = [serve_feed(feed_server, feed, ITEMS) for feed in range(FEEDS)]
    async with Store.open(database) as store:
        for guild in guilds:
            await store.alerts.set_channel(guild.id, alert_channel[guild.id], guild.owner_id)
            fake.add_member(guild, follower[guild.id])
            await store.alerts.add_follow(
                Follow(guild.id, follower[guild.id].id, "entity", name_key(FOLLOWED), FOLLOWED, alert_channel[guild.id])
            )
            await store.alerts.add_role_follow(
                RoleFollow(
                    guild.id, readers[guild.id].id, "entity", name_key(FOLLOWED), FOLLOWED, alert_channel[guild.id]
                ),
                guild.owner_id,
            )
        # The operator's feeds (every server sees them), polled once before: what they bring now is new.
        await store.sources.sync_operator_feeds(urls, 10.0)
        now = to_iso(datetime.now(UTC))
        feeds = await store.sources.of_server(0)
        assert len(feeds) == FEEDS
        for source in feeds:
            await store.sources.polled(source.id, title=None, etag=None, last_modified=None, next_poll_at=now)
        feed_of = {source.id: int(re.findall(r"feed-(\d+)", source.url)[-1]) for source in feeds}

        shared = {
            "NEWSDESK_INGEST": "workers",
            "NEWSDESK_LEASE_SECONDS": str(LEASE_SECONDS),
            "NEWSDESK_ALERTS_PER_MINUTE": "120",
        }
        gateways = [
            await start_bot_process(
                fake,
                database,
                tmp_path / f"gateway-{shard}.log",
                shared,
                ["--shards", str(shard), "--shard-count", "2"],
            )
            for shard in (0, 1)
        ]
        worker_settings = {**shared, "NEWSDESK_FEEDS": ",".join(urls)}
        workers = [await start_worker(database, tmp_path / f"worker-{n}.log", worker_settings) for n in (0, 1)]
        victim, survivor = workers
        try:
            logs = [tmp_path / f"gateway-{shard}.log" for shard in (0, 1)]
            await eventually(
                lambda: all("logged in as" in log.read_text(errors="replace") for log in logs),
                timeout=60,
                what="both gateway processes to log in",
            )

            victim_log = tmp_path / "worker-0.log"

            async def unfinished_by(pid: int) -> set[int]:
                """The feeds ``pid`` holds a live lease on and has not polled yet."""
                sources = await store.sources.of_server(0)
                held = holders(sources).get(pid, set())
                return {s.id for s in sources if s.id in held and s.next_poll_at <= now}

            async def victim_in_the_middle() -> bool:
                # It has indexed a feed's articles, and is polling others.
                indexed = " new articles" in victim_log.read_text(errors="replace")
                return indexed and bool(await unfinished_by(victim.pid))

            await eventually(victim_in_the_middle, timeout=90, what="the first worker to be polling, some indexed")
            os.killpg(victim.pid, signal.SIGKILL)
            assert await victim.wait() == -signal.SIGKILL
            # The polls it had not finished, for the survivor to do again once their leases run out.
            orphaned = await unfinished_by(victim.pid)
            assert orphaned, "the killed worker was polling no feed"

            expected = FEEDS * ITEMS

            state: dict[str, object] = {}

            async def settled() -> bool:
                state["articles"] = await store.articles.count()
                # A lease the dead worker left on a feed it had polled runs out without being cleared.
                state["leased feeds"] = sorted(set().union(*holders(await store.sources.of_server(0)).values()))
                state["outbox"] = await store.alerts.counts()
                state["leased alerts"] = (
                    await store.db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE lease_owner IS NOT NULL")
                )["n"]
                return (
                    state["articles"] == expected
                    and not state["leased feeds"]
                    and not state["outbox"].get("pending")
                    and not state["leased alerts"]
                )

            try:
                await eventually(settled, timeout=240, what=f"{expected} articles indexed and every alert out")
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {state}") from None

            # Every item indexed once.
            assert await store.articles.count() == expected
            rows = await store.db.fetchall("SELECT id, title FROM articles")
            articles = {int(row["id"]) for row in rows}
            assert sorted(row["title"] for row in rows) == sorted(
                item(feed, n)["title"] for feed in range(FEEDS) for n in range(ITEMS)
            )
            # The survivor finished each poll the dead worker left unfinished (only it could record it).
            polled = {source.id: source for source in await store.sources.of_server(0)}
            assert set(polled) == set(feed_of), "the workers registered the feeds again under new ids"
            for source_id in orphaned:
                assert polled[source_id].next_poll_at > now and polled[source_id].failures == 0
            assert survivor.returncode is None
            # Each alert sent, on its own or in a digest; none dropped.
            assert set(await store.alerts.counts()) <= {"sent", "digested"}

            story_of = {
                int(row["article_id"]): int(row["story_id"])
                for row in await store.db.fetchall("SELECT article_id, story_id FROM article_stories")
            }
            assert set(story_of) == articles
            followed_stories = await _stories_about(store, name_key(FOLLOWED))
            assert followed_stories, f"no article is about {FOLLOWED}"
            delivered, posts, pings = _deliveries(fake, alert_channel)
            for guild in guilds:
                channel = alert_channel[guild.id]
                # Each article once in the server's alert channel (or in its story's thread there)…
                assert set(delivered[channel]) == articles, (guild.name, sorted(articles - set(delivered[channel])))
                assert [a for a, n in delivered[channel].items() if n > 1] == [], guild.name
                # …each story posted once at the top of the channel…
                assert sorted(story_of[article] for article in posts[channel]) == sorted(set(story_of.values()))
                # …and the follower and the role pinged once per story of an article central to what they
                # follow, by the process serving the server's shard.
                assert pings[channel][follower[guild.id].id] == len(followed_stories), guild.name
                assert pings[channel][readers[guild.id].id] == len(followed_stories), guild.name
            # Not even tried twice: no send was answered with an earlier message for its nonce.
            assert not [post for post in fake.requests_to("POST", "/channels/*/messages") if post.deduplicated]
        finally:
            for process in [*workers, *gateways]:
                if process.returncode is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()


def _deliveries(
    fake: FakeDiscord, alert_channel: dict[int, int]
) -> tuple[dict[int, Counter[int]], dict[int, list[int]], dict[int, Counter[int]]]:
    """For each alert channel: how many times each article was delivered there (its own post, an entry in
    a thread on its story's post, a line of a flood-control digest), the articles posted at the top of the
    channel, and how many messages pinged each member or role (in the channel and its threads)."""
    channels = set(alert_channel.values())
    delivered: dict[int, Counter[int]] = defaultdict(Counter)
    posts: dict[int, list[int]] = defaultdict(list)
    pings: dict[int, Counter[int]] = defaultdict(Counter)
    for message in fake.messages:
        if message.deleted:
            continue
        channel = top = message.channel_id
        if channel not in channels:
            channel = fake.channels[channel].parent_id if channel in fake.channels else None
            if channel not in channels:
                continue
        for embed in message.embeds:
            if match := _FOOTER.match((embed.get("footer") or {}).get("text", "")):
                delivered[channel][int(match.group(1))] += 1
                if top == channel:
                    posts[channel].append(int(match.group(1)))
        if "(flood control)" in (message.content or ""):
            delivered[channel].update(int(n) for n in _LISTED.findall(message.content))
        pings[channel].update(int(n) for n in _MENTION.findall(message.content or ""))
    return delivered, posts, pings


async def _stories_about(store: Store, entity_key: str) -> set[int]:
    """The stories of the articles where the entity ``entity_key`` is central enough to ping its followers."""
    rows = await store.db.fetchall(
        "SELECT DISTINCT s.story_id FROM article_entities ae JOIN entities e ON e.id = ae.entity_id "
        "JOIN article_stories s ON s.article_id = ae.article_id WHERE e.key = ? AND ae.salience >= ?",
        (entity_key, Settings().follow_salience),
    )
    return {int(row["story_id"]) for row in rows}
