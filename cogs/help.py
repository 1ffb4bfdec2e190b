"""``help``: every command with one example, in the prefix this server uses."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands

from bot.app import NewsdeskBot
from cogs._shared import READ_ONLY_CONTEXTS, reply


class Help(commands.Cog):
    """The list of commands."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="help", description="Every command with an example.")
    @app_commands.describe(command="One command to explain (optional)")
    @READ_ONLY_CONTEXTS
    async def help(self, ctx: commands.Context[NewsdeskBot], command: str | None = None) -> None:
        """Every command (or just ``command``) with its usage and an example."""
        prefix = "/" if ctx.interaction else self.bot.prefix_in(ctx.guild)
        await reply(ctx, self.bot.answers.help(command, prefix=prefix, in_discord=True))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Help(bot))
