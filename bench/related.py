"""Related articles on BBC news: the product's ``!related`` against the plain overlap it replaced.

    python -m bench.related [--articles 500] [--workers N] [--json]

BBC articles spread over the five sections (business, entertainment, politics, sport, tech) are indexed
the way ``newsdesk index`` indexes them (:mod:`bench.product`: their own ``.txt`` files, the configured
pipeline, a temporary index); then, for every article, up to five related ones are asked for.

- ``ours`` is :meth:`bot.store.articles.ArticleQueries.related`, what ``!related`` shows: shared names and
  topics weighted by rarity, rescored by cosine, nothing below its threshold.
- ``overlap`` (the baseline, computed here from the same stored analyses) is what ``!related`` did
  before: the sum over shared names of the product of their saliences, and half that for shared topics,
  the top five with anything shared.

Measures: how many related articles are shown; the share of them in the article's own section (a proxy
for relatedness: a politics story's neighbours should mostly be politics); the share that have nothing
in common but places and nationalities ("United States", "British" — the complaint of issue 10); and the
articles left with nothing closely related.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.data import bbc_paths
from bench.product import product_settings
from bot.config import Settings
from bot.factory import load_aliases, make_analyzer
from bot.ingest.indexer import Indexer
from bot.models import Article
from bot.store import Store
from bot.store.articles import PLACE_TYPES

SHOWN = 5


def _spread(count: int) -> list[Path]:
    """``count`` BBC article files taken evenly across the sorted list (so every section is in)."""
    paths = bbc_paths()
    step = max(1, len(paths) // max(count, 1))
    return paths[::step][:count]


def _features(article: Article) -> dict[tuple[str, int], tuple[float, bool]]:
    """An article's names and topics: (weight, is a place) by ``("entity" | "topic", id)``."""
    found = {("entity", e.entity_id): (e.salience, e.type in PLACE_TYPES) for e in article.entities}
    found.update({("topic", t.topic_id): (0.5 * t.score, False) for t in article.topics})
    return found


def _overlap(articles: dict[int, Article], article_id: int) -> list[int]:
    """The baseline: articles by the summed products of shared weights, the top :data:`SHOWN`."""
    mine = _features(articles[article_id])
    scores: dict[int, float] = {}
    for other_id, other in articles.items():
        if other_id == article_id:
            continue
        theirs = _features(other)
        score = sum(mine[x][0] * theirs[x][0] for x in mine.keys() & theirs.keys())
        if score > 0:
            scores[other_id] = score
    return sorted(scores, key=lambda a: (-scores[a], a))[:SHOWN]


def _score(
    articles: dict[int, Article], sections: dict[int, str], answers: dict[int, list[int]]
) -> dict[str, float | int]:
    shown = same = places_only = 0
    for article_id, related in answers.items():
        mine = _features(articles[article_id])
        for other_id in related:
            shown += 1
            same += sections[other_id] == sections[article_id]
            shared = mine.keys() & _features(articles[other_id]).keys()
            places_only += bool(shared) and all(mine[x][1] for x in shared)
    return {
        "articles": len(answers),
        "shown": shown,
        "same_section": round(same / shown, 4) if shown else 0.0,
        "places_only": round(places_only / shown, 4) if shown else 0.0,
        "nothing_related": sum(1 for r in answers.values() if not r),
    }


async def _run(paths: Sequence[Path], settings: Settings) -> dict[str, Any]:
    analyzer = make_analyzer(settings, load_aliases(settings))
    try:
        with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as folder:
            async with Store.open(Path(folder) / "index.db") as store:
                indexer = Indexer(
                    store, analyzer, max_file_bytes=settings.max_file_bytes, batch_size=settings.batch_size
                )
                report = await indexer.index_paths(list(paths))
                print(report.summary_line(), file=sys.stderr)
                articles: dict[int, Article] = {}
                sections: dict[int, str] = {}
                async for article in store.articles.iter_all():
                    articles[article.id] = article
                    sections[article.id] = Path(article.origins[0]).parent.name
                ours = {a: [r.article.id for r in await store.articles.related(a, SHOWN)] for a in articles}
    finally:
        analyzer.close()
    overlap = {a: _overlap(articles, a) for a in articles}
    return {"ours": _score(articles, sections, ours), "overlap": _score(articles, sections, overlap)}


def run(count: int = 500, workers: int | None = None) -> dict[str, Any]:
    """Index ``count`` BBC articles and score both methods on them."""
    return asyncio.run(_run(_spread(count), product_settings(workers)))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the table (or, with ``--json``, one JSON object)."""
    parser = argparse.ArgumentParser(prog="python -m bench.related", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=500, help="BBC articles to index (default 500)")
    parser.add_argument("--workers", type=int, default=None, help="analysis processes (default: the settings')")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    result = run(args.articles, args.workers)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'method':<10}{'articles':>9}{'shown':>7}{'same section':>14}{'places only':>13}{'nothing':>9}")
    for name in ("overlap", "ours"):
        r = result[name]
        print(
            f"{name:<10}{r['articles']:>9}{r['shown']:>7}{r['same_section']:>14.1%}{r['places_only']:>13.1%}"
            f"{r['nothing_related']:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
