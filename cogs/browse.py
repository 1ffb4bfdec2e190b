"""Browsing the index: topics, one topic, search, latest, one article, related articles, stories,
trending, stats."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from cogs._shared import READ_ONLY_CONTEXTS, ArticleId, Count, choices, costly_cooldown, reply, viewer_of

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


# A count is ``Transform[int | None, Count]``, not ``Transform[...] | None``: an optional converter would
# take "lots" for "no count" and answer the default instead of saying what a count is.


class Browse(commands.Cog):
    """Find articles by topic, by words, by date, or by what they share."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(**describe("topics"))
    @app_commands.describe(count="How many topics (1 to 25, default 10)")
    @READ_ONLY_CONTEXTS
    async def topics(
        self, ctx: commands.Context[NewsdeskBot], count: app_commands.Transform[int | None, Count] = None
    ) -> None:
        """The most covered topics."""
        await reply(ctx, await self.bot.answers.topics(count, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("topic"))
    @app_commands.describe(phrase="A topic, e.g. lithium industry")
    @READ_ONLY_CONTEXTS
    async def topic(self, ctx: commands.Context[NewsdeskBot], *, phrase: str) -> None:
        """One topic: how many articles, and the latest ones."""
        await reply(ctx, await self.bot.answers.topic(phrase, viewer=viewer_of(ctx)))

    @topic.autocomplete("phrase")
    async def topic_phrase(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Topics starting with (or close to) what was typed."""
        return choices(await self.bot.answers.complete_topics(current, viewer=viewer_of(interaction)))

    @commands.hybrid_command(**describe("search"))
    @app_commands.describe(query="Words to look for; quotes and operators are taken as plain words")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def search(self, ctx: commands.Context[NewsdeskBot], *, query: str) -> None:
        """Articles that best match ``query`` (BM25), with the matching passage."""
        await reply(ctx, await self.bot.answers.search(query, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("latest"))
    @app_commands.describe(count="How many articles (1 to 25, default 5)")
    @READ_ONLY_CONTEXTS
    async def latest(
        self, ctx: commands.Context[NewsdeskBot], count: app_commands.Transform[int | None, Count] = None
    ) -> None:
        """The newest articles."""
        await reply(ctx, await self.bot.answers.latest(count, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("article"))
    @app_commands.describe(article_id="The article's id, shown as #42 in other answers")
    @READ_ONLY_CONTEXTS
    async def article(
        self, ctx: commands.Context[NewsdeskBot], article_id: app_commands.Transform[int, ArticleId]
    ) -> None:
        """Everything the index holds about one article."""
        await reply(ctx, await self.bot.answers.article(article_id, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("related"))
    @app_commands.describe(article_id="The article's id, shown as #42 in other answers")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def related(
        self, ctx: commands.Context[NewsdeskBot], article_id: app_commands.Transform[int, ArticleId]
    ) -> None:
        """Articles close to article ``article_id``."""
        await reply(ctx, await self.bot.answers.related(article_id, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("story"))
    @app_commands.describe(reference="An article id (42) or a story id (s12)")
    @READ_ONLY_CONTEXTS
    async def story(self, ctx: commands.Context[NewsdeskBot], reference: str) -> None:
        """The story an article belongs to: its outlets, times and headlines, and a summary from several."""
        await reply(ctx, await self.bot.answers.story(reference, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("trending"))
    @app_commands.describe(window="24h (the default) or 7d")
    @app_commands.choices(
        window=[
            app_commands.Choice(name="last 24 hours", value="24h"),
            app_commands.Choice(name="last 7 days", value="7d"),
        ]
    )
    @READ_ONLY_CONTEXTS
    async def trending(self, ctx: commands.Context[NewsdeskBot], window: str | None = None) -> None:
        """Names and topics covered far more than usual in the last 24 hours or 7 days."""
        await reply(ctx, await self.bot.answers.trending(window, viewer=viewer_of(ctx)))

    @commands.hybrid_command(**describe("stats"))
    @READ_ONLY_CONTEXTS
    async def stats(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """Counts of articles, names and topics, and the dates they cover."""
        await reply(ctx, await self.bot.answers.stats(viewer=viewer_of(ctx)))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Browse(bot))
