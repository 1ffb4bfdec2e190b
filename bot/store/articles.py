"""Articles: writing analysed articles (with their origins, files, stories and alerts) in batched transactions,
and reading them back — one article, the latest, related ones, the size of the index."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import AsyncIterator, Sequence

from bot.models import (
    AlertPolicy,
    Article,
    ArticleAnalysis,
    ArticleBrief,
    ArticleEntity,
    ArticleRecord,
    ArticleTopic,
    FileFingerprint,
    RelatedArticle,
    Stats,
    WriteResult,
    to_iso,
)
from bot.store.alerts import AlertQueries
from bot.store.database import Database, chunks, current_time
from bot.store.entities import RECENT_WINDOW, EntityQueries
from bot.store.rows import BRIEF_COLUMNS, article_brief
from bot.store.search import SearchQueries
from bot.store.stories import StoryQueries
from bot.store.topics import TopicQueries

_ARTICLE_COLUMNS = "id, title, source, url, published, ingested_at, summary, word_count"

# !related: how many of an article's heaviest names (and as many topics) gather candidates, how many
# candidates per answer line are scored exactly, and the cosine below which an article is not closely
# related. Two reports of one event score 0.3 and more; articles sharing a country and nothing else
# stay under 0.05. On BBC news (python -m bench.related) about 90% of what is shown is in the article's
# own section for any threshold from 0.04 to 0.1; 0.06 keeps those sharing only places near 1%.
RELATED_ANCHORS = 8
RELATED_RESCORED = 4
RELATED_MIN_SIMILARITY = 0.06
# A topic, or a place or nationality, weighs this much of a person, organisation or thing of the same
# standing: who and what an article is about say more exactly which story it tells than where it happens.
TOPIC_FACTOR = 0.5
PLACE_FACTOR = 0.5
PLACE_TYPES = frozenset({"GPE", "LOC", "NORP"})

Feature = tuple[str, int]
"""An entity or topic of an article vector: ``("entity", id)`` or ``("topic", id)``."""


class _ArticleVector:
    """One article's names and topics for :meth:`ArticleQueries.related`: weight × rarity per feature."""

    __slots__ = ("article_counts", "names", "rarities", "total", "weights")

    def __init__(self, total: int) -> None:
        self.total = total
        self.weights: dict[Feature, float] = {}
        self.rarities: dict[Feature, float] = {}
        self.article_counts: dict[Feature, int] = {}
        self.names: dict[Feature, str] = {}

    def add(self, feature: Feature, row: sqlite3.Row, weight: float) -> None:
        count = max(1, int(row["article_count"]))
        self.weights[feature] = weight
        self.rarities[feature] = math.log(1 + self.total / count)
        self.article_counts[feature] = count
        self.names[feature] = row["name"]

    def _value(self, feature: Feature) -> float:
        return self.weights[feature] * self.rarities[feature]

    def similarity(self, other: _ArticleVector) -> tuple[float, list[str]]:
        """The cosine of the two vectors, and the names of what they share, what weighs most first."""
        shared = {x: self._value(x) * other._value(x) for x in self.weights.keys() & other.weights.keys()}
        norms = math.sqrt(sum(self._value(x) ** 2 for x in self.weights)) * math.sqrt(
            sum(other._value(x) ** 2 for x in other.weights)
        )
        if not shared or norms == 0:
            return 0.0, []
        ordered = sorted(shared, key=lambda x: (-shared[x], self.names[x]))
        return sum(shared.values()) / norms, list(dict.fromkeys(self.names[x] for x in ordered))


