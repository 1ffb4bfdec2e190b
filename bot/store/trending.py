"""Trending: articles per entity and topic per day, kept on every write, and the counts ``!trending`` and
spike alerts compare.

A window's count is exact: the whole days inside it come from the day tables, the two partial days at
its edges from the articles published in them (at most a day of articles, however long the window). The
baseline is the day tables' sum over the days before the window's first day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.models import ArticleBrief, SubjectCount, to_iso
from bot.store.database import Database, chunks
from bot.store.rows import BRIEF_COLUMNS, article_brief

# An article counts for an entity salient in it from this score up (it is about them, not passing by),
# and for the topics among its first five. Migration 0005 backfilled the day tables with these values.
ABOUT_SALIENCE = 0.2
ABOUT_TOPIC_RANK = 5

Kind = Literal["entity", "topic"]


@dataclass(frozen=True, slots=True)
class _Tables:
    """Where one kind of subject is counted: its day table and id column, its article rows (``x``), when an
    article counts for it, its own table and the type it shows, and what makes an article most about it."""

    days: str
    column: str
    rows: str
    counts_if: str
    subjects: str
    type: str
    weight: str


_TABLES = {
    "entity": _Tables(
        "entity_day_counts",
        "entity_id",
        "article_entities",
        f"x.salience >= {ABOUT_SALIENCE}",
        "entities",
        "type",
        "x.salience",
    ),
    "topic": _Tables(
        "topic_day_counts",
        "topic_id",
        "article_topics",
        f"x.rank <= {ABOUT_TOPIC_RANK}",
        "topics",
        "'topic'",
        "x.score",
    ),
}


def _day(moment: datetime) -> str:
    return to_iso(moment)[:10]


def _day_start(moment: datetime) -> str:
    return _day(moment) + "T00:00:00Z"


class TrendingQueries:
    """The day tables (written by the entity and topic parts inside each article's transaction) and the
    trending reads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_published(self) -> str | None:
        """When the oldest article in the index was published."""
        row = await self._db.fetchone("SELECT published FROM articles ORDER BY published, id LIMIT 1")
        return row["published"] if row else None

    async def articles_between(self, since: datetime, until: datetime) -> int:
        """How many articles were published in ``[since, until]``."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM articles WHERE published >= ? AND published <= ?", (to_iso(since), to_iso(until))
        )
        return int(row["n"]) if row else 0

    async def counts(
        self,
        kind: Kind,
        since: datetime,
        until: datetime,
        *,
        baseline_days: int,
        min_articles: int,
        limit: int = 500,
    ) -> list[SubjectCount]:
        """Entities (or topics) about which at least ``min_articles`` articles were published in
        ``[since, until]`` (the most first, at most ``limit``), each with its articles in the
        ``baseline_days`` days before ``since``'s day."""
        t = _TABLES[kind]
        since_iso, until_iso = to_iso(since), to_iso(until)
        first_day, last_day = _day(since), _day(until)
        # Through the partial indexes of migration 0005: the rows that count, by time.
        exact = (
            f"SELECT {t.column} AS id, 1 AS n FROM {t.rows} x "
            f"WHERE published >= ? AND published < ? AND {t.counts_if}"
        )
        if first_day == last_day:
            parts, params = [exact.replace("published < ?", "published <= ?")], [since_iso, until_iso]
        else:
            parts = [
                exact,
                exact.replace("published < ?", "published <= ?"),
                f"SELECT {t.column} AS id, articles AS n FROM {t.days} WHERE day > ? AND day < ?",
            ]
            params = [
                since_iso,
                _day_start(since + timedelta(days=1)),
                _day_start(until),
                until_iso,
                first_day,
                last_day,
            ]
        found = await self._db.fetchall(
            f"SELECT id, SUM(n) AS n FROM ({' UNION ALL '.join(parts)}) GROUP BY id HAVING SUM(n) >= ? "
            "ORDER BY SUM(n) DESC, id LIMIT ?",
            (*params, min_articles, limit),
        )
        if not found:
            return []
        window = {r["id"]: int(r["n"]) for r in found}
        baseline: dict[int, int] = {}
        named: dict[int, tuple[str, str, str]] = {}
        base_start = _day(since - timedelta(days=baseline_days))
        for chunk in chunks(list(window)):
            marks = ",".join("?" * len(chunk))
            for r in await self._db.fetchall(
                f"SELECT {t.column} AS id, SUM(articles) AS n FROM {t.days} WHERE {t.column} IN ({marks}) "
                f"AND day >= ? AND day < ? GROUP BY {t.column}",
                (*chunk, base_start, first_day),
            ):
                baseline[r["id"]] = int(r["n"])
            for r in await self._db.fetchall(
                f"SELECT id, key, name, {t.type} AS type FROM {t.subjects} WHERE id IN ({marks})",
                chunk,
            ):
                named[r["id"]] = (r["key"], r["name"], r["type"])
        return [
            SubjectCount(kind, subject, *named[subject], articles, baseline.get(subject, 0))
            for subject, articles in window.items()
            if subject in named
        ]

    async def lead_articles(
        self, kind: Kind, subject_ids: Sequence[int], since: datetime, until: datetime
    ) -> dict[int, ArticleBrief]:
        """For each subject, the article of ``[since, until]`` most about it (the most salient entity, the
        best-scored topic; the latest among equals)."""
        t = _TABLES[kind]
        leads: dict[int, ArticleBrief] = {}
        for chunk in chunks(list(subject_ids)):
            rows = await self._db.fetchall(
                f"""
                SELECT subject, {BRIEF_COLUMNS} FROM (
                    SELECT x.{t.column} AS subject, x.article_id, ROW_NUMBER() OVER (
                        PARTITION BY x.{t.column} ORDER BY {t.weight} DESC, x.published DESC, x.article_id DESC
                    ) AS place
                    FROM {t.rows} x WHERE x.{t.column} IN ({",".join("?" * len(chunk))})
                    AND x.published >= ? AND x.published <= ?
                ) best JOIN articles a ON a.id = best.article_id WHERE best.place = 1
                """,
                (*chunk, to_iso(since), to_iso(until)),
            )
            leads.update({row["subject"]: article_brief(row) for row in rows})
        return leads
