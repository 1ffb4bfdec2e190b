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
    story = await (await fake_discord.invoke_slash("story", {"reference": "1"})).response()
    assert story.embeds[0]["title"].startswith("Story #") and "`#1`" in story.embeds[0]["description"]
    missing = await (await fake_discord.invoke_slash("story", {"reference": "s999"})).response()
    assert missing.embeds[0]["description"] == "There is no story 999."


async def test_ids_and_counts_are_number_fields_in_slash_commands(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    synced = {c["name"]: c for c in fake_discord.global_commands}
    integer = 4
    for command, option, bounds in [
        ("article", "article_id", (1, None)),
        ("related", "article_id", (1, None)),
        ("why", "article_id", (1, None)),
        ("latest", "count", (1, 25)),
        ("topics", "count", (1, 25)),
    ]:
        [found] = [o for o in synced[command]["options"] if o["name"] == option]
        assert found["type"] == integer, command
        assert (found["min_value"], found.get("max_value", None) if bounds[1] else None) == bounds, command
    [remove] = [o for o in synced["source"]["options"] if o["name"] == "remove"]
    assert remove["options"][0]["type"] == integer
    article = await (await fake_discord.invoke_slash("article", {"article_id": 1})).response()
    assert article.embeds[0]["title"].startswith("Elon Musk and Argentine President Javier Milei")
    latest = await (await fake_discord.invoke_slash("latest", {"count": 2})).response()
    assert latest.embeds[0]["description"].count("`#") == 2


async def test_the_prefix_form_still_reads_ids_and_counts_as_typed(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    by_hash = await (await fake_discord.send_message("!article #1")).reply()
    assert by_hash.embeds[0]["title"].startswith("Elon Musk and Argentine President Javier Milei")
    many = await (await fake_discord.send_message("!latest 100")).reply()  # more than 25: the most there is
    assert many.embeds[0]["title"] == "Latest articles"
    bad = await (await fake_discord.send_message("!latest lots")).reply()
    assert bad.content == "The count must be a whole number from 1 to 25."
    missing = await (await fake_discord.send_message("!related")).reply()
    assert missing.content == "Usage: !related <id>"
    why = await (await fake_discord.send_message("!why banana")).reply()
    assert why.content == "Article ids are whole numbers, like 42 (see the latest with the latest command)."
