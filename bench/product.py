"""The product's own path, for the quality benchmarks: ``newsdesk index`` into a temporary index, then what
``newsdesk export`` reads back.

Documents are indexed the way a user indexes them: article files (a corpus's own ``.txt`` files, or one
JSON file ``{"text": ...}`` per headline-less document, which the reader gives a derived title) go
through :class:`~bot.ingest.indexer.Indexer` with the analyzer the settings describe
(:func:`bot.factory.make_analyzer`) into a :class:`~bot.store.Store` in a temporary folder; the summary
and topics are then read back from the store, as ``newsdesk export`` prints them. Nothing of the analysis
is re-assembled here, so a figure measured through this module is the product's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings, load_settings
from bot.factory import load_aliases, make_analyzer
from bot.ingest.indexer import Indexer
from bot.nlp.analyzer import Analyzer
from bot.store import Store


@dataclass(frozen=True, slots=True)
class Stored:
    """What the index holds for one document, as ``newsdesk export`` shows it."""

    title: str
    summary: list[str]
    topics: list[str]


def product_settings(workers: int | None = None, **changes: object) -> Settings:
    """The settings ``newsdesk`` runs with (``config/newsdesk.toml`` and ``NEWSDESK_*``), with ``changes``;
    ``workers`` (analysis processes) changes the speed of a run, never its figures."""
    settings = load_settings()
    if workers is not None:
        changes["workers"] = workers
    return settings.replace(**changes) if changes else settings


async def index_files_async(
    paths: Sequence[Path], settings: Settings, analyzer: Analyzer | None = None
) -> list[Stored]:
    """Index ``paths`` into a fresh temporary index as ``newsdesk index`` does; what it stored for each.

    ``analyzer`` defaults to the one the settings describe (closed afterwards); tests pass their own.
    A file the indexer skips raises :class:`RuntimeError`: a benchmark must not score a partial run.
    """
    own = analyzer is None
    analyzer = analyzer or make_analyzer(settings, load_aliases(settings))
    try:
        with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as folder:
            async with Store.open(Path(folder) / "index.db") as store:
                indexer = Indexer(
                    store, analyzer, max_file_bytes=settings.max_file_bytes, batch_size=settings.batch_size
                )
                report = await indexer.index_paths(list(paths))
                if report.skipped:
                    where, reason = report.skipped[0]
                    raise RuntimeError(f"{len(report.skipped)} file(s) skipped, e.g. {where}: {reason}")
                print(report.summary_line(), file=sys.stderr)
                by_origin: dict[str, Stored] = {}
                async for article in store.articles.iter_all():  # what `newsdesk export` reads
                    stored = Stored(article.title, article.summary, [t.name for t in article.topics])
                    by_origin.update(dict.fromkeys(article.origins, stored))
    finally:
        if own:
            analyzer.close()
    return [by_origin[str(path.resolve())] for path in paths]


def index_files(paths: Sequence[Path], settings: Settings, analyzer: Analyzer | None = None) -> list[Stored]:
    """:func:`index_files_async` from synchronous code."""
    return asyncio.run(index_files_async(paths, settings, analyzer))


def index_texts(texts: Sequence[str], settings: Settings, analyzer: Analyzer | None = None) -> list[Stored]:
    """Index headline-less documents, each written as a JSON file ``{"text": ...}``; what was stored for each."""
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-docs-") as folder:
        paths = []
        for number, text in enumerate(texts):
            path = Path(folder) / f"{number:06d}.json"
            path.write_text(json.dumps({"text": text}), encoding="utf-8")
            paths.append(path)
        return index_files(paths, settings, analyzer)
