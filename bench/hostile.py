"""Hostile feeds against the real bot: the event loop keeps answering, memory stays bounded.

    python -m bench.hostile [--good 40] [--seconds 240] [--json]

The real :class:`NewsdeskBot` runs against the fake Discord and polls a local HTTP server serving hostile
feeds (long runs of dots, spaces, ``*`` and ``<``; unclosed tags and comments; entity bombs in several
encodings; deep nesting; 5 MB items; items linking to hostile pages; slow drips; bad encodings; a
hostile XML declaration and prolog; gzip and size bombs) beside good ones (real BBC articles from
``../shared`` as RSS items), while ``!who Milei`` is asked through the fake Discord over and over. The
bot's own loop watch measures how late the event loop wakes.

Baseline in the same run: the same bot, idle, answering the same question for a few seconds. Targets:
max stall under 100 ms, RSS growth under 200 MB, every good article indexed, the bot answering
throughout. The loop watch also tells whether the loop thread was running code during a stall or waiting in
the selector for a CPU the machine did not give it (a loaded machine): ``max_busy_stall_ms`` counts only the
former, the stall this code can cause. ``--json`` prints one object: max_loop_stall_ms, max_busy_stall_ms,
peak_rss_mb, rss_growth_mb, feeds, feeds_paused, good_articles, bot_answered (and the baseline and details).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import io
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from bench.data import bbc_articles
from bot.app import NewsdeskBot
from bot.cli import run_index
from bot.config import load_settings
from bot.ingest.feeds import canonical_url
from bot.ingest.sources.feeds import FeedPoller
from tests.fake_discord import FakeDiscord
from tests.feed_server import BILLION_LAUGHS, HTML_TYPE, FeedServer, rss_document

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "!who Milei"
INTERVAL_MINUTES = 0.05  # every feed is polled every 3 s (failing ones back off, then pause)
MB = 1_000_000
STORY = "The harbour of Riverton reopened on Monday after two years of repairs, the mayor said. "


def _rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory now (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _workers_rss_mb() -> float:
    """The resident memory of this process's children together (the parsing worker and the analysis workers)."""
    return sum(_rss_mb(child.pid) for child in multiprocessing.active_children() if child.pid)


def _one_item(path: str, server: FeedServer, **fields: str) -> bytes:
    return rss_document([{"title": f"Hostile {path}", "link": server.url(f"/page{path}"), **fields}])


def _laughs(encoding: str, *, bom: bytes = b"") -> bytes:
    """BILLION_LAUGHS declared in ``encoding``, with a comment holding markup before the subset."""
    text = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    text = text.replace("<!DOCTYPE", "<!-- made by <x> -->\n<!DOCTYPE", 1)
    return bom + text.encode(encoding)


def _hostile_page(payload: str) -> bytes:
    body = f"<article><p>{STORY * 3}</p><p>{payload}</p></article>"
    return f"<html><head><title>Page</title></head><body>{body}</body></html>".encode()


# Feeds that must fail every poll (and so end paused); the others parse, their hostile text made harmless.
FAILING = {
    "/laughs.xml", "/laughs-shift-jis.xml", "/laughs-utf-16.xml", "/laughs-utf-16le-bom.xml",
    "/laughs-utf-8-bom.xml", "/quadratic-entity.xml", "/xml-declaration.xml", "/binary.xml",
    "/utf-16-declared-utf-8-sent.xml", "/drip.xml", "/gzip-bomb.xml", "/huge.xml",
}  # fmt: skip


