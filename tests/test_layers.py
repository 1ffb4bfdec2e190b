"""Layers that can be imported alone: what answers questions never imports spaCy, and the shared data
classes import neither spaCy nor the database driver. Each check runs in a fresh interpreter, since this
one has spaCy loaded already."""

from __future__ import annotations

import subprocess
import sys

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


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_bot_the_store_the_answers_and_every_cog_import_without_spacy() -> None:
    assert _run(ANSWERING) == ""


def test_the_shared_data_classes_import_neither_spacy_nor_aiosqlite() -> None:
    code = "import sys, bot.models; print(*[m for m in ('spacy', 'thinc', 'aiosqlite') if m in sys.modules])"
    assert _run(code) == ""
