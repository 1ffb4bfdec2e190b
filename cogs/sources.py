"""Feeds: RSS and Atom sources a server adds, polled on their own intervals."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.alerts.poller import MAX_INTERVAL_MINUTES
from bot.app import NewsdeskBot
from cogs._shared import reply, say


def source_add_cooldown(ctx: commands.Context[Any]) -> commands.Cooldown:
    """Per server: each ``source add`` fetches and indexes a whole feed."""
    return commands.Cooldown(ctx.bot.settings.source_add_per_minute, 60.0)


class FeedMinutes(app_commands.Transformer):
    """Minutes between checks: a number that Discord keeps within 0 to 7 days in the slash form. The
    alert service checks the exact range for both forms ("nan" and "inf" are numbers to ``float``)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.number

    @property
    def min_value(self) -> float:
        return 0.0

    @property
    def max_value(self) -> float:
        return float(MAX_INTERVAL_MINUTES)

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> float:
        return float(value)

    def __call__(self, argument: str) -> float:  # type: ignore[override]  # the prefix form's converter
        return float(argument)


class Sources(commands.Cog):
    """RSS and Atom feeds whose new items are indexed and alerted (Manage Server)."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_group(name="source", description="RSS and Atom feeds of this server.", invoke_without_command=True)
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    async def source(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """List this server's feeds."""
        assert ctx.guild is not None
        await reply(ctx, await self.bot.alerts.sources(ctx.guild.id))

    @commands.has_guild_permissions(manage_guild=True)
    @source.command(name="add", description="Add a feed: its new items will be posted here.")
    @app_commands.describe(url="The feed's http(s) address", minutes="Minutes between checks (default 10)")
    @commands.dynamic_cooldown(source_add_cooldown, commands.BucketType.guild)
    async def source_add(
        self,
        ctx: commands.Context[NewsdeskBot],
        url: str,
        minutes: app_commands.Transform[float, FeedMinutes] | None = None,
    ) -> None:
        """Add an RSS or Atom feed; its current items are indexed without alerts."""
        assert ctx.guild is not None
        async with ctx.typing():
            text = await self.bot.alerts.add_source(ctx.guild.id, ctx.channel.id, ctx.author.id, url, minutes)
        await say(ctx, text)

    @commands.has_guild_permissions(manage_guild=True)
    @source.command(name="list", description="This server's feeds and their state.")
    async def source_list(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """List this server's feeds."""
        assert ctx.guild is not None
        await reply(ctx, await self.bot.alerts.sources(ctx.guild.id))

    @commands.has_guild_permissions(manage_guild=True)
    @source.command(name="remove", description="Remove a feed (its articles stay searchable).")
    @app_commands.describe(source_id="The feed's number from source list")
    async def source_remove(self, ctx: commands.Context[NewsdeskBot], source_id: str) -> None:
        """Remove feed ``source_id``."""
        assert ctx.guild is not None
        await say(ctx, await self.bot.alerts.remove_source(ctx.guild.id, source_id))

    @commands.has_guild_permissions(manage_guild=True)
    @source.command(name="resume", description="Start checking a paused feed again.")
    @app_commands.describe(source_id="The feed's number from source list")
    async def source_resume(self, ctx: commands.Context[NewsdeskBot], source_id: str) -> None:
        """Resume a feed that was paused after repeated failures."""
        assert ctx.guild is not None
        await say(ctx, await self.bot.alerts.resume_source(ctx.guild.id, source_id))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Sources(bot))
