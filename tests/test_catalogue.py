"""The one command catalogue against the real bot: every prefix and slash command is catalogued with the
catalogue's description, every catalogued command exists, and ``help`` shows each of them."""

from __future__ import annotations

import ast
import re
import tokenize

import pytest
from discord import app_commands

from bot import catalogue
from bot.app import NewsdeskBot
from bot.catalogue import command, entries, entry
from tests.conftest import ROOT
from tests.fake_discord import FakeDiscord

DISCORD_DESCRIPTION_LIMIT = 100  # Discord's own number, for slash commands and their options


def _catalogued_name(app_command: app_commands.Command | app_commands.Group) -> str:
    """The catalogue name of a slash command. A hybrid group's fallback (``/alerts status``) is the group
    itself (``!alerts``)."""
    wrapped = getattr(app_command, "wrapped", None)
    return wrapped.qualified_name if wrapped is not None else app_command.qualified_name


async def test_every_prefix_command_is_catalogued_and_every_entry_is_a_command(bot: NewsdeskBot) -> None:
    commands = {c.qualified_name: c for c in bot.walk_commands()}
    assert set(commands) == {spec.name for spec in entries()}
    for name, cmd in commands.items():
        spec = entry(name)
        assert cmd.description == spec.description, name
        assert f"{name} {cmd.signature}".strip() == spec.usage, name
        assert spec.handler is not None and callable(spec.handler), name


async def test_every_slash_command_is_catalogued_and_every_entry_but_the_owners_is_one(bot: NewsdeskBot) -> None:
    slash: set[str] = set()
    for app_command in bot.tree.walk_commands():
        name = _catalogued_name(app_command)
        slash.add(name)
        assert app_command.description == entry(name).description, app_command.qualified_name
        assert 1 <= len(app_command.description) <= DISCORD_DESCRIPTION_LIMIT, app_command.qualified_name
        if isinstance(app_command, app_commands.Command):
            for parameter in app_command.parameters:
                assert 1 <= len(parameter.description) <= DISCORD_DESCRIPTION_LIMIT, (name, parameter.name)
    assert slash == {spec.name for spec in entries() if spec.where != "owner"}


async def test_help_shows_every_command_the_asker_may_use(bot: NewsdeskBot) -> None:
    answers = bot.answers
    top_level = [spec for spec in entries() if spec.parent is None]
    assert answers.help(in_discord=True, owner=True).commands == tuple(top_level)
    member_view = answers.help(in_discord=True).commands
    assert [spec.name for spec in member_view] == [spec.name for spec in top_level if spec.where != "owner"]
    assert {spec.where for spec in answers.help().commands} == {"anywhere"}  # the console
    for group in {spec.parent for spec in entries() if spec.parent}:
        shown = answers.help(group, in_discord=True).commands
        assert shown == (entry(group), *(spec for spec in entries() if spec.parent == group))


async def test_help_on_discord_lists_sync_for_the_owner_only_and_explains_a_group(
    bot: NewsdeskBot, fake_discord: FakeDiscord
) -> None:
    owner = await (await fake_discord.send_message("!help", author=fake_discord.owner)).reply()
    assert "`!sync [global | here]`" in owner.embeds[0]["description"]
    member = await (await fake_discord.send_message("!help", author=fake_discord.member)).reply()
    assert "!sync" not in member.embeds[0]["description"] and "`!source [add <url>" in member.embeds[0]["description"]
    group = await (await fake_discord.send_message("!help source", author=fake_discord.member)).reply()
    text = group.embeds[0]["description"]
    for usage in ("source add <url> [minutes] [shared]", "source list", "source remove <id>", "source resume <id>"):
        assert f"`!{usage}`" in text, usage
    one = await (await fake_discord.send_message("!help source remove", author=fake_discord.member)).reply()
    assert one.embeds[0]["description"].count("Example:") == 1


def test_a_command_is_catalogued_once_with_a_short_description(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalogue, "_entries", {})

    @command("ping", "ping", "Answers pong.", "ping")
    async def ping() -> str:
        return "pong"

    assert entry("ping").handler is ping and catalogue.describe("ping") == {
        "name": "ping",
        "description": "Answers pong.",
        "usage": "",
    }
    with pytest.raises(ValueError, match="catalogued twice"):

        @command("ping", "ping", "Another pong.", "ping")
        async def other_ping() -> str:
            return "pong"

    with pytest.raises(ValueError, match="1 to 100 characters"):
        command("long", "long", "x" * 101, "long")


def test_cogs_import_the_bot_class_only_for_type_checking() -> None:
    for path in sorted((ROOT / "cogs").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
            for node in ast.walk(block)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "bot.app":
                assert id(node) in typing_only, f"{path.name} imports bot.app at run time"


def test_no_hand_written_plurals() -> None:
    """Counts read "1 article", "3 articles" (``bot.wording.plural``), never "3 article(s)"."""
    string_tokens = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").glob("*.py")]:
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type in string_tokens:
                    text = token.string.replace("http(s)", "")
                    assert re.search(r"[a-z]\(s\)", text) is None, f"{path.relative_to(ROOT)}:{token.start[0]}"
