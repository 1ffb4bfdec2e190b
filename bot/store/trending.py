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
    article counts for it, its own table and the type it shows (of its row ``s``), and what makes an article
    most about it."""

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
        "s.type",
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

    async def window(self, since: datetime, until: datetime) -> tuple[int, str | None]:
        """How many articles were published in ``[since, until]``, and when the oldest article in the
        index was (``None``: the index is empty)."""
        row = await self._db.fetchone(
            "SELECT (SELECT COUNT(*) FROM articles WHERE published >= ? AND published <= ?) AS n, "
            "(SELECT published FROM articles ORDER BY published, id LIMIT 1) AS first",
            (to_iso(since), to_iso(until)),
        )
        assert row is not None  # a query of subqueries always returns its row
        return int(row["n"]), row["first"]

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
        # One statement: the window's counts, then for the few that reach the floor their names and
        # their baseline (by the day table's index on the subject).
        base_start = _day(since - timedelta(days=baseline_days))
        rows = await self._db.fetchall(
            f"""
            WITH window_counts AS (
                SELECT id, SUM(n) AS n FROM ({" UNION ALL ".join(parts)}) GROUP BY id HAVING SUM(n) >= ?
                ORDER BY SUM(n) DESC, id LIMIT ?
            )
            SELECT w.id, w.n, s.key, s.name, {t.type} AS type,
                   (SELECT COALESCE(SUM(d.articles), 0) FROM {t.days} d
                    WHERE d.{t.column} = w.id AND d.day >= ? AND d.day < ?) AS baseline
            FROM window_counts w JOIN {t.subjects} s ON s.id = w.id ORDER BY w.n DESC, w.id
            """,
            (*params, min_articles, limit, base_start, first_day),
        )
        return [
            SubjectCount(kind, r["id"], r["key"], r["name"], r["type"], int(r["n"]), int(r["baseline"])) for r in rows
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
