"""Alert latency and burst throughput: the real bot, a watched folder, and the fake Discord.

    python -m bench.alerts [--files 20] [--burst 1000] [--json]

- file_to_alert: a BBC article written into the watched folder, until the alert's POST reaches the fake
  Discord (p50, p95; target p50 under 1 s). Baselines in the same run: analysing that article alone
  (spaCy plus our analysis) and one bare message send through the fake.
- burst: ``--burst`` BBC articles dropped into the folder at once: every alert must be delivered
  (individually or in a flood-control digest), none twice, with the process's peak memory reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.data import bbc_articles
from bot.app import NewsdeskBot
from bot.config import Settings, load_settings
from bot.ingest.sources.folders import FolderWatcher
from bot.models import ArticleText
from tests.fake_discord import FakeDiscord


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _article(title: str, body: str, n: int) -> str:
    # A run number keeps every text new to the index, so each file is a new article.
    return f"{title} ({n})\n\n{body}\n"


async def _bench(files: int, burst: int) -> dict[str, Any]:
    items = bbc_articles(files + burst)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "news"
        folder.mkdir()
        settings = load_settings().replace(
            database=root / "bench.db", folders=(folder,), guild_ready_timeout=0.05, workers=2
        )
        async with FakeDiscord() as fake:
            # Latency first, with flood control out of the way; then the burst with the default limit.
            latency = await _latency(fake, settings.replace(alerts_per_minute=120), items[:files], folder)
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
        while time.perf_counter() < deadline:
            counts = await bot.store.alerts.counts()
            indexed = await bot.store.articles.count() - articles_before
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
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_burst_mb": round(rss_before, 1),
    }


def run(files: int = 20, burst: int = 1000) -> dict[str, Any]:
    """Measure single-file latency, then a burst of ``burst`` articles."""
    return asyncio.run(_bench(files, burst))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20, help="single files for the latency (default 20)")
    parser.add_argument("--burst", type=int, default=1000, help="articles arriving at once (default 1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    result = run(args.files, args.burst)
    if args.json:
        print(json.dumps(result))
        return 0
    latency, base, burst = result["file_to_alert"], result["baseline"], result["burst"]
    print(f"file → alert ({latency['files']} files): p50 {latency['p50_ms']:.0f} ms, p95 {latency['p95_ms']:.0f} ms")
    print(
        f"  baseline: analyse one article {base['analyse_one_p50_ms']:.0f} ms, "
        f"send one message {base['send_one_p50_ms']:.1f} ms"
    )
    print(
        f"burst of {burst['articles']}: delivered {burst['delivered']}, lost {burst['lost']}, "
        f"held back as repeated headlines {burst['same_headline_held_back']}, "
        f"duplicated {burst['duplicated']}, {burst['individual']} posted one by one and the rest in "
        f"{burst['digests']} digest(s), {burst['seconds']:.0f} s, "
        f"peak RSS {burst['peak_rss_mb']:.0f} MB (before the burst {burst['rss_before_burst_mb']:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
