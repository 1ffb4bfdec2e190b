"""``!help`` and ``/help``."""

from __future__ import annotations

from bot.app import NewsdeskBot
from tests.fake_discord import FakeDiscord


async def test_help_lists_every_command_with_an_example(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!help")).reply()
    text = reply.embeds[0]["description"]
    for name in ("who", "summary", "topics", "topic", "search", "latest", "article", "related", "stats", "prefix"):
        assert f"`!{name}" in text
    assert text.count("Example:") >= 11


async def test_help_for_one_command(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!help who")).reply()
    assert "`!who <name>`" in reply.embeds[0]["description"] and "prefix" not in reply.embeds[0]["description"]
