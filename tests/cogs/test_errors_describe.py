"""The error handler's sentences, one error type at a time, with spec'd mocks (no bot needed)."""

from __future__ import annotations

import logging
from unittest.mock import MagicMock, create_autospec

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.answers import UserError
from cogs.errors import APOLOGY, describe, unwrap


def _context(*, slash: bool = False) -> MagicMock:
    ctx = create_autospec(commands.Context, instance=True)
    ctx.interaction = create_autospec(discord.Interaction, instance=True) if slash else None
    ctx.clean_prefix = "?"
    ctx.command = create_autospec(commands.Command, instance=True)
    ctx.command.qualified_name = "who"
    ctx.command.signature = "<name>"
    ctx.invoked_with = "who"
    ctx.guild.id = 11
    ctx.channel.id = 22
    ctx.author.id = 33
    return ctx


def _param() -> MagicMock:
    param = MagicMock(spec=commands.Parameter)
    param.name = "name"
    param.displayed_name = "name"
    return param


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (commands.CommandNotFound("x"), None),
        (commands.CommandInvokeError(UserError("That name is too long.")), "That name is too long."),
        (commands.MissingRequiredArgument(_param()), "Usage: ?who <name>"),
        (commands.BadArgument("no"), "Usage: ?who <name>"),
        (commands.TooManyArguments(), "Usage: ?who <name>"),
        (
            commands.CommandOnCooldown(commands.Cooldown(1, 10), 3.2, commands.BucketType.user),
            "Slow down: try that again in 4 s.",
        ),
        (
            commands.CommandInvokeError(discord.RateLimited(95.5)),
            "Discord is limiting how fast I can answer; try again in 96 s.",
        ),
        (commands.MissingPermissions(["manage_guild"]), "You need the Manage Server permission for that."),
        (commands.BotMissingPermissions(["embed_links"]), "I need the Embed Links permission here for that."),
        (commands.NoPrivateMessage(), "That command only works in a server, not in direct messages."),
        (commands.NotOwner(), "Only the bot's owner can do that."),
        (commands.CheckFailure(), "You can't use that command here."),
    ],
)
def test_each_error_has_its_sentence(error: Exception, sentence: str | None) -> None:
    assert describe(_context(), error) == sentence


def test_an_option_reader_s_sentence_is_kept() -> None:
    # The prefix form's converter raised it (``!source remove abc``); discord.py wraps it in BadArgument.
    error = commands.BadArgument('Converting to "_WholeNumber" failed for parameter "source_id".')
    error.__cause__ = UserError("Feed ids are whole numbers, like 3 (see this server's feeds with source list).")
    assert (
        describe(_context(), error) == "Feed ids are whole numbers, like 3 (see this server's feeds with source list)."
    )


def test_slash_usage_uses_the_slash() -> None:
    assert describe(_context(slash=True), commands.BadArgument("no")) == "Usage: /who <name>"


def test_hybrid_wrappers_are_unwrapped() -> None:
    command = MagicMock(spec=app_commands.Command)
    command.name = "who"
    inner = app_commands.CommandInvokeError(command, UserError("Nope."))
    wrapped = commands.HybridCommandError(inner)
    assert isinstance(unwrap(wrapped), UserError)
    assert describe(_context(slash=True), wrapped) == "Nope."


def test_unexpected_errors_are_logged_with_context(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="cogs.errors"):
        sentence = describe(_context(), commands.CommandInvokeError(KeyError("boom")))
    assert sentence == APOLOGY
    [record] = caplog.records
    assert "'who'" in record.getMessage() and "11" in record.getMessage() and "22" in record.getMessage()
    assert isinstance(record.exc_info[1], KeyError)
