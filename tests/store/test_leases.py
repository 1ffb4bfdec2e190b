"""Claiming work with leases, on a real index: feeds for the pollers, outbox alerts for the dispatchers.

Two store connections on one file stand for two processes: each claim is one statement, so what one
claims the other cannot, until the lease runs out or is given back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.planning import alert_nonce
from bot.models import to_iso
from bot.store import Store
from tests.backends import copy_database

GUILD, CHANNEL, ADMIN = 1, 100, 9


def at(seconds: float) -> str:
    """The time ``seconds`` from now, as the store writes it."""
    return to_iso(datetime.now(UTC) + timedelta(seconds=seconds))


@pytest.fixture
async def other(store: Store) -> AsyncIterator[Store]:
    """A second connection to the same index: another process."""
    async with Store.open(store.path) as opened:
        yield opened


async def due_feeds(store: Store, count: int) -> list[int]:
    ids = []
    for n in range(count):
        source = await store.sources.add(GUILD + n % 2, CHANNEL, f"https://feeds.example/{n}.xml", 10, ADMIN)
        assert source is not None
        await store.sources.polled(source.id, title=None, etag=None, last_modified=None, next_poll_at=at(-60))
        ids.append(source.id)
    return ids


async def test_a_feed_goes_to_one_claimer_until_its_lease_runs_out(store: Store, other: Store) -> None:
    feeds = await due_feeds(store, 5)
    mine = await store.sources.claim("a", at(0), at(60), 3)
    theirs = await other.sources.claim("b", at(0), at(60), 3)
    assert len(mine) == 3 and len(theirs) == 2
    assert sorted(s.id for s in mine + theirs) == feeds
    assert await store.sources.claim("c", at(0), at(60), 10) == []
    # Taken in turns across servers (two servers here), as the single poller took them.
    assert {s.guild_id for s in mine[:2]} == {GUILD, GUILD + 1}
    # While b's leases last nothing is due for anyone else; then they are, and c takes them over.
    assert await store.sources.next_due() >= at(59)
    assert len(await other.sources.claim("c", at(61), at(120), 10)) == 5
    await other.sources.release("c", [feeds[0]])
    assert [s.id for s in await store.sources.claim("a", at(61), at(120), 10)] == [feeds[0]]


async def test_renewing_keeps_a_lease_and_release_gives_back_only_ones_own(store: Store, other: Store) -> None:
    feeds = await due_feeds(store, 2)
    await store.sources.claim("a", at(0), at(1), 1)
    assert await store.sources.renew("a", at(60)) == 1
    assert [s.id for s in await other.sources.claim("b", at(30), at(90), 5)] == [feeds[1]]
    await other.sources.release("b", feeds)  # feeds[0] is a's: it stays a's
    held = {s.id: s.lease_owner for s in await store.sources.of_server(GUILD)}
    assert held[feeds[0]] == "a"
    await store.sources.release("a")
    assert all(s.lease_owner is None for s in await store.sources.of_server(GUILD))


async def burst(store: Store, channels: list[int], guilds: list[int] | None = None) -> list[int]:
    """An alert in each of ``channels`` (of another article each), due a minute ago; returns the outbox ids."""
    articles = [brief.id for brief in await store.articles.latest(10)]
    guilds = guilds or [GUILD] * len(channels)
    async with store.db.write() as db:
        for n, (channel, guild) in enumerate(zip(channels, guilds, strict=True)):
            article = articles[n % len(articles)]
            await db.execute(
                "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, reasons, nonce, next_attempt_at, "
                "created_at) VALUES (?, ?, ?, 't', '[]', ?, ?, ?)",
                (article, guild, channel, alert_nonce(article, channel), at(-60), at(-60)),
            )
    rows = await store.db.fetchall("SELECT id FROM outbox ORDER BY id")
    return [row["id"] for row in rows]


@pytest.fixture
async def indexed(seeded_store: Store, tmp_path: Path) -> AsyncIterator[Store]:
    """A copy of the seeded index (four articles to alert)."""
    async with Store.open(await copy_database(seeded_store, tmp_path / "indexed.db")) as opened:
        yield opened


async def test_a_dispatcher_claims_whole_channels_that_no_other_holds(indexed: Store, tmp_path: Path) -> None:
    async with Store.open(indexed.path) as other:
        await burst(indexed, [10, 11, 12, 10])
        first = await indexed.alerts.claim("a", at(0), at(60), channels=1)
        assert [(a.channel_id, a.unknown_since) for a in first] == [(10, None), (10, None)]  # one channel, all…
        assert len(first) == 2
        second = await other.alerts.claim("b", at(0), at(60), channels=5)
        assert sorted(a.channel_id for a in second) == [11, 12]  # …and no one else gets channel 10
        assert await other.alerts.claim("c", at(0), at(60), channels=5) == []
        # For c, what is due next is when a's and b's leases run out, not now.
        assert await other.alerts.next_due("c") >= at(59)
        await indexed.alerts.release("a")
        assert [a.channel_id for a in await other.alerts.claim("c", at(0), at(60), channels=5)] == [10, 10]


async def test_an_alert_taken_over_from_a_dead_dispatcher_is_an_unknown_outcome(indexed: Store) -> None:
    await burst(indexed, [10, 11])
    [dead, _] = await indexed.alerts.claim("dead", at(0), at(1), channels=5)
    assert await indexed.alerts.claim("b", at(0), at(60), channels=5) == []
    # The lease runs out: the alert may have been posted since its claim, so it is looked for first.
    taken = await indexed.alerts.claim("b", at(2), at(60), channels=5)
    assert [a.id for a in taken] == [dead.id, dead.id + 1]
    assert all(a.unknown_since is not None and a.unknown_since <= at(0) for a in taken)


async def test_an_alert_given_back_is_claimed_again_as_it_was(indexed: Store) -> None:
    await burst(indexed, [10])
    await indexed.alerts.claim("a", at(0), at(60), channels=5)
    await indexed.alerts.release("a")
    [again] = await indexed.alerts.claim("b", at(0), at(60), channels=5)
    assert again.unknown_since is None


async def test_a_sharded_dispatcher_claims_its_shards_servers_only(indexed: Store) -> None:
    on_shard_0, on_shard_1 = 0 << 22, (1 << 22) + 5  # (guild_id >> 22) % 2
    await burst(indexed, [10, 11], guilds=[on_shard_0, on_shard_1])
    claimed = await indexed.alerts.claim("a", at(0), at(60), channels=5, shards=((1,), 2))
    assert [a.guild_id for a in claimed] == [on_shard_1]
    assert [a.guild_id for a in await indexed.alerts.claim("b", at(0), at(60), channels=5)] == [on_shard_0]
