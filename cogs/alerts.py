"""Alerts: the channel that gets every new article, and follows that ping people about what they follow."""

from __future__ import annotations

from typing import Any

from discord import app_commands
from discord.ext import commands

from bot.app import NewsdeskBot
from cogs._shared import choices, reply, say


def follow_cooldown(ctx: commands.Context[Any]) -> commands.Cooldown:
    """Per member of a server, for ``follow`` and (separately) ``unfollow``: each is a write."""
    return commands.Cooldown(ctx.bot.settings.follow_per_minute, 60.0)


class Alerts(commands.Cog):
    """New articles posted to a channel; members pinged about the names and topics they follow."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_group(
        name="alerts",
        description="Where new articles are posted in this server.",
        fallback="status",
        invoke_without_command=True,
    )
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def alerts(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """Show where new articles are posted here."""
        assert ctx.guild is not None
        channel = await self.bot.store.alert_channel(ctx.guild.id)
        prefix = self.bot.prefix_in(ctx.guild)
        await say(
            ctx,
            f"New articles go to <#{channel}>."
            if channel
            else f"Alerts are off here; a manager can turn them on with {prefix}alerts here.",
        )

    @alerts.command(name="here", description="Post every new article in this channel.")
    @commands.has_guild_permissions(manage_guild=True)
    async def alerts_here(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """Make this channel the one that gets every new article (Manage Server)."""
        assert ctx.guild is not None
        await say(ctx, await self.bot.alerts.alerts_here(ctx.guild.id, ctx.channel.id, ctx.author.id))

    @alerts.command(name="off", description="Stop posting every new article in this server.")
    @commands.has_guild_permissions(manage_guild=True)
    async def alerts_off(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """Stop posting new articles here (Manage Server); follows still ping."""
        assert ctx.guild is not None
        await say(ctx, await self.bot.alerts.alerts_off(ctx.guild.id))

    @commands.hybrid_command(name="follow", description="Get pinged when a name or topic is central to a new article.")
    @app_commands.describe(subject="A name (e.g. Milei) or a topic (e.g. lithium industry)")
    @commands.guild_only()
    @commands.dynamic_cooldown(follow_cooldown, commands.BucketType.member)
    async def follow(self, ctx: commands.Context[NewsdeskBot], *, subject: str) -> None:
        """Follow an entity or a topic in this server, resolved like ``who``."""
        assert ctx.guild is not None
        answer = await self.bot.alerts.follow(ctx.guild.id, ctx.author.id, ctx.channel.id, subject)
        if isinstance(answer, str):
            await say(ctx, answer, ephemeral=True)
        else:
            await reply(ctx, answer)

    @follow.autocomplete("subject")
    async def follow_subject(self, interaction, current: str) -> list[app_commands.Choice[str]]:  # type: ignore[no-untyped-def]
        """Names, then topics, matching what was typed."""
        return choices(await self.bot.answers.complete_subjects(current))

    @commands.hybrid_command(name="unfollow", description="Stop being pinged about a name or topic.")
    @app_commands.describe(subject="What you follow (see /following)")
    @commands.guild_only()
    @commands.dynamic_cooldown(follow_cooldown, commands.BucketType.member)
    async def unfollow(self, ctx: commands.Context[NewsdeskBot], *, subject: str) -> None:
        """Stop following something in this server."""
        assert ctx.guild is not None
        await say(ctx, await self.bot.alerts.unfollow(ctx.guild.id, ctx.author.id, subject), ephemeral=True)

    @commands.hybrid_command(name="following", description="What you follow in this server.")
    @commands.guild_only()
    async def following(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """List your follows in this server."""
        assert ctx.guild is not None
        await reply(ctx, await self.bot.alerts.following(ctx.guild.id, ctx.author.id))

    @commands.hybrid_command(name="why", description="Why an article was posted or pinged in this server.")
    @app_commands.describe(article_id="The article's id, shown in its alert")
    @commands.guild_only()
    async def why(self, ctx: commands.Context[NewsdeskBot], article_id: str) -> None:
        """Which follows and which feeds made article ``article_id`` alert here."""
        assert ctx.guild is not None
        await reply(ctx, await self.bot.alerts.why(ctx.guild.id, article_id))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Alerts(bot))
