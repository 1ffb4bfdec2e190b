"""Topics: the keyphrases articles are about, with their running totals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from bot.models import ArticleBrief, Keyphrase, TopicRef
from bot.store.database import Database, chunks
from bot.store.rows import BRIEF_COLUMNS, article_brief
from bot.store.trending import ABOUT_TOPIC_RANK

_TOPIC_COLUMNS = "id, name, key, article_count, last_seen"


def _topic(row: sqlite3.Row) -> TopicRef:
    return TopicRef(
        id=row["id"],
        name=row["name"],
        key=row["key"],
        article_count=row["article_count"],
        last_seen=row["last_seen"],
    )


class TopicQueries:
    """The topic tables: lookups, the most covered topics, a topic's articles, and the rows each article adds."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_key(self, key: str) -> TopicRef | None:
        """The topic whose normalised phrase is exactly ``key``."""
        row = await self._db.fetchone(f"SELECT {_TOPIC_COLUMNS} FROM topics WHERE key = ?", (key,))
        return _topic(row) if row else None

    async def names(self) -> list[sqlite3.Row]:
        """(id, key, name, articles) rows of every topic, for the in-memory name index."""
        return await self._db.fetchall("SELECT id, key, name, article_count FROM topics")

    async def get(self, topic_id: int) -> TopicRef | None:
        """One topic by id."""
        row = await self._db.fetchone(f"SELECT {_TOPIC_COLUMNS} FROM topics WHERE id = ?", (topic_id,))
        return _topic(row) if row else None

    async def top(self, limit: int = 10) -> list[TopicRef]:
        """Topics covered by the most articles."""
        rows = await self._db.fetchall(
            f"SELECT {_TOPIC_COLUMNS} FROM topics ORDER BY article_count DESC, score_sum DESC LIMIT ?",
            (limit,),
        )
        return [_topic(r) for r in rows]

    async def articles(self, topic_id: int, limit: int = 5) -> list[tuple[ArticleBrief, list[str]]]:
        """The latest articles on a topic, each with its summary sentences."""
        rows = await self._db.fetchall(
            f"""
            SELECT {BRIEF_COLUMNS}, a.summary FROM article_topics at JOIN articles a ON a.id = at.article_id
            WHERE at.topic_id = ? ORDER BY at.published DESC, a.id DESC LIMIT ?
            """,
            (topic_id, limit),
        )
        return [(article_brief(r), json.loads(r["summary"])) for r in rows]

    # ------------------------------------------------------------------ writes, inside Database.write()

    async def attach(self, article_id: int, published: str, topics: Sequence[Keyphrase], touched: set[int]) -> None:
        """Add an article's topic rows (ranked as given) and their running totals; ``touched`` gains the
        topics to refresh."""
        db = self._db.writer
        topic_ids: dict[str, int] = {}
        if topics:
            await db.executemany(
                "INSERT INTO topics (key, name) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [(t.key, t.text) for t in topics],
            )
            keys = list({t.key for t in topics})
            async with db.execute(
                f"SELECT key, id FROM topics WHERE key IN ({','.join('?' * len(keys))})", keys
            ) as cursor:
                topic_ids = {row["key"]: row["id"] async for row in cursor}
        unique_topics = list(
            {
                topic_ids[t.key]: (topic_ids[t.key], t.score, rank)
                for rank, t in reversed(list(enumerate(topics, start=1)))
            }.values()
        )
        await db.executemany(
            "INSERT INTO article_topics (article_id, topic_id, score, rank, published) VALUES (?, ?, ?, ?, ?)",
            [(article_id, tid, score, rank, published) for tid, score, rank in unique_topics],
        )
        await db.executemany(
            "UPDATE topics SET article_count = article_count + 1, score_sum = score_sum + ? WHERE id = ?",
            [(score, tid) for tid, score, _ in unique_topics],
        )
        await db.executemany(
            "INSERT INTO topic_day_counts (day, topic_id, articles) VALUES (?, ?, 1) "
            "ON CONFLICT (day, topic_id) DO UPDATE SET articles = articles + 1",
            [(published[:10], tid) for tid, _, rank in unique_topics if rank <= ABOUT_TOPIC_RANK],
        )
        touched.update(tid for tid, _, _ in unique_topics)

    async def detach(self, article_id: int, touched: set[int]) -> None:
        """Remove an article's topic rows and take them off the running totals; ``touched`` gains the
        topics to refresh."""
        db = self._db.writer
        async with db.execute(
            "SELECT topic_id, score, rank, published FROM article_topics WHERE article_id = ?", (article_id,)
        ) as cursor:
            topic_rows = list(await cursor.fetchall())
        await db.executemany(
            "UPDATE topics SET article_count = article_count - 1, score_sum = score_sum - ? WHERE id = ?",
            [(r["score"], r["topic_id"]) for r in topic_rows],
        )
        days = [(r["published"][:10], r["topic_id"]) for r in topic_rows if r["rank"] <= ABOUT_TOPIC_RANK]
        await db.executemany("UPDATE topic_day_counts SET articles = articles - 1 WHERE day = ? AND topic_id = ?", days)
        await db.executemany("DELETE FROM topic_day_counts WHERE day = ? AND topic_id = ? AND articles <= 0", days)
        touched.update(r["topic_id"] for r in topic_rows)
        await db.execute("DELETE FROM article_topics WHERE article_id = ?", (article_id,))

    async def refresh(self, topic_ids: set[int]) -> None:
        """When topics whose articles changed were last seen; topics no article has any more are removed."""
        if not topic_ids:
            return
        for chunk in chunks(sorted(topic_ids)):
            marks = ",".join("?" * len(chunk))
            await self._db.writer.execute(f"DELETE FROM topics WHERE id IN ({marks}) AND article_count <= 0", chunk)
            await self._db.writer.execute(
                f"UPDATE topics SET last_seen = (SELECT MAX(published) FROM article_topics t "
                f"WHERE t.topic_id = topics.id) WHERE id IN ({marks})",
                chunk,
            )
