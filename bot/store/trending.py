"""Trending: articles per entity and topic per day, kept on every write, and the counts ``!trending`` and
spike alerts compare.

A window's count is exact: the whole days inside it come from the day tables, the two partial days at
its edges from the articles published in them (at most a day of articles, however long the window). The
baseline is the day tables' sum over the days before the window's first day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import EVERYTHING, ArticleBrief, SubjectCount, Viewer, to_iso
from bot.store.database import Database
from bot.store.rows import BRIEF_COLUMNS, article_brief, seen_by

# An article counts for an entity salient in it from this score up (it is about them, not passing by),
# and for the topics among its first five. Migration 0006 backfilled the day tables with these values.
ABOUT_SALIENCE = 0.2
ABOUT_TOPIC_RANK = 5

_IN_LIMIT = 500  # subjects per IN list (SQLite's parameters are limited)


@dataclass(frozen=True, slots=True)
class _Tables:
    """Where one kind of subject is counted: its day table and id column, its article rows (``x``), when an
    article counts for it, its own table and the type it shows (of its row ``s``), and what makes an article
    most about it."""

    days: str
    scoped_days: str  # the same per scope (see article_scopes), for a server's or a DM's view
    column: str
    rows: str
    counts_if: str
    subjects: str
    type: str
    weight: str


_TABLES = {
    "entity": _Tables(
        "entity_day_counts",
        "entity_scope_day_counts",
        "entity_id",
        "article_entities",
        f"x.salience >= {ABOUT_SALIENCE}",
        "entities",
        "s.type",
        "x.salience",
    ),
    "topic": _Tables(
        "topic_day_counts",
        "topic_scope_day_counts",
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

    async def window(
        self, since: datetime, until: datetime, *, viewer: Viewer = EVERYTHING
    ) -> tuple[int, str | None]:
        """How many articles ``viewer`` sees were published in ``[since, until]``, and when the oldest of
        them was (``None``: it sees none). For a server or a DM, the whole days inside come from the
        articles per scope and day, the partial days at the edges from the articles themselves."""
        seen = seen_by(viewer, "a.id")
        scopes = viewer.scopes
        count = f"SELECT COUNT(*) FROM articles a WHERE a.published >= ? AND a.published <= ? AND {seen}"
        params: list[object] = [to_iso(since), to_iso(until)]
        if scopes is not None and _day(since + timedelta(days=1)) < _day(until):  # a whole day inside
            edges = _edges(since, until)
            parts = [
                f"(SELECT COUNT(*) FROM articles a WHERE a.published >= ? AND a.published {comparison} ? AND {seen})"
                for _, comparison, _ in edges
            ]
            listed = ", ".join(str(int(scope)) for scope in scopes)
            parts.append(
                "(SELECT COALESCE(SUM(d.articles), 0) FROM scope_day_articles d "
                f"WHERE d.scope IN ({listed}) AND d.day > ? AND d.day < ?)"
            )
            count = "SELECT " + " + ".join(parts)
            params = [*(moment for start, _, end in edges for moment in (start, end)), _day(since), _day(until)]
        row = await self._db.fetchone(
            f"SELECT ({count}) AS n, "
            f"(SELECT a.published FROM articles a WHERE {seen} ORDER BY a.published, a.id LIMIT 1) AS first",
            params,
        )
        assert row is not None  # a query of subqueries always returns its row
        return int(row["n"]), row["first"]

    async def counts(
        self,
        since: datetime,
        until: datetime,
        *,
        baseline_days: int,
        min_articles: int,
        limit: int = 500,
        viewer: Viewer = EVERYTHING,
    ) -> list[SubjectCount]:
        """Entities and topics about which at least ``min_articles`` articles ``viewer`` sees were published
        in ``[since, until]`` (of each kind the most first, at most ``limit``), each with its articles in
        the ``baseline_days`` days before ``since``'s day. One statement: the window's counts, then for
        the few that reach the floor their names and baselines (by the day tables' index on the subject).
        In a server's or a DM's view the day counts are those of its scopes (each article counts in one)."""
        postgresql = self._db.dialect == "postgresql"
        edge_articles = await self._edge_articles(since, until, viewer) if postgresql else None
        statements: list[tuple[str, list[object]]] = []
        for kind, t in _TABLES.items():
            window, window_params = _window_counts(t, since, until, viewer, edge_articles)
            days, in_view = _days(t, viewer)
            sql = f"""
                SELECT * FROM (
                    WITH window_counts AS (
                        {window} HAVING SUM(n) >= ? ORDER BY SUM(n) DESC, id LIMIT ?
                    )
                    SELECT '{kind}' AS kind, w.id, w.n, s.key, s.name, {t.type} AS type,
                           (SELECT COALESCE(SUM(d.articles), 0) FROM {days} d
                            WHERE d.{t.column} = w.id AND d.day >= ? AND d.day < ?{in_view}) AS baseline
                    FROM window_counts w JOIN {t.subjects} s ON s.id = w.id
                )
                """
            baseline = [_day(since - timedelta(days=baseline_days)), _day(since)]
            statements.append((sql, [*window_params, min_articles, limit, *baseline]))
        if postgresql:
            # Each kind on a reading connection of its own, at once: two server processes, half the wait.
            parts = await asyncio.gather(*(self._db.fetchall(sql, params) for sql, params in statements))
            rows = [row for part in parts for row in part]
        else:
            rows = await self._db.fetchall(
                " UNION ALL ".join(sql for sql, _ in statements), [p for _, params in statements for p in params]
            )
        return [
            SubjectCount(r["kind"], r["id"], r["key"], r["name"], r["type"], int(r["n"]), int(r["baseline"]))
            for r in rows
        ]

    async def window_and_counts(
        self, since: datetime, until: datetime, *, baseline_days: int, min_articles: int, viewer: Viewer = EVERYTHING
    ) -> tuple[tuple[int, str | None], list[SubjectCount]]:
        """:meth:`window` and :meth:`counts` of ``[since, until]`` (no counts when ``viewer`` sees no article
        there). On PostgreSQL both at once, on reading connections of their own; SQLite's one reading
        connection would only take them in turn."""
        if self._db.dialect == "postgresql":
            return await asyncio.gather(
                self.window(since, until, viewer=viewer),
                self.counts(since, until, baseline_days=baseline_days, min_articles=min_articles, viewer=viewer),
            )
        window = await self.window(since, until, viewer=viewer)
        if not window[0]:
            return window, []
        counts = await self.counts(since, until, baseline_days=baseline_days, min_articles=min_articles, viewer=viewer)
        return window, counts

    async def _edge_articles(self, since: datetime, until: datetime, viewer: Viewer) -> list[int] | None:
        """On PostgreSQL, the articles ``viewer`` sees in the partial days at the edges of ``[since, until]``
        (``None``: it sees everything): each probed in ``article_scopes`` once, not once per name and
        topic it has (a day of articles, a thousand rows of each kind), then handed to each kind's
        statement as an array its plan hashes (planned for each run's values: ``plan_cache_mode``)."""
        if viewer.scopes is None:
            return None
        edges = _edges(since, until)
        rows = await self._db.fetchall(
            " UNION ALL ".join(
                f"SELECT a.id FROM articles a WHERE a.published >= ? AND a.published {comparison} ? "
                f"AND {seen_by(viewer, 'a.id')}"
                for _, comparison, _ in edges
            ),
            [moment for start, _, end in edges for moment in (start, end)],
        )
        return [row["id"] for row in rows]

    async def lead_articles(
        self, subjects: Sequence[tuple[str, int]], since: datetime, until: datetime, *, viewer: Viewer = EVERYTHING
    ) -> dict[tuple[str, int], ArticleBrief]:
        """For each (kind, id) subject, the article of ``[since, until]`` that ``viewer`` sees most about it
        (the most salient entity, the best-scored topic; the latest among equals), in one statement."""
        selects: list[str] = []
        params: list[object] = []
        for kind, t in _TABLES.items():
            ids = [subject for of_kind, subject in subjects if of_kind == kind][:_IN_LIMIT]
            if not ids:
                continue
            selects.append(
                f"""
                SELECT '{kind}' AS kind, x.{t.column} AS subject, x.article_id, ROW_NUMBER() OVER (
                    PARTITION BY x.{t.column} ORDER BY {t.weight} DESC, x.published DESC, x.article_id DESC
                ) AS place
                FROM {t.rows} x WHERE x.{t.column} IN ({",".join("?" * len(ids))})
                AND x.published >= ? AND x.published <= ? AND {seen_by(viewer, "x.article_id")}
                """
            )
            params += [*ids, to_iso(since), to_iso(until)]
        if not selects:
            return {}
        rows = await self._db.fetchall(
            f"SELECT kind, subject, {BRIEF_COLUMNS} FROM ({' UNION ALL '.join(selects)}) best "
            "JOIN articles a ON a.id = best.article_id WHERE best.place = 1",
            params,
        )
        return {(row["kind"], row["subject"]): article_brief(row) for row in rows}


def _days(t: _Tables, viewer: Viewer) -> tuple[str, str]:
    """The day table for ``viewer`` and the condition (``AND …``, on its alias ``d``) that keeps its scopes."""
    scopes = viewer.scopes
    if scopes is None:
        return t.days, ""
    return t.scoped_days, f" AND d.scope IN ({', '.join(str(int(scope)) for scope in scopes)})"


def _edges(since: datetime, until: datetime) -> list[tuple[str, str, str]]:
    """The partial days at the edges of ``[since, until]``, counted from the article rows: each as its
    start, the comparison of its end (``<`` or ``<=``) and its end."""
    if _day(since) == _day(until):
        return [(to_iso(since), "<=", to_iso(until))]
    return [(to_iso(since), "<", _day_start(since + timedelta(days=1))), (_day_start(until), "<=", to_iso(until))]


def _window_counts(
    t: _Tables, since: datetime, until: datetime, viewer: Viewer, edge_articles: list[int] | None = None
) -> tuple[str, list[object]]:
    """The statement (to be completed by a HAVING) of each subject's articles in ``[since, until]`` that
    ``viewer`` sees, and its parameters: whole days from the day table, the partial days at the edges
    through the partial index of the rows that count, kept to ``edge_articles`` where given (the edges'
    articles ``viewer`` sees, found already) rather than checked row by row."""
    if edge_articles is None:
        visible, visible_params = seen_by(viewer, "x.article_id"), []
    else:
        visible, visible_params = "x.article_id = ANY(?::BIGINT[])", [edge_articles]
    parts: list[str] = []
    params: list[object] = []
    for start, comparison, end in _edges(since, until):
        parts.append(
            f"SELECT {t.column} AS id, 1 AS n FROM {t.rows} x "
            f"WHERE published >= ? AND published {comparison} ? AND {t.counts_if} AND {visible}"
        )
        params += [start, end, *visible_params]
    first_day, last_day = _day(since), _day(until)
    if first_day != last_day:
        days, in_view = _days(t, viewer)
        parts.append(
            f"SELECT d.{t.column} AS id, d.articles AS n FROM {days} d WHERE d.day > ? AND d.day < ?{in_view}"
        )
        params += [first_day, last_day]
    return f"SELECT id, SUM(n) AS n FROM ({' UNION ALL '.join(parts)}) GROUP BY id", params
