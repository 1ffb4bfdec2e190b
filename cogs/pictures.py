"""Pictures: ``trend`` (mentions per day as a line chart) and ``graph`` (who a name appears with)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from cogs._shared import READ_ONLY_CONTEXTS, choices, costly_cooldown, reply, viewer_of

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Pictures(commands.Cog):
    """Charts and graphs of the coverage, attached as PNG pictures with their alt text."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(**describe("trend"))
    @app_commands.describe(subjects="Up to four names or topics split by vs, then 30d, 90d or 1y: Milei vs Musk 30d")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def trend(self, ctx: commands.Context[NewsdeskBot], *, subjects: str) -> None:
        """Mentions per day of up to four names or topics, as a line chart with the biggest peak labelled."""
        # Typing while it draws; for the slash form this defers, as a picture can take longer than the three
        # seconds a slash command has to answer.
        async with ctx.typing():
            answer = await self.bot.answers.trend(subjects, viewer=viewer_of(ctx))
        await reply(ctx, answer)

    @trend.autocomplete("subjects")
    async def trend_subjects(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Names and topics for the subject being typed (the part after the last ``vs``)."""
        head, separator, last = current.rpartition(" vs ")
        names = await self.bot.answers.complete_subjects(last.strip(), viewer=viewer_of(interaction))
        return choices([f"{head}{separator}{name}" for name in names if len(head) + len(separator) + len(name) <= 100])

    @commands.hybrid_command(**describe("graph"))
    @app_commands.describe(name="A name as the news writes it, e.g. Milei")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def graph(self, ctx: commands.Context[NewsdeskBot], *, name: str) -> None:
        """The names ``name`` appears with most, drawn as a network coloured by type."""
        async with ctx.typing():
            answer = await self.bot.answers.graph(name, viewer=viewer_of(ctx))
        await reply(ctx, answer)

    @graph.autocomplete("name")
    async def graph_name(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Entity names starting with (or close to) what was typed."""
        return choices(await self.bot.answers.complete_entities(current, viewer=viewer_of(interaction)))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Pictures(bot))
