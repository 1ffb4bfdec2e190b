"""Server aliases: names that stand for someone or a topic in this server only (Manage Server to change)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue import describe
from cogs._shared import GuildContext, choices, is_manager, reply, viewer_of

if TYPE_CHECKING:
    from bot.app import NewsdeskBot


class Aliases(commands.Cog):
    """Names that mean someone or something in this server: "JM" for Javier Milei."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    # Anyone may list them; the slash form of the group is offered to managers (Discord sets permissions
    # per top-level command only), and every change checks Manage Server itself.
    @commands.hybrid_group(**describe("alias"), invoke_without_command=True)
    @commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def alias(self, ctx: GuildContext) -> None:
        """List this server's aliases."""
        await reply(ctx, await self.bot.server_aliases.aliases(ctx.guild.id))

    @alias.command(**describe("alias list"))
    @commands.guild_only()
    async def alias_list(self, ctx: GuildContext) -> None:
        """List this server's aliases."""
        await reply(ctx, await self.bot.server_aliases.aliases(ctx.guild.id))

    @alias.command(**describe("alias add"))
    @app_commands.describe(mapping="The alias, =, and the name it stands for: JM = Javier Milei")
    @is_manager()
    async def alias_add(self, ctx: GuildContext, *, mapping: str) -> None:
        """Make an alias stand for a name or topic the index knows, in this server only (Manage Server)."""
        await reply(ctx, await self.bot.server_aliases.add(ctx.guild.id, ctx.author.id, mapping))

    @alias.command(**describe("alias remove"))
    @app_commands.describe(alias="One of this server's aliases (see alias list)")
    @is_manager()
    async def alias_remove(self, ctx: GuildContext, *, alias: str) -> None:
        """Forget one of this server's aliases (Manage Server)."""
        await reply(ctx, await self.bot.server_aliases.remove(ctx.guild.id, alias))

    @alias_remove.autocomplete("alias")
    async def alias_name(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """This server's aliases starting with what was typed."""
        viewer = viewer_of(interaction)
        if viewer.guild_id is None:
            return []
        found = await self.bot.store.servers.aliases(viewer.guild_id, limit=25)
        typed = current.strip().lower()
        return choices([a.alias for a in found if a.alias.lower().startswith(typed)])


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Aliases(bot))
