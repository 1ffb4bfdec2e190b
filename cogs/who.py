"""``who`` and ``timeline``: who someone (or something) in the news is, and the roles they held, from the index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from cogs._shared import READ_ONLY_CONTEXTS, choices, costly_cooldown, reply, viewer_of

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Who(commands.Cog):
    """Look up people, organisations and places mentioned in the news."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.hybrid_command(**describe("who"))
    @app_commands.describe(name="A name as the news writes it, e.g. Milei or Elon Musk")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def who(self, ctx: commands.Context[NewsdeskBot], *, name: str) -> None:
        """Who ``name`` is: canonical name, type, role, mentions, first/last seen, co-mentions, key sentences."""
        await reply(ctx, await self.bot.answers.who(name, viewer=viewer_of(ctx)))

    @who.autocomplete("name")
    async def who_name(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Entity names starting with (or close to) what was typed so far."""
        return choices(await self.bot.answers.complete_entities(current, viewer=viewer_of(interaction)))

    @commands.hybrid_command(**describe("timeline"))
    @app_commands.describe(name="A name as the news writes it, e.g. Milei or Elon Musk")
    @READ_ONLY_CONTEXTS
    @commands.dynamic_cooldown(costly_cooldown, commands.BucketType.user)
    async def timeline(self, ctx: commands.Context[NewsdeskBot], *, name: str) -> None:
        """The roles ``name`` held over time, variants of one role merged, each with its first article."""
        await reply(ctx, await self.bot.answers.timeline(name, viewer=viewer_of(ctx)))

    @timeline.autocomplete("name")
    async def timeline_name(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Entity names starting with (or close to) what was typed so far."""
        return choices(await self.bot.answers.complete_entities(current, viewer=viewer_of(interaction)))


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Who(bot))
