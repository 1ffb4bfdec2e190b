"""What the cogs share: the context types, the Manage Server check, number options, cooldowns, replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import MAX_LIST, parse_article_id, parse_count
from bot.ingest.sources.feed_commands import parse_feed_id
from bot.models import Viewer
from bot.replies import Confirm, send_answer

if TYPE_CHECKING:
    from bot.app import NewsdeskBot

AUTOCOMPLETE_LIMIT = 25
# The largest integer a Discord number option carries exactly (JavaScript's safe integer).
LARGEST_OPTION_INTEGER = 2**53 - 1

T = TypeVar("T")


class GuildContext(commands.Context["NewsdeskBot"]):
    """The context of a command that runs only in a server (``commands.guild_only()`` or :func:`is_manager`):
    for type checkers its guild is set and its author is a member. Never instantiated; annotations only."""

    guild: discord.Guild
    author: discord.Member
    channel: discord.TextChannel | discord.VoiceChannel | discord.StageChannel | discord.Thread


def viewer_of(source: commands.Context[Any] | discord.Interaction) -> Viewer:
    """Who asks, for what they may see: a server's member sees shared articles and the server's own, a
    DM shared articles only (a command or an autocomplete)."""
    interaction = source if isinstance(source, discord.Interaction) else source.interaction
    guild = source.guild
    guild_id = guild.id if guild is not None else (interaction.guild_id if interaction is not None else None)
    return Viewer.server(guild_id) if guild_id is not None else Viewer.dm()


def manages_server(ctx: commands.Context[Any]) -> bool:
    """Whether the author may manage this server (Manage Server, or Administrator)."""
    return isinstance(ctx.author, discord.Member) and ctx.author.guild_permissions.manage_guild


def require_manager(ctx: commands.Context[Any]) -> None:
    """Raise the same error as :func:`is_manager` when the author may not manage this server."""
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    if not manages_server(ctx):
        raise commands.MissingPermissions(["manage_guild"])


def is_manager() -> Callable[[T], T]:
    """Only in a server, only for members with Manage Server: one check for the prefix and the slash form
    (both answer "You need the Manage Server permission for that."), and the slash form is offered to
    managers only. Put it under the command's decorator."""

    def predicate(ctx: commands.Context[Any]) -> bool:
        require_manager(ctx)
        return True

    def decorator(func: T) -> T:
        commands.guild_only()(func)
        commands.check(predicate)(func)
        app_commands.default_permissions(manage_guild=True)(func)  # ignored by Discord on subcommands
        return func

    return decorator


class _WholeNumber(app_commands.Transformer):
    """A whole-number option: a number field in the slash form (Discord keeps it in range), and in the
    prefix form the text is read as the console reads it, so ``#42`` works and a bad value gets the
    command's own sentence (see :func:`cogs.errors.describe`)."""

    def __init__(self, read: Callable[[str], int], *, minimum: int = 1, maximum: int = LARGEST_OPTION_INTEGER) -> None:
        self.read = read
        self.minimum = minimum
        self.maximum = maximum

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    @property
    def min_value(self) -> int:
        return self.minimum

    @property
    def max_value(self) -> int:
        return self.maximum

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> int:
        return int(value)

    def __call__(self, argument: str) -> int:  # type: ignore[override]  # the prefix form's converter
        return self.read(argument)


ArticleId = _WholeNumber(parse_article_id)
"""An article id (``42`` or ``#42`` typed)."""
FeedId = _WholeNumber(parse_feed_id)
"""A feed id of this server (``3`` or ``#3`` typed)."""
Count = _WholeNumber(lambda text: parse_count(text, 1), maximum=MAX_LIST)
"""A list length from 1 to 25 (typed larger, it is read as 25)."""


def costly_cooldown(ctx: commands.Context[Any]) -> commands.Cooldown:
    """Per-user rate for the commands that cost the most, from the settings."""
    settings = ctx.bot.settings
    return commands.Cooldown(settings.cooldown_uses, settings.cooldown_seconds)


async def reply(
    ctx: commands.Context[Any], answer: Any, *, ephemeral: bool = False, confirm: Confirm | None = None
) -> None:
    """Send an answer (a card, or a one-message answer) with the bot's page timeout, and ``confirm``'s
    buttons when given."""
    bot: NewsdeskBot = ctx.bot
    await send_answer(
        ctx, answer, page_timeout=bot.settings.page_timeout_seconds, ephemeral=ephemeral, confirm=confirm
    )


def choices(names: list[str]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices (Discord accepts at most 25, each up to 100 characters)."""
    return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names[:AUTOCOMPLETE_LIMIT]]


READ_ONLY_CONTEXTS = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
