"""Where articles are analysed: the bot's analyzer works in worker processes only, and survives one dying."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from bot.models import ArticleText
    from bot.nlp.analyzer import Analyzer

    analyzer = Analyzer("en_core_web_sm", {}, workers=1, processes_only=True)
    article = ArticleText("Musk meets Milei", "Elon Musk met Javier Milei at a Tesla factory in Texas on Friday.")
    try:
        [first] = analyzer.analyze([article])
        assert {"Javier Milei", "Texas"} <= {e.name for e in first.entities}, first.entities
        assert "spacy" not in sys.modules, "the analysing process imported spaCy"
        for pid in list(analyzer.start_workers()._processes):
            os.kill(pid, signal.SIGKILL)
        [failed] = list(analyzer.analyze_stream(iter([[article]]), total=1))
        [again] = analyzer.analyze([article])
        assert again == first
        assert "spacy" not in sys.modules
        print("ok", type(failed).__name__)
    finally:
        analyzer.close()
    """
)


def test_processes_only_analyses_in_workers_and_replaces_a_dead_one() -> None:
    """The bot's analyzer never imports spaCy itself; a worker killed mid-life costs at most the articles
    it held, and the next article is analysed by a fresh one."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok ")
