"""Dated coverage for trending, spike and digest tests: real articles analysed once by the real model,
written with the dates a test needs through the store's own write path (no spaCy per copy).

:func:`spike_coverage` is a month of steady news (two bridge stories a day, Javier Milei every ten
days), then six articles about Milei in the last day before :data:`NOW`, and two about a name never seen
before (one fewer than the floor of a trend).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.ingest.readers import content_hash
from bot.models import AlertPolicy, ArticleAnalysis, ArticleRecord, ArticleText
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.alerts.conftest import OSLO, SALIENT, story

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
TEXTS = {"milei": SALIENT, "oslo": OSLO, "bridge": story(1), "bridge2": story(2)}


@dataclass(frozen=True, slots=True)
class Analysed:
    """One text and its analysis."""

    title: str
    body: str
    analysis: ArticleAnalysis


def analyse_texts(analyzer: Analyzer) -> dict[str, Analysed]:
    """Every text of :data:`TEXTS`, analysed."""
    names = list(TEXTS)
    parts = [TEXTS[n].split("\n\n", 1) for n in names]
    analyses = analyzer.analyze([ArticleText(title, body) for title, body in parts])
    return {n: Analysed(title, body, a) for n, (title, body), a in zip(names, parts, analyses, strict=True)}  # type: ignore[misc]


def dated(texts: dict[str, Analysed], name: str, published: datetime, n: int) -> tuple[ArticleRecord, ArticleAnalysis]:
    """Copy ``n`` of text ``name``, published at ``published`` (its own text, so not a duplicate)."""
    text = texts[name]
    body = f"{text.body}\n[{name} {n}]"
    record = ArticleRecord(
        origin=f"test://{name}/{n}",
        title=text.title,
        body=body,
        content_hash=content_hash(body),
        published=published,
        source="Test Wire",
    )
    return record, text.analysis


def spike_coverage(texts: dict[str, Analysed], now: datetime = NOW) -> list[tuple[ArticleRecord, ArticleAnalysis]]:
    """The articles of the module docstring, oldest first."""
    items = []
    for day in range(31, 0, -1):
        start = now - timedelta(days=day)
        items.append(dated(texts, "bridge", start + timedelta(hours=1), day))
        items.append(dated(texts, "bridge2", start + timedelta(hours=9), day))
        if day % 10 == 5:
            items.append(dated(texts, "milei", start + timedelta(hours=3), day))
    for hour in range(6):
        items.append(dated(texts, "milei", now - timedelta(hours=20 - 3 * hour), 100 + hour))
    for hour in range(2):
        items.append(dated(texts, "oslo", now - timedelta(hours=10 - hour), 200 + hour))
    return sorted(items, key=lambda item: item[0].published)


async def write(store: Store, items: list[tuple[ArticleRecord, ArticleAnalysis]], *, alerts: bool = False) -> None:
    """Write ``items`` as one batch, planning no alerts unless asked."""
    await store.articles.write_batch(items, alerts=AlertPolicy(0.35) if alerts else None)
