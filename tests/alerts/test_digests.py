"""Scheduled digests end to end on the real bot, whose clock the test sets: set in a server's time zone,
posted once when the period ends, not again after a restart; a period missed while the bot was offline
is posted once on its return, marked late; in a channel with threads, it opens one. And the digest about one
subject lists only its articles."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.answers import Answers
from bot.app import NewsdeskBot
from bot.config import Settings
from bot.digests import DigestSchedule, Period
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store
from tests.clock import TestClock
from tests.coverage import NOW, Analysed, analyse_texts, dated, spike_coverage, write
from tests.fake_discord import FakeDiscord
from tests.fake_discord.faults import Fault
from tests.settle import eventually, passes, settled_outbox

DigestBot = Callable[[], contextlib.AbstractAsyncContextManager[NewsdeskBot]]
SET_UP = datetime(2024, 6, 30, 6, 30, tzinfo=UTC)  # 07:30 in London
PERIOD_END = datetime(2024, 6, 30, 7, 0, tzinfo=UTC)  # 08:00 in London


@pytest.fixture(scope="module")
def texts(analyzer: Analyzer) -> dict[str, Analysed]:
    return analyse_texts(analyzer)


@pytest.fixture
async def clock() -> TestClock:
    return TestClock(SET_UP)


@pytest.fixture
async def digest_bot(
    fake_discord: FakeDiscord, bot_settings: Settings, texts: dict[str, Analysed], clock: TestClock
) -> DigestBot:
    async with Store.open(bot_settings.database) as store:
        await write(store, spike_coverage(texts))

    @contextlib.asynccontextmanager
    async def run(**changes: Any) -> AsyncIterator[NewsdeskBot]:
        settings = bot_settings.replace(digest_check_minutes=0.005, **changes)
        newsdesk = NewsdeskBot(settings, clock=clock)
        async with fake_discord.run_bot(newsdesk):
            yield newsdesk

    return run


def _digests(fake: FakeDiscord) -> list[Any]:
    return [m for m in fake.messages_in(fake.channel) if m.embeds and "digest ·" in m.embeds[0].get("title", "")]


async def _checked(newsdesk: NewsdeskBot, times: int = 3) -> None:
    await passes(lambda: newsdesk.alerts.digests.passes, times, what="digest checks")
    await settled_outbox(newsdesk)


async def _set_up(fake: FakeDiscord) -> None:
    admin = fake.admin
    zone = await (await fake.send_message("!timezone europe/london", author=admin)).reply()
    assert zone.content == "Done: digest times in this server are now in Europe/London."
    digest = await (await fake.send_message("!digest daily 08:00", author=admin)).reply()
    assert digest.content == (
        "Done. A daily digest is posted here every day at 08:00 (Europe/London); the first on Sun 30 Jun 08:00. "
        "Change the time zone with !timezone."
    )


async def test_a_digest_is_posted_once_when_its_period_ends_and_not_again_after_a_restart(
    digest_bot: DigestBot, fake_discord: FakeDiscord, clock: TestClock
) -> None:
    async with digest_bot() as newsdesk:
        await _set_up(fake_discord)
        await _checked(newsdesk)
        assert _digests(fake_discord) == []  # 08:00 has not come yet
        clock.now = PERIOD_END + timedelta(seconds=30)
        post = await fake_discord.wait_for_message(predicate=lambda m: bool(_digests(fake_discord)), timeout=20)
        await _checked(newsdesk)
    [embed] = post.embeds
    assert embed["title"] == "Daily digest · Sun 30 Jun 2024"
    assert embed["description"].startswith("The day's top stories, to 08:00 (Europe/London).\n\n")
    assert "Sent late" not in embed["description"]
    stories = embed["description"].split("\n\n", 1)[1]
    assert stories.startswith("`#") and "**Milei unveils budget cuts** (Test Wire)" in stories.split("\n")[0]
    assert stories.count("Milei unveils budget cuts") == 1  # six articles, one story
    assert "Lindqvist" in stories

    async with digest_bot() as newsdesk:  # the same moment, after a restart
        await _checked(newsdesk)
    clock.advance(timedelta(hours=2))
    async with digest_bot() as newsdesk:
        await _checked(newsdesk)
    assert len(_digests(fake_discord)) == 1


async def test_a_period_missed_while_offline_is_posted_once_on_return_marked_late(
    digest_bot: DigestBot, fake_discord: FakeDiscord, clock: TestClock, texts: dict[str, Analysed]
) -> None:
    async with digest_bot() as newsdesk:
        await _set_up(fake_discord)
        await _checked(newsdesk)
    # Offline for two days, while articles kept arriving (another process indexed them).
    async with Store.open(newsdesk.settings.database) as store:
        day = datetime(2024, 7, 1, 12, tzinfo=UTC)
        await write(store, [dated(texts, "oslo", day + timedelta(hours=n), 300 + n) for n in range(3)])
    clock.now = datetime(2024, 7, 2, 11, 0, tzinfo=UTC)
    async with digest_bot() as newsdesk:
        post = await fake_discord.wait_for_message(predicate=lambda m: bool(_digests(fake_discord)), timeout=20)
        await _checked(newsdesk, 5)
        assert len(_digests(fake_discord)) == 1
    [embed] = post.embeds
    assert embed["title"] == "Daily digest · Tue 2 Jul 2024"  # the latest period only, not a backlog
    assert "*Sent late: the bot was offline at 08:00.*" in embed["description"]
    assert "Marta Lindqvist wins Oslo mayoral race" in embed["description"]
    async with digest_bot() as newsdesk:
        await _checked(newsdesk)
    assert len(_digests(fake_discord)) == 1


async def test_digest_commands_refuse_what_they_cannot_do(digest_bot: DigestBot, fake_discord: FakeDiscord) -> None:
    admin, member = fake_discord.admin, fake_discord.member
    async with digest_bot():

        async def ask(text: str, author: Any = admin) -> str:
            return (await (await fake_discord.send_message(text, author=author)).reply()).content

        assert await ask("!timezone Mars/Olympus") == (
            "I do not know the time zone Mars/Olympus; use a name like Europe/London or UTC."
        )
        assert await ask("!timezone Europe/London", member) == "You need the Manage Server permission for that."
        assert await ask("!digest") == "No digest in this channel; a manager can start one with !digest daily 08:00."
        assert await ask("!digest daily 8") == (
            "Say when, like: digest daily 08:00, digest weekly mon 08:00, or digest off."
        )
        assert await ask("!digest weekly mon 08:00 Milei") == (
            "Done. A weekly digest about Javier Milei is posted here every Monday at 08:00 (UTC); "
            "the first on Mon 1 Jul 08:00. Change the time zone with !timezone."
        )
        assert await ask("!digest", member) == (
            "A weekly digest about Javier Milei is posted here every Monday at 08:00 (UTC); "
            "the next on Mon 1 Jul 08:00."
        )
        assert await ask("!digest off") == "The digest of this channel is off."
        assert await ask("!digest off") == "This channel had no digest."


async def test_a_digest_about_one_subject_lists_only_its_articles(store: Store, texts: dict[str, Analysed]) -> None:
    await write(store, spike_coverage(texts))
    created = "2024-06-01T00:00:00Z"
    schedule = DigestSchedule(1, 2, "daily", None, 480, created, "entity", "javier milei", "Javier Milei")
    answers = Answers(store, AliasTable(), clock=lambda: NOW)
    period = Period(PERIOD_END - timedelta(days=1), PERIOD_END)
    answer = await answers.digest(schedule, period, "UTC")
    # Five copies of one story in the day (the sixth is published at 08:00, in the next period): one line.
    [item] = answer.items
    assert item.article.title == "Milei unveils budget cuts" and "Javier Milei" in item.sentences[0]
    assert answer.subject == "Javier Milei" and not answer.late
    other = DigestSchedule(1, 2, "daily", None, 480, created, "entity", "marta lindqvist", "M. L.")
    assert (await answers.digest(other, period, "UTC")).items[0].article.title.startswith("Marta Lindqvist")


async def test_a_digest_posted_without_an_answer_is_not_posted_again_after_a_restart(
    digest_bot: DigestBot, fake_discord: FakeDiscord, clock: TestClock
) -> None:
    async with digest_bot() as newsdesk:
        await _set_up(fake_discord)
        # Discord posts it, the answer is lost: the bot cannot know, and is stopped before it retries.
        fake_discord.inject("POST", f"/channels/{fake_discord.channel.id}/messages", Fault.dropped(process=True))
        clock.now = PERIOD_END + timedelta(seconds=30)

        async def unknown() -> bool:
            return any(a.unknown_since for a in await newsdesk.store.alerts.due("9999-01-01T00:00:00Z"))

        await eventually(unknown, what="the digest's send to end without an answer")
    assert len(_digests(fake_discord)) == 1
    async with digest_bot() as newsdesk:
        await settled_outbox(newsdesk, timeout=30)  # the retry finds the message and marks it sent
        await _checked(newsdesk)
    assert len(_digests(fake_discord)) == 1


async def test_a_digest_in_a_channel_with_threads_opens_one(
    digest_bot: DigestBot, fake_discord: FakeDiscord, clock: TestClock
) -> None:
    fake = fake_discord
    async with digest_bot() as newsdesk:
        threads = await (await fake.send_message("!alerts here threads", author=fake.admin)).reply()
        assert threads.content.endswith("each with a thread for discussion.")
        await _set_up(fake)
        clock.now = PERIOD_END + timedelta(seconds=30)
        post = await fake.wait_for_message(predicate=lambda m: bool(_digests(fake)), timeout=20)
        await fake.wait_for(lambda: post.id in fake.channels, timeout=10)
        await _checked(newsdesk)
    thread = fake.channels[post.id]  # opened on the digest's message, named after it
    assert thread.parent_id == fake.channel.id and thread.name == "Daily digest · Sun 30 Jun 2024"
    assert len(_digests(fake)) == 1
