"""Alert latency and burst throughput: the real bot, a watched folder, and the fake Discord.

    python -m bench.alerts [--files 20] [--burst 1000] [--backend sqlite|postgresql] [--json]

- file_to_alert: a BBC article written into the watched folder, until the alert's POST reaches the fake
  Discord (p50, p95; target p50 under 1 s). Baselines in the same run: analysing that article alone
  (spaCy plus our analysis) and one bare message send through the fake.
- burst: ``--burst`` BBC articles dropped into the folder at once: every alert must be delivered
  (individually or in a flood-control digest), none twice, with the process's peak memory reported, and
  the seconds until every article is indexed apart from those until every alert is delivered (which the
  channel's flood control paces: five alerts a minute by default, the rest gathered into digests).
- dispatchers: ``--outbox`` alerts due at once in many channels, sent by one bot process, then by two
  (``newsdesk run`` processes on one index, each with its dispatcher), every message taking ``--send-ms``
  at the fake Discord: seconds to deliver them all, each exactly once. ``--files 0 --burst 0`` runs it
  alone.

The index is a SQLite file in a temporary folder, or with ``--backend postgresql`` a database on a
throwaway PostgreSQL server that the run starts in that folder (pgserver, as the tests and
``bench.commands`` do; a unix socket, nothing leaves the machine) and stops at its end: the bots and the
benchmark share it as processes on one server do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.data import bbc_articles
from bot.alerts.planning import alert_nonce
from bot.app import NewsdeskBot
from bot.config import Settings, load_settings
from bot.factory import load_aliases, make_analyzer
from bot.ingest.indexer import Indexer
from bot.ingest.sources.folders import FolderWatcher
from bot.locations import Location
from bot.models import ArticleText, to_iso
from bot.store import Store
from tests.fake_discord import FakeDiscord
from tests.fake_discord.child import start_bot_process
from tests.fake_discord.faults import Fault


class Databases:
    """Where each part of the run keeps its index: a SQLite file in ``folder``, or a database of its own on
    the PostgreSQL server given by ``server`` (a pgserver instance)."""

    def __init__(self, folder: Path, server: Any | None = None) -> None:
        self.folder = folder
        self.server = server

    @property
    def backend(self) -> str:
        return "sqlite" if self.server is None else "postgresql"

    async def new(self, name: str) -> Location:
        """A new, empty index called ``name``."""
        if self.server is None:
            return self.folder / f"{name}.db"
        conn = await asyncpg.connect(self.server.get_uri())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.server.get_uri(name)


@contextlib.contextmanager
def _databases(backend: str) -> Iterator[Databases]:
    """A temporary folder, and for ``postgresql`` a throwaway server in it, stopped and deleted at the end."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            yield Databases(Path(tmp))
            return
        import pgserver

        server = pgserver.get_server(Path(tmp) / "postgres", cleanup_mode="stop")
        try:
            yield Databases(Path(tmp), server)
        finally:
            server.cleanup()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _article(title: str, body: str, n: int) -> str:
    # A run number keeps every text new to the index, so each file is a new article.
    return f"{title} ({n})\n\n{body}\n"


async def _bench(databases: Databases, files: int, burst: int) -> dict[str, Any]:
    items = bbc_articles(files + burst)
    with tempfile.TemporaryDirectory(dir=databases.folder) as tmp:
        folder = Path(tmp) / "news"
        folder.mkdir()
        settings = load_settings().replace(
            database=await databases.new("bench"), folders=(folder,), guild_ready_timeout=0.05, workers=2
        )
        async with FakeDiscord() as fake:
            # Latency first, with flood control out of the way; then the burst with the default limit.
            latency = (
                await _latency(fake, settings.replace(alerts_per_minute=120), items[:files], folder) if files else {}
            )
            burst_result = await _burst(fake, settings, items[files:], folder, files)
    return {**latency, "burst": burst_result}


async def _latency(fake: FakeDiscord, settings: Settings, items: list[Any], folder: Path) -> dict[str, Any]:
    bot = NewsdeskBot(settings)
    async with fake.run_bot(bot):
        await bot.alerts.alerts_here(fake.guild.id, fake.channel.id, 1)
        await bot.ingestion.source(FolderWatcher).ready.wait()
        channel = bot.get_partial_messageable(fake.channel.id)
        send_samples = []
        for _ in range(10):
            started = time.perf_counter()
            await channel.send("baseline")
            send_samples.append(time.perf_counter() - started)
        analyse_samples = []
        for title, body, _ in items:
            started = time.perf_counter()
            await asyncio.to_thread(bot.analyzer.analyze, [ArticleText(title, body)])
            analyse_samples.append(time.perf_counter() - started)
        latencies = []
        for n, (title, body, _) in enumerate(items):
            expected = f"{title} ({n})"
            started = time.perf_counter()
            (folder / f"single-{n}.txt").write_text(_article(title, body, n))
            await fake.wait_for_message(
                predicate=lambda m, t=expected: bool(m.embeds) and m.embeds[0].get("title") == t, timeout=30
            )
            latencies.append(time.perf_counter() - started)
    return {
        "file_to_alert": {
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)] * 1000, 1),
            "files": len(items),
        },
        "baseline": {
            "analyse_one_p50_ms": round(statistics.median(analyse_samples) * 1000, 1),
            "send_one_p50_ms": round(statistics.median(send_samples) * 1000, 1),
        },
    }


