"""Privacy: ``mydata`` and ``forget me`` for anyone, and the server's data scheduled for deletion when the
bot is removed from it (cancelled when it is added back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.answers import UserError
from bot.catalogue import describe
from bot.privacy import Forgotten
from bot.render import to_embeds
from bot.replies import NO_PINGS, Confirm
from cogs._shared import READ_ONLY_CONTEXTS, reply

if TYPE_CHECKING:
    from bot.app import NewsdeskBot

CONFIRM_SECONDS = 120.0


class Privacy(commands.Cog):
    """What the bot stores about you, and deleting it; a server's data goes some days after it removes the bot."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    async def _private_reply(
        self, ctx: commands.Context[NewsdeskBot], answer: object, confirm: Confirm | None = None
    ) -> None:
        """Reply where only the asker sees it: ephemeral for slash, as is in a DM; a prefix command in a
        server is answered by DM (the answer speaks of other servers), with a word in the channel."""
        if ctx.interaction is not None or ctx.guild is None:
            await reply(ctx, answer, ephemeral=True, confirm=confirm)
            return
        try:
            message = await ctx.author.send(
                embeds=to_embeds(answer, ctx.clean_prefix)[:10], view=confirm, allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            raise UserError("I could not DM you: use the slash command (only you see its answer), or DM me.") from None
        if confirm is not None:
            confirm.message = message
        await ctx.send("I sent you a DM.", allowed_mentions=NO_PINGS)

    @commands.hybrid_command(**describe("mydata"))
    @READ_ONLY_CONTEXTS
    async def mydata(self, ctx: commands.Context[NewsdeskBot]) -> None:
        """List what the bot stores about you: your follows in each server, and what you set up."""
        servers = {guild.id: guild.name for guild in self.bot.guilds}
        await self._private_reply(ctx, await self.bot.privacy.mydata(ctx.author.id, servers))

    @commands.hybrid_command(**describe("forget"))
    @READ_ONLY_CONTEXTS
    async def forget(self, ctx: commands.Context[NewsdeskBot], who: str = "me") -> None:
        """Delete everything the bot stores about you, after you press the confirmation button."""
        if who.strip().lower() != "me":
            raise UserError("Only you can be forgotten this way: forget me.")
        user_id = ctx.author.id
        asked = await self.bot.privacy.forget_prompt(user_id)
        if asked.data.empty:
            await self._private_reply(ctx, asked)
            return
        confirm = Confirm(
            user_id,
            "Forget me",
            lambda: self.bot.privacy.forget(user_id),
            Forgotten(done=False),
            timeout=CONFIRM_SECONDS,
        )
        await self._private_reply(ctx, asked, confirm)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server: its data goes when the grace period ends."""
        await self.bot.retirement.departed(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added (back) to a server: nothing of it is deleted."""
        await self.bot.retirement.returned(guild.id)


async def setup(bot: NewsdeskBot) -> None:
    """Load the cog."""
    await bot.add_cog(Privacy(bot))
