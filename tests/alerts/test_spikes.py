"""Spike alerts end to end: a burst about Javier Milei is posted once in the spike channel when it
starts, pinging the member who follows him for spikes — not again at later checks while it lasts, not
after a restart, and not to a member who follows him for every article; in a forum, a post of its own.
The bot's clock is the test's."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.alerts.spikes import SpikeWatch
from bot.answers import Answers
from bot.app import NewsdeskBot
from bot.config import Settings
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store
from tests.clock import TestClock
from tests.coverage import NOW, analyse_texts, dated, spike_coverage, write
from tests.fake_discord import FakeDiscord
from tests.fake_discord.models import ChannelType
from tests.settle import passes, settled_outbox

SpikeBot = Callable[[], contextlib.AbstractAsyncContextManager[NewsdeskBot]]


@pytest.fixture
async def clock() -> TestClock:
    return TestClock(NOW)


@pytest.fixture
async def spike_bot(
    fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer, clock: TestClock
) -> SpikeBot:
    async with Store.open(bot_settings.database) as store:
        await write(store, spike_coverage(analyse_texts(analyzer)))

    @contextlib.asynccontextmanager
    async def run(**changes: Any) -> AsyncIterator[NewsdeskBot]:
        newsdesk = NewsdeskBot(bot_settings.replace(spike_check_minutes=0.005, **changes), clock=clock)
        async with fake_discord.run_bot(newsdesk):
            yield newsdesk

    return run


def _spikes(fake: FakeDiscord) -> list[Any]:
    return [
        m for m in fake.messages_in(fake.channel) if m.embeds and m.embeds[0].get("title", "").startswith("Spiking:")
    ]


async def _checked(newsdesk: NewsdeskBot, times: int = 3) -> None:
    await passes(lambda: newsdesk.alerts.spikes.passes, times, what="spike checks")
    await settled_outbox(newsdesk)


async def test_a_spike_is_posted_once_when_it_starts_with_its_spike_followers_pinged(
    spike_bot: SpikeBot, fake_discord: FakeDiscord, clock: TestClock
) -> None:
    admin, member = fake_discord.admin, fake_discord.member
    clock.now = NOW - timedelta(days=2)  # before the burst: nothing spikes
    async with spike_bot() as newsdesk:
        here = await (await fake_discord.send_message("!alerts trending here", author=admin)).reply()
        assert here.content.startswith(f"Spikes will be posted in <#{fake_discord.channel.id}>")
        spikes = await (await fake_discord.send_message("!follow Milei spikes", author=member)).reply()
        assert spikes.content == (
            f"You now follow Javier Milei (entity). You will be pinged in <#{fake_discord.channel.id}> "
            "when it spikes (far more articles than usual)."
        )
        every = await (await fake_discord.send_message("!follow Milei", author=admin)).reply()
        assert every.content.startswith("You now follow Javier Milei (entity).")
        await _checked(newsdesk)
        assert _spikes(fake_discord) == []

        clock.now = NOW
        post = await fake_discord.wait_for_message(
            predicate=lambda m: bool(m.embeds) and m.embeds[0]["title"] == "Spiking: Javier Milei", timeout=20
        )
        assert post.mentions == [member.id]  # the follower of every article is not pinged for a spike
        assert post.content == f"<@{member.id}> — Javier Milei is spiking"
        description = post.embeds[0]["description"]
        assert description.startswith("**Javier Milei**: 6 articles in 24 h, usually 0.1/day (×")
        assert description.endswith(" Milei unveils budget cuts")
        await _checked(newsdesk)
        clock.advance(timedelta(hours=3))  # it lasts: the same spike
        await _checked(newsdesk)
        assert len(_spikes(fake_discord)) == 1

    clock.advance(timedelta(hours=1))
    async with spike_bot() as newsdesk:  # a restart remembers it
        await _checked(newsdesk)
    assert len(_spikes(fake_discord)) == 1
    following = await Store.connect(newsdesk.settings.database)
    try:
        [follow] = await following.alerts.follows_of(fake_discord.guild.id, member.id)
        assert follow.spikes
    finally:
        await following.close()


async def test_alerts_trending_off_and_a_bad_setting(spike_bot: SpikeBot, fake_discord: FakeDiscord) -> None:
    admin = fake_discord.admin
    async with spike_bot():
        await (await fake_discord.send_message("!alerts trending here", author=admin)).reply()
        status = await (await fake_discord.send_message("!alerts", author=fake_discord.member)).reply()
        assert status.content.endswith(f"Spikes go to <#{fake_discord.channel.id}>.")
        await (await fake_discord.send_message("!alerts here", author=admin)).reply()
        await (await fake_discord.send_message("!alerts format compact", author=admin)).reply()
        status = await (await fake_discord.send_message("!alerts", author=fake_discord.member)).reply()
        channel = f"<#{fake_discord.channel.id}>"
        assert status.content == f"New articles go to {channel}: compact format. Spikes go to {channel}."
        off = await (await fake_discord.send_message("!alerts trending off", author=admin)).reply()
        assert off.content == f"Spikes are no longer posted (they were going to <#{fake_discord.channel.id}>)."
        bad = await (await fake_discord.send_message("!alerts trending loud", author=admin)).reply()
        assert bad.content == "Say here or off, like: alerts trending here."
        denied = await (await fake_discord.send_message("!alerts trending here", author=fake_discord.member)).reply()
        assert denied.content == "You need the Manage Server permission for that."


async def test_a_spike_that_ended_is_announced_again_when_a_new_one_starts(
    store: Store, analyzer: Analyzer, clock: TestClock
) -> None:
    texts = analyse_texts(analyzer)
    await write(store, spike_coverage(texts))
    await store.alerts.set_trending_channel(1, 10, 1)
    watch = SpikeWatch(store, Answers(store, AliasTable(), clock=clock), every=timedelta(minutes=10), clock=clock)
    assert await watch.check() == 1
    clock.advance(timedelta(hours=6))
    assert await watch.check() == 0  # the same spike
    clock.advance(timedelta(days=5))
    assert await watch.check() == 0  # over: nothing spikes
    await write(store, [dated(texts, "milei", clock.now - timedelta(hours=h), 500 + h) for h in range(1, 7)])
    assert await watch.check() == 1  # a new burst is a new spike
    assert await store.alerts.counts() == {"pending": 2}


async def test_a_follow_for_spikes_is_listed_switched_and_unfollowed(
    spike_bot: SpikeBot, fake_discord: FakeDiscord
) -> None:
    member = fake_discord.member
    async with spike_bot():

        async def ask(text: str) -> Any:
            return await (await fake_discord.send_message(text, author=member)).reply()

        await ask("!follow Milei spikes")
        assert "**Javier Milei** (entity, spikes only)" in (await ask("!following")).embeds[0]["description"]
        again = await ask("!follow milei spikes")
        assert again.content == "You already follow Javier Milei for its spikes."
        switched = await ask("!follow Milei")  # every article again
        assert switched.content.endswith("when it is central to a new article.")
        assert "spikes only" not in (await ask("!following")).embeds[0]["description"]
        assert (await ask("!unfollow Milei spikes")).content == "You no longer follow Javier Milei."


async def test_a_spike_in_a_forum_is_a_post_of_its_own_tagged_trending(
    spike_bot: SpikeBot, fake_discord: FakeDiscord, clock: TestClock
) -> None:
    fake = fake_discord
    forum = fake.create_channel(name="trends", type=ChannelType.GUILD_FORUM, tags=["Trending", "Sport"])
    clock.now = NOW - timedelta(days=2)
    async with spike_bot() as newsdesk:
        await fake.flush()
        setup = await newsdesk.get_channel(forum.id).create_thread(name="Setup", content="setting up")
        await fake.flush()
        thread = fake.channels[setup.thread.id]
        here = await (await fake.send_message("!alerts trending here", author=fake.admin, channel=thread)).reply()
        assert here.content.startswith(f"Spikes will be posted in <#{forum.id}>")  # the forum, not the post
        clock.now = NOW
        await fake.wait_for(lambda: len(fake.threads_of(forum)) == 2, timeout=20)
        await _checked(newsdesk)
    [post] = fake.threads_of(forum)[1:]
    assert post.name == "Spiking: Javier Milei"
    by_name = {t["id"]: t["name"] for t in forum.available_tags}
    assert [by_name[str(t)] for t in post.applied_tags] == ["Trending"]
    [message] = fake.channel_messages[post.id]
    assert message.embeds[0]["title"] == "Spiking: Javier Milei"
    assert not any(m.channel_id == forum.id for m in fake.messages)  # a forum takes posts, not messages
    assert len(fake.threads_of(forum)) == 2  # once