class ArticleQueries:
    """The article tables (articles, origins, files). A batch write also adds the entity, topic and search
    rows of its articles, places each new text in a story and plans their alerts, through those parts,
    inside its one transaction."""

    def __init__(
        self,
        db: Database,
        *,
        entities: EntityQueries,
        topics: TopicQueries,
        search: SearchQueries,
        alerts: AlertQueries,
        stories: StoryQueries,
    ) -> None:
        self._db = db
        self._stories = stories
        self._entities = entities
        self._topics = topics
        self._search = search
        self._alerts = alerts

    # -------------------------------------------------------------------------------- ingest side

    async def file_is_unchanged(self, fingerprint: FileFingerprint) -> bool:
        """Whether the file was fully indexed as it is now (same size and modification time)."""
        async with self._db.turn() as db, db.execute(
            "SELECT size, mtime_ns FROM files WHERE path = ?", (fingerprint.path,)
        ) as cursor:
            row = await cursor.fetchone()
        return row is not None and (row["size"], row["mtime_ns"]) == (fingerprint.size, fingerprint.mtime_ns)

    async def origin_hashes(self, origins: Sequence[str]) -> dict[str, str]:
        """The content hash currently indexed for each of ``origins`` that is known."""
        found: dict[str, str] = {}
        async with self._db.turn() as db:
            for chunk in chunks(list(origins)):
                marks = ",".join("?" * len(chunk))
                async with db.execute(
                    f"SELECT o.origin, a.content_hash FROM origins o JOIN articles a ON a.id = o.article_id "
                    f"WHERE o.origin IN ({marks})",
                    chunk,
                ) as cursor:
                    found.update({row["origin"]: row["content_hash"] async for row in cursor})
        return found

    async def origins_in_file(self, path: str) -> list[str]:
        """Every origin recorded for records of the file at ``path``."""
        async with self._db.turn() as db, db.execute(
            "SELECT origin FROM origins WHERE file = ?", (path,)
        ) as cursor:
            return [row["origin"] async for row in cursor]

    async def write_batch(
        self,
        items: Sequence[tuple[ArticleRecord, ArticleAnalysis | None]],
        *,
        files_done: Sequence[FileFingerprint] = (),
        stale_origins: Sequence[str] = (),
        alerts: AlertPolicy | None = None,
    ) -> list[WriteResult]:
        """Store analysed articles, drop origins that vanished, and mark files done — in one transaction.

        A record whose text is already indexed under another origin needs no analysis (pass ``None``):
        its origin is linked to that article. A record whose origin held other text replaces that
        article's rows, keeping its id when no other origin shares it. With an ``alerts`` policy, the
        alerts of new articles are written to the outbox in the same transaction.
        """
        results: list[WriteResult] = []
        async with self._db.write() as db:
            touched_entities: set[int] = set()
            touched_topics: set[int] = set()
            for origin in stale_origins:
                await self._unlink_origin(origin, touched_entities, touched_topics)
            for record, analysis in items:
                results.append(await self._write_one(record, analysis, touched_entities, touched_topics))
            await self._entities.refresh(touched_entities)
            await self._topics.refresh(touched_topics)
            planned = 0
            if alerts is not None and not alerts.suppress:
                for result in results:
                    if result.status in {"new", "duplicate"}:
                        planned += await self._alerts.plan(result.article_id, alerts, is_new=result.status == "new")
            now = current_time()
            await db.executemany(
                "INSERT INTO files (path, size, mtime_ns, indexed_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "indexed_at = excluded.indexed_at",
                [(f.path, f.size, f.mtime_ns, now) for f in files_done],
            )
        self._db.generation += 1
        if planned:
            self._alerts.planned.set()
        return results

    async def id_for_hash(self, content_hash: str) -> int | None:
        """The article holding this exact text, if any."""
        async with self._db.turn():
            return await self._id_for_hash(content_hash)

    async def _id_for_hash(self, content_hash: str) -> int | None:
        async with self._db.writer.execute(
            "SELECT id FROM articles WHERE content_hash = ?", (content_hash,)
        ) as cursor:
            row = await cursor.fetchone()
        return row["id"] if row else None

    async def _write_one(
        self,
        record: ArticleRecord,
        analysis: ArticleAnalysis | None,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> WriteResult:
        db = self._db.writer
        now = current_time()
        async with db.execute(
            "SELECT o.article_id, a.content_hash FROM origins o JOIN articles a ON a.id = o.article_id "
            "WHERE o.origin = ?",
            (record.origin,),
        ) as cursor:
            previous = await cursor.fetchone()
        if previous and previous["content_hash"] == record.content_hash:
            if analysis is None:
                return WriteResult(record.origin, previous["article_id"], "unchanged")
            reuse: int | None = previous["article_id"]  # a forced re-analysis refreshes the rows in place
        else:
            same_text = await self._id_for_hash(record.content_hash)
            if same_text is not None:
                await self._link_origin(record, same_text, now, touched_entities, touched_topics)
                return WriteResult(record.origin, same_text, "duplicate")
            if analysis is None:
                raise ValueError(f"{record.origin}: new text needs its analysis")
            reuse = (
                previous["article_id"]
                if previous and await self._origin_count(previous["article_id"]) == 1
                else None
            )

        # A publication date in the future (a 2099 feed item) is clamped to now, or it tops !latest forever.
        published = min(to_iso(record.published), now)
        columns = (
            record.content_hash,
            record.title,
            int(record.title_derived),
            record.source,
            record.url,
            published,
            now,
            record.body,
            json.dumps(analysis.summary),
            analysis.word_count,
        )
        if reuse is not None:
            await self._detach_article(reuse, touched_entities, touched_topics)
            await db.execute(
                "UPDATE articles SET content_hash = ?, title = ?, title_derived = ?, source = ?, url = ?, "
                "published = ?, ingested_at = ?, body = ?, summary = ?, word_count = ? WHERE id = ?",
                (*columns, reuse),
            )
            article_id, status = reuse, "updated"
        else:
            async with db.execute(
                "INSERT INTO articles (content_hash, title, title_derived, source, url, published, "
                "ingested_at, body, summary, word_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                columns,
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            article_id, status = row["id"], "new" if previous is None else "updated"
        await self._search.add(article_id, record.title, record.body)
        await self._attach_analysis(article_id, published, analysis, touched_entities, touched_topics)
        await self._stories.place_or_skip(article_id, published, record.title, record.body, record.source)
        await self._link_origin(record, article_id, now, touched_entities, touched_topics)
        return WriteResult(record.origin, article_id, status)

    async def _attach_analysis(
        self,
        article_id: int,
        published: str,
        analysis: ArticleAnalysis,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> None:
        await self._entities.attach(article_id, published, analysis.entities, touched_entities)
        await self._topics.attach(article_id, published, analysis.topics, touched_topics)

    async def _origin_count(self, article_id: int) -> int:
        async with self._db.writer.execute(
            "SELECT COUNT(*) AS n FROM origins WHERE article_id = ?", (article_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def _link_origin(
        self,
        record: ArticleRecord,
        article_id: int,
        now: str,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> None:
        db = self._db.writer
        async with db.execute("SELECT article_id FROM origins WHERE origin = ?", (record.origin,)) as cursor:
            row = await cursor.fetchone()
        await db.execute(
            "INSERT INTO origins (origin, article_id, file, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET article_id = excluded.article_id, seen_at = excluded.seen_at",
            (record.origin, article_id, record.file, now),
        )
        if row and row["article_id"] != article_id and await self._origin_count(row["article_id"]) == 0:
            await self._delete_article(row["article_id"], touched_entities, touched_topics)

    async def _unlink_origin(self, origin: str, touched_entities: set[int], touched_topics: set[int]) -> None:
        async with self._db.writer.execute(
            "DELETE FROM origins WHERE origin = ? RETURNING article_id", (origin,)
        ) as cursor:
            row = await cursor.fetchone()
        if row and await self._origin_count(row["article_id"]) == 0:
            await self._delete_article(row["article_id"], touched_entities, touched_topics)

    async def _delete_article(self, article_id: int, touched_entities: set[int], touched_topics: set[int]) -> None:
        await self._detach_article(article_id, touched_entities, touched_topics)
        await self._db.writer.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    async def _detach_article(self, article_id: int, touched_entities: set[int], touched_topics: set[int]) -> None:
        """Remove an article's analysis rows and its search entry, noting which aggregates to redo."""
        await self._entities.detach(article_id, touched_entities)
        await self._topics.detach(article_id, touched_topics)
        await self._search.remove(article_id)
        await self._stories.detach(article_id)

    # ---------------------------------------------------------------------------------- read side

    async def get(self, article_id: int, *, with_body: bool = False) -> Article | None:
        """One article with its entities, topics and where it came from."""
        body_column = "body" if with_body else "NULL"
        row = await self._db.fetchone(
            f"SELECT {_ARTICLE_COLUMNS}, {body_column} AS body FROM articles WHERE id = ?",
            (article_id,),
        )
        if row is None:
            return None
        return await self._article_from_row(row)

    async def _article_from_row(self, row: sqlite3.Row) -> Article:
        article_id = row["id"]
        entities = await self._db.fetchall(
            """
            SELECT e.id, e.name, e.type, ae.mentions, ae.salience,
                   (SELECT json_group_array(role) FROM article_roles r
                    WHERE r.article_id = ae.article_id AND r.entity_id = ae.entity_id) AS roles
            FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
            WHERE ae.article_id = ? ORDER BY ae.salience DESC, ae.mentions DESC, e.name
            """,
            (article_id,),
        )
        topics = await self._db.fetchall(
            "SELECT t.id, t.name, t.key, at.score FROM article_topics at JOIN topics t ON t.id = at.topic_id "
            "WHERE at.article_id = ? ORDER BY at.rank",
            (article_id,),
        )
        origins = await self._db.fetchall(
            "SELECT origin FROM origins WHERE article_id = ? ORDER BY seen_at, origin", (article_id,)
        )
        return Article(
            id=article_id,
            title=row["title"],
            source=row["source"],
            url=row["url"],
            published=row["published"],
            ingested_at=row["ingested_at"],
            summary=json.loads(row["summary"]),
            word_count=row["word_count"],
            origins=[o["origin"] for o in origins],
            entities=[
                ArticleEntity(
                    entity_id=r["id"],
                    name=r["name"],
                    type=r["type"],
                    mentions=r["mentions"],
                    salience=r["salience"],
                    roles=json.loads(r["roles"]),
                )
                for r in entities
            ],
            topics=[ArticleTopic(topic_id=r["id"], name=r["name"], key=r["key"], score=r["score"]) for r in topics],
            body=row["body"],
        )

    async def latest(self, limit: int = 5) -> list[ArticleBrief]:
        """The most recently published articles."""
        rows = await self._db.fetchall(
            f"SELECT {BRIEF_COLUMNS} FROM articles a ORDER BY a.published DESC, a.id DESC LIMIT ?", (limit,)
        )
        return [article_brief(r) for r in rows]

    async def latest_id(self) -> int | None:
        """The id of the most recently published article."""
        row = await self._db.fetchone("SELECT id FROM articles ORDER BY published DESC, id DESC LIMIT 1")
        return row["id"] if row else None

    async def count(self) -> int:
        """How many articles the index holds."""
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM articles")
        return int(row["n"]) if row else 0

    async def related(self, article_id: int, limit: int = 5) -> list[RelatedArticle]:
        """Articles that share this one's rare and central names and topics, closest first; those less
        similar than :data:`RELATED_MIN_SIMILARITY` are left out, so an empty list means nothing is
        closely related.

        Each article is a vector over its entities (weighted by salience, places and nationalities at
        :data:`PLACE_FACTOR`) and topics (by score, relative to its top topic, at :data:`TOPIC_FACTOR`),
        each weight times the thing's rarity — an inverse
        document frequency, ``ln(1 + N / df)`` from the running article counts — so that a shared
        "United States" is worth little and a shared "Javier Milei" much. Candidates come from the
        recent articles of this one's heaviest names and topics; the best of them by the shared part
        alone are then scored exactly, by the cosine of the two vectors.
        """
        newest = await self._db.fetchone("SELECT MAX(id) AS n FROM articles")
        # Ids are never reused, so the highest stands in for the count of articles without counting
        # them; the few deleted ones barely move a logarithm.
        total = max(1, int(newest["n"] or 1)) if newest else 1
        vector = (await self._vectors([article_id], total)).get(article_id)
        if not vector:
            return []
        anchors = sorted(
            (x for x in vector.weights if vector.article_counts[x] > 1),
            key=lambda x: -vector.weights[x] * vector.rarities[x],
        )
        entity_anchors = [x for x in anchors if x[0] == "entity"][:RELATED_ANCHORS]
        topic_anchors = [x for x in anchors if x[0] == "topic"][:RELATED_ANCHORS]
        if not entity_anchors and not topic_anchors:
            return []
        # One query gathers the candidates and adds up what each shares, weighted, so that only the best
        # few rows come back instead of every recent article of every anchor.
        parts, params = [], []
        for table, column, chosen in (
            ("article_entities", "entity_id", entity_anchors),
            ("article_topics", "topic_id", topic_anchors),
        ):
            for anchor in chosen:
                parts.append(
                    f"SELECT * FROM (SELECT article_id, ? AS weight FROM {table} WHERE {column} = ? "
                    f"AND article_id != ? ORDER BY published DESC LIMIT {RECENT_WINDOW})"
                )
                params += [vector.weights[anchor] * vector.rarities[anchor], anchor[1], article_id]
        rows = await self._db.fetchall(
            f"SELECT article_id, SUM(weight) AS shared FROM ({' UNION ALL '.join(parts)}) "
            f"GROUP BY article_id ORDER BY shared DESC, article_id DESC LIMIT ?",
            (*params, limit * RELATED_RESCORED),
        )
        candidates = [r["article_id"] for r in rows]
        scored = []
        for other_id, other in (await self._vectors(candidates, total)).items():
            similarity, shared = vector.similarity(other)
            if similarity >= RELATED_MIN_SIMILARITY:
                scored.append((similarity, other_id, shared))
        scored.sort(key=lambda s: (-s[0], -s[1]))
        best = scored[:limit]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        briefs = {
            r["id"]: article_brief(r)
            for r in await self._db.fetchall(
                f"SELECT {BRIEF_COLUMNS} FROM articles a WHERE a.id IN ({marks})", [b[1] for b in best]
            )
        }
        return [RelatedArticle(briefs[a], round(sim, 4), shared) for sim, a, shared in best if a in briefs]

    async def _vectors(self, article_ids: Sequence[int], total: int) -> dict[int, _ArticleVector]:
        """The rarity-weighted vectors of some articles in an index of ``total`` articles (see
        :meth:`related`), from one query."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        rows = await self._db.fetchall(
            f"""
            SELECT 'entity' AS kind, ae.article_id, ae.entity_id AS id, e.name, e.type, ae.salience AS weight,
                   e.article_count, 1.0 AS top
            FROM article_entities ae JOIN entities e ON e.id = ae.entity_id WHERE ae.article_id IN ({marks})
            UNION ALL
            SELECT 'topic', at.article_id, at.topic_id, t.name, NULL, at.score, t.article_count,
                   MAX(at.score) OVER (PARTITION BY at.article_id)
            FROM article_topics at JOIN topics t ON t.id = at.topic_id WHERE at.article_id IN ({marks})
            """,
            [*article_ids, *article_ids],
        )
        vectors: dict[int, _ArticleVector] = {}
        for row in rows:
            if row["kind"] == "entity":
                weight = row["weight"] * (PLACE_FACTOR if row["type"] in PLACE_TYPES else 1.0)
            else:
                weight = TOPIC_FACTOR * row["weight"] / row["top"] if row["top"] > 0 else 0.0
            vectors.setdefault(row["article_id"], _ArticleVector(total)).add((row["kind"], row["id"]), row, weight)
        return vectors

    async def stats(self) -> Stats:
        """Counts and dates that describe the index."""
        row = await self._db.fetchone(
            """
            SELECT (SELECT COUNT(*) FROM articles) AS articles, (SELECT COUNT(*) FROM entities) AS entities,
                   (SELECT COUNT(*) FROM topics) AS topics,
                   (SELECT COALESCE(SUM(mention_count), 0) FROM entities) AS mentions,
                   (SELECT COUNT(*) FROM origins) AS origins,
                   (SELECT MIN(published) FROM articles) AS first_published,
                   (SELECT MAX(published) FROM articles) AS last_published,
                   (SELECT MAX(ingested_at) FROM articles) AS last_ingested
            """
        )
        assert row is not None  # an aggregate query always returns its row
        by_type = await self._db.fetchall("SELECT type, COUNT(*) AS n FROM entities GROUP BY type ORDER BY n DESC")
        page = await self._db.fetchone(
            "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()"
        )
        return Stats(
            **row,
            database_bytes=int(page["size"]) if page else 0,
            entities_by_type={r["type"]: r["n"] for r in by_type},
        )

    async def iter_all(self) -> AsyncIterator[Article]:
        """Every article with its analysis, oldest id first (for export)."""
        last = 0
        while True:
            rows = await self._db.fetchall(
                f"SELECT {_ARTICLE_COLUMNS}, NULL AS body FROM articles WHERE id > ? ORDER BY id LIMIT 200",
                (last,),
            )
            if not rows:
                return
            for row in rows:
                yield await self._article_from_row(row)
            last = rows[-1]["id"]
