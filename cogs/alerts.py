"""Alerts: the channel that gets every new article, and follows that ping people about what they follow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.alerts.answers import Followed
from bot.catalogue import describe
from cogs._shared import ArticleId, GuildContext, choices, is_manager, reply

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


def follow_cooldown(ctx: commands.Context[Any]) -> commands.Cooldown:
    """Per member of a server, for ``follow`` and (separately) ``unfollow``: each is a write."""
    return commands.Cooldown(ctx.bot.settings.follow_per_minute, 60.0)


class Alerts(commands.Cog):
    """New articles posted to a channel; members pinged about the names and topics they follow."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    # Anyone may ask where alerts go; the slash form of the group is offered to managers, as Discord
    # sets permissions per top-level command only.
    @commands.hybrid_group(**describe("alerts"), fallback="status", invoke_without_command=True)
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def alerts(self, ctx: GuildContext) -> None:
        """Show where new articles are posted here."""
        await reply(ctx, await self.bot.alerts.alerts_status(ctx.guild.id))

    @alerts.command(**describe("alerts here"))
    @is_manager()
    async def alerts_here(self, ctx: GuildContext) -> None:
        """Make this channel the one that gets every new article (Manage Server)."""
        await reply(ctx, await self.bot.alerts.alerts_here(ctx.guild.id, ctx.channel.id, ctx.author.id))

    @alerts.command(**describe("alerts off"))
    @is_manager()
    async def alerts_off(self, ctx: GuildContext) -> None:
        """Stop posting new articles here (Manage Server); follows still ping."""
        await reply(ctx, await self.bot.alerts.alerts_off(ctx.guild.id))

    @alerts.command(**describe("alerts trending"))
    @app_commands.describe(setting="here: post spikes in this channel; off: stop")
    @app_commands.choices(
        setting=[app_commands.Choice(name="here", value="here"), app_commands.Choice(name="off", value="off")]
    )
    @is_manager()
    async def alerts_trending(self, ctx: GuildContext, setting: str) -> None:
        """Post names and topics that suddenly spike in this channel, or stop (Manage Server)."""
        await reply(
            ctx, await self.bot.alerts.alerts_trending(ctx.guild.id, ctx.channel.id, ctx.author.id, setting)
        )

    @commands.hybrid_command(**describe("follow"))
    @app_commands.describe(subject="A name (e.g. Milei) or a topic; add 'spikes' to be pinged only when it spikes")
    @commands.guild_only()
    @commands.dynamic_cooldown(follow_cooldown, commands.BucketType.member)
    async def follow(self, ctx: GuildContext, *, subject: str) -> None:
        """Follow an entity or a topic in this server, resolved like ``summary``."""
        answer = await self.bot.alerts.follow(ctx.guild.id, ctx.author.id, ctx.channel.id, subject)
        await reply(ctx, answer, ephemeral=isinstance(answer, Followed))

    @follow.autocomplete("subject")
    async def follow_subject(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Names, then topics, matching what was typed."""
        return choices(await self.bot.answers.complete_subjects(current))

    @commands.hybrid_command(**describe("unfollow"))
    @app_commands.describe(subject="What you follow (see /following)")
    @commands.guild_only()
    @commands.dynamic_cooldown(follow_cooldown, commands.BucketType.member)
    async def unfollow(self, ctx: GuildContext, *, subject: str) -> None:
        """Stop following something in this server."""
        await reply(ctx, await self.bot.alerts.unfollow(ctx.guild.id, ctx.author.id, subject), ephemeral=True)

    @commands.hybrid_command(**describe("following"))
    @commands.guild_only()
    async def following(self, ctx: GuildContext) -> None:
        """List your follows in this server."""
        await reply(ctx, await self.bot.alerts.following(ctx.guild.id, ctx.author.id))

    @commands.hybrid_command(**describe("why"))
    @app_commands.describe(article_id="The article's id, shown in its alert")
    @commands.guild_only()
    async def why(self, ctx: GuildContext, article_id: app_commands.Transform[int, ArticleId]) -> None:
        """Which follows and which feeds made article ``article_id`` alert here."""
        await reply(ctx, await self.bot.alerts.why(ctx.guild.id, article_id))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Alerts(bot))
