"""Browsing commands end to end, and pages turned with buttons."""

from __future__ import annotations

from bot.app import NewsdeskBot
from bot.config import Settings
from tests.fake_discord import FakeDiscord


async def test_topics_pages_turn_for_the_asker_only(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!topics 25", author=fake_discord.member)).reply()
    assert reply.embeds[0]["footer"]["text"].startswith("Page 1/")
    assert set(reply.custom_ids) == {"newsdesk:pages:previous", "newsdesk:pages:next"}

    other = await fake_discord.click_button(reply, "newsdesk:pages:next", user=fake_discord.admin)
    refusal = await other.response()
    assert refusal.ephemeral and refusal.content == "Only the person who asked can turn these pages."

    turned = await (await fake_discord.click_button(reply, "newsdesk:pages:next", user=fake_discord.member)).response()
    assert turned.embeds[0]["footer"]["text"].startswith("Page 2/")


async def test_pages_stop_when_the_view_times_out(fake_discord: FakeDiscord, bot_settings: Settings) -> None:
    newsdesk = NewsdeskBot(bot_settings.replace(page_timeout_seconds=1.0))
    async with fake_discord.run_bot(newsdesk):
        reply = await (await fake_discord.send_message("!topics 25")).reply()
        edited = await fake_discord.wait_for_edit(reply, timeout=5)
        buttons = [c for row in edited.components for c in row["components"]]
        assert buttons and all(b.get("disabled") for b in buttons)


async def test_search_latest_article_related_stats(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    for command, title in [
        ('!search lithium AND ("', 'Search: lithium AND ("'),
        ("!latest 2", "Latest articles"),
        ("!article 1", "Elon Musk and Argentine President Javier Milei meet at Tesla factory in Texas"),
        ("!stats", "Newsdesk index"),
    ]:
        reply = await (await fake_discord.send_message(command)).reply()
        assert reply.embeds[0]["title"] == title, command
    related = await (await fake_discord.send_message("!related 1")).reply()
    assert related.embeds[0]["title"].startswith("Related to #1")


async def test_slash_topic_autocomplete_and_latest(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    choices = await (await fake_discord.autocomplete("topic", {"phrase": "lith"}, focused="phrase")).choices()
    assert choices and all("lithium" in c["name"].lower() for c in choices)
    latest = await (await fake_discord.invoke_slash("latest", {"count": "3"})).response()
    assert latest.embeds[0]["title"] == "Latest articles"
