"""``help``: every command with one example, in the prefix this server uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from cogs._shared import READ_ONLY_CONTEXTS, reply

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Help(commands.Cog):
    """The list of commands."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(**describe("help"))
    @app_commands.describe(command="One command to explain (optional)")
    @READ_ONLY_CONTEXTS
    async def help(self, ctx: commands.Context[NewsdeskBot], *, command: str | None = None) -> None:
        """Every command the asker may use (or just ``command`` and its subcommands), with usage and an example."""
        prefix = "/" if ctx.interaction else self.bot.prefix_in(ctx.guild)
        owner = await self.bot.is_owner(ctx.author)
        await reply(ctx, self.bot.answers.help(command, prefix=prefix, in_discord=True, owner=owner))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Help(bot))
