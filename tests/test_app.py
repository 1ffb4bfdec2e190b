"""The bot's life cycle against the fake Discord: start-up, cogs, tokens, resume, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from bot.app import NewsdeskBot, extension_names, run_bot
from bot.config import Secrets, Settings
from tests.fake_discord import FakeDiscord


def _signal_handlers() -> dict[signal.Signals, object]:
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _wal_size(database: Path) -> int:
    wal = Path(str(database) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_login_ready_and_every_cog_loaded(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    assert bot.is_ready() and bot.user is not None and bot.user.id == fake_discord.bot_user.id
    assert not bot.failed_extensions
    assert set(bot.extensions) == set(extension_names())
    names = {c.name for c in bot.tree.get_commands()}
    assert {"who", "summary", "topics", "topic", "search", "latest", "article", "related", "stats", "help"} <= names
    assert fake_discord.command_syncs == []  # no automatic sync at start-up


async def test_a_broken_cog_does_not_stop_the_others(fake_discord: FakeDiscord, bot_settings: Settings) -> None:
    newsdesk = NewsdeskBot(bot_settings, extensions=["cogs.errors", "cogs.does_not_exist", "cogs.who"])
    async with fake_discord.run_bot(newsdesk):
        assert set(newsdesk.failed_extensions) == {"cogs.does_not_exist"}
        reply = await (await fake_discord.send_message("!who Milei")).reply()
        assert reply.embeds[0]["title"] == "Javier Milei"


async def test_dev_guild_sync_at_start(fake_discord: FakeDiscord, bot_settings: Settings) -> None:
    newsdesk = NewsdeskBot(bot_settings.replace(dev_guild_id=fake_discord.guild.id))
    async with fake_discord.run_bot(newsdesk):
        [sync] = fake_discord.command_syncs
        assert sync.guild_id == fake_discord.guild.id
        assert "who" in {c["name"] for c in sync.payload}


async def test_resume_after_the_gateway_closes_with_4000(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.disconnect(4000)
    await fake_discord.wait_for_resume()
    reply = await (await fake_discord.send_message("!who musk")).reply()
    assert reply.embeds[0]["title"] == "Elon Musk"


async def test_missing_token_is_one_line(bot_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_bot(bot_settings, Secrets(discord_token=None)) == 1
    assert capsys.readouterr().out == "newsdesk: DISCORD_TOKEN is not set; set it to your bot's token to run the bot.\n"


async def test_rejected_token_is_one_line_and_never_echoed(
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "MTIz.not-the-right-token.secret"
    fake_discord.expect_status(401, "GET", "/users/@me")
    handlers = _signal_handlers()
    assert await run_bot(bot_settings, Secrets(discord_token=token)) == 1
    assert _signal_handlers() == handlers  # nothing of the bot's is left on the (shared) loop
    out = capsys.readouterr()
    assert out.out == "newsdesk: Discord rejected the token in DISCORD_TOKEN; check it in the developer portal.\n"
    assert token not in out.out + out.err + caplog.text


async def test_sigterm_closes_the_database_and_gives_the_signals_back(
    fake_discord: FakeDiscord, bot_settings: Settings
) -> None:
    handlers = _signal_handlers()
    task = asyncio.create_task(run_bot(bot_settings, Secrets(discord_token=fake_discord.token)))
    await fake_discord.wait_until_connected(timeout=10)
    assert _signal_handlers() != handlers  # the bot listens for SIGINT and SIGTERM while it runs
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 10) == 0
    assert _wal_size(bot_settings.database) == 0  # closed cleanly: the WAL was checkpointed
    # The loop outlives the bot: a later Ctrl-C or SIGTERM must not go to a bot that is gone.
    assert _signal_handlers() == handlers
