"""Layers that can be imported alone: what answers questions never imports spaCy, and the shared data
classes import neither spaCy nor the database driver. Each check runs in a fresh interpreter, since this
one has spaCy loaded already."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

ANSWERING = """
import importlib, pkgutil, sys
import cogs
names = ["bot.app", "bot.store", "bot.render", "bot.answers", "bot.catalogue", "bot.cli"]
names += [f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__)]
for name in names:
    importlib.import_module(name)
    loaded = [m for m in ("spacy", "thinc") if m in sys.modules]
    if loaded:
        print(name, "imports", *loaded)
        break
"""


# The real bot against the fake Discord, with nothing to index (no watched folder, no feed).
RUNNING_BOT = """
import asyncio, sys
from pathlib import Path
from bot.app import NewsdeskBot
from bot.config import load_settings
from tests.fake_discord import FakeDiscord

async def main():
    settings = load_settings(Path("config/newsdesk.toml"), environ={"NEWSDESK_DATABASE": sys.argv[1]})
    settings = settings.replace(folders=())
    async with FakeDiscord() as fake, fake.run_bot(NewsdeskBot(settings)):
        reply = await (await fake.send_message("!who Milei")).reply()
        print(reply.embeds[0]["title"], "|", *[m for m in ("spacy", "thinc") if m in sys.modules])

asyncio.run(main())
"""


def _run(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_bot_the_store_the_answers_and_every_cog_import_without_spacy() -> None:
    assert _run(ANSWERING) == ""


def test_the_shared_data_classes_import_neither_spacy_nor_aiosqlite() -> None:
    code = "import sys, bot.models; print(*[m for m in ('spacy', 'thinc', 'aiosqlite') if m in sys.modules])"
    assert _run(code) == ""


def test_a_running_bot_with_nothing_to_index_answers_without_spacy(seeded_copy: Path | str) -> None:
    assert _run(RUNNING_BOT, str(seeded_copy)) == "Javier Milei |"


def test_nothing_under_bot_imports_the_bot_class_but_the_command_line() -> None:
    """The services get their parts explicitly (store, settings, answers, the Discord client, callbacks):
    no module imports bot.app, not even for typing, except the command line that starts the bot."""
    importers = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if "bot.app" in names:
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"bot/cli.py"}
