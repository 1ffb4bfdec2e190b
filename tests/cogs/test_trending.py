"""``trending`` end to end on the real bot, whose clock the test sets: the burst about Javier Milei with
its factor and the article that drives it, the 7-day window by slash command, and a bad window."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.coverage import NOW, analyse_texts, spike_coverage, write
from tests.fake_discord import FakeDiscord


@pytest.fixture
async def trending_bot(
    fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer
) -> AsyncIterator[NewsdeskBot]:
    async with Store.open(bot_settings.database) as store:
        await write(store, spike_coverage(analyse_texts(analyzer)))
    newsdesk = NewsdeskBot(bot_settings, clock=lambda: NOW)
    async with fake_discord.run_bot(newsdesk):
        yield newsdesk


async def test_trending_names_the_burst_its_usual_rate_and_its_article(
    trending_bot: NewsdeskBot, fake_discord: FakeDiscord
) -> None:
    reply = await (await fake_discord.send_message("!trending")).reply()
    [embed] = reply.embeds
    assert embed["title"] == "Trending: the last 24 h"
    assert "(10 articles in the last 24 h)" in embed["description"]
    first = embed["description"].split("\n\n", 1)[1].split("\n")
    assert first[0].startswith("1. **Javier Milei**: 6 articles in 24 h, usually 0.1/day (×")
    assert "with " in first[0] and "Buenos Aires" in first[0]
    assert first[1].startswith("`#") and first[1].endswith(" Milei unveils budget cuts")
    assert "Marta Lindqvist" not in embed["description"]  # two articles: under the floor
    assert embed["footer"]["text"] == "!trending 7d · !summary <id> for an article"

    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message(predicate=lambda m: m.content.startswith("Synced"))
    week = await (await fake_discord.invoke_slash("trending", {"window": "7d"})).response()
    assert week.embeds[0]["title"] == "Trending: the last 7 days"
    assert "1. **Javier Milei**: 7 articles in 7 days" in week.embeds[0]["description"]  # one 5 days ago

    bad = await (await fake_discord.send_message("!trending 30d")).reply()
    assert bad.content == "The window is 24h or 7d, like: trending 7d."
