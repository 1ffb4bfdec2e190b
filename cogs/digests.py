"""Digests: a summary of the news posted in a channel every day or week, and the server's time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from cogs._shared import GuildContext, reply, require_manager

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Digests(commands.Cog):
    """Scheduled digests per channel (daily or weekly, about everything or one subject) and time zones."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    # Anyone may see a channel's digest; setting or stopping it needs Manage Server.
    @commands.hybrid_command(**describe("digest"))
    @app_commands.describe(schedule="daily 08:00, weekly mon 08:00 (then a name or topic, if you like), or off")
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def digest(self, ctx: GuildContext, *, schedule: str | None = None) -> None:
        """Show this channel's digest, set it (Manage Server), or stop it with ``off``."""
        if schedule is not None and schedule.strip():
            require_manager(ctx)
        await reply(ctx, await self.bot.alerts.digest(ctx.guild.id, ctx.channel.id, ctx.author.id, schedule))

    @commands.hybrid_command(**describe("timezone"))
    @app_commands.describe(zone="A time zone name such as Europe/London or America/New_York, or 'reset' for UTC")
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def timezone(self, ctx: GuildContext, zone: str | None = None) -> None:
        """Show the server's time zone, or set it (Manage Server)."""
        if zone is not None:
            require_manager(ctx)
        await reply(ctx, await self.bot.alerts.timezone(ctx.guild.id, zone))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Digests(bot))
