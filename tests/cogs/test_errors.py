"""The error handler, path by path: usage, silence, cooldown, permissions, the unexpected."""

from __future__ import annotations

import logging

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from tests.fake_discord import FakeDiscord


async def test_missing_argument_gives_the_usage_line(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!who")).reply()
    assert reply.content == "Usage: !who <name>"


async def test_bad_argument_is_one_sentence(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!article banana")).reply()
    assert reply.content == "Article ids are whole numbers, like 42 (see the latest with the latest command)."


async def test_unknown_command_is_silent(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!play despacito")
    await fake_discord.send_message("!who Milei")
    reply = await fake_discord.wait_for_message()
    assert reply.embeds[0]["title"] == "Javier Milei"  # the first answer is to the second message


async def test_too_long_input_gets_a_message(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!who " + "x" * 250)).reply()
    assert reply.content == "That name is too long: keep it under 200 characters."


async def test_cooldown_says_when_to_try_again(fake_discord: FakeDiscord, bot_settings: Settings) -> None:
    newsdesk = NewsdeskBot(bot_settings.replace(cooldown_uses=2, cooldown_seconds=30))
    async with fake_discord.run_bot(newsdesk):
        for _ in range(2):
            assert (await (await fake_discord.send_message("!who musk")).reply()).embeds
        third = await (await fake_discord.send_message("!who musk")).reply()
        assert third.content.startswith("Slow down: try that again in ") and third.content.endswith(" s.")
        other_user = await (await fake_discord.send_message("!who musk", author=fake_discord.admin)).reply()
        assert other_user.embeds  # cooldowns are per user


async def test_missing_permission_names_it(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!prefix ?", author=fake_discord.member)).reply()
    assert reply.content == "You need the Manage Server permission for that."


async def test_server_only_command_in_a_dm(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_dm("!prefix ?", author=fake_discord.admin)).reply()
    assert reply.content == "That command only works in a server, not in direct messages."


async def test_unexpected_error_apologises_and_logs_context(
    bot: NewsdeskBot, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(name: str, **_: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(bot.answers, "who", broken)
    with caplog.at_level(logging.ERROR, logger="cogs.errors"):
        reply = await (await fake_discord.send_message("!who Milei")).reply()
    assert reply.content == "Sorry, something went wrong on my side while answering that. It has been logged."
    assert "Traceback" not in reply.content and "fire" not in reply.content
    [record] = [r for r in caplog.records if r.name == "cogs.errors"]
    message = record.getMessage()
    assert "'who'" in message and str(fake_discord.guild.id) in message and str(fake_discord.channel.id) in message
    assert record.exc_info is not None and "database on fire" in str(record.exc_info[1])


async def test_slash_errors_are_ephemeral(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    response = await (await fake_discord.invoke_slash("who", {"name": "x" * 250})).response()
    assert response.ephemeral
    assert response.content == "That name is too long: keep it under 200 characters."
