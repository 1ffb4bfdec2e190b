"""Server and owner settings: the command prefix (Manage Server) and slash-command sync (owner)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from discord import app_commands
from discord.ext import commands

from bot.admin import Administration
from bot.catalogue import describe
from cogs._shared import GuildContext, reply, require_manager

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Admin(commands.Cog):
    """Settings for server managers and the bot's owner."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.administration = Administration(
            bot.settings.prefix, bot.tree, prefix_in=bot.prefix_in, set_prefix=bot.set_prefix
        )

    # Anyone may see the prefix; changing it needs Manage Server. The slash form is offered to managers.
    @commands.hybrid_command(**describe("prefix"))
    @app_commands.describe(new_prefix="The new prefix (1 to 5 visible characters, no spaces), or 'reset'")
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def prefix(self, ctx: GuildContext, new_prefix: str | None = None) -> None:
        """Show the prefix, or set it (Manage Server). ``reset`` goes back to the default."""
        if new_prefix is not None:
            require_manager(ctx)
        await reply(ctx, await self.administration.prefix(ctx.guild.id, new_prefix))

    @commands.command(**describe("sync"))
    @commands.is_owner()
    async def sync(self, ctx: commands.Context[NewsdeskBot], scope: Literal["global", "here"] | None = None) -> None:
        """Sync slash commands: ``global`` (the default) everywhere, ``here`` to this server only."""
        if scope == "here" and ctx.guild is None:
            raise commands.NoPrivateMessage()
        await reply(ctx, await self.administration.sync(ctx.guild if scope == "here" else None))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Admin(bot))
