"""``summary``: extractive summaries of an article, the latest news, or a name or topic (over a period)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import is_number
from bot.catalogue import describe
from bot.subject_summary import split_period
from cogs._shared import READ_ONLY_CONTEXTS, choices, costly_cooldown, reply, viewer_of

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Summaries(commands.Cog):
    """Short summaries made from the articles' own sentences."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(**describe("summary"))
    @app_commands.describe(target="An article id, 'latest' (the default), or a name or topic, then 24h, 7d or 30d")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def summary(self, ctx: commands.Context[NewsdeskBot], *, target: str = "latest") -> None:
        """Summarise article ``target`` (an id or ``latest``), or the latest about a name or topic, or a name
        or topic over a period (``Milei 7d``)."""
        await reply(ctx, await self.bot.answers.summary(target, viewer=viewer_of(ctx)))

    @summary.autocomplete("target")
    async def summary_target(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Names first, then topics, matching what was typed; a period typed after the name is kept."""
        if is_number(current.strip()):
            return choices([current.strip()])
        viewer = viewer_of(interaction)
        subject, period = split_period(current)
        if period is not None:
            subjects = await self.bot.answers.complete_subjects(subject, limit=25, viewer=viewer)
            return choices([f"{name[: 99 - len(period.label)]} {period.label}" for name in subjects])
        subjects = await self.bot.answers.complete_subjects(current, limit=24 if not current else 25, viewer=viewer)
        return choices(["latest", *subjects] if not current else subjects)


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Summaries(bot))
