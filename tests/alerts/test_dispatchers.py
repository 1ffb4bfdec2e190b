"""Two bot processes sharing one outbox against the fake Discord: the bot under test, and a second
``newsdesk run`` in a subprocess (:mod:`tests.fake_discord.child`) on the same SQLite file.

A burst of 200 alerts in 50 channels is delivered with each alert posted exactly once, although the
second process is killed with SIGKILL in the middle of it: the alerts it held are taken over when their
leases run out, and one it may have posted just before dying is found, not posted again.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.alerts.planning import alert_nonce
from bot.app import NewsdeskBot, make_bot
from bot.config import Settings
from bot.models import to_iso
from bot.store import Store
from tests.fake_discord import FakeDiscord
from tests.fake_discord.child import start_bot_process
from tests.fake_discord.faults import Fault
from tests.settle import eventually

CHANNELS = 50
LEASE_SECONDS = 2.0
_FOOTER = re.compile(r"^Article #(\d+) ")


async def plan_burst(
    store: Store, guild_id: int, channel_ids: list[int], *, ping_role_ids: Sequence[int] = ()
) -> list[int]:
    """An alert of every indexed article in every channel, due now, pinging ``ping_role_ids``; returns the
    articles."""
    articles = sorted(brief.id for brief in await store.articles.latest(10))
    now = to_iso(datetime.now(UTC))
    roles = json.dumps(list(ping_role_ids))
    async with store.db.write() as db:
        await db.executemany(
            "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, ping_role_ids, reasons, nonce, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?)",
            [
                (article, guild_id, channel, f"title {article}", roles, alert_nonce(article, channel), now, now)
                for channel in channel_ids
                for article in articles
            ],
        )
    return articles


async def held_by(store: Store, pid: int) -> set[int]:
    """The channels whose alerts process ``pid`` holds a live lease on."""
    rows = await store.db.fetchall(
        "SELECT DISTINCT channel_id, lease_owner FROM outbox WHERE lease_owner IS NOT NULL AND lease_until > ?",
        (to_iso(datetime.now(UTC)),),
    )
    return {row["channel_id"] for row in rows if row["lease_owner"].split(":")[-2] == str(pid)}


async def test_two_dispatchers_post_each_alert_once_though_one_is_killed(
    fake_discord: FakeDiscord, bot_settings: Settings, tmp_path: Path
) -> None:
    fake = fake_discord
    channels = [fake.create_channel(name=f"news-{n}") for n in range(CHANNELS)]
    settings = bot_settings.replace(lease_seconds=LEASE_SECONDS)
    other = await start_bot_process(
        fake, settings.database, tmp_path / "other.log", {"NEWSDESK_LEASE_SECONDS": str(LEASE_SECONDS)}
    )
    try:
        newsdesk = NewsdeskBot(settings)
        async with fake.run_bot(newsdesk):
            await eventually(lambda: len(fake.gateway.sessions) == 2, timeout=30, what="the second bot to connect")
            # Sends take a while, so that the second process is caught in the middle of its share.
            fake.inject("POST", "/channels/*/messages", Fault.slow(0.03), times=None)
            store = newsdesk.store
            articles = await plan_burst(store, fake.guild.id, [channel.id for channel in channels])
            total = len(articles) * CHANNELS
            assert total == 200

            async def other_is_sending() -> set[int] | None:
                held = await held_by(store, other.pid)
                return held if held and len(fake.messages) >= 20 else None

            held = await eventually(other_is_sending, timeout=20, what="the second bot to send its share")
            os.killpg(other.pid, signal.SIGKILL)
            assert await other.wait() == -signal.SIGKILL

            async def delivered() -> bool:
                counts = await store.alerts.counts()
                leased = await store.db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE lease_owner IS NOT NULL")
                return counts == {"sent": total} and leased is not None and leased["n"] == 0

            await eventually(delivered, timeout=30, what="every alert sent, and no lease left")
            for channel in channels:
                posted = [
                    int(match.group(1))
                    for message in fake.channel_messages.get(channel.id, [])
                    for embed in message.embeds
                    if (match := _FOOTER.match((embed.get("footer") or {}).get("text", "")))
                ]
                assert sorted(posted) == articles, (channel.name, channel.id in held, posted)
            # Not even tried twice: no send was answered with an earlier message for its nonce (two
            # dispatchers sending the same alerts would be, and the one that took over found what the
            # killed one had posted in the channel, before sending).
            posts = fake.requests_to("POST", "/channels/*/messages")
            assert len(posts) >= total and not [post for post in posts if post.deduplicated]
    finally:
        if other.returncode is None:
            os.killpg(other.pid, signal.SIGKILL)
            await other.wait()


async def test_each_sharded_process_sends_the_alerts_of_its_own_servers(
    fake_discord: FakeDiscord, bot_settings: Settings
) -> None:
    """Two processes serving shard 0 and shard 1 of two (``newsdesk run --shards``): each alert is sent by
    the process whose cache holds its server, so the role it pings is known there and pinged (the other
    process, which does not know the server's roles, would have left the role out)."""
    fake = fake_discord
    guilds = [fake.create_guild(f"server on shard {shard}", shard=(shard, 2)) for shard in (0, 1, 0, 1)]
    roles = {guild.id: fake.create_role(guild, "Readers", mentionable=True) for guild in guilds}
    bots = [make_bot(bot_settings.replace(shards=str(n), shard_count=2)) for n in (0, 1)]
    async with fake.run_bot(bots[0]), fake.run_bot(bots[1]):
        store = bots[0].store
        for guild in guilds:
            articles = await plan_burst(
                store, guild.id, [next(iter(guild.channels))], ping_role_ids=[roles[guild.id].id]
            )
        total = len(guilds) * len(articles)
        await eventually(
            lambda: _counts_are(store, {"sent": total}), timeout=20, what="every alert sent by one of the two"
        )
        for guild in guilds:
            posted = [m for m in fake.messages if m.channel_id in guild.channels]
            assert len(posted) == len(articles)
            assert all(f"<@&{roles[guild.id].id}>" in m.content for m in posted), guild.name
            assert all(m.allowed_mentions["roles"] == [roles[guild.id].id] for m in posted)


async def _counts_are(store: Store, expected: dict[str, int]) -> bool:
    return await store.alerts.counts() == expected
