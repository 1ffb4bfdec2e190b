"""Server and owner settings: each server's command prefix, and publishing the slash commands.

The admin cog parses and checks who may (Manage Server, the owner); the logic and its answers are here,
catalogued like every other command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.answers import PrefixAnswer, SyncAnswer, UserError
from bot.catalogue import command
from bot.config import valid_prefix


class Administration:
    """The prefix and sync commands of one bot, from its parts: the default prefix, the slash-command
    tree, and the functions that read and store a server's prefix."""

    def __init__(
        self,
        default_prefix: str,
        tree: app_commands.CommandTree,
        *,
        prefix_in: Callable[[discord.abc.Snowflake | None], str],
        set_prefix: Callable[[int, str | None], Awaitable[None]],
    ) -> None:
        self.default_prefix = default_prefix
        self.tree = tree
        self.prefix_in = prefix_in
        self.set_prefix = set_prefix

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
            return PrefixAnswer(self.prefix_in(discord.Object(id=guild_id)))
        if new_prefix.lower() == "reset":
            await self.set_prefix(guild_id, None)
            return PrefixAnswer(self.default_prefix, "reset")
        if not valid_prefix(new_prefix) or new_prefix.startswith("/"):
            raise UserError("A prefix is 1 to 5 visible characters, with no spaces, and cannot start with /.")
        await self.set_prefix(guild_id, new_prefix)
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
            self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            raise UserError(f"Discord refused the sync: {exc.text or exc.status}.") from exc
        return SyncAnswer(len(synced), here=guild is not None)
