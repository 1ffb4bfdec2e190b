"""Feeds: RSS and Atom sources a server adds, polled on their own intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from bot.ingest.sources.feeds import MAX_INTERVAL_MINUTES
from cogs._shared import FeedId, GuildContext, is_manager, reply

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


def source_add_cooldown(ctx: commands.Context[Any]) -> commands.Cooldown:
    """Per server: each ``source add`` fetches and indexes a whole feed."""
    return commands.Cooldown(ctx.bot.settings.source_add_per_minute, 60.0)


class FeedMinutes(app_commands.Transformer):
    """Minutes between checks: a number that Discord keeps within 0 to 7 days in the slash form. The
    feed commands check the exact range for both forms ("nan" and "inf" are numbers to ``float``)."""

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

    # Every subcommand has its own check: the slash form of a subcommand does not run the group's.
    @commands.hybrid_group(**describe("source"), invoke_without_command=True)
    @is_manager()
    async def source(self, ctx: GuildContext) -> None:
        """List this server's feeds."""
        await reply(ctx, await self.bot.feeds.sources(ctx.guild.id))

    @source.command(**describe("source add"))
    @app_commands.describe(
        url="The feed's http(s) address",
        minutes="Minutes between checks (default 10)",
        scope="Who sees its articles: this server (the default), or every server (the bot's owner only)",
    )
    @is_manager()
    @commands.dynamic_cooldown(source_add_cooldown, commands.BucketType.guild)
    async def source_add(
        self,
        ctx: GuildContext,
        url: str,
        minutes: app_commands.Transform[float, FeedMinutes] | None = None,
        scope: Literal["server", "shared"] = "server",
    ) -> None:
        """Add an RSS or Atom feed; its current items are indexed without alerts. Only this server sees its
        articles, unless the bot's owner adds it ``shared``."""
        owner = await self.bot.is_owner(ctx.author)
        async with ctx.typing():
            answer = await self.bot.feeds.add_source(
                ctx.guild.id, ctx.channel.id, ctx.author.id, url, minutes, shared=scope == "shared", owner=owner
            )
        await reply(ctx, answer)

    @source.command(**describe("source list"))
    @is_manager()
    async def source_list(self, ctx: GuildContext) -> None:
        """List this server's feeds."""
        await reply(ctx, await self.bot.feeds.sources(ctx.guild.id))

    @source.command(**describe("source remove"))
    @app_commands.describe(source_id="The feed's number from source list")
    @is_manager()
    async def source_remove(self, ctx: GuildContext, source_id: app_commands.Transform[int, FeedId]) -> None:
        """Remove feed ``source_id``."""
        await reply(ctx, await self.bot.feeds.remove_source(ctx.guild.id, source_id))

    @source.command(**describe("source filter"))
    @app_commands.describe(
        source_id="The feed's number from source list",
        rule="e.g. -football, has:Javier Milei, topic:lithium mining, re:^Breaking, remove 3, clear",
    )
    @is_manager()
    async def source_filter(
        self, ctx: GuildContext, source_id: app_commands.Transform[int, FeedId], *, rule: str | None = None
    ) -> None:
        """Show, add, remove or clear the filters of which of a feed's new items are posted."""
        await reply(ctx, await self.bot.feeds.source_filter(ctx.guild.id, ctx.author.id, source_id, rule))

    @source.command(**describe("source resume"))
    @app_commands.describe(source_id="The feed's number from source list")
    @is_manager()
    async def source_resume(self, ctx: GuildContext, source_id: app_commands.Transform[int, FeedId]) -> None:
        """Resume a feed that was paused after repeated failures."""
        await reply(ctx, await self.bot.feeds.resume_source(ctx.guild.id, source_id))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Sources(bot))
