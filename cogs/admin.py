"""Server and owner settings: the command prefix (Manage Server) and slash-command sync (owner)."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import UserError
from bot.app import NewsdeskBot
from bot.config import valid_prefix
from bot.render import message_text
from bot.replies import NO_PINGS


class Admin(commands.Cog):
    """Settings for server managers and the bot's owner."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="prefix", description="Show or change this server's command prefix.")
    @app_commands.describe(new_prefix="The new prefix (1 to 5 visible characters, no spaces), or 'reset'")
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def prefix(self, ctx: commands.Context[NewsdeskBot], new_prefix: str | None = None) -> None:
        """Show the prefix, or set it (Manage Server). ``reset`` goes back to the default."""
        assert ctx.guild is not None
        if new_prefix is None:
            current = self.bot.prefix_in(ctx.guild)
            await ctx.send(message_text(f"The prefix here is {current} (slash commands always work)."))
            return
        if not ctx.permissions.manage_guild:
            raise commands.MissingPermissions(["manage_guild"])
        if new_prefix.lower() == "reset":
            await self.bot.set_prefix(ctx.guild.id, None)
            await ctx.send(message_text(f"The prefix is back to {self.bot.settings.prefix}."))
            return
        if not valid_prefix(new_prefix) or new_prefix.startswith("/"):
            raise UserError("A prefix is 1 to 5 visible characters, with no spaces, and cannot start with /.")
        await self.bot.set_prefix(ctx.guild.id, new_prefix)
        await ctx.send(message_text(f"Done: commands here now start with {new_prefix}, e.g. {new_prefix}who Milei."))

    @commands.command(name="sync")
    @commands.is_owner()
    async def sync(self, ctx: commands.Context[NewsdeskBot], scope: Literal["global", "here"] | None = None) -> None:
        """Sync slash commands: ``global`` (the default) everywhere, ``here`` to this server only."""
        if scope == "here" and ctx.guild is None:
            raise commands.NoPrivateMessage()
        guild = ctx.guild if scope == "here" else None
        if guild is not None:
            self.bot.tree.copy_global_to(guild=guild)
        try:
            synced = await self.bot.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            raise UserError(f"Discord refused the sync: {exc.text or exc.status}.") from exc
        where = "this server" if guild else "every server (global commands can take a while to appear)"
        await ctx.send(f"Synced {len(synced)} slash commands to {where}.", allowed_mentions=NO_PINGS)


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Admin(bot))
