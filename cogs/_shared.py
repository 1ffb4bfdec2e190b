"""What the cogs share: the bot's type, the cooldown of costly commands, and sending an answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from discord import app_commands
from discord.ext import commands

from bot.render import CONTENT_LIMIT, truncate
from bot.replies import send_answer

if TYPE_CHECKING:
    from bot.app import NewsdeskBot

AUTOCOMPLETE_LIMIT = 25


def costly_cooldown(ctx: commands.Context[Any]) -> commands.Cooldown:
    """Per-user rate for the commands that cost the most, from the settings."""
    settings = ctx.bot.settings
    return commands.Cooldown(settings.cooldown_uses, settings.cooldown_seconds)


async def reply(ctx: commands.Context[Any], answer: Any) -> None:
    """Send an answer with the bot's page timeout."""
    bot: NewsdeskBot = ctx.bot
    await send_answer(ctx, answer, page_timeout=bot.settings.page_timeout_seconds)


async def say(ctx: commands.Context[Any], text: str, *, ephemeral: bool = False) -> None:
    """Send a sentence the core already made safe (names escaped), within Discord's length limit."""
    await ctx.send(truncate(text, CONTENT_LIMIT), ephemeral=ephemeral)


def choices(names: list[str]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices (Discord accepts at most 25, each up to 100 characters)."""
    return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names[:AUTOCOMPLETE_LIMIT]]


READ_ONLY_CONTEXTS = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
