"""Browsing the index: topics, one topic, search, latest, one article, related articles, stats."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import NewsdeskBot
from cogs._shared import READ_ONLY_CONTEXTS, choices, costly_cooldown, reply


class Browse(commands.Cog):
    """Find articles by topic, by words, by date, or by what they share."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="topics", description="The topics most articles are about.")
    @app_commands.describe(count="How many topics (1 to 25, default 10)")
    @READ_ONLY_CONTEXTS
    async def topics(self, ctx: commands.Context[NewsdeskBot], count: str | None = None) -> None:
        """The most covered topics."""
        await reply(ctx, await self.bot.answers.topics(count))

    @commands.hybrid_command(name="topic", description="The latest articles about one topic.")
    @app_commands.describe(phrase="A topic, e.g. lithium industry")
    @READ_ONLY_CONTEXTS
    async def topic(self, ctx: commands.Context[NewsdeskBot], *, phrase: str) -> None:
        """One topic: how many articles, and the latest ones."""
        await reply(ctx, await self.bot.answers.topic(phrase))

    @topic.autocomplete("phrase")
    async def topic_phrase(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Topics starting with (or close to) what was typed."""
        return choices(await self.bot.answers.complete_topics(current))

    @commands.hybrid_command(name="search", description="Full-text search of titles and articles.")
    @app_commands.describe(query="Words to look for; quotes and operators are taken as plain words")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def search(self, ctx: commands.Context[NewsdeskBot], *, query: str) -> None:
        """Articles that best match ``query`` (BM25), with the matching passage."""
        await reply(ctx, await self.bot.answers.search(query))

    @commands.hybrid_command(name="latest", description="The most recently published articles.")
    @app_commands.describe(count="How many articles (1 to 25, default 5)")
    @READ_ONLY_CONTEXTS
    async def latest(self, ctx: commands.Context[NewsdeskBot], count: str | None = None) -> None:
        """The newest articles."""
        await reply(ctx, await self.bot.answers.latest(count))

    @commands.hybrid_command(name="article", description="One article: source, summary, names and topics.")
    @app_commands.describe(article_id="The article's id, shown as #42 in other answers")
    @READ_ONLY_CONTEXTS
    async def article(self, ctx: commands.Context[NewsdeskBot], article_id: str) -> None:
        """Everything the index holds about one article."""
        await reply(ctx, await self.bot.answers.article(article_id))

    @commands.hybrid_command(name="related", description="Articles that share names and topics with one article.")
    @app_commands.describe(article_id="The article's id, shown as #42 in other answers")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def related(self, ctx: commands.Context[NewsdeskBot], article_id: str) -> None:
        """Articles close to article ``article_id``."""
        await reply(ctx, await self.bot.answers.related(article_id))

    @commands.hybrid_command(name="stats", description="How much the index holds.")
    @READ_ONLY_CONTEXTS
    async def stats(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """Counts of articles, names and topics, and the dates they cover."""
        await reply(ctx, await self.bot.answers.stats())


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Browse(bot))
