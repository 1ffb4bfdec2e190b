"""Server aliases: ``!alias add JM = Javier Milei`` makes "JM" mean Javier Milei in this server only, in
``who``, ``summary``, ``follow``, ``topic`` and autocomplete (:meth:`bot.answers.Answers.resolve` reads
them). The global table in ``config/aliases.toml`` stays for every server.

Each command method is catalogued (:mod:`bot.catalogue`) and returns an answer object that
:mod:`bot.render` formats; the aliases cog only parses input and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers import Answers, Choices, NotFound, Resolved, UserError, Wanted
from bot.catalogue import command
from bot.models import ServerAlias, Viewer
from bot.nlp.names import name_key
from bot.nlp.topics import topic_key
from bot.store.servers import AliasLimitReached
from bot.wording import plural

MAX_ALIAS_CHARS = 100
MAX_ALIASES = 200


@dataclass(frozen=True, slots=True)
class AliasAdded:
    """``!alias add``: ``alias`` now stands for ``target`` here (``already``: it did before)."""

    alias: str
    target: str
    already: bool = False


@dataclass(frozen=True, slots=True)
class AliasRemoved:
    """``!alias remove``: the alias that was removed."""

    alias: str
    target: str


@dataclass(frozen=True, slots=True)
class AliasList:
    """``!alias list``: this server's aliases."""

    aliases: list[ServerAlias]


class ServerAliases:
    """Answers the alias commands of a server, over the answers (which resolve names) and their store."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.store = answers.store

    @command(
        "alias",
        "alias [add <alias> = <name> | remove <alias> | list]",
        "Names that mean someone or something in this server only (Manage Server).",
        "alias add JM = Javier Milei",
        where="server",
    )
    @command("alias list", "alias list", "This server's aliases.", "alias list", where="server")
    async def aliases(self, guild_id: int) -> AliasList:
        """This server's aliases."""
        return AliasList(await self.store.servers.aliases(guild_id, limit=MAX_ALIASES))

    @command(
        "alias add",
        "alias add <alias> = <name>",
        "Make a name mean someone or a topic in this server only (Manage Server).",
        "alias add El Loco = Javier Milei",
        where="server",
    )
    async def add(self, guild_id: int, user_id: int, text: str) -> AliasAdded | Choices | NotFound:
        """Make ``<alias>`` stand for ``<name>`` here; the name must be one the index knows (in this server's
        view), and is stored as the index spells it."""
        alias, equals, name = text.partition("=")
        alias, name = " ".join(alias.split()), " ".join(name.split())
        if not equals or not name_key(alias) or not name_key(name):
            raise UserError("Write it as: alias add <alias> = <name>, like: alias add JM = Javier Milei.")
        if len(alias) > MAX_ALIAS_CHARS or len(name) > self.answers.max_query_chars:
            raise UserError(f"An alias is at most {MAX_ALIAS_CHARS} characters, and the name it stands for too.")
        viewer = Viewer.server(guild_id)
        found = await self.answers.resolve(name, Wanted.SUBJECT, f"alias add {alias} =", viewer=viewer)
        unknown = f"I know no one and nothing called {name} here, so {alias} cannot mean it."
        if isinstance(found, NotFound):
            return NotFound(unknown, found.suggestions)
        if not isinstance(found, Resolved):
            return found
        # Only a name as the index has it: a typo corrected, or the closest topic, is offered instead.
        inexact = found.corrected_from is not None or (
            found.kind == "topic" and found.key != topic_key(await self.answers.canonical(name, viewer))
        )
        if inexact:
            return NotFound(unknown, [found.name])
        if name_key(found.name) == name_key(alias):
            raise UserError(f"{alias} is already the name itself.")
        try:
            added = await self.store.servers.add_alias(
                guild_id, name_key(alias), alias, found.name, user_id, limit=MAX_ALIASES
            )
        except AliasLimitReached as exc:
            raise UserError(
                f"This server already has {plural(exc.limit, 'alias', 'aliases')}, the most it may; remove one first."
            ) from None
        return AliasAdded(alias, found.name, already=not added)

    @command(
        "alias remove",
        "alias remove <alias>",
        "Forget one of this server's aliases (Manage Server).",
        "alias remove JM",
        where="server",
    )
    async def remove(self, guild_id: int, alias: str) -> AliasRemoved:
        """Forget an alias of this server."""
        removed = await self.store.servers.remove_alias(guild_id, name_key(alias))
        if removed is None:
            raise UserError(f"This server has no alias {' '.join(alias.split())}; see alias list.")
        return AliasRemoved(removed.alias, removed.target)
