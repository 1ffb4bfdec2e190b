"""Trending, spikes and digests see what their server sees: a burst about Javier Milei that comes only
from server A's own feed trends, spikes and fills digests in A, and nowhere else (real store, real
analyses, the spike watch as the bot runs it, with the test's clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.alerts.spikes import SpikeWatch
from bot.answers import Answers
from bot.digests import DigestSchedule, Period
from bot.models import Viewer
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store
from tests.clock import TestClock
from tests.coverage import NOW, analyse_texts, spike_coverage, write

A, B = 111, 222
A_SPIKES, B_SPIKES = 1100, 2200  # the servers' spike channels


@pytest.fixture
async def answers(store: Store, analyzer: Analyzer) -> Answers:
    """A month of shared news, and a day's burst about Milei from server A's own feed only."""
    items = spike_coverage(analyse_texts(analyzer))
    burst = [item for item in items if item[0].origin.startswith("test://milei/1")]
    await write(store, [item for item in items if item not in burst])
    feed = await store.sources.add(A, 1, "https://a.example/feed.xml", 60, 9)
    assert feed is not None
    await store.articles.write_batch(burst, source_id=feed.id)
    return Answers(store, AliasTable(), clock=TestClock(NOW))


def _names(trends: list) -> list[str]:  # type: ignore[type-arg]
    return [t.subject.name for t in trends]


async def test_a_burst_from_one_server_feed_trends_there_only(answers: Answers) -> None:
    in_a = await answers.trends("24h", NOW, viewer=Viewer.server(A))
    assert "Javier Milei" in _names(in_a.trends)
    for viewer in (Viewer.server(B), Viewer.dm()):
        elsewhere = await answers.trends("24h", NOW, viewer=viewer)
        assert "Javier Milei" not in _names(elsewhere.trends)
        assert elsewhere.articles == in_a.articles - 6  # the window's articles it sees


async def test_its_spike_is_posted_in_that_server_only(answers: Answers, store: Store) -> None:
    await store.alerts.set_trending_channel(A, A_SPIKES, 9)
    await store.alerts.set_trending_channel(B, B_SPIKES, 9)
    watch = SpikeWatch(store, answers, every=timedelta(minutes=10), clock=TestClock(NOW))
    assert await watch.check() == 1
    rows = await store.db.fetchall("SELECT guild_id, channel_id, kind FROM outbox")
    assert [tuple(r) for r in rows] == [(A, A_SPIKES, "spike")]


async def test_digests_hold_what_their_server_sees(answers: Answers) -> None:
    period = Period(NOW - timedelta(days=1), NOW)

    async def digest(guild_id: int, subject: tuple[str, str, str] | None = None) -> list[str]:
        kind, key, name = subject or (None, None, None)
        schedule = DigestSchedule(5, guild_id, "daily", None, 12 * 60, "2024-01-01T00:00:00Z", kind, key, name)
        return [item.article.title for item in (await answers.digest(schedule, period, "UTC")).items]

    milei = ("entity", "javier milei", "Javier Milei")
    assert any("Milei" in title for title in await digest(A, milei))
    assert not any("Milei" in title for title in await digest(B, milei))
    assert any("Milei" in title for title in await digest(A))
    assert not any("Milei" in title for title in await digest(B))
