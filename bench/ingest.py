"""Indexing speed: ``newsdesk index`` against raw ``nlp.pipe`` over the same BBC articles, in one run.

    python -m bench.ingest [--articles 500] [--json]

The baseline is the stock model's ``nlp.pipe`` with its default batch size: parsing only, nothing kept.
Ours reads the files, analyses them (entities, roles, topics, summary), and writes the index — once in
one process (the cost of our work around spaCy) and once with worker processes (what `newsdesk index`
does by default). Model loading is excluded from every timing. Ratio = our articles/s ÷ raw's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import spacy

from bench.data import bbc_articles
from bot.config import load_settings
from bot.ingest.indexer import Indexer
from bot.models import ArticleText
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.nlp.pipeline import FALLBACK_MODEL, _installed
from bot.store import Store


def _raw(texts: list[str], model: str) -> float:
    name = model if _installed(model) else FALLBACK_MODEL
    nlp = spacy.load(name)
    for _ in nlp.pipe(texts[:20]):  # warm caches, as ours is warmed
        pass
    started = time.perf_counter()
    for _ in nlp.pipe(texts):
        pass
    return time.perf_counter() - started


async def _ours(folder: Path, workers: int, model: str, aliases: dict[str, str]) -> float:
    analyzer = Analyzer(model, aliases, workers=workers, batch_size=64)
    try:
        if workers > 1:
            # Start the worker processes (each loads the model) before timing, as the raw run loads its model.
            pool = analyzer.start_workers()
            list(pool.map(_noop, range(workers)))
        else:
            analyzer.analyze([ArticleText("Warm up", "Warm up the pipeline.")])
        with tempfile.TemporaryDirectory() as db_dir:
            async with Store.open(Path(db_dir) / "bench.db") as store:
                indexer = Indexer(store, analyzer, max_file_bytes=2_000_000, batch_size=64)
                started = time.perf_counter()
                report = await indexer.index_paths([folder])
                seconds = time.perf_counter() - started
        if report.skipped or not report.indexed:
            raise RuntimeError(f"indexing went wrong: {report.summary_line()}")
        return seconds
    finally:
        analyzer.close()


def _noop(_: int) -> None:
    return None


def run(articles: int = 500) -> dict[str, Any]:
    """Time raw nlp.pipe and our indexing over the same ``articles`` BBC articles."""
    settings = load_settings()
    aliases = AliasTable.from_file(settings.aliases).as_dict()
    items = bbc_articles(articles)
    texts = [f"{title}\n\n{body}" for title, body, _ in items]
    words = sum(len(t.split()) for t in texts)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for _, _, path in items:
            target = root / path.parent.name / path.name
            target.parent.mkdir(exist_ok=True)
            shutil.copy(path, target)
        raw = _raw(texts, settings.model)
        one = asyncio.run(_ours(root, 1, settings.model, aliases))
        two = asyncio.run(_ours(root, 2, settings.model, aliases))

    def row(seconds: float) -> dict[str, float]:
        return {
            "seconds": round(seconds, 2),
            "articles_per_s": round(len(texts) / seconds, 1),
            "words_per_s": round(words / seconds),
            "ratio": round(raw / seconds, 3),
        }

    return {
        "articles": len(texts),
        "words": words,
        "raw_nlp_pipe": row(raw),
        "newsdesk_1_process": row(one),
        "newsdesk_2_processes": row(two),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=500, help="how many BBC articles (default 500)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    result = run(args.articles)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['articles']} BBC articles, {result['words']:,} words\n")
    print(f"{'method':<26}{'seconds':>9}{'articles/s':>12}{'words/s':>10}{'ratio':>8}")
    for name in ("raw_nlp_pipe", "newsdesk_1_process", "newsdesk_2_processes"):
        r = result[name]
        print(f"{name:<26}{r['seconds']:>9.2f}{r['articles_per_s']:>12.1f}{r['words_per_s']:>10,}{r['ratio']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
