"""Picture rendering: latency of the trend and graph pictures, and what drawing them does to the event loop.

    python -m bench.charts [--runs 40] [--busy N] [--json] [--samples DIR]

- render: p50 / p99 for a trend of four subjects over one year of daily points and a co-mention graph of
  15 neighbours (target p99 under 300 ms), drawn in-process (``bot.charts.render``) and through the
  product's path (:class:`bot.charts.PictureRenderer`: its worker process, pickling and pipe included),
  against the raw baseline in the same run: an empty Agg figure of the same size saved to PNG.
- loop stall: a ticker on the event loop wakes every 5 ms while pictures are drawn through
  :class:`bot.charts.PictureRenderer` (its worker process) and, for comparison, in a worker thread
  (``asyncio.to_thread``); the stall is how late the ticker wakes (p99 and max), with an idle loop as the
  baseline. ``--busy N`` keeps N other processes spinning on the CPU meanwhile (the indexer's spaCy workers
  on a bot's machine): a drawing thread's stalls grow with the load, a process's hardly do.
- ``--samples DIR`` also writes the README's pictures (trend.png, graph.png) from the same BBC-like data.

The data queries behind the pictures are measured with the commands, in ``bench/commands.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot import charts
from bot.charts import CoMentionGraph, Neighbour, PictureRenderer, TrendChart, TrendSeries

TICK_S = 0.005
END = date(2005, 4, 30)  # the BBC set's spring of 2005: the run-up to the 5 May general election


def _daily(rng: random.Random, days: int, base: float, bursts: list[tuple[date, float]]) -> list[tuple[date, int]]:
    """Daily counts around ``base`` with news bursts that decay over a few days."""
    points = []
    for offset in range(days):
        day = END - timedelta(days=days - 1 - offset)
        count = rng.gauss(base, base * 0.45)
        for when, height in bursts:
            after = (day - when).days
            if after >= 0:
                count += height * math.exp(-after / 2.0)
        points.append((day, max(0, round(count))))
    return points


def sample_trend(days: int = 365) -> TrendChart:
    """Four BBC politics names over ``days`` days of daily points."""
    rng = random.Random(2005)
    return TrendChart(
        [
            TrendSeries(
                "Tony Blair",
                _daily(rng, days, 6, [(date(2005, 4, 5), 19), (date(2005, 2, 15), 7)]),
                "Blair names 5 May as election day",
            ),
            TrendSeries(
                "Gordon Brown", _daily(rng, days, 3, [(date(2005, 3, 16), 12)]), "Brown's 'Budget for the future'"
            ),
            TrendSeries("Michael Howard", _daily(rng, days, 3.5, [(date(2005, 4, 11), 8)])),
            TrendSeries("Charles Kennedy", _daily(rng, days, 1.5, [(date(2005, 4, 14), 7)])),
        ],
        days=days,
    )


def sample_graph() -> CoMentionGraph:
    """Tony Blair and the 15 names BBC politics stories mention with him most."""
    neighbours = [
        ("Gordon Brown", "PERSON", 48),
        ("Michael Howard", "PERSON", 41),
        ("Labour", "ORG", 39),
        ("Iraq", "GPE", 30),
        ("Charles Kennedy", "PERSON", 26),
        ("Downing Street", "FAC", 22),
        ("Conservatives", "ORG", 21),
        ("George W Bush", "PERSON", 17),
        ("House of Commons", "ORG", 15),
        ("Liberal Democrats", "ORG", 14),
        ("Alan Milburn", "PERSON", 11),
        ("Britons", "NORP", 10),
        ("Washington", "GPE", 8),
        ("John Prescott", "PERSON", 6),
        ("Europe", "LOC", 6),
    ]
    links = [
        ("Gordon Brown", "Labour", 20),
        ("Alan Milburn", "Labour", 9),
        ("Michael Howard", "Conservatives", 18),
        ("Charles Kennedy", "Liberal Democrats", 12),
        ("Iraq", "George W Bush", 9),
        ("George W Bush", "Washington", 6),
    ]
    return CoMentionGraph("Tony Blair", "PERSON", [Neighbour(*n) for n in neighbours], links)


def _empty_png() -> bytes:
    figure = Figure(figsize=(charts.WIDTH_PX / charts.DPI, charts.HEIGHT_PX / charts.DPI), dpi=charts.DPI)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p99_ms": round(p99 * 1000, 1)}


def _timed(work: Any, runs: int) -> tuple[dict[str, float], Any]:
    work()  # fonts and caches: the first picture of a process is not the one measured
    samples = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples), result


async def _ticker_lateness(work: Any) -> dict[str, float]:
    """How late a 5 ms ticker wakes while ``work()`` is awaited."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            expected = loop.time() + TICK_S
            await asyncio.sleep(TICK_S)
            late.append(max(0.0, loop.time() - expected))

    ticker = asyncio.create_task(tick())
    try:
        await work()
    finally:
        done.set()
        await ticker
    ordered = sorted(late)
    return {
        "p99_ms": round(ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "ticks": len(ordered),
    }


@contextlib.contextmanager
def _busy_cores(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU meanwhile, as the indexer's spaCy workers would."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


async def _through_renderer(specs: dict[str, Any], runs: int, busy: int) -> dict[str, Any]:
    """The product's path: latency through :class:`PictureRenderer` (drawing, pickling, the pipe), then
    the event-loop stall while it draws, against a worker thread drawing the same pictures (with ``busy``
    other processes taking the CPU meanwhile)."""

    async def idle() -> None:
        await asyncio.sleep(1.0)

    renderer = PictureRenderer()
    try:
        started = time.perf_counter()
        await renderer.render(specs["trend_4x365"])
        first_ms = round((time.perf_counter() - started) * 1000, 1)
        latency = {}
        for key, spec in specs.items():
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                await renderer.render(spec)
                samples.append(time.perf_counter() - started)
            latency[key] = _percentiles(samples)
        rounds = max(3, runs // 8)

        async def in_process() -> None:
            for _ in range(rounds):
                for spec in specs.values():
                    await renderer.render(spec)

        # The alternative the product does not take: a worker thread (the loop's default executor).
        async def in_thread() -> None:
            for _ in range(rounds):
                for spec in specs.values():
                    await asyncio.to_thread(charts.render, spec)

        await asyncio.to_thread(charts.render, specs["trend_4x365"])
        with _busy_cores(busy):
            stall = {
                "idle": await _ticker_lateness(idle),
                "process": await _ticker_lateness(in_process),
                "thread": await _ticker_lateness(in_thread),
                "busy_processes": busy,
            }
    finally:
        renderer.close()
    # The renderer's worker is the only child this process waited for: its peak memory.
    worker_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return {
        "latency": latency,
        "first_picture_ms": first_ms,
        "worker_peak_rss_mb": worker_mb,
        "loop_stall": stall,
    }


def run(runs: int = 40, samples: Path | None = None, busy: int = 0) -> dict[str, Any]:
    """Drawing latency in-process and through the renderer, the empty-figure baseline, and the
    event-loop stall of the renderer's process against a thread."""
    specs = {"trend_4x365": sample_trend(365), "graph_15": sample_graph()}
    baseline, empty = _timed(_empty_png, runs)
    drawn = {key: _timed(lambda spec=spec: charts.render(spec), runs) for key, spec in specs.items()}
    renderer = asyncio.run(_through_renderer(specs, runs, busy))
    if samples is not None:
        samples.mkdir(parents=True, exist_ok=True)
        (samples / "trend.png").write_bytes(charts.render(sample_trend(90)).png)
        (samples / "graph.png").write_bytes(drawn["graph_15"][1].png)
    return {
        "baseline_empty_png": {**baseline, "bytes": len(empty)},
        "draw": {key: {**timing, "bytes": len(picture.png)} for key, (timing, picture) in drawn.items()},
        "renderer": renderer,
        "size_px": [charts.WIDTH_PX, charts.HEIGHT_PX],
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40, help="renders per picture (default 40)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--samples", type=Path, help="also write trend.png and graph.png into this folder")
    parser.add_argument(
        "--busy", type=int, default=0, help="processes spinning on the CPU while the stall is measured (default 0)"
    )
    args = parser.parse_args(argv)
    result = run(args.runs, args.samples, args.busy)
    if args.json:
        print(json.dumps(result))
        return 0
    width, height = result["size_px"]
    base, drawn, renderer = result["baseline_empty_png"], result["draw"], result["renderer"]

    def row(label: str, first: float, second: float, size: int | None = None) -> None:
        kilobytes = f"{size / 1024:>9.0f}" if size is not None else ""
        print(f"  {label:<52} {first:>7.1f} {second:>8.1f}{kilobytes}")

    print(f"{'picture (' + str(result['runs']) + f' each, {width}×{height} px)':<54} p50 ms   p99 ms   PNG KB")
    row("baseline: empty figure to PNG", base["p50_ms"], base["p99_ms"], base["bytes"])
    for key, label in (("trend_4x365", "trend, 4 subjects × 365 days"), ("graph_15", "graph, 15 neighbours")):
        row(f"{label}: drawn", drawn[key]["p50_ms"], drawn[key]["p99_ms"], drawn[key]["bytes"])
        through = renderer["latency"][key]
        row(f"{label}: through PictureRenderer", through["p50_ms"], through["p99_ms"])
    print(
        f"  first picture (the worker starts): {renderer['first_picture_ms']:.0f} ms; "
        f"worker peak RSS {renderer['worker_peak_rss_mb']:.0f} MB"
    )
    stall = renderer["loop_stall"]
    busy = f", {stall['busy_processes']} busy processes" if stall["busy_processes"] else ""
    print(f"{'event-loop stall (5 ms ticker lateness' + busy + ')':<54} p99 ms   max ms")
    for key, label in (
        ("idle", "baseline: idle loop"),
        ("process", "PictureRenderer (its worker process)"),
        ("thread", "alternative: a worker thread"),
    ):
        row(label, stall[key]["p99_ms"], stall[key]["max_ms"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
