"""Alerts: the channel that gets every new article, and follows that ping people about what they follow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.alerts.answers import Followed
from bot.alerts.service import split_role
from bot.catalogue import describe
from bot.models import ALERT_FORMATS
from cogs._shared import ArticleId, GuildContext, choices, is_manager, reply, require_manager, viewer_of

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
    @app_commands.describe(mode="threads: open a thread on each article (text channels)")
    @app_commands.choices(mode=[app_commands.Choice(name="threads", value="threads")])
    @is_manager()
    async def alerts_here(self, ctx: GuildContext, mode: str | None = None) -> None:
        """Make this channel the one that gets every new article (Manage Server); asked in a post of a
        forum, the forum gets a post per article."""
        channel_id, forum = ctx.channel.id, False
        if isinstance(ctx.channel, discord.Thread) and isinstance(ctx.channel.parent, discord.ForumChannel):
            channel_id, forum = ctx.channel.parent.id, True  # nobody can type in a forum itself, only in its posts
        answer = await self.bot.alerts.alerts_here(ctx.guild.id, channel_id, ctx.author.id, mode, forum=forum)
        await reply(ctx, answer)

    @alerts.command(**describe("alerts off"))
    @is_manager()
    async def alerts_off(self, ctx: GuildContext) -> None:
        """Stop posting new articles here (Manage Server); follows still ping."""
        await reply(ctx, await self.bot.alerts.alerts_off(ctx.guild.id))

    @alerts.command(**describe("alerts format"))
    @app_commands.describe(alert_format="compact: a link and the title; card: the summary; full: also names, topics")
    @app_commands.rename(alert_format="format")
    @app_commands.choices(alert_format=[app_commands.Choice(name=f, value=f) for f in ALERT_FORMATS])
    @is_manager()
    async def alerts_format(self, ctx: GuildContext, alert_format: str | None = None) -> None:
        """Show or set how alerts look in this channel (Manage Server)."""
        await reply(ctx, await self.bot.alerts.alerts_format(ctx.guild.id, ctx.channel.id, ctx.author.id, alert_format))

    @alerts.command(**describe("alerts filter"))
    @app_commands.describe(rule="e.g. -football, has:Javier Milei, topic:lithium mining, re:^Breaking, remove 3, clear")
    @is_manager()
    async def alerts_filter(self, ctx: GuildContext, *, rule: str | None = None) -> None:
        """Show, add, remove or clear the filters of what this channel posts (Manage Server)."""
        answer = await self.bot.alerts.alerts_filter(ctx.guild.id, ctx.channel.id, ctx.author.id, rule)
        await reply(ctx, answer)

    @alerts.command(**describe("alerts trending"))
    @app_commands.describe(setting="here: post spikes in this channel; off: stop")
    @app_commands.choices(
        setting=[app_commands.Choice(name="here", value="here"), app_commands.Choice(name="off", value="off")]
    )
    @is_manager()
    async def alerts_trending(self, ctx: GuildContext, setting: str) -> None:
        """Post names and topics that suddenly spike in this channel, or stop (Manage Server); asked in a
        post of a forum, the forum gets a post per spike."""
        channel_id = ctx.channel.id
        if isinstance(ctx.channel, discord.Thread) and isinstance(ctx.channel.parent, discord.ForumChannel):
            channel_id = ctx.channel.parent.id  # as for alerts here: the forum, not the post asked in
        await reply(ctx, await self.bot.alerts.alerts_trending(ctx.guild.id, channel_id, ctx.author.id, setting))

    @commands.hybrid_command(**describe("follow"))
    @app_commands.describe(subject="A name or topic: Milei; 'Milei spikes' only when it spikes; a manager: Milei @News")
    @commands.guild_only()
    @commands.dynamic_cooldown(follow_cooldown, commands.BucketType.member)
    async def follow(self, ctx: GuildContext, *, subject: str) -> None:
        """Follow an entity or a topic in this server, resolved like ``summary``; a role mentioned after it
        (Manage Server) is pinged instead of the asker."""
        text, role_id = split_role(subject)
        if role_id is not None:
            require_manager(ctx)
        answer = await self.bot.alerts.follow(ctx.guild.id, ctx.author.id, ctx.channel.id, text, role_id=role_id)
        await reply(ctx, answer, ephemeral=isinstance(answer, Followed) and role_id is None)

    @follow.autocomplete("subject")
    async def follow_subject(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Names, then topics, matching what was typed."""
        return choices(await self.bot.answers.complete_subjects(current, viewer=viewer_of(interaction)))

    @commands.hybrid_command(**describe("unfollow"))
    @app_commands.describe(subject="What you follow (see /following); a manager adds a role: Milei @News")
    @commands.guild_only()
    @commands.dynamic_cooldown(follow_cooldown, commands.BucketType.member)
    async def unfollow(self, ctx: GuildContext, *, subject: str) -> None:
        """Stop following something in this server; with a role after it (Manage Server), stop its pings."""
        text, role_id = split_role(subject)
        if role_id is not None:
            require_manager(ctx)
        answer = await self.bot.alerts.unfollow(ctx.guild.id, ctx.author.id, text, role_id=role_id)
        await reply(ctx, answer, ephemeral=role_id is None)

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
