"""Command latency at scale: ``who``, ``timeline``, ``summary`` (of an article, the latest, a name or
topic, and a name or topic over a period), ``search``, ``related``, ``trending``, autocomplete, and the
pictures ``trend`` and ``graph`` (their queries and their drawing, through the product's worker process)
on a large index, plus the full round trip of ``!who`` through the fake Discord.

    python -m bench.commands [--articles 100000] [--calls 300] [--clock wall|cpu] [--json]

The index is built from BBC articles (analysed once and cached), scaled up by bulk insertion of copies
in which most names are renamed (so the index holds hundreds of thousands of distinct entities) while
the most frequent ones keep their names (so a few entities sit in tens of thousands of articles).
Baselines in the same run: one aiosqlite round trip (``PRAGMA data_version``), the floor of any handler;
for the pictures, an empty chart drawn through the same worker process, the floor of any picture.
A period summary (``summary Milei 7d``) is timed with its period ending at the index's newest article,
which is what "now" is to an index being fed.
Targets: p99 under 10 ms per command and under 5 ms per autocomplete at 100,000 articles; under 300 ms for
a picture, drawing included (at most ``--picture-calls`` calls each, 100 by default: each takes a tenth of
a second or more). ``trending`` is asked at moments spread over the index's last two months (its "now";
the index's articles are dated 2024–2025), over 24 hours and over 7 days; so is the content of a daily
and a weekly digest ending then (made by the scheduler, not typed, but timed the same way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.data import bbc_articles
from bot.answers import Answers, Resolved, Wanted
from bot.app import freeze_startup_objects
from bot.charts import TrendChart, TrendSeries
from bot.config import load_settings
from bot.digests import DigestSchedule, Period
from bot.ingest.readers import content_hash
from bot.models import ArticleAnalysis, ArticleRecord, ArticleText, from_iso
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable, name_key
from bot.store import Store
from bot.subject_summary import parse_period

CACHE = Path(__file__).resolve().parent / ".cache"
BASE_ARTICLES = 500
VARIANTS = 60  # renamed copies of each rarer name
KEEP_NAMES_FROM = 6  # names in at least this many base articles keep their name in every copy
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "do", "fa", "gu", "pe", "ri", "ta", "wo"]


def _suffix(n: int) -> str:
    parts = []
    n += 17
    while n:
        n, r = divmod(n, len(SYLLABLES))
        parts.append(SYLLABLES[r])
    return "".join(parts).capitalize()


def _base(model: str, aliases: dict[str, str]) -> list[tuple[str, str, ArticleAnalysis]]:
    """BBC articles with their analysis, computed once and cached."""
    path = CACHE / f"commands-base-{BASE_ARTICLES}-{model}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    items = bbc_articles(BASE_ARTICLES)
    analyzer = Analyzer(model, aliases, workers=2)
    try:
        texts = [ArticleText(title, body) for title, body, _ in items]
        batches = (texts[i : i + 50] for i in range(0, len(texts), 50))
        analyses = [a for batch in analyzer.analyze_stream(batches, len(texts)) for a in batch]
    finally:
        analyzer.close()
    base = [(title, body, analysis) for (title, body, _), analysis in zip(items, analyses, strict=True)]
    CACHE.mkdir(exist_ok=True)
    path.write_bytes(pickle.dumps(base))
    return base


def _copies(base: list[tuple[str, str, ArticleAnalysis]], total: int):  # type: ignore[no-untyped-def]
    """``total`` articles: the base ones, then renamed copies, published over two years."""
    frequency = Counter(e.key for _, _, a in base for e in a.entities)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(total):
        title, body, analysis = base[n % len(base)]
        copy = n // len(base)
        variant = copy % VARIANTS
        entities = []
        for entity in analysis.entities:
            if copy == 0 or frequency[entity.key] >= KEEP_NAMES_FROM:
                entities.append(entity)
                continue
            new_name = f"{entity.name} {_suffix(variant)}"
            body = body.replace(entity.name, new_name)
            title = title.replace(entity.name, new_name)
            entities.append(replace(entity, name=new_name, key=name_key(new_name)))
        text = f"{body}\n[{n}]"
        record = ArticleRecord(
            origin=f"bench://{n}",
            title=title,
            body=text,
            content_hash=content_hash(text),
            published=start + timedelta(minutes=7 * n),
            source="BBC (scaled)",
        )
        yield record, replace(analysis, entities=entities)


async def build_index(articles: int) -> Path:
    """The scaled index, built once per size and cached."""
    path = CACHE / f"commands-{articles}.db"
    if path.exists():
        return path
    settings = load_settings()
    aliases = AliasTable.from_file(settings.aliases).as_dict()
    base = _base(settings.model, aliases)
    partial = path.with_suffix(".partial.db")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    async with Store.open(partial) as store:
        batch: list[tuple[ArticleRecord, ArticleAnalysis | None]] = []
        for n, item in enumerate(_copies(base, articles), start=1):
            batch.append(item)
            if len(batch) == 500:
                await store.articles.write_batch(batch)
                batch = []
                if n % 10_000 == 0:
                    print(f"  built {n:,} articles in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if batch:
            await store.articles.write_batch(batch)
    partial.rename(path)
    return path


_EMPTY_CHART = TrendChart([TrendSeries("nothing", [(date(2024, 1, 1), 0)])], days=1)


def _day_to(end: datetime) -> Period:
    return Period(end - timedelta(days=1), end)


def _week_to(end: datetime) -> Period:
    return Period(end - timedelta(days=7), end)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "calls": len(ordered),
    }


# What a call costs: wall-clock time by default; ``--clock cpu`` reads the process's CPU time instead (the
# event loop's thread and aiosqlite's together), which a busy machine's scheduling barely moves, so two
# versions of the code can be compared within a few percent on a noisy machine.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


async def _time(calls: list[Callable[[], Awaitable[Any]]]) -> dict[str, float]:
    """Percentiles of a second pass over the calls (a running bot's pages are in cache), and the p99 of
    the first pass, where every name and page is touched for the first time."""
    passes = []
    for _ in range(2):
        samples = []
        for call in calls:
            started = _clock()
            await call()
            samples.append(_clock() - started)
        passes.append(samples)
    return {**_percentiles(passes[1]), "first_pass_p99_ms": _percentiles(passes[0])["p99_ms"]}


async def _handlers(path: Path, calls: int, picture_calls: int = 100) -> dict[str, Any]:
    settings = load_settings()
    rng = random.Random(7)
    async with Store.open(path) as store:
        answers = Answers(store, AliasTable.from_file(settings.aliases))
        last = from_iso((await store.articles.latest(1))[0].published)
        moments = [last - timedelta(minutes=rng.randint(0, 60 * 24 * 60)) for _ in range(calls)]
        daily = DigestSchedule(1, 1, "daily", None, 8 * 60, "2024-01-01T00:00:00Z")
        weekly = DigestSchedule(1, 1, "weekly", 0, 8 * 60, "2024-01-01T00:00:00Z")
        names = [row[2] for row in await store.entities.names()]
        popular = [row[2] for row in sorted(await store.entities.names(), key=lambda r: -r[3])[:50]]
        topics = [row[2] for row in sorted(await store.topics.names(), key=lambda r: -r[3])[:200]]
        stats = await store.articles.stats()
        who_names = [rng.choice(popular) if i % 2 else rng.choice(names) for i in range(calls)]
        who_names += [n[:2] + n[3:] for n in rng.sample(names, calls // 10)]  # typos
        summary_targets = [
            rng.choice(["latest", str(rng.randint(1, stats.articles)), rng.choice(popular), rng.choice(topics)])
            for _ in range(calls)
        ]
        words = [w for t in topics for w in t.split() if len(w) > 3]
        queries = [" ".join(rng.sample(words, rng.choice([1, 2]))) for _ in range(calls)]
        prefixes = [rng.choice(names).lower()[: rng.randint(1, 5)] for _ in range(calls)]
        # One to four subjects, popular names and topics mixed, over each period.
        trends = [
            " vs ".join(rng.sample(popular[:30] + topics[:20], rng.randint(1, 4))) + rng.choice([" 30d", " 90d", " 1y"])
            for _ in range(picture_calls)
        ]
        graph_names = [rng.choice(popular) if i % 2 else rng.choice(names) for i in range(picture_calls)]
        newest = from_iso(stats.last_published)
        period_targets = [
            (rng.choice(popular) if i % 2 else rng.choice(topics), rng.choice(["24h", "7d", "30d"]))
            for i in range(calls)
        ]
        article_ids = [rng.randint(1, stats.articles) for _ in range(calls)]

        async def summary_over_a_period(subject: str, period: str) -> object:
            found = await answers.resolve(subject, Wanted.SUBJECT, "summary")
            length = parse_period(period)
            if not isinstance(found, Resolved) or length is None:  # a choice to make, as the command answers
                return found
            return await answers.period_summary(found, length, newest)

        await answers.complete_entities("warm")  # the first call builds the name index
        answers.pictures.start()  # the bot's worker runs from its first picture on
        await answers.graph(popular[0])
        freeze_startup_objects()  # as the bot does at the end of its start-up
        floor = await _time([store.db.data_version for _ in range(calls)])
        results = {
            "articles": stats.articles,
            "entities": stats.entities,
            "baseline_round_trip": floor,
            "who": await _time([lambda n=n: answers.who(n) for n in who_names]),
            "timeline": await _time([lambda n=n: answers.timeline(n) for n in who_names]),
            "summary": await _time([lambda t=t: answers.summary(t) for t in summary_targets]),
            "summary_period": await _time([lambda t=t, p=p: summary_over_a_period(t, p) for t, p in period_targets]),
            "search": await _time([lambda q=q: answers.search(q) for q in queries]),
            "related": await _time([lambda a=a: answers.related(a) for a in article_ids]),
            "autocomplete": await _time([lambda p=p: answers.complete_entities(p) for p in prefixes]),
            "trending_24h": await _time([lambda m=m: answers.trends("24h", m) for m in moments]),
            "trending_7d": await _time([lambda m=m: answers.trends("7d", m) for m in moments]),
            "digest_daily": await _time([lambda m=m: answers.digest(daily, _day_to(m), "UTC") for m in moments]),
            "digest_weekly": await _time([lambda m=m: answers.digest(weekly, _week_to(m), "UTC") for m in moments]),
            # The floor of any picture: an empty chart (no data, no query) drawn through the same worker.
            "picture_baseline": await _time([lambda: answers.pictures.render(_EMPTY_CHART)] * picture_calls),
            "trend": await _time([lambda t=t: answers.trend(t) for t in trends]),
            "graph": await _time([lambda n=n: answers.graph(n) for n in graph_names]),
        }
        answers.close()
        return results


async def _roundtrip(path: Path, calls: int) -> dict[str, float]:
    """``!who`` typed in the fake Discord until the bot's reply is recorded there."""
    from bot.app import NewsdeskBot
    from tests.fake_discord import FakeDiscord

    settings = load_settings().replace(database=path, folders=(), guild_ready_timeout=0.05, cooldown_uses=1000)
    rng = random.Random(11)
    async with FakeDiscord() as fake:
        bot = NewsdeskBot(settings)
        async with fake.run_bot(bot):
            names = [row[2] for row in sorted(await bot.store.entities.names(), key=lambda r: -r[3])[:100]]
            samples = []
            for i in range(calls + 5):
                started = _clock()
                sent = await fake.send_message(f"!who {rng.choice(names)}")
                await sent.reply(timeout=10)
                if i >= 5:
                    samples.append(_clock() - started)
    return _percentiles(samples)


def run(articles: int = 100_000, calls: int = 300, picture_calls: int = 100) -> dict[str, Any]:
    """Build (or reuse) the index of ``articles`` articles and time every handler on it."""
    path = asyncio.run(build_index(articles))
    result = asyncio.run(_handlers(path, calls, picture_calls))
    result["roundtrip"] = asyncio.run(_roundtrip(path, min(calls, 200)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000, help="index size (default 100000)")
    parser.add_argument("--calls", type=int, default=300, help="calls per handler (default 300)")
    parser.add_argument("--picture-calls", type=int, default=100, help="calls of trend and graph (default 100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="wall-clock time (default) or the process's CPU time"
    )
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    result = run(args.articles, args.calls, args.picture_calls)
    result["clock"] = args.clock
    if args.json:
        print(json.dumps(result))
        return 0
    measured = "CPU time of the process" if args.clock == "cpu" else "wall-clock time"
    print(f"{result['articles']:,} articles, {result['entities']:,} entities; {measured}\n")
    print(f"{'handler':<22}{'p50 ms':>9}{'p99 ms':>9}{'first-pass p99':>16}{'calls':>7}")
    handlers = ("baseline_round_trip", "who", "timeline", "summary", "summary_period", "search", "related")
    handlers += ("trending_24h", "trending_7d", "digest_daily", "digest_weekly", "autocomplete")
    handlers += ("picture_baseline", "trend", "graph")
    for name in (*handlers, "roundtrip"):
        r = result[name]
        first = f"{r['first_pass_p99_ms']:.2f}" if "first_pass_p99_ms" in r else "-"
        print(f"{name:<22}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{first:>16}{r['calls']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
