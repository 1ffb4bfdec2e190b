"""Digests: each channel's schedule, planning a period's digest exactly once, and what a digest lists.

A period is planned in one transaction that moves the schedule's ``last_period_end`` past it (only if it
has not moved already) and writes the digest's outbox row (unique by its key): whatever restarts or
overlapping passes happen, a period gets one row, and the dispatcher sends each row once.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from bot.digests import DigestSchedule
from bot.models import EVERYTHING, ArticleBrief, PlannedPost, Viewer, to_iso
from bot.store.alerts import AlertQueries
from bot.store.database import Database
from bot.store.rows import BRIEF_COLUMNS, article_brief, seen_by
from bot.store.trending import ABOUT_SALIENCE

_COLUMNS = (
    "channel_id, guild_id, cadence, weekday, at_minute, created_at, subject_kind, subject_key, subject_name, "
    "last_period_end"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]
# Articles of a period considered for its top stories, before one per lead name is kept.
_CANDIDATES = 60


def _schedule(row: sqlite3.Row) -> DigestSchedule:
    return DigestSchedule(**{name: row[name] for name in _NAMES})


class DigestQueries:
    """The ``digests`` table, and the period reads a digest is made of."""

    def __init__(self, db: Database, *, alerts: AlertQueries) -> None:
        self._db = db
        self._alerts = alerts

    async def set(self, schedule: DigestSchedule, set_by: int) -> None:
        """Give a channel this digest (replacing its previous one; periods already planned stay planned)."""
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO digests (channel_id, guild_id, cadence, weekday, at_minute, created_at, subject_kind, "
                "subject_key, subject_name, set_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id, cadence = excluded.cadence, "
                "weekday = excluded.weekday, at_minute = excluded.at_minute, created_at = excluded.created_at, "
                "subject_kind = excluded.subject_kind, subject_key = excluded.subject_key, "
                "subject_name = excluded.subject_name, set_by = excluded.set_by",
                (
                    schedule.channel_id,
                    schedule.guild_id,
                    schedule.cadence,
                    schedule.weekday,
                    schedule.at_minute,
                    schedule.created_at,
                    schedule.subject_kind,
                    schedule.subject_key,
                    schedule.subject_name,
                    set_by,
                ),
            )

    async def remove(self, channel_id: int) -> DigestSchedule | None:
        """Stop a channel's digest; returns what it was."""
        async with self._db.write() as db, db.execute(
            f"DELETE FROM digests WHERE channel_id = ? RETURNING {_COLUMNS}", (channel_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _schedule(row) if row else None

    async def of_channel(self, channel_id: int) -> DigestSchedule | None:
        """A channel's digest, if it has one."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM digests WHERE channel_id = ?", (channel_id,))
        return _schedule(row) if row else None

    async def schedules(self) -> list[tuple[DigestSchedule, str | None]]:
        """Every digest, with its server's time zone name (``None``: UTC)."""
        rows = await self._db.fetchall(
            f"SELECT {', '.join('d.' + name for name in _NAMES)}, g.timezone FROM digests d "
            "LEFT JOIN guild_settings g ON g.guild_id = d.guild_id ORDER BY d.channel_id"
        )
        return [(_schedule(row), row["timezone"]) for row in rows]

    async def plan(self, channel_id: int, period_end: datetime, post: PlannedPost | None, now: datetime) -> bool:
        """Mark the period ending ``period_end`` planned for a channel and write its ``post`` (``None``: a
        period with nothing to post), once: ``False`` when it was planned already (or the digest is gone)."""
        end = to_iso(period_end)
        async with self._db.write() as db:
            async with db.execute(
                "UPDATE digests SET last_period_end = ? WHERE channel_id = ? "
                "AND (last_period_end IS NULL OR last_period_end < ?) RETURNING 1",
                (end, channel_id, end),
            ) as cursor:
                if await cursor.fetchone() is None:
                    return False
            if post is not None:
                await self._alerts.write_posts([post], now)
        if post is not None:
            self._alerts.planned.set()
        return True

    # ------------------------------------------------------------------------------------- content

    async def top_articles(
        self, since: datetime, until: datetime, limit: int, *, viewer: Viewer = EVERYTHING
    ) -> list[tuple[ArticleBrief, list[str], int, int]]:
        """The period's biggest stories: its articles ranked by how many of the period's articles share
        their names, one per lead name (the name most salient in each), each with its summary sentences,
        that count, and its lead name's id. Articles are those published in ``[since, until)`` that
        ``viewer`` sees."""
        period = (to_iso(since), to_iso(until))
        if self._db.dialect == "postgresql":
            rows = await self._ranked_postgresql(period, viewer)
        else:
            rows = await self._db.fetchall(
                f"""
                WITH named AS (
                    SELECT article_id, entity_id, salience FROM article_entities x
                    WHERE published >= ? AND published < ? AND x.salience >= {ABOUT_SALIENCE}
                    AND {seen_by(viewer, "x.article_id")}
                ), coverage AS (SELECT entity_id, COUNT(*) AS n FROM named GROUP BY entity_id)
                -- With one max() in the query, SQLite takes the bare named.entity_id from the row of the
                -- maximum: the article's most salient name.
                SELECT named.article_id, SUM(coverage.n) AS weight, named.entity_id AS lead, MAX(named.salience)
                FROM named JOIN coverage ON coverage.entity_id = named.entity_id
                GROUP BY named.article_id ORDER BY weight DESC, named.article_id DESC LIMIT ?
                """,
                (*period, _CANDIDATES),
            )
        chosen: dict[int, tuple[int, int]] = {}
        leads: set[int] = set()
        for row in rows:
            if row["lead"] in leads:
                continue  # the same story again, from another outlet or another day
            leads.add(row["lead"])
            chosen[row["article_id"]] = (int(row["weight"]), int(row["lead"]))
            if len(chosen) == limit:
                break
        if not chosen:
            return []
        marks = ",".join("?" * len(chosen))
        articles = {
            r["id"]: r
            for r in await self._db.fetchall(
                f"SELECT {BRIEF_COLUMNS}, a.summary FROM articles a WHERE a.id IN ({marks})", list(chosen)
            )
        }
        return [
            (article_brief(articles[i]), json.loads(articles[i]["summary"]), weight, lead)
            for i, (weight, lead) in chosen.items()
            if i in articles
        ]

    async def _ranked_postgresql(self, period: tuple[str, str], viewer: Viewer) -> list[Any]:
        """:meth:`top_articles`' candidates on PostgreSQL: the same ranking, in a shape whose plan does not
        hang on the row estimates. PostgreSQL guesses the rows of a range of ``published`` text from its
        histogram's buckets (a day inside one bucket: one row; a week across two: twice too many), and the
        one-statement form then either hashed every visible article's scope (100,000 rows, 16 ms) or
        rescanned a CTE per row (a day: 30 ms). So: the period's visible articles first (one probe of
        ``article_scopes`` per article, not per name), passed back as an array that the planner, planning
        each run (``plan_cache_mode``), hashes; each name's coverage as a window count (a sort, whatever
        the estimates); the lead name (the most salient; ties: the lowest id) only for the candidates, by the
        primary key (an article's names all carry its date: no period to check, which would invite the day's
        index and a scan per candidate)."""
        params: list[object] = list(period)
        seen = ""
        if viewer.scopes is not None:
            visible = await self._db.fetchall(
                f"SELECT a.id FROM articles a WHERE a.published >= ? AND a.published < ? AND {seen_by(viewer, 'a.id')}",
                period,
            )
            if not visible:
                return []
            seen = "AND x.article_id = ANY(?::BIGINT[])"
            params.append([row["id"] for row in visible])
        return await self._db.fetchall(
            f"""
            SELECT top.article_id, top.weight, (
                SELECT x.entity_id FROM article_entities x
                WHERE x.article_id = top.article_id AND x.salience >= {ABOUT_SALIENCE}
                ORDER BY x.salience DESC, x.entity_id LIMIT 1
            ) AS lead
            FROM (
                SELECT named.article_id, SUM(named.coverage) AS weight FROM (
                    SELECT x.article_id, COUNT(*) OVER (PARTITION BY x.entity_id) AS coverage
                    FROM article_entities x
                    WHERE x.published >= ? AND x.published < ? AND x.salience >= {ABOUT_SALIENCE} {seen}
                ) named
                GROUP BY named.article_id ORDER BY weight DESC, named.article_id DESC LIMIT ?
            ) top
            ORDER BY top.weight DESC, top.article_id DESC
            """,
            [*params, _CANDIDATES],
        )

    async def subject_articles(
        self, kind: str, subject_id: int, since: datetime, until: datetime, limit: int, *, viewer: Viewer = EVERYTHING
    ) -> list[tuple[ArticleBrief, list[str]]]:
        """The articles of ``[since, until)`` that ``viewer`` sees about one entity (salient in them, with
        its key sentence first) or one topic (with their summaries), the most about it first."""
        seen = seen_by(viewer, "x.article_id")
        period = (to_iso(since), to_iso(until))
        if kind == "entity":
            rows = await self._db.fetchall(
                f"SELECT {BRIEF_COLUMNS}, a.summary, x.key_sentence FROM article_entities x "
                "JOIN articles a ON a.id = x.article_id WHERE x.entity_id = ? AND x.published >= ? "
                f"AND x.published < ? AND x.salience >= {ABOUT_SALIENCE} AND {seen} "
                "ORDER BY x.salience DESC, x.published DESC LIMIT ?",
                (subject_id, *period, limit),
            )
        else:
            rows = await self._db.fetchall(
                f"SELECT {BRIEF_COLUMNS}, a.summary, '' AS key_sentence FROM article_topics x "
                "JOIN articles a ON a.id = x.article_id WHERE x.topic_id = ? AND x.published >= ? "
                f"AND x.published < ? AND {seen} ORDER BY x.score DESC, x.published DESC LIMIT ?",
                (subject_id, *period, limit),
            )
        found = []
        for row in rows:
            summary = json.loads(row["summary"])
            sentences = [row["key_sentence"], *(s for s in summary if s != row["key_sentence"])]
            found.append((article_brief(row), [s for s in sentences if s]))
        return found
