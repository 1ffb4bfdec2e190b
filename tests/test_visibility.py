"""Every cog asks the answers as the person asking: a call to a method of ``Answers`` that takes a viewer
passes one (``viewer_of(ctx)``), or a server would answer from every server's articles."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import cogs
from bot.answers import Answers

COGS = Path(cogs.__file__).parent


def _takes_viewer(name: str) -> bool:
    method = getattr(Answers, name, None)
    return method is not None and "viewer" in inspect.signature(method).parameters


def _answer_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls of ``self.bot.answers.<method>(…)``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "answers":
                found.append(node)
    return found


def test_every_cog_call_that_can_take_a_viewer_passes_one() -> None:
    missing = []
    checked = 0
    for path in sorted(COGS.glob("*.py")):
        for call in _answer_calls(ast.parse(path.read_text(encoding="utf-8"))):
            assert isinstance(call.func, ast.Attribute)
            if not _takes_viewer(call.func.attr):
                continue
            checked += 1
            if not any(keyword.arg == "viewer" for keyword in call.keywords):
                missing.append(f"{path.name}:{call.lineno} answers.{call.func.attr}")
    assert checked >= 15  # who, summary, search, latest, trending, trend, graph, the autocompletes …
    assert missing == []
