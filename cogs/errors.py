"""The error handler: every command error becomes one clear sentence, never a traceback in chat.

Order (first match wins):

1. A command with its own error handler has dealt with it → nothing more.
2. Unknown command → silence (other bots share the prefix).
3. :class:`bot.answers.UserError` raised by the command logic, or by an option's reader (an id typed
   as ``abc``) → its sentence.
4. A bad, missing or surplus argument → the command's usage line.
5. A cooldown, or a Discord rate limit longer than the bot waits → "try again in N s".
6. A missing permission, a server-only command in DMs, an owner-only command → which one.
7. Anything else → a short apology in chat, the traceback in the log with command, server and channel ids.

Slash-command replies are ephemeral, so only the person who typed sees them.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import UserError
from bot.render import message_text
from bot.replies import NO_PINGS

if TYPE_CHECKING:
    from bot.app import NewsdeskBot

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side while answering that. It has been logged."


def unwrap(error: BaseException) -> BaseException:
    """The exception a command actually raised, out of discord.py's wrappers."""
    while isinstance(
        error, commands.CommandInvokeError | commands.HybridCommandError | app_commands.CommandInvokeError
    ):
        error = error.original
    return error


def _permission_names(permissions: list[str]) -> str:
    return ", ".join(p.replace("_", " ").replace("guild", "server").title() for p in permissions)


def describe(ctx: commands.Context[Any], error: BaseException) -> str | None:
    """The sentence for an error, ``None`` for silence; unexpected errors are logged here."""
    error = unwrap(error)
    prefix = "/" if ctx.interaction else ctx.clean_prefix
    usage = f"Usage: {prefix}{ctx.command.qualified_name} {ctx.command.signature}".strip() if ctx.command else ""
    if isinstance(error, commands.CommandNotFound):
        return None
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, commands.BadArgument) and isinstance(error.__cause__, UserError):
        return str(error.__cause__)
    if isinstance(error, commands.UserInputError | app_commands.TransformerError):
        return usage or "That command needs different input; try help."
    if isinstance(error, commands.CommandOnCooldown):
        return f"Slow down: try that again in {math.ceil(error.retry_after)} s."
    if isinstance(error, discord.RateLimited):  # Discord asked for a wait longer than the bot will sleep
        return f"Discord is limiting how fast I can answer; try again in {math.ceil(error.retry_after)} s."
    if isinstance(error, commands.MissingPermissions | app_commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission for that."
    if isinstance(error, commands.BotMissingPermissions | app_commands.BotMissingPermissions):
        return f"I need the {_permission_names(error.missing_permissions)} permission here for that."
    if isinstance(error, commands.NoPrivateMessage | app_commands.NoPrivateMessage):
        return "That command only works in a server, not in direct messages."
    if isinstance(error, commands.NotOwner):
        return "Only the bot's owner can do that."
    if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
        return "You can't use that command here."
    log.error(
        "command %r failed (server %s, channel %s, user %s)",
        ctx.command.qualified_name if ctx.command else ctx.invoked_with,
        ctx.guild.id if ctx.guild else "DM",
        ctx.channel.id if ctx.channel else "?",
        ctx.author.id if ctx.author else "?",
        exc_info=error,
    )
    return APOLOGY


class Errors(commands.Cog):
    """Turns command errors into one sentence for the user, and logs the unexpected ones."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_command_error(self, ctx: commands.Context[NewsdeskBot], error: commands.CommandError) -> None:
        """Answer a failed command (see the module docstring for the order)."""
        if ctx.command is not None and ctx.command.has_error_handler():
            return
        text = describe(ctx, error)
        if text is None:
            return
        try:
            await ctx.send(message_text(text), ephemeral=True, allowed_mentions=NO_PINGS)
        except (discord.HTTPException, discord.RateLimited):
            log.warning("could not send an error message in channel %s", getattr(ctx.channel, "id", "?"))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Errors(bot))
