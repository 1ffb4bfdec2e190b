"""Alerts against Discord's limits: 100 pinged users per message, 429s, and nonces Discord forgets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.ingest.indexer import Indexer
from bot.models import AlertPolicy, Follow, from_iso
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import name_key
from bot.store import Store
from tests.alerts.conftest import SALIENT, AlertBot, story, title_of
from tests.fake_discord import FakeDiscord, Fault
from tests.fake_discord.records import RecordedMessage

T = TypeVar("T")
DISCORD_MAX_PINGED_USERS = 100
MILEI = "Javier Milei"


async def until(check: Callable[[], Awaitable[T]], seconds: float = 30.0) -> T:
    """The first truthy result of ``check``, polled for at most ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {seconds} s")


async def next_attempt_after(newsdesk: NewsdeskBot, moment: datetime) -> datetime | None:
    """When the alert is next tried, once that is after ``moment``."""
    due = await newsdesk.store.alerts.next_due()
    return from_iso(due) if due and from_iso(due) > moment else None


async def delivered(newsdesk: NewsdeskBot) -> bool:
    """Nothing is left to send: no pending alert, no pings left."""
    return await newsdesk.store.alerts.next_due() is None


def followers(fake: FakeDiscord, count: int) -> list[int]:
    return [fake.create_user(f"reader{n}").id for n in range(count)]


async def follow_milei(store: Store, fake: FakeDiscord, user_ids: list[int]) -> None:
    for user_id in user_ids:
        await store.alerts.add_follow(Follow(fake.guild.id, user_id, "entity", name_key(MILEI), MILEI, fake.channel.id))


MILEI_EVENTS = [
    (
        "Milei unveils budget cuts",
        "Argentine President Javier Milei unveiled deep budget cuts in Buenos Aires on Monday. Milei said the "
        "cuts would end the deficit this year. Opposition leaders said the plan would hurt pensioners.",
    ),
    (
        "Milei meets IMF chief in Washington",
        "Javier Milei met Kristalina Georgieva at the International Monetary Fund in Washington on Thursday to "
        "discuss a new loan of 20 billion dollars. Georgieva praised the reforms of Milei.",
    ),
    (
        "Milei vetoes university funding law",
        "Javier Milei vetoed a law raising university funding, and thousands of students marched in Cordoba and "
        "Rosario against the veto. Rectors said Milei had left the universities without money for heating.",
    ),
]


def milei_story(n: int) -> str:
    """One of three different events in which Milei is central (``n`` from 1 to 3)."""
    title, body = MILEI_EVENTS[n - 1]
    return f"{title}\n\n{body}"


def link_to(fake: FakeDiscord, message: RecordedMessage) -> str:
    return f"https://discord.com/channels/{fake.guild.id}/{fake.channel.id}/{message.id}"


def pinged_by(fake: FakeDiscord, first: RecordedMessage) -> list[int]:
    """Everyone pinged by a message and the messages that ping the rest of its followers."""
    parts = [first] + [m for m in fake.messages if link_to(fake, first) in (m.content or "")]
    for part in parts:
        assert len(part.allowed_mentions["users"]) <= DISCORD_MAX_PINGED_USERS
        assert sorted(part.mentions) == sorted(int(u) for u in part.allowed_mentions["users"])
    return [user for part in parts for user in part.mentions]


async def force_due(store: Store) -> None:
    """Make every waiting alert due now, as if its retry time had come."""
    async with store.db.write() as db:
        await db.execute(
            "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z' WHERE status = 'pending' OR pings_left != '[]'"
        )


