"""The one catalogue of commands: name, usage, description, example and the handler that answers.

Each handler registers its command with :func:`command`, on the method itself (in :mod:`bot.answers`
for the commands that work anywhere; in :mod:`bot.alerts.service`, :mod:`bot.ingest.sources.feed_commands`
and :mod:`bot.admin` for server and owner commands). Everything that shows a command reads it from here:
the cogs (``**describe("who")`` gives the discord.py decorator its name, description and usage), the
slash descriptions, ``help`` and the console's :meth:`bot.answers.Answers.ask`. A test checks the bot's
prefix and slash commands against it both ways.

This module imports nothing of the bot, so any layer can register or read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

# Discord refuses a slash command whose description is longer.
DESCRIPTION_LIMIT = 100

Where = Literal["anywhere", "server", "owner"]
"""``anywhere``: the console, DMs and servers; ``server``: in a Discord server only; ``owner``: the bot's
owner only, as a prefix command."""

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command as help, the console and Discord show it. ``name`` is the full name of a subcommand
    (``"source add"``); ``usage`` starts with it."""

    name: str
    usage: str
    description: str
    example: str
    where: Where = "anywhere"
    handler: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def parent(self) -> str | None:
        """The group a subcommand belongs to (``"source"`` for ``"source add"``)."""
        head, _, _ = self.name.rpartition(" ")
        return head or None

    @property
    def arguments(self) -> str:
        """The usage without the command's name (``"<name>"`` for ``who``)."""
        return self.usage[len(self.name) :].strip()


_entries: dict[str, CommandSpec] = {}

# The modules whose handlers register commands. The bot imports them all anyway; the console and the
# command line load them with :func:`load_all`, so that help there knows every command, the server ones
# included (a test checks that every module using ``@command`` is listed).
COMMAND_MODULES = (
    "bot.answers",
    "bot.alerts.service",
    "bot.ingest.sources.feed_commands",
    "bot.admin",
    "bot.server_aliases",
    "bot.privacy",
)


def load_all() -> None:
    """Import every module that registers commands, so the catalogue is complete."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)


def command(
    name: str, usage: str, description: str, example: str, *, where: Where = "anywhere"
) -> Callable[[HandlerT], HandlerT]:
    """Register the decorated function as the handler of command ``name``; the function is unchanged.

    A second, different handler for the same name is a programming error (the command would be
    described twice); registering the same function again (a module reloaded) replaces the entry.
    """
    spec = CommandSpec(name, usage, description, example, where)
    _check(spec)

    def register(handler: HandlerT) -> HandlerT:
        known = _entries.get(name)
        if known is not None and _origin(known.handler) != _origin(handler):
            raise ValueError(f"command {name!r} is catalogued twice: {_origin(known.handler)} and {_origin(handler)}")
        _entries[name] = CommandSpec(name, usage, description, example, where, handler)
        return handler

    return register


def _check(spec: CommandSpec) -> None:
    if not spec.usage.startswith(spec.name) or not spec.example.startswith(spec.name.split(" ")[0]):
        raise ValueError(f"command {spec.name!r}: the usage and the example start with its name")
    if not 1 <= len(spec.description) <= DESCRIPTION_LIMIT:
        raise ValueError(f"command {spec.name!r}: a description has 1 to {DESCRIPTION_LIMIT} characters")


def _origin(handler: Callable[..., Any] | None) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', '?')}"


def entry(name: str) -> CommandSpec:
    """The catalogued command ``name`` (``"source add"`` for a subcommand); ``KeyError`` if there is none."""
    return _entries[name]


def find(name: str) -> CommandSpec | None:
    """The catalogued command ``name``, or ``None``."""
    return _entries.get(name)


def entries() -> tuple[CommandSpec, ...]:
    """Every catalogued command, in the order registered (which is the order ``help`` lists them)."""
    return tuple(_entries.values())


def subcommands(name: str) -> tuple[CommandSpec, ...]:
    """The catalogued subcommands of group ``name``."""
    return tuple(spec for spec in _entries.values() if spec.parent == name)


def describe(name: str) -> dict[str, str]:
    """Keyword arguments for discord.py's command decorators, from the catalogue:
    ``@commands.hybrid_command(**describe("who"))``, ``@group.command(**describe("source add"))``."""
    spec = entry(name)
    return {"name": spec.name.rpartition(" ")[2], "description": spec.description, "usage": spec.arguments}