async def _burst(fake: FakeDiscord, settings: Settings, items: list[Any], folder: Path, offset: int) -> dict[str, Any]:
    first_message = len(fake.messages)
    channel = fake.create_channel(name="burst-alerts")  # its own flood-control window
    bot = NewsdeskBot(settings)
    async with fake.run_bot(bot):
        await bot.alerts.alerts_here(fake.guild.id, channel.id, 1)
        await bot.ingestion.source(FolderWatcher).ready.wait()
        before = await bot.store.alerts.counts()
        articles_before = await bot.store.articles.count()
        rss_before = _peak_rss_mb()
        started = time.perf_counter()
        for n, (title, body, _) in enumerate(items, start=offset):
            (folder / f"burst-{n}.txt").write_text(_article(title, body, n))
        deadline = time.perf_counter() + 1800
        counts = before
        indexed_seconds = None
        while time.perf_counter() < deadline:
            counts = await bot.store.alerts.counts()
            indexed = await bot.store.articles.count() - articles_before
            if indexed >= len(items) and indexed_seconds is None:
                indexed_seconds = time.perf_counter() - started
            if indexed >= len(items) and not counts.get("pending"):
                break
            await asyncio.sleep(0.5)
        seconds = time.perf_counter() - started
    planned = sum(counts.values()) - sum(before.values())
    delivered = sum(counts.get(k, 0) - before.get(k, 0) for k in ("sent", "digested"))
    posted = [m for m in fake.messages[first_message:] if m.embeds and m.embeds[0].get("footer")]
    ids = [m.embeds[0]["footer"]["text"].split("#")[1].split(" ")[0] for m in posted]
    digests = [m for m in fake.messages[first_message:] if "flood control" in (m.content or "")]
    return {
        "articles": len(items),
        "delivered": delivered,
        "lost": planned - delivered,
        # Stories whose headline matched one already posted in the channel: indexed, not posted again.
        "same_headline_held_back": len(items) - planned,
        "duplicated": len(ids) - len(set(ids)),
        "individual": len(posted),
        "digests": len(digests),
        # Every article indexed, then every alert delivered: the channel's flood control (its alerts per
        # minute) paces the digests, so the second is mostly waiting for the next minute.
        "indexed_seconds": None if indexed_seconds is None else round(indexed_seconds, 1),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_burst_mb": round(rss_before, 1),
    }


DISPATCH_ARTICLES = 10  # each channel gets an alert of each: fewer than a minute's flood-control room
DISPATCH_PER_MINUTE = 20
ROUND_SECONDS = 600  # a round that takes longer is broken


async def _dispatchers(databases: Databases, alerts: int, send_ms: float) -> dict[str, Any]:
    """One bot process, then two, delivering ``alerts`` outbox rows due at once (see the module docstring)."""
    items = bbc_articles(DISPATCH_ARTICLES)
    with tempfile.TemporaryDirectory(dir=databases.folder) as tmp:
        root = Path(tmp)
        folder = root / "news"
        folder.mkdir()
        for n, (title, body, _) in enumerate(items):
            (folder / f"article-{n}.txt").write_text(_article(title, body, n))
        settings = load_settings().replace(database=await databases.new("dispatchers"), folders=(), workers=1)
        analyzer = make_analyzer(settings, load_aliases(settings))
        try:
            async with Store.open(settings.database) as store:
                await Indexer(store, analyzer, max_file_bytes=settings.max_file_bytes).index_paths([folder])
        finally:
            analyzer.close()
        async with FakeDiscord() as fake, Store.open(settings.database) as store:
            fake.inject("POST", "/channels/*/messages", Fault.slow(send_ms / 1000), times=None)
            rounds = {}
            for processes in (1, 2):
                rounds[f"{processes}_process" + ("es" if processes > 1 else "")] = await _dispatch_round(
                    fake, store, root, processes, alerts
                )
    one, two = rounds["1_process"]["seconds"], rounds["2_processes"]["seconds"]
    return {
        "backend": databases.backend,
        "alerts": alerts,
        "send_ms": send_ms,
        **rounds,
        "speedup": round(one / two, 2) if two else None,
    }