def _serve_hostile(server: FeedServer, prose: str) -> list[str]:
    """Serve every hostile feed; their URLs."""
    big = 4_500_000
    runs: dict[str, dict[str, str]] = {
        "/dots.xml": {"description": STORY + "." * big},
        "/spaces.xml": {"description": "a" + " " * big + "b"},
        "/stars.xml": {"content": STORY + "*" * big},
        "/angles.xml": {"content": STORY + "<" * (big // 4)},  # escaped: 4 bytes each in the XML
        "/unclosed-tags.xml": {"content": STORY + "<a b='" * (big // 10)},
        "/unclosed-comments.xml": {"content": STORY + "<!--" * (big // 7)},
        "/deep-html.xml": {"content": "<div>" * (big // 11) + STORY},
        "/colons.xml": {"content": ":a" * (big // 2)},
        "/big-item.xml": {"content": (prose * (big // len(prose) + 1))[:big]},
    }
    urls = [server.serve(path, _one_item(path, server, **fields)) for path, fields in runs.items()]
    # Ten items of 400 KB of real words: each is cut to max_article_chars and analysed.
    long_items = [
        {"title": f"Long read {n}", "link": server.url(f"/page/long-{n}"), "content": f"Part {n}. " + prose[:400_000]}
        for n in range(10)
    ]
    urls.append(server.serve("/long-items.xml", rss_document(long_items)))
    # Teasers whose pages are hostile (fetched and extracted for the full text).
    pages = {"/page/stars.html": "*" * big, "/page/angles.html": "&lt;" * (big // 4), "/page/words.html": prose * 20}
    for path, payload in pages.items():
        server.serve(path, _hostile_page(payload), content_type=HTML_TYPE)
    teasers = [{"title": f"Teaser {p}", "link": server.url(p), "description": "Read more…"} for p in pages]
    urls.append(server.serve("/teasers.xml", rss_document(teasers)))
    deep_xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Deep</title><item><title>Deep</title>'
        + "<x>" * 200_000 + "</x>" * 200_000 + "<description>deep</description></item></channel></rss>"
    )  # fmt: skip
    bodies: dict[str, bytes] = {
        "/laughs.xml": BILLION_LAUGHS,
        "/laughs-shift-jis.xml": _laughs("shift_jis"),
        "/laughs-utf-16.xml": _laughs("utf-16"),
        "/laughs-utf-16le-bom.xml": _laughs("utf-16-le", bom=codecs.BOM_UTF16_LE),
        "/laughs-utf-8-bom.xml": _laughs("utf-8", bom=codecs.BOM_UTF8),
        "/quadratic-entity.xml": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]><rss version="2.0"><channel>'
            f"<title>Q</title><item><title>t</title><description>{'&a;' * 5000}</description></item></channel></rss>"
        ).encode(),
        "/deep-xml.xml": deep_xml.encode(),
        "/xml-declaration.xml": b'<?xml version="1.0" ' + b'encoding="a" ' * 300_000 + b"?><rss/>",
        "/prolog.xml": rss_document([{"title": "P", "description": "p"}]).replace(b"?>", b"?>" + b"\n" * big, 1),
        "/binary.xml": bytes(range(256)) * (big // 256),
        "/bad-shift-jis.xml": b'<?xml version="1.0" encoding="shift_jis"?><rss version="2.0"><channel><title>'
        + b"\x81\xff" * (big // 2) + b"</title></channel></rss>",
        "/utf-16-declared-utf-8-sent.xml": rss_document([{"title": "U", "description": "u" * big}]).replace(
            b'encoding="utf-8"', b'encoding="utf-16"'
        ),
    }
    urls += [server.serve(path, body) for path, body in bodies.items()]
    urls.append(server.drip("/drip.xml", rss_document([{"title": "Slow", "description": STORY}]), interval=0.5))
    urls.append(server.gzip_bomb("/gzip-bomb.xml"))
    urls.append(server.huge("/huge.xml"))
    return urls


def _serve_good(server: FeedServer, count: int) -> tuple[list[str], list[str]]:
    """Good feeds of BBC articles (ten a feed); their URLs and the origins their items must get."""
    urls: list[str] = []
    origins: list[str] = []
    articles = bbc_articles(count)
    for feed in range(0, len(articles), 10):
        items = []
        for n, (title, body, _) in enumerate(articles[feed : feed + 10], start=feed):
            link = server.url(f"/bbc/{n}")
            html = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n") if p.strip())
            items.append({"title": title, "link": link, "content": html, "guid": f"bbc-{n}"})
            origins.append(canonical_url(link))
        urls.append(server.serve(f"/good-{feed // 10}.xml", rss_document(items, title=f"BBC {feed // 10}")))
    return urls, origins


class _Asker:
    """Asks the question through the fake Discord, one at a time, and keeps the answer times."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.latencies: list[float] = []
        self.unanswered = 0  # no reply within 10 s
        self.wrong = 0  # a reply that is not the profile
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                # In a DM: the server's channels also get alerts and pause notices.
                sent = await self.fake.send_dm(QUESTION, author=self.fake.member)
                reply = await sent.reply(timeout=10)
                if not (reply.embeds and "Milei" in reply.embeds[0].get("title", "")):
                    self.wrong += 1
                    print(f"unexpected answer: {reply.content[:200]!r}", file=sys.stderr)
                self.latencies.append(time.perf_counter() - started)
            except TimeoutError:
                self.unanswered += 1
            try:
                await asyncio.wait_for(self._stop.wait(), 0.5)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()


async def _sampling(until: Callable[[], bool], peak: list[float]) -> None:
    """Keep the peak resident memory of this process (``peak[0]``) and of its workers (``peak[1]``)."""
    while not until():
        peak[0] = max(peak[0], _rss_mb())
        peak[1] = max(peak[1], _workers_rss_mb())
        await asyncio.sleep(0.1)


async def _bench(good: int, seconds: float) -> dict[str, Any]:
    prose = " ".join(body for _, body, _ in bbc_articles(300))  # about 600 000 characters
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(ROOT / "config" / "newsdesk.toml", environ={}).replace(
            database=Path(tmp) / "hostile.db",
            aliases=ROOT / "config" / "aliases.toml",
            folders=(ROOT / "seeds",),  # as shipped: the bot watches the seeds (and loads spaCy at start)
            allowed_private_networks=("127.0.0.1",),
            feed_min_interval_minutes=0.01,
            feed_timeout_seconds=3.0,
            feed_max_failures=2,  # failing feeds pause within the run
            guild_ready_timeout=0.05,
            loop_stall_ms=50,  # stalls from 50 ms are sampled, so the busy/waiting split covers the target
            cooldown_uses=1000,  # the question is asked twice a second, every answer is wanted
        )
        # The index the question is answered from, built as `newsdesk index seeds` builds it.
        await run_index(settings, [ROOT / "seeds"], out=io.StringIO(), progress=False)
        async with FeedServer() as server, FakeDiscord() as fake:
            hostile = _serve_hostile(server, prose)
            good_urls, origins = _serve_good(server, good)
            bot = NewsdeskBot(settings)
            async with fake.run_bot(bot):
                await bot.store.alerts.set_channel(fake.guild.id, fake.channel.id, fake.admin.id)
                # Baseline: the idle bot answering the same question.
                asker = _Asker(fake)
                asking = asyncio.create_task(asker.run())
                bot.loopwatch.reset()
                await asyncio.sleep(5)
                asker.stop()
                await asking
                baseline = {
                    "loop_stall_ms": bot.loopwatch.max_stall * 1000,
                    "busy_stall_ms": bot.loopwatch.max_busy_stall * 1000,
                    "who_p50_ms": statistics.median(asker.latencies) * 1000,
                    "rss_mb": _rss_mb(),
                }
                # The hostile run.
                for url in hostile + good_urls:
                    await bot.store.sources.add(fake.guild.id, fake.channel.id, url, INTERVAL_MINUTES, fake.admin.id)
                started = time.perf_counter()
                bot.loopwatch.reset()
                asker = _Asker(fake)
                asking = asyncio.create_task(asker.run())
                peak = [baseline["rss_mb"], 0.0]
                done = False
                sampling = asyncio.create_task(_sampling(lambda: done, peak))
                bot.ingestion.source(FeedPoller).wake.set()
                indexed = 0
                paused = 0
                while time.perf_counter() - started < seconds:
                    await asyncio.sleep(1)
                    indexed = len(await bot.store.articles.origin_hashes(origins))
                    sources = await bot.store.sources.of_server(fake.guild.id)
                    paused = sum(1 for s in sources if s.paused)
                    # Done: every good article in, and every feed that can only fail paused.
                    if indexed == len(origins) and paused >= len(FAILING):
                        break
                asker.stop()
                await asking
                done = True
                await sampling
                return {
                    "max_loop_stall_ms": round(bot.loopwatch.max_stall * 1000, 1),
                    "max_busy_stall_ms": round(bot.loopwatch.max_busy_stall * 1000, 1),
                    "peak_rss_mb": round(peak[0], 1),
                    "rss_growth_mb": round(peak[0] - baseline["rss_mb"], 1),
                    "feeds": len(hostile) + len(good_urls),
                    "feeds_paused": paused,
                    "feeds_failing_by_design": len(FAILING),
                    "good_articles": indexed,
                    "bot_answered": asker.unanswered == asker.wrong == 0 and bool(asker.latencies),
                    "good_articles_expected": len(origins),
                    "hostile_feeds": len(hostile),
                    "stalls_over_threshold": bot.loopwatch.stalls,
                    "who_asked": len(asker.latencies) + asker.unanswered,
                    "who_unanswered": asker.unanswered,
                    "who_wrong_answers": asker.wrong,
                    "who_p50_ms": round(statistics.median(asker.latencies) * 1000, 1) if asker.latencies else None,
                    "who_max_ms": round(max(asker.latencies) * 1000, 1) if asker.latencies else None,
                    "worker_peak_rss_mb": round(peak[1], 1),
                    "seconds": round(time.perf_counter() - started, 1),
                    "baseline_idle": {key: round(value, 1) for key, value in baseline.items()},
                }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--good", type=int, default=40, help="good BBC articles served (ten a feed)")
    parser.add_argument("--seconds", type=float, default=300, help="longest hostile run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = asyncio.run(_bench(args.good, args.seconds))
    if args.json:
        print(json.dumps(result))
        return 0
    base = result["baseline_idle"]
    feeds = f"{result['feeds']} ({result['hostile_feeds']}) / {result['feeds_paused']}"
    rows = [
        ("max event-loop stall", f"{result['max_loop_stall_ms']:.0f} ms", f"{base['loop_stall_ms']:.0f} ms", "< 100"),
        (
            "  while running code",
            f"{result['max_busy_stall_ms']:.0f} ms",
            f"{base['busy_stall_ms']:.0f} ms",
            "< 100",
        ),
        ("!who answer, median", f"{result['who_p50_ms']} ms", f"{base['who_p50_ms']:.0f} ms", ""),
        ("!who answer, slowest", f"{result['who_max_ms']} ms", "", ""),
        ("peak RSS", f"{result['peak_rss_mb']:.0f} MB", f"{base['rss_mb']:.0f} MB", ""),
        ("worker processes, peak RSS", f"{result['worker_peak_rss_mb']:.0f} MB", "", ""),
        ("RSS growth", f"{result['rss_growth_mb']:.0f} MB", "", "< 200"),
        ("good articles indexed", f"{result['good_articles']} / {result['good_articles_expected']}", "", "all"),
        ("feeds (hostile) / paused", feeds, "", ""),
        ("bot answered throughout", str(result["bot_answered"]), "", "True"),
    ]
    print(f"{'':28} {'hostile run':>18} {'idle baseline':>14} {'target':>10}")
    for name, value, baseline, target in rows:
        print(f"{name:28} {value:>18} {baseline:>14} {target:>10}")
    print(f"({result['seconds']} s, {result['who_asked']} questions, {result['stalls_over_threshold']} stalls logged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
