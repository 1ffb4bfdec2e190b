"""Server and owner settings: each server's command prefix, and publishing the slash commands.

The admin cog parses and checks who may (Manage Server, the owner); the logic and its answers are here,
catalogued like every other command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.answers import PrefixAnswer, SyncAnswer, UserError
from bot.catalogue import command
from bot.config import valid_prefix

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Administration:
    """The prefix and sync commands of one bot."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @command(
        "prefix",
        "prefix [new prefix | reset]",
        "Show or change this server's command prefix (changing it needs Manage Server).",
        "prefix ?",
        where="server",
    )
    async def prefix(self, guild_id: int, new_prefix: str | None = None) -> PrefixAnswer:
        """Show the prefix, set it, or (``reset``) go back to the default."""
        if new_prefix is None:
            return PrefixAnswer(self.bot.prefix_in(discord.Object(id=guild_id)))
        if new_prefix.lower() == "reset":
            await self.bot.set_prefix(guild_id, None)
            return PrefixAnswer(self.bot.settings.prefix, "reset")
        if not valid_prefix(new_prefix) or new_prefix.startswith("/"):
            raise UserError("A prefix is 1 to 5 visible characters, with no spaces, and cannot start with /.")
        await self.bot.set_prefix(guild_id, new_prefix)
        return PrefixAnswer(new_prefix, "set")

    @command(
        "sync",
        "sync [global | here]",
        "Publish the slash commands everywhere, or to this server only (bot owner; no slash form).",
        "sync here",
        where="owner",
    )
    async def sync(self, guild: discord.abc.Snowflake | None = None) -> SyncAnswer:
        """Publish the slash commands: to every server, or (``guild``) to one server at once."""
        if guild is not None:
            self.bot.tree.copy_global_to(guild=guild)
        try:
            synced = await self.bot.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            raise UserError(f"Discord refused the sync: {exc.text or exc.status}.") from exc
        return SyncAnswer(len(synced), here=guild is not None)
