"""Command latency at scale: ``who``, ``timeline``, ``summary`` (of an article, the latest, a name or
topic, and a name or topic over a period), ``search``, ``related``, ``trending``, autocomplete, and the
pictures ``trend`` and ``graph`` (their queries and their drawing, through the product's worker process)
on a large index, plus the full round trip of ``!who`` through the fake Discord.

    python -m bench.commands [--articles 100000] [--private 20000 --servers 50] [--calls 300]
                             [--clock wall|cpu] [--backend sqlite|postgresql [--database-url URL]] [--json]

With ``--backend postgresql`` the same SQLite index is built (or reused), copied into PostgreSQL with
``newsdesk copy`` (nothing analysed again) and every command asked through the store opened on the
PostgreSQL URL: into ``--database-url`` when given (an empty database, or one a previous run filled with
the same index), else into a database of a throwaway server this run starts (pgserver, as the tests do)
and stops, whose data folder is kept in the cache so that the copy is made once per index.

With ``--private``, that many more articles come from the servers' own feeds (``--servers`` of them,
one feed each, spread evenly and over the same two years as the shared ones), and every command is
asked as a member of one of those servers (it sees the shared articles and its own), so the handlers
pay for visibility: ``topics``, ``stats``, ``latest`` and ``related`` are timed too.

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
import contextlib
import json
import pickle
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.data import bbc_articles
from bot.answers import Answers, Resolved, Wanted
from bot.app import freeze_startup_objects
from bot.charts import TrendChart, TrendSeries
from bot.config import load_settings
from bot.digests import DigestSchedule, Period
from bot.ingest.readers import content_hash
from bot.locations import describe
from bot.models import ArticleAnalysis, ArticleRecord, ArticleText, Viewer, from_iso
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable, name_key
from bot.store import Store
from bot.store.copy import copy_index
from bot.store.migrations import load_migrations
from bot.subject_summary import parse_period
from bot.wording import plural

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


PRIVATE_EVERY = 6  # with private articles, every sixth copy comes from a server's feed
FIRST_SERVER = 1001


def _schedule(articles: int, private: int) -> list[bool]:
    """Which copies are private: ``private`` of ``articles + private``, spread evenly."""
    total = articles + private
    return [private > 0 and (n * private) // total != ((n + 1) * private) // total for n in range(total)]


async def build_index(articles: int, private: int = 0, servers: int = 0) -> Path:
    """The scaled index, built once per shape and cached: ``articles`` shared ones and ``private`` ones
    from the feeds of ``servers`` servers."""
    shape = f"{articles}" + (f"-{private}x{servers}" if private else "")
    # The schema version in the name: an index built before a migration is built again, not misread.
    path = CACHE / f"commands-{shape}-schema{len(load_migrations())}.db"
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
        feeds: list[int | None] = [None]
        for server in range(servers if private else 0):
            source = await store.sources.add(
                FIRST_SERVER + server, 1, f"https://server{server}.example/feed.xml", 60, 1
            )
            assert source is not None
            # Made-up addresses: paused, so that the round trip's bot does not try to poll them.
            await store.sources.failed(source.id, "benchmark feed", next_poll_at="9999-01-01T00:00:00Z", pause=True)
            feeds.append(source.id)
        batches: dict[int | None, list[tuple[ArticleRecord, ArticleAnalysis | None]]] = {f: [] for f in feeds}
        private_so_far = 0
        schedule = _schedule(articles, private)
        for n, (item, is_private) in enumerate(zip(_copies(base, articles + private), schedule, strict=True), start=1):
            feed = feeds[1 + private_so_far % servers] if is_private else None
            private_so_far += is_private
            batches[feed].append(item)
            # Every 500 articles, each source's: ids then interleave as they do when feeds are polled
            # alongside the folders (search ranks the most recently indexed first).
            if n % 500 == 0 or n == articles + private:
                for source_id, batch in batches.items():
                    if batch:
                        await store.articles.write_batch(batch, source_id=source_id)
                        batch.clear()
            if n % 10_000 == 0:
                print(f"  built {n:,} articles in {time.perf_counter() - started:.0f} s", file=sys.stderr)
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


async def _handlers(path: Path | str, calls: int, viewer: Viewer, picture_calls: int = 100) -> dict[str, Any]:
    settings = load_settings()
    rng = random.Random(7)
    async with Store.open(path) as store:
        answers = Answers(store, AliasTable.from_file(settings.aliases))
        last = from_iso((await store.articles.latest(1))[0].published)
        moments = [last - timedelta(minutes=rng.randint(0, 60 * 24 * 60)) for _ in range(calls)]
        server = viewer.guild_id or 1
        daily = DigestSchedule(1, server, "daily", None, 8 * 60, "2024-01-01T00:00:00Z")
        weekly = DigestSchedule(1, server, "weekly", 0, 8 * 60, "2024-01-01T00:00:00Z")
        scopes = viewer.scopes or (None,)
        entity_rows = [row for scope in scopes for row in await store.entities.names(scope)]
        names = [row[2] for row in entity_rows]
        popular = [row[2] for row in sorted(entity_rows, key=lambda r: -r[3])[:50]]
        topic_rows = [row for scope in scopes for row in await store.topics.names(scope)]
        topics = [row[2] for row in sorted(topic_rows, key=lambda r: -r[3])[:200]]
        stats = await store.articles.stats()
        article_ids = [a.id for a in await store.articles.latest(2000, viewer=viewer)]
        who_names = [rng.choice(popular) if i % 2 else rng.choice(names) for i in range(calls)]
        who_names += [n[:2] + n[3:] for n in rng.sample(names, calls // 10)]  # typos
        summary_targets = [
            rng.choice(["latest", str(rng.choice(article_ids)), rng.choice(popular), rng.choice(topics)])
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
        related_ids = [rng.choice(article_ids) for _ in range(calls)]

        async def summary_over_a_period(subject: str, period: str) -> object:
            found = await answers.resolve(subject, Wanted.SUBJECT, "summary", viewer=viewer)
            length = parse_period(period)
            if not isinstance(found, Resolved) or length is None:  # a choice to make, as the command answers
                return found
            return await answers.period_summary(found, length, newest, viewer=viewer)

        await answers.complete_entities("warm", viewer=viewer)  # the first call builds the name indexes
        await answers.refresh_names(viewer)
        answers.pictures.start()  # the bot's worker runs from its first picture on
        await answers.graph(popular[0], viewer=viewer)
        freeze_startup_objects()  # as the bot does at the end of its start-up
        floor = await _time([store.db.data_version for _ in range(calls)])
        results = {
            "articles": stats.articles,
            "entities": stats.entities,
            "viewer": "everything" if viewer.sees_all else f"server {viewer.guild_id}",
            "baseline_round_trip": floor,
            "who": await _time([lambda n=n: answers.who(n, viewer=viewer) for n in who_names]),
            "timeline": await _time([lambda n=n: answers.timeline(n, viewer=viewer) for n in who_names]),
            "summary": await _time([lambda t=t: answers.summary(t, viewer=viewer) for t in summary_targets]),
            "summary_period": await _time([lambda t=t, p=p: summary_over_a_period(t, p) for t, p in period_targets]),
            "search": await _time([lambda q=q: answers.search(q, viewer=viewer) for q in queries]),
            "related": await _time([lambda a=a: answers.related(a, viewer=viewer) for a in related_ids]),
            "autocomplete": await _time([lambda p=p: answers.complete_entities(p, viewer=viewer) for p in prefixes]),
            "trending_24h": await _time([lambda m=m: answers.trends("24h", m, viewer=viewer) for m in moments]),
            "trending_7d": await _time([lambda m=m: answers.trends("7d", m, viewer=viewer) for m in moments]),
            "digest_daily": await _time([lambda m=m: answers.digest(daily, _day_to(m), "UTC") for m in moments]),
            "digest_weekly": await _time([lambda m=m: answers.digest(weekly, _week_to(m), "UTC") for m in moments]),
            # The floor of any picture: an empty chart (no data, no query) drawn through the same worker.
            "picture_baseline": await _time([lambda: answers.pictures.render(_EMPTY_CHART)] * picture_calls),
            "trend": await _time([lambda t=t: answers.trend(t, viewer=viewer) for t in trends]),
            "graph": await _time([lambda n=n: answers.graph(n, viewer=viewer) for n in graph_names]),
        }
        if not viewer.sees_all:
            few = max(calls // 5, 20)
            results["topics"] = await _time([lambda: answers.topics(10, viewer=viewer) for _ in range(few)])
            results["stats"] = await _time([lambda: answers.stats(viewer=viewer) for _ in range(few)])
            results["latest"] = await _time([lambda: answers.latest(5, viewer=viewer) for _ in range(few)])
            # The same questions without visibility (the console's view), for the cost of it.
            results["who_seeing_everything"] = await _time([lambda n=n: answers.who(n) for n in who_names])
            results["search_seeing_everything"] = await _time([lambda q=q: answers.search(q) for q in queries])
        answers.close()
        return results


async def _roundtrip(path: Path | str, calls: int) -> dict[str, float]:
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


async def _into_postgres(path: Path, url: str) -> float | None:
    """Copy the SQLite index at ``path`` into the database at ``url`` (seconds taken), or ``None`` when
    an earlier run already did: it holds as many articles. A database holding another index is an error."""
    conn = await asyncpg.connect(url)
    try:
        copied = await conn.fetchval("SELECT to_regclass('articles') IS NOT NULL") and await conn.fetchval(
            "SELECT count(*) FROM articles"
        )
    finally:
        await conn.close()
    if copied:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as source:
            [(expected,)] = source.execute("SELECT count(*) FROM articles")
        if copied != expected:
            raise SystemExit(f"{describe(url)} holds {copied:,} articles, not the {expected:,} of {path.name}")
        return None
    started = time.perf_counter()
    await copy_index(path, url, on_table=lambda t: print(f"  {t.table}: {plural(t.rows, 'row')}", file=sys.stderr))
    return time.perf_counter() - started


async def _create_database(server_url: str, name: str) -> None:
    """Create the database ``name`` on the server unless it exists."""
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@contextlib.contextmanager
def _throwaway_postgres(path: Path) -> Iterator[str]:
    """The URL of a database for the index at ``path`` on a PostgreSQL server started for this run (its
    data folder cached beside the SQLite indexes) and stopped after it."""
    import pgserver

    server = pgserver.get_server(CACHE / "postgres", cleanup_mode="stop")
    try:
        name = re.sub(r"[^a-z0-9]+", "_", path.stem.lower())
        asyncio.run(_create_database(server.get_uri(), name))
        yield server.get_uri(name)
    finally:
        server.cleanup()
        # pgserver leaves the server running while a handle of an earlier run that was killed is on its
        # list (it never comes off): stop it whatever the list says; a stopped one makes pg_ctl fail.
        with contextlib.suppress(subprocess.CalledProcessError):
            pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


def _measure(location: Path | str, calls: int, picture_calls: int, viewer: Viewer) -> dict[str, Any]:
    result = asyncio.run(_handlers(location, calls, viewer, picture_calls))
    result["roundtrip"] = asyncio.run(_roundtrip(location, min(calls, 200)))
    return result


def run(
    articles: int = 100_000,
    calls: int = 300,
    picture_calls: int = 100,
    private: int = 0,
    servers: int = 50,
    *,
    backend: str = "sqlite",
    database_url: str | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the index of ``articles`` shared articles (and ``private`` ones over ``servers``
    servers) and time every handler on it: as the console sees it, or as a member of one of the servers;
    on the SQLite file itself, or on its copy in PostgreSQL (``backend="postgresql"``)."""
    path = asyncio.run(build_index(articles, private, servers))
    viewer = Viewer.server(FIRST_SERVER) if private else Viewer.everything()
    if backend == "sqlite":
        return {"backend": backend, **_measure(path, calls, picture_calls, viewer)}
    with contextlib.ExitStack() as stack:
        url = database_url or stack.enter_context(_throwaway_postgres(path))
        copy_seconds = asyncio.run(_into_postgres(path, url))
        result = {"backend": backend, **_measure(url, calls, picture_calls, viewer)}
    if copy_seconds is not None:
        result["copy_seconds"] = round(copy_seconds, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000, help="index size (default 100000)")
    parser.add_argument("--private", type=int, default=0, help="articles from servers' own feeds (default 0)")
    parser.add_argument("--servers", type=int, default=50, help="servers those feeds belong to (default 50)")
    parser.add_argument("--calls", type=int, default=300, help="calls per handler (default 300)")
    parser.add_argument("--picture-calls", type=int, default=100, help="calls of trend and graph (default 100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="wall-clock time (default) or the process's CPU time"
    )
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql"], default="sqlite", help="the index's database (default sqlite)"
    )
    parser.add_argument(
        "--database-url", metavar="URL", help="with --backend postgresql: this database instead of a throwaway server"
    )
    args = parser.parse_args(argv)
    if args.database_url and args.backend != "postgresql":
        parser.error("--database-url goes with --backend postgresql")
    global _clock
    _clock = CLOCKS[args.clock]
    result = run(
        args.articles,
        args.calls,
        args.picture_calls,
        args.private,
        args.servers,
        backend=args.backend,
        database_url=args.database_url,
    )
    result["clock"] = args.clock
    if args.json:
        print(json.dumps(result))
        return 0
    measured = "CPU time of the process" if args.clock == "cpu" else "wall-clock time"
    print(
        f"{result['articles']:,} articles, {result['entities']:,} entities in {result['backend']}, "
        f"asked as {result['viewer']}; {measured}"
    )
    if "copy_seconds" in result:
        print(f"(copied from SQLite in {result['copy_seconds']:.0f} s)")
    print()
    print(f"{'handler':<22}{'p50 ms':>9}{'p99 ms':>9}{'first-pass p99':>16}{'calls':>7}")
    handlers = ("baseline_round_trip", "who", "timeline", "summary", "summary_period", "search", "related")
    handlers += ("trending_24h", "trending_7d", "digest_daily", "digest_weekly", "autocomplete")
    handlers += ("picture_baseline", "trend", "graph")
    handlers += ("topics", "stats", "latest", "who_seeing_everything", "search_seeing_everything")
    for name in (*handlers, "roundtrip"):
        if name not in result:
            continue
        r = result[name]
        first = f"{r['first_pass_p99_ms']:.2f}" if "first_pass_p99_ms" in r else "-"
        print(f"{name:<22}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{first:>16}{r['calls']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