async def test_more_than_100_followers_are_each_pinged_once(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    readers = followers(fake_discord, 250)
    async with alert_bot() as newsdesk:
        await follow_milei(newsdesk.store, fake_discord, readers)
        (news_folder / "salient.txt").write_text(SALIENT)
        alert = await fake_discord.wait_for_message(
            predicate=lambda m: bool(m.embeds) and m.embeds[0]["title"] == "Milei unveils budget cuts", timeout=30
        )
        await until(lambda: delivered(newsdesk))
    pinged = pinged_by(fake_discord, alert)
    assert sorted(pinged) == sorted(readers)  # everyone, once
    assert len(fake_discord.messages) >= 3 and all(len(m.content or "") <= 2000 for m in fake_discord.messages)
    assert alert.content.startswith(f"<@{readers[0]}>") and "— new on Javier Milei" in alert.content
    assert all(r.status == 200 for r in fake_discord.requests_to("POST", "/channels/*/messages"))


async def test_a_retry_after_a_partial_send_goes_on_where_it_stopped(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake_discord.nonce_ttl = 0  # Discord has forgotten every nonce by the time of a retry
    readers = followers(fake_discord, 250)
    posts = f"/channels/{fake_discord.channel.id}/messages"
    fake_discord.inject("POST", posts, Fault.slow(0))  # the alert itself goes out
    fake_discord.inject("POST", posts, Fault.dropped(process=True))  # more pings posted, the answer lost
    fake_discord.inject("POST", posts, Fault.server_error(503))  # the next ones refused
    async with alert_bot() as newsdesk:
        await follow_milei(newsdesk.store, fake_discord, readers)
        (news_folder / "salient.txt").write_text(SALIENT)
        alert = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        await until(lambda: delivered(newsdesk))
    assert sorted(pinged_by(fake_discord, alert)) == sorted(readers)
    assert len([m for m in fake_discord.messages if m.embeds]) == 1
    assert [r.status for r in fake_discord.requests_to("POST", posts)][:3] == [200, 200, 503]


async def test_a_digest_pings_more_than_100_followers(
    alert_bot: AlertBot, fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer, tmp_path: Path
) -> None:
    readers = followers(fake_discord, 150)
    async with Store.open(bot_settings.database) as store:
        await store.alerts.set_channel(fake_discord.guild.id, fake_discord.channel.id, 1)
        await follow_milei(store, fake_discord, readers)
        paths = []
        for n in (1, 2, 3):
            paths.append(tmp_path / f"milei-{n}.txt")
            paths[-1].write_text(milei_story(n))
        await Indexer(store, analyzer, max_file_bytes=100_000).index_paths(paths, alerts=AlertPolicy(0.35))
        assert await store.alerts.counts() == {"pending": 3}
    async with alert_bot(alerts_here=False, alerts_per_minute=1) as newsdesk:
        digest = await fake_discord.wait_for_message(
            predicate=lambda m: "(flood control)" in (m.content or ""), timeout=30
        )
        await until(lambda: delivered(newsdesk))
        assert await newsdesk.store.alerts.counts() == {"sent": 1, "digested": 2}
    alone = next(m for m in fake_discord.messages if m.embeds)
    assert sorted(pinged_by(fake_discord, alone)) == sorted(readers)
    assert sorted(pinged_by(fake_discord, digest)) == sorted(readers)
    assert digest.content.startswith("2 more new articles (flood control).")


async def test_six_long_429s_in_a_row_reschedule_the_alert_at_retry_after(
    alert_bot: AlertBot, fake_discord: FakeDiscord, bot_settings: Settings, news_folder: Path
) -> None:
    retry_after = 120.0  # longer than the bot will sleep inside a request
    posts = f"/channels/{fake_discord.channel.id}/messages"
    fake_discord.inject("POST", posts, Fault.rate_limited(retry_after), times=6)
    async with alert_bot() as newsdesk:
        for attempt in range(6):
            before = datetime.now(UTC)
            if attempt == 0:
                (news_folder / "limited.txt").write_text(story(40))
            else:
                await force_due(newsdesk.store)
                newsdesk.store.alerts.planned.set()
            due = await until(partial(next_attempt_after, newsdesk, before + timedelta(seconds=60)), 20)
            after = datetime.now(UTC)
            assert before + timedelta(seconds=retry_after - 1) <= due <= after + timedelta(seconds=retry_after)
            assert len(fake_discord.requests_to("POST", posts)) == attempt + 1
        await force_due(newsdesk.store)
        newsdesk.store.alerts.planned.set()
        await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=20)
        await until(lambda: delivered(newsdesk))
        assert await newsdesk.store.alerts.counts() == {"sent": 1}  # rate limits are not failed attempts
    assert [r.status for r in fake_discord.requests_to("POST", posts)] == [429] * 6 + [200]


async def test_a_429_discord_py_gives_up_on_is_retried_after_its_retry_after(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake_discord.inject("POST", f"/channels/{fake_discord.channel.id}/messages", Fault.cloudflare_ban())
    async with alert_bot() as newsdesk:
        before = datetime.now(UTC)
        (news_folder / "banned.txt").write_text(story(41))
        due = await until(partial(next_attempt_after, newsdesk, before + timedelta(seconds=30)), 20)
        assert before + timedelta(seconds=59) <= due <= datetime.now(UTC) + timedelta(seconds=60)  # Retry-After: 60


async def test_a_retry_after_discord_forgot_the_nonce_does_not_post_twice(
    alert_bot: AlertBot, fake_discord: FakeDiscord, bot_settings: Settings, news_folder: Path
) -> None:
    fake_discord.nonce_ttl = 0  # the retry comes after Discord's nonce window
    posts = f"/channels/{fake_discord.channel.id}/messages"
    fake_discord.inject("POST", posts, Fault.dropped(process=True))
    async with alert_bot() as newsdesk:
        (news_folder / "lost.txt").write_text(story(42))
        first = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        await fake_discord.wait_for_request("GET", posts)  # the retry looks in the channel first
        await until(lambda: delivered(newsdesk))
        assert await newsdesk.store.alerts.counts() == {"sent": 1}
    async with Store.open(bot_settings.database) as store:
        assert [tuple(r) for r in await store.db.fetchall("SELECT message_id FROM outbox")] == [(first.id,)]
    assert [m.embeds[0]["title"] for m in fake_discord.messages if m.embeds] == [title_of(42)]
    assert len(fake_discord.requests_to("POST", posts)) == 1


async def test_a_title_with_bidi_controls_reaches_discord_without_them(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    async with alert_bot():
        (news_folder / "bidi.txt").write_text("\u202egnp.exe\u200b opens\n\n" + story(43).split("\n\n", 1)[1])
        alert = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
    assert alert.embeds[0]["title"] == "gnp.exe opens"