async def _dispatch_round(fake: FakeDiscord, store: Store, root: Path, processes: int, alerts: int) -> dict[str, Any]:
    articles = sorted(brief.id for brief in await store.articles.latest(DISPATCH_ARTICLES))
    channels = [fake.create_channel(name=f"round{processes}-{n}") for n in range(alerts // len(articles))]
    settings = {"NEWSDESK_ALERTS_PER_MINUTE": str(DISPATCH_PER_MINUTE)}
    logs = [root / f"round{processes}-{n}.log" for n in range(processes)]
    bots = [await start_bot_process(fake, store.path, log, settings) for log in logs]
    try:
        await _until(lambda: all("logged in as" in log.read_text(errors="replace") for log in logs), "bots ready")
        first_message = len(fake.messages)
        now = to_iso(datetime.now(UTC))
        async with store.db.write() as db:
            await db.executemany(
                "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, reasons, nonce, next_attempt_at, "
                "created_at) VALUES (?, ?, ?, ?, '[]', ?, ?, ?)",
                [
                    (article, fake.guild.id, channel.id, f"t{article}", alert_nonce(article, channel.id), now, now)
                    for channel in channels
                    for article in articles
                ],
            )
        started = time.perf_counter()
        await _until(lambda: store.alerts.counts(), "every alert sent", done=lambda counts: not counts.get("pending"))
        seconds = time.perf_counter() - started
    finally:
        for bot in bots:
            bot.send_signal(signal.SIGTERM)
        await asyncio.gather(*(bot.wait() for bot in bots))
    posted = [(m.channel_id, m.embeds[0]["footer"]["text"]) for m in fake.messages[first_message:] if m.embeds]
    return {
        "delivered": len(set(posted)),
        "duplicated": len(posted) - len(set(posted)),
        "lost": len(channels) * len(articles) - len(set(posted)),
        "seconds": round(seconds, 2),
        "alerts_per_second": round(len(posted) / seconds, 1),
    }


async def _until(check: Callable[[], Any], what: str, *, done: Callable[[Any], bool] = bool) -> None:
    """Until ``done(check())`` (``check`` may be a coroutine function), at most :data:`ROUND_SECONDS`."""
    deadline = time.perf_counter() + ROUND_SECONDS
    while time.perf_counter() < deadline:
        value = check()
        if done(await value if inspect.isawaitable(value) else value):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not within {ROUND_SECONDS} s")


def run(
    files: int = 20, burst: int = 1000, outbox: int = 400, send_ms: float = 40.0, *, backend: str = "sqlite"
) -> dict[str, Any]:
    """Measure single-file latency, then a burst of ``burst`` articles, then ``outbox`` alerts sent by one
    bot process and by two; the index on ``backend`` (``"sqlite"`` or ``"postgresql"``)."""
    with _databases(backend) as databases:
        result: dict[str, Any] = {"backend": backend}
        if files or burst:
            result.update(asyncio.run(_bench(databases, files, burst)))
        if outbox:
            result["dispatchers"] = asyncio.run(_dispatchers(databases, outbox, send_ms))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20, help="single files for the latency (default 20)")
    parser.add_argument("--burst", type=int, default=1000, help="articles arriving at once (default 1000)")
    parser.add_argument("--outbox", type=int, default=400, help="alerts sent by one process, then two (default 400)")
    parser.add_argument("--send-ms", type=float, default=40.0, help="Discord's time per message (default 40)")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql"], default="sqlite", help="the index's database (default sqlite)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    result = run(args.files, args.burst, args.outbox, args.send_ms, backend=args.backend)
    if args.json:
        print(json.dumps(result))
        return 0
    if "dispatchers" in result:
        dispatch = result["dispatchers"]
        print(
            f"{dispatch['alerts']} alerts due at once, {dispatch['send_ms']:.0f} ms per message at Discord, "
            f"index in {dispatch['backend']}:"
        )
        for name in ("1_process", "2_processes"):
            row = dispatch[name]
            print(
                f"  {name.replace('_', ' ')}: {row['seconds']:.1f} s ({row['alerts_per_second']:.0f} alerts/s), "
                f"delivered {row['delivered']}, lost {row['lost']}, duplicated {row['duplicated']}"
            )
        print(f"  two processes {dispatch['speedup']:.2f}× as fast as one")
    if "burst" not in result:
        return 0
    if "file_to_alert" in result:  # not with --files 0
        latency, base = result["file_to_alert"], result["baseline"]
        print(
            f"file → alert ({latency['files']} files): p50 {latency['p50_ms']:.0f} ms, p95 {latency['p95_ms']:.0f} ms"
        )
        print(
            f"  baseline: analyse one article {base['analyse_one_p50_ms']:.0f} ms, "
            f"send one message {base['send_one_p50_ms']:.1f} ms"
        )
    burst = result["burst"]
    print(
        f"burst of {burst['articles']}: delivered {burst['delivered']}, lost {burst['lost']}, "
        f"held back as repeated headlines {burst['same_headline_held_back']}, "
        f"duplicated {burst['duplicated']}, {burst['individual']} posted one by one and the rest in "
        f"{burst['digests']} digest(s), all indexed in {burst['indexed_seconds']} s and delivered in "
        f"{burst['seconds']:.0f} s, "
        f"peak RSS {burst['peak_rss_mb']:.0f} MB (before the burst {burst['rss_before_burst_mb']:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
