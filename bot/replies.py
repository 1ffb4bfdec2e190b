"""Sending answers to Discord: embeds, pages with buttons that only the asker can turn, no pings."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord.ext import commands

from bot.render import is_message, picture_of, to_embeds, to_message

NO_PINGS = discord.AllowedMentions.none()


class Pages(discord.ui.View):
    """Previous / next buttons over a list of embeds.

    Only the person who asked can turn the pages; when the view times out its buttons are disabled
    on the message, so nobody clicks a dead button.
    """

    def __init__(self, embeds: list[discord.Embed], owner_id: int, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.embeds = embeds
        self.owner_id = owner_id
        self.page = 0
        self.message: discord.Message | None = None
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= len(self.embeds) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages.", ephemeral=True, allowed_mentions=NO_PINGS
        )
        return False

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        self.page = max(0, min(page, len(self.embeds) - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embeds[self.page], view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, custom_id="newsdesk:pages:previous")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Show the page before."""
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary, custom_id="newsdesk:pages:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Show the page after."""
        await self._show(interaction, self.page + 1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                pass  # the message is gone or no longer ours to edit: nothing to disable


class Confirm(discord.ui.View):
    """A button that does something irreversible (``label``) and one that cancels; only the person who
    asked can press them. Either, or the timeout, ends the view: the message then shows the outcome
    (``on_confirm``'s answer, or ``cancelled``) and its buttons go."""

    def __init__(
        self,
        owner_id: int,
        label: str,
        on_confirm: Callable[[], Awaitable[Any]],
        cancelled: Any,
        *,
        timeout: float,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.on_confirm = on_confirm
        self.cancelled = cancelled
        self.message: discord.Message | None = None
        self.confirm.label = label

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can press this.", ephemeral=True, allowed_mentions=NO_PINGS
        )
        return False

    async def _finish(self, interaction: discord.Interaction, answer: Any) -> None:
        self.stop()
        await interaction.response.edit_message(content=to_message(answer), embed=None, view=None)

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger, custom_id="newsdesk:confirm:yes")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Do it."""
        await self._finish(interaction, await self.on_confirm())

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="newsdesk:confirm:no")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Do nothing."""
        await self._finish(interaction, self.cancelled)

    async def on_timeout(self) -> None:
        if self.message is not None:
            try:
                await self.message.edit(content=to_message(self.cancelled), embed=None, view=None)
            except discord.HTTPException:
                pass  # the message is gone: nothing to take the buttons off


async def send_answer(
    ctx: commands.Context[Any],
    answer: Any,
    *,
    page_timeout: float,
    ephemeral: bool = False,
    confirm: Confirm | None = None,
) -> discord.Message:
    """Send an answer: one sentence as message content, or embeds, with page buttons when there are several
    pages. ``ephemeral`` (slash commands only) shows it to the asker alone; ``confirm`` puts its buttons
    under a one-page answer."""
    prefix = ctx.clean_prefix if ctx.interaction is None else "/"
    if confirm is not None:
        message = await ctx.send(
            embeds=to_embeds(answer, prefix)[:1], view=confirm, ephemeral=ephemeral, allowed_mentions=NO_PINGS
        )
        confirm.message = message
        return message
    if is_message(answer):
        return await ctx.send(to_message(answer, prefix), ephemeral=ephemeral, allowed_mentions=NO_PINGS)
    embeds = to_embeds(answer, prefix)
    picture = picture_of(answer)
    if picture is not None:
        # The alt text is the attachment's description, which screen readers and Discord's ALT badge read.
        file = discord.File(io.BytesIO(picture.png), filename=picture.filename, description=picture.alt_text)
        return await ctx.send(embed=embeds[0], file=file, ephemeral=ephemeral, allowed_mentions=NO_PINGS)
    if len(embeds) == 1:
        return await ctx.send(embed=embeds[0], ephemeral=ephemeral, allowed_mentions=NO_PINGS)
    view = Pages(embeds, ctx.author.id, timeout=page_timeout)
    message = await ctx.send(embed=embeds[0], view=view, ephemeral=ephemeral, allowed_mentions=NO_PINGS)
    view.message = message
    return message
