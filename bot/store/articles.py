"""Articles: writing analysed articles (with their origins, files, stories and alerts) in batched transactions,
and reading them back — one article, the latest, related ones, the size of the index."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field

from bot.models import (
    EVERYTHING,
    SHARED_SCOPE,
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
    Viewer,
    WriteResult,
    to_iso,
)
from bot.store.alerts import AlertQueries
from bot.store.database import Database, chunks, current_time
from bot.store.entities import RECENT_WINDOW, EntityQueries
from bot.store.rows import BRIEF_COLUMNS, article_brief, scope_marks, visible, visible_in
from bot.store.search import SearchQueries
from bot.store.stories import StoryQueries
from bot.store.topics import TopicQueries

_ARTICLE_COLUMNS = "id, title, source, url, published, ingested_at, summary, word_count"
# The source id crediting what the watched folders and the command line index (shared with every server).
FOLDERS_SOURCE = 0


def _articles_in_scopes(scopes: Sequence[int]) -> str:
    """The statement counting the articles of ``scopes`` (its parameters: the scopes), from their running
    counts: each article belongs to one scope, so no article is counted twice."""
    return f"SELECT COALESCE(SUM(articles), 0) FROM scope_counts WHERE scope IN ({scope_marks(scopes)})"


@dataclass(slots=True)
class _Touched:
    """What one write changed: entities and topics whose aggregates to refresh, articles to rescope."""

    entities: set[int] = field(default_factory=set)
    topics: set[int] = field(default_factory=set)
    articles: set[int] = field(default_factory=set)
    removed: int = 0  # articles deleted


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

    __slots__ = ("_norm", "_values", "article_counts", "names", "rarities", "total", "weights")

    def __init__(self, total: int) -> None:
        self.total = total
        self.weights: dict[Feature, float] = {}
        self.rarities: dict[Feature, float] = {}
        self.article_counts: dict[Feature, int] = {}
        self.names: dict[Feature, str] = {}
        self._values: dict[Feature, float] | None = None
        self._norm = 0.0

    def add(self, feature: Feature, name: str, weight: float, article_count: int) -> None:
        count = max(1, int(article_count))
        self.weights[feature] = weight
        self.rarities[feature] = math.log(1 + self.total / count)
        self.article_counts[feature] = count
        self.names[feature] = name
        self._values = None

    def values(self) -> dict[Feature, float]:
        """Weight × rarity per feature, computed once: an article is compared with many candidates."""
        if self._values is None:
            self._values = {x: self.weights[x] * self.rarities[x] for x in self.weights}
            self._norm = math.sqrt(sum(v * v for v in self._values.values()))
        return self._values

    def norm(self) -> float:
        """The vector's length."""
        self.values()
        return self._norm

    def similarity(self, other: _ArticleVector) -> float:
        """The cosine of the two vectors. What they share adds up in this vector's order (its rows'), so
        that exact ties fall the same way in every process (a set's order follows the string hash, which
        changes from one process to the next)."""
        mine, theirs = self.values(), other.values()
        shared = [mine[x] * theirs[x] for x in mine if x in theirs]
        norms = self.norm() * other.norm()
        if not shared or norms == 0:
            return 0.0
        return sum(shared) / norms

    def shared_names(self, other: _ArticleVector) -> list[str]:
        """The names of what the two vectors share, what weighs most first (asked for the few related
        articles shown only, not for every candidate scored)."""
        mine, theirs = self.values(), other.values()
        shared = {x: mine[x] * theirs[x] for x in mine if x in theirs}
        ordered = sorted(shared, key=lambda x: (-shared[x], self.names[x]))
        return list(dict.fromkeys(self.names[x] for x in ordered))


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
        async with (
            self._db.turn() as db,
            db.execute("SELECT size, mtime_ns FROM files WHERE path = ?", (fingerprint.path,)) as cursor,
        ):
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
        async with self._db.turn() as db, db.execute("SELECT origin FROM origins WHERE file = ?", (path,)) as cursor:
            return [row["origin"] async for row in cursor]

    async def write_batch(
        self,
        items: Sequence[tuple[ArticleRecord, ArticleAnalysis | None]],
        *,
        files_done: Sequence[FileFingerprint] = (),
        stale_origins: Sequence[str] = (),
        alerts: AlertPolicy | None = None,
        source_id: int | None = None,
    ) -> list[WriteResult]:
        """Store analysed articles, drop origins that vanished, and mark files done — in one transaction.

        A record whose text is already indexed under another origin needs no analysis (pass ``None``):
        its origin is linked to that article. A record whose origin held other text replaces that
        article's rows, keeping its id when no other origin shares it. With an ``alerts`` policy, the
        alerts of new articles are written to the outbox in the same transaction.

        ``source_id`` is the feed the records came from (``None``: the watched folders or the command
        line, which are shared): each origin is credited to it, which decides who may see its article.
        A record already indexed under its origin (pass it with ``None``) only gains the credit, and is
        ``linked`` when that made it visible to a server that could not see it. Records of a feed
        removed meanwhile are not written.
        """
        results: list[WriteResult] = []
        async with self._db.write() as db:
            await self._db.one_writer()
            source = await self._source_scope(source_id)
            touched = _Touched()
            for origin in stale_origins:
                await self._unlink_origin(origin, touched)
            for record, analysis in items if source is not None else ():
                results.append(await self._write_one(record, analysis, source or (0, 0), touched))
            scopes_before = {r.article_id: await self._scopes(r.article_id) for r in results if r.status == "linked"}
            await self._rescope(touched)
            # A credit that shows the article to no one new (a second feed of the same server) changes nothing.
            results = [
                WriteResult(r.origin, r.article_id, "unchanged")
                if r.status == "linked" and await self._scopes(r.article_id) == scopes_before[r.article_id]
                else r
                for r in results
            ]
            await self._entities.refresh(touched.entities)
            await self._topics.refresh(touched.topics)
            planned = 0
            if alerts is not None and not alerts.suppress:
                for result in results:
                    if result.status in {"new", "duplicate", "linked"}:
                        planned += await self._alerts.plan(result.article_id, alerts, is_new=result.status == "new")
            if results or stale_origins:
                await self._db.announce()  # to other processes' caches of names, and their dispatchers
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

    async def _source_scope(self, source_id: int | None) -> tuple[int, int] | None:
        """(source id, scope) to credit a batch's origins to; ``None`` when the feed is gone."""
        if source_id is None:
            return FOLDERS_SOURCE, SHARED_SCOPE
        async with self._db.writer.execute("SELECT guild_id, shared FROM sources WHERE id = ?", (source_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return source_id, SHARED_SCOPE if row["shared"] else int(row["guild_id"])

    async def linked_origins(self, source_id: int, origins: Sequence[str]) -> set[str]:
        """Which of ``origins`` are already credited to feed ``source_id``."""
        found: set[str] = set()
        async with self._db.turn() as db:
            for chunk in chunks(list(origins)):
                marks = ",".join("?" * len(chunk))
                async with db.execute(
                    f"SELECT origin FROM origin_sources WHERE source_id = ? AND origin IN ({marks})",
                    (source_id, *chunk),
                ) as cursor:
                    found.update([row["origin"] async for row in cursor])
        return found

    async def id_for_hash(self, content_hash: str) -> int | None:
        """The article holding this exact text, if any."""
        async with self._db.turn():
            return await self._id_for_hash(content_hash)

    async def _id_for_hash(self, content_hash: str) -> int | None:
        async with self._db.writer.execute("SELECT id FROM articles WHERE content_hash = ?", (content_hash,)) as cursor:
            row = await cursor.fetchone()
        return row["id"] if row else None

    async def _write_one(
        self,
        record: ArticleRecord,
        analysis: ArticleAnalysis | None,
        source: tuple[int, int],
        touched: _Touched,
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
                if await self._credit(record.origin, source):
                    await self._show_shared_source(previous["article_id"], record, source)
                    touched.articles.add(previous["article_id"])
                    return WriteResult(record.origin, previous["article_id"], "linked")
                return WriteResult(record.origin, previous["article_id"], "unchanged")
            reuse: int | None = previous["article_id"]  # a forced re-analysis refreshes the rows in place
        else:
            same_text = await self._id_for_hash(record.content_hash)
            if same_text is not None:
                await self._show_shared_source(same_text, record, source)
                await self._link_origin(record, same_text, now, source, touched)
                return WriteResult(record.origin, same_text, "duplicate")
            if analysis is None:
                raise ValueError(f"{record.origin}: new text needs its analysis")
            reuse = (
                previous["article_id"] if previous and await self._origin_count(previous["article_id"]) == 1 else None
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
            int(record.date_known),
            now,
            record.body,
            json.dumps(analysis.summary),
            analysis.word_count,
        )
        if reuse is not None:
            await self._detach_article(reuse, touched)
            await db.execute(
                "UPDATE articles SET content_hash = ?, title = ?, title_derived = ?, source = ?, url = ?, "
                "published = ?, date_known = ?, ingested_at = ?, body = ?, summary = ?, word_count = ? WHERE id = ?",
                (*columns, reuse),
            )
            article_id, status = reuse, "updated"
        else:
            async with db.execute(
                "INSERT INTO articles (content_hash, title, title_derived, source, url, published, date_known, "
                "ingested_at, body, summary, word_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                columns,
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            article_id, status = row["id"], "new" if previous is None else "updated"
        await self._search.add(article_id, record.title, record.body)
        await self._attach_analysis(article_id, published, analysis, touched)
        await self._stories.place_or_skip(
            article_id, published, record.title, record.body, record.source, date_known=record.date_known
        )
        await self._link_origin(record, article_id, now, source, touched)
        return WriteResult(record.origin, article_id, status)

    async def _attach_analysis(
        self, article_id: int, published: str, analysis: ArticleAnalysis, touched: _Touched
    ) -> None:
        await self._entities.attach(article_id, published, analysis.entities, touched.entities)
        await self._topics.attach(article_id, published, analysis.topics, touched.topics)
        # Counted in the scopes the article already has (a re-analysis); a new one's come with its origin.
        scopes = await self._scopes(article_id)
        await self._shift_scopes(article_id, (), scopes)

    async def _show_shared_source(self, article_id: int, record: ArticleRecord, source: tuple[int, int]) -> None:
        """A story a server's own feed brought in arrives through a shared source: from now on it shows the
        shared source's name and link, not the server's feed (which other servers must not learn of)."""
        if source[1] == SHARED_SCOPE and SHARED_SCOPE not in await self._scopes(article_id):
            await self._db.writer.execute(
                "UPDATE articles SET source = ?, url = ? WHERE id = ?", (record.source, record.url, article_id)
            )

    async def _origin_count(self, article_id: int) -> int:
        async with self._db.writer.execute(
            "SELECT COUNT(*) AS n FROM origins WHERE article_id = ?", (article_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def _credit(self, origin: str, source: tuple[int, int]) -> bool:
        """Credit an origin to a source; ``False`` when it already was."""
        async with self._db.writer.execute(
            "INSERT INTO origin_sources (origin, source_id, scope) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (origin, *source),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def _link_origin(
        self, record: ArticleRecord, article_id: int, now: str, source: tuple[int, int], touched: _Touched
    ) -> None:
        db = self._db.writer
        async with db.execute("SELECT article_id FROM origins WHERE origin = ?", (record.origin,)) as cursor:
            row = await cursor.fetchone()
        await db.execute(
            "INSERT INTO origins (origin, article_id, file, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET article_id = excluded.article_id, seen_at = excluded.seen_at",
            (record.origin, article_id, record.file, now),
        )
        await self._credit(record.origin, source)
        touched.articles.add(article_id)
        if row and row["article_id"] != article_id:
            touched.articles.add(row["article_id"])
            if await self._origin_count(row["article_id"]) == 0:
                await self._delete_article(row["article_id"], touched)

    async def _unlink_origin(self, origin: str, touched: _Touched) -> None:
        async with self._db.writer.execute(
            "DELETE FROM origins WHERE origin = ? RETURNING article_id", (origin,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return
        touched.articles.add(row["article_id"])
        if await self._origin_count(row["article_id"]) == 0:
            await self._delete_article(row["article_id"], touched)

    async def _delete_article(self, article_id: int, touched: _Touched) -> None:
        await self._detach_article(article_id, touched)
        await self._db.writer.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        touched.articles.discard(article_id)
        touched.removed += 1

    async def _detach_article(self, article_id: int, touched: _Touched) -> None:
        """Remove an article's analysis rows and its search entry, noting which aggregates to redo."""
        scopes = await self._scopes(article_id)
        await self._shift_scopes(article_id, scopes, ())
        await self._entities.detach(article_id, touched.entities)
        await self._topics.detach(article_id, touched.topics)
        await self._search.remove(article_id)
        await self._stories.detach(article_id)

    # ------------------------------------------------------------------------------- visibility

    async def _scopes(self, article_id: int) -> set[int]:
        """The scopes an article is counted in now (inside the write)."""
        async with self._db.writer.execute(
            "SELECT scope FROM article_scopes WHERE article_id = ?", (article_id,)
        ) as cursor:
            return {row["scope"] async for row in cursor}

    async def _shift_scopes(self, article_id: int, leaving: Collection[int], joining: Collection[int]) -> None:
        """Move an article's place in the per-scope running totals (its names, its topics, its day's count)
        off the scopes it leaves and onto the ones it joins (inside the write: the article's row is there)."""
        await self._entities.shift_scopes(article_id, leaving, joining)
        await self._topics.shift_scopes(article_id, leaving, joining)
        db = self._db.writer
        for scope, sign in [*((s, -1) for s in leaving), *((s, 1) for s in joining)]:
            await db.execute(
                "INSERT INTO scope_day_articles (scope, day, articles) "
                "SELECT ?, substr(published, 1, 10), ? FROM articles WHERE id = ? "
                "ON CONFLICT (scope, day) DO UPDATE SET articles = scope_day_articles.articles + excluded.articles",
                (scope, sign, article_id),
            )
            if sign < 0:
                await db.execute(
                    "DELETE FROM scope_day_articles WHERE scope = ? AND articles <= 0 "
                    "AND day = (SELECT substr(published, 1, 10) FROM articles WHERE id = ?)",
                    (scope, article_id),
                )

    async def _rescope(self, touched: _Touched) -> None:
        """Bring the scopes of articles whose origins or credits changed in line with their sources,
        moving their running totals from the scopes they leave to the ones they join."""
        db = self._db.writer
        for article_id in sorted(touched.articles):
            async with db.execute(
                "SELECT DISTINCT os.scope FROM origins o JOIN origin_sources os ON os.origin = o.origin "
                "WHERE o.article_id = ?",
                (article_id,),
            ) as cursor:
                credited = {row["scope"] async for row in cursor}
            wanted = {SHARED_SCOPE} if SHARED_SCOPE in credited else credited
            current = await self._scopes(article_id)
            if wanted == current:
                continue
            leaving, joining = current - wanted, wanted - current
            await self._shift_scopes(article_id, leaving, joining)
            await db.executemany(
                "DELETE FROM article_scopes WHERE article_id = ? AND scope = ?", [(article_id, s) for s in leaving]
            )
            await db.executemany(
                "INSERT INTO article_scopes (article_id, scope) VALUES (?, ?)", [(article_id, s) for s in joining]
            )
        touched.articles.clear()

    async def forget_sources(self, source_ids: Sequence[int]) -> int:
        """Inside a write: take back the credits of removed feeds. An origin no source delivers any more
        goes, and its article with it when no other origin keeps it; the others are rescoped. Returns
        how many articles were removed. (The caller's transaction should begin with
        :meth:`~bot.store.database.Database.one_writer`; it is taken here in any case.)"""
        await self._db.one_writer()
        db = self._db.writer
        touched = _Touched()
        orphans: list[str] = []
        for source_id in source_ids:
            async with db.execute(
                "DELETE FROM origin_sources WHERE source_id = ? RETURNING origin", (source_id,)
            ) as cursor:
                origins = [row["origin"] async for row in cursor]
            for origin in origins:
                async with db.execute(
                    "SELECT o.article_id, EXISTS (SELECT 1 FROM origin_sources s WHERE s.origin = o.origin) AS kept "
                    "FROM origins o WHERE o.origin = ?",
                    (origin,),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    continue
                touched.articles.add(row["article_id"])
                if not row["kept"]:
                    orphans.append(origin)
        for origin in orphans:
            await self._unlink_origin(origin, touched)
        await self._rescope(touched)
        await self._entities.refresh(touched.entities)
        await self._topics.refresh(touched.topics)
        if touched.articles:
            await self._db.announce()
        self._db.generation += 1
        return touched.removed

    # ---------------------------------------------------------------------------------- read side

    async def get(self, article_id: int, *, with_body: bool = False, viewer: Viewer = EVERYTHING) -> Article | None:
        """One article with its entities, topics and where it came from, if ``viewer`` sees it."""
        body_column = "body" if with_body else "NULL"
        seen, params = visible(viewer, "articles.id")
        row = await self._db.fetchone(
            f"SELECT {_ARTICLE_COLUMNS}, {body_column} AS body FROM articles WHERE id = ? AND {seen}",
            (article_id, *params),
        )
        if row is None:
            return None
        return await self._article_from_row(row)

    async def _article_from_row(self, row: sqlite3.Row) -> Article:
        article_id = row["id"]
        # The entity's roles in the article as one JSON list (SQLite's json_group_array, PostgreSQL's json_agg).
        roles = "json_group_array(role)" if self._db.dialect == "sqlite" else "COALESCE(json_agg(role), '[]')::text"
        entities = await self._db.fetchall(
            f"""
            SELECT e.id, e.name, e.type, ae.mentions, ae.salience,
                   (SELECT {roles} FROM article_roles r
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

    async def latest(self, limit: int = 5, *, viewer: Viewer = EVERYTHING) -> list[ArticleBrief]:
        """The most recently published articles ``viewer`` sees."""
        seen, params = visible(viewer)
        rows = await self._db.fetchall(
            f"SELECT {BRIEF_COLUMNS} FROM articles a WHERE {seen} ORDER BY a.published DESC, a.id DESC LIMIT ?",
            (*params, limit),
        )
        return [article_brief(r) for r in rows]

    async def latest_id(self, *, viewer: Viewer = EVERYTHING) -> int | None:
        """The id of the most recently published article ``viewer`` sees."""
        latest = await self.latest(1, viewer=viewer)
        return latest[0].id if latest else None

    async def count(self, *, viewer: Viewer = EVERYTHING) -> int:
        """How many articles ``viewer`` sees."""
        scopes = viewer.scopes
        if scopes is None:
            row = await self._db.fetchone("SELECT COUNT(*) AS n FROM articles")
        else:
            row = await self._db.fetchone(f"SELECT ({_articles_in_scopes(scopes)}) AS n", scopes)
        return int(row["n"]) if row else 0

    async def related(self, article_id: int, limit: int = 5, *, viewer: Viewer = EVERYTHING) -> list[RelatedArticle]:
        """Articles ``viewer`` sees that share this one's rare and central names and topics, closest first
        (see :meth:`related_to`); an empty list when nothing is closely related or the viewer does not see
        the article."""
        found = await self.related_to(article_id, limit, viewer=viewer)
        return found[1] if found else []

    async def related_to(
        self, article_id: int, limit: int = 5, *, viewer: Viewer = EVERYTHING
    ) -> tuple[ArticleBrief, list[RelatedArticle]] | None:
        """The article (``None`` if ``viewer`` does not see it) and the articles ``viewer`` sees that share
        its rare and central names and topics, closest first; those less similar than
        :data:`RELATED_MIN_SIMILARITY` are left out, so an empty list means nothing is closely related.

        Each article is a vector over its entities (weighted by salience, places and nationalities at
        :data:`PLACE_FACTOR`) and topics (by score, relative to its top topic, at :data:`TOPIC_FACTOR`),
        each weight times the thing's rarity — an inverse
        document frequency, ``ln(1 + N / df)`` from the running article counts — so that a shared
        "United States" is worth little and a shared "Javier Milei" much. Candidates come from the
        recent articles of this one's heaviest names and topics; the best of them by the shared part
        alone are then scored exactly, by the cosine of the two vectors. In a server's view, rarity counts
        the articles that server sees.

        Two statements (on PostgreSQL each costs a round trip and its planning): the article with its
        vector and the size of the view, then the candidates with their vectors and briefs.
        """
        scopes = viewer.scopes
        seen, seen_params = visible(viewer, "a.id")
        if scopes is None:
            # Ids are never reused, so the highest stands in for the count of articles without counting
            # them; the few deleted ones barely move a logarithm.
            size, size_params = "SELECT MAX(id) FROM articles", ()
        else:
            size, size_params = _articles_in_scopes(scopes), scopes
        rows_of, rows_params, features, feature_params = self._features_sql("= ?", (article_id,), viewer)
        rows = await self._db.fetchall(
            f"WITH {rows_of} SELECT {BRIEF_COLUMNS}, ({size}) AS total, f.* FROM articles a "
            f"LEFT JOIN ({features}) f ON TRUE WHERE a.id = ? AND {seen} ORDER BY f.kind, f.feature",
            (*rows_params, *size_params, *feature_params, article_id, *seen_params),
        )
        if not rows:
            return None
        article = article_brief(rows[0])
        total = max(1, int(rows[0]["total"] or 1))
        vector = self._vectors([r for r in rows if r["kind"] is not None], total).get(article_id)
        if not vector:
            return article, []
        anchors = sorted(
            (x for x in vector.weights if vector.article_counts[x] > 1),
            key=lambda x: -vector.weights[x] * vector.rarities[x],
        )
        entity_anchors = [x for x in anchors if x[0] == "entity"][:RELATED_ANCHORS]
        topic_anchors = [x for x in anchors if x[0] == "topic"][:RELATED_ANCHORS]
        if not entity_anchors and not topic_anchors:
            return article, []
        # One statement gathers the candidates, adds up what each shares, weighted, so that only the best
        # few are kept instead of every recent article of every anchor, and reads their vectors and briefs.
        parts: list[str] = []
        params: list[object] = []
        for table, column, chosen in (
            ("article_entities", "entity_id", entity_anchors),
            ("article_topics", "topic_id", topic_anchors),
        ):
            weights = [vector.weights[anchor] * vector.rarities[anchor] for anchor in chosen]
            if self._db.dialect == "postgresql":
                # The anchors as two arrays: one statement text whatever their number (prepared once), and
                # planned as one probe per row of the arrays rather than as up to sixteen subqueries.
                parts.append(
                    f"SELECT x.article_id, anchor.weight FROM unnest(?::bigint[], ?::float8[]) AS anchor(id, weight) "
                    f"CROSS JOIN LATERAL (SELECT article_id FROM {table} WHERE {column} = anchor.id "
                    f"AND article_id != ? ORDER BY published DESC LIMIT {RECENT_WINDOW}) x"
                )
                params += [[anchor[1] for anchor in chosen], weights, article_id]
                continue
            for anchor, anchor_weight in zip(chosen, weights, strict=True):
                parts.append(
                    f"SELECT * FROM (SELECT article_id, ? AS weight FROM {table} WHERE {column} = ? "
                    f"AND article_id != ? ORDER BY published DESC LIMIT {RECENT_WINDOW})"
                )
                params += [anchor_weight, anchor[1], article_id]
        # What the viewer may not see is left out of the grouped candidates. PostgreSQL sorts them first
        # (OFFSET 0 keeps the sort below the check) and checks only the best few that fill the LIMIT,
        # not every candidate (hundreds, a probe each); SQLite's checks cost little.
        grouped_seen, grouped_params = visible(viewer, "g.article_id")
        best_first = " ORDER BY shared DESC, article_id DESC OFFSET 0" if self._db.dialect == "postgresql" else ""
        candidates = "IN (SELECT article_id FROM candidates)"
        rows_of, rows_params, features, feature_params = self._features_sql(candidates, (), viewer)
        rows = await self._db.fetchall(
            f"WITH candidates AS (SELECT g.article_id FROM (SELECT article_id, SUM(weight) AS shared "
            f"FROM ({' UNION ALL '.join(parts)}) GROUP BY article_id{best_first}) g WHERE {grouped_seen} "
            f"ORDER BY g.shared DESC, g.article_id DESC LIMIT ?), {rows_of} "
            f"SELECT f.*, NULL AS url, NULL AS published FROM ({features}) f "
            f"UNION ALL SELECT 'article', a.id, a.id, a.title, a.source, NULL, NULL, a.url, a.published "
            f"FROM articles a WHERE a.id IN (SELECT article_id FROM candidates) ORDER BY 2, 1, 3",
            (*params, *grouped_params, limit * RELATED_RESCORED, *rows_params, *feature_params),
        )
        briefs = {
            r["article_id"]: ArticleBrief(
                id=r["article_id"], title=r["name"], source=r["type"], url=r["url"], published=r["published"]
            )
            for r in rows
            if r["kind"] == "article"
        }
        scored = []
        for other_id, other in self._vectors([r for r in rows if r["kind"] != "article"], total).items():
            similarity = vector.similarity(other)
            if similarity >= RELATED_MIN_SIMILARITY:
                scored.append((similarity, other_id, other))
        scored.sort(key=lambda s: (-s[0], -s[1]))
        best = scored[:limit]
        return article, [
            RelatedArticle(briefs[a], round(sim, 4), vector.shared_names(other))
            for sim, a, other in best
            if a in briefs
        ]

    @staticmethod
    def _features_sql(
        articles: str, articles_params: tuple[int, ...], viewer: Viewer
    ) -> tuple[str, tuple[int, ...], str, tuple[int, ...]]:
        """A statement that reads the entities and topics of the articles whose id is ``articles``
        (``= ?``, ``IN (…)``, with ``articles_params``), one row each, with the count of articles
        ``viewer`` sees that have it: from the per-scope totals in a server's view (the thing's own count
        where those have no row), from the thing's own count in the console's. Returned as the common
        table expressions it reads (for the caller's WITH) and their parameters, then the query and its.

        Related candidates share many of their names and topics, so each thing's name and count are read
        once, grouped by thing, and joined to the article rows, not once per row. The article rows are
        read once into a table of their own (planned once, not with each join that uses them). The GROUP
        BY keeps both databases from folding the per-thing part into the join, which would count again
        per row; the CROSS JOIN makes SQLite read the article rows first and look each thing up in the
        grouped ones (it would otherwise probe the article rows once per thing), and is any join to
        PostgreSQL."""
        scopes = viewer.scopes
        entity_count, topic_count, entity_totals, topic_totals = "e.article_count", "t.article_count", "", ""
        params: tuple[int, ...] = ()
        if scopes is not None:
            marks = scope_marks(scopes)
            entity_count = "COALESCE(SUM(s.article_count), e.article_count)"
            topic_count = "COALESCE(SUM(s.article_count), t.article_count)"
            entity_totals = f"LEFT JOIN entity_scope_totals s ON s.entity_id = e.id AND s.scope IN ({marks}) "
            topic_totals = f"LEFT JOIN topic_scope_totals s ON s.topic_id = t.id AND s.scope IN ({marks}) "
            params = scopes
        return (
            f"article_entity_rows AS MATERIALIZED (SELECT article_id, entity_id, salience FROM article_entities "
            f"WHERE article_id {articles}), "
            f"article_topic_rows AS MATERIALIZED (SELECT article_id, topic_id, score FROM article_topics "
            f"WHERE article_id {articles})",
            (*articles_params, *articles_params),
            f"SELECT 'entity' AS kind, x.article_id, x.entity_id AS feature, e.name, e.type, "
            f"x.salience AS weight, e.article_count FROM article_entity_rows x "
            f"CROSS JOIN (SELECT e.id, e.name, e.type, {entity_count} AS article_count FROM entities e {entity_totals}"
            f"WHERE e.id IN (SELECT entity_id FROM article_entity_rows) GROUP BY e.id) e WHERE e.id = x.entity_id "
            f"UNION ALL "
            f"SELECT 'topic', x.article_id, x.topic_id, t.name, NULL, x.score, t.article_count "
            f"FROM article_topic_rows x "
            f"CROSS JOIN (SELECT t.id, t.name, {topic_count} AS article_count FROM topics t {topic_totals}"
            f"WHERE t.id IN (SELECT topic_id FROM article_topic_rows) GROUP BY t.id) t WHERE t.id = x.topic_id",
            (*params, *params),
        )

    @staticmethod
    def _vectors(rows: Sequence[sqlite3.Row], total: int) -> dict[int, _ArticleVector]:
        """The rarity-weighted vectors (see :meth:`related_to`) of the articles whose features ``rows``
        are (from :meth:`_features_sql`: every name and topic of each article), in an index of ``total``
        articles. The rows come ordered (an article's entities, then its topics, each by id): their order
        is the order in which a vector's floating-point sums add up, so it decides how exact ties (copies
        of one story) fall."""
        # An article's topic weights are relative to its top topic, found here rather than by a window
        # function in the statement (which both databases then plan and sort for).
        tops: dict[int, float] = {}
        for row in rows:
            if row["kind"] == "topic" and row["weight"] > tops.get(row["article_id"], 0.0):
                tops[row["article_id"]] = row["weight"]
        vectors: dict[int, _ArticleVector] = {}
        for row in rows:
            if row["kind"] == "entity":
                weight = row["weight"] * (PLACE_FACTOR if row["type"] in PLACE_TYPES else 1.0)
            else:
                top = tops.get(row["article_id"], 0.0)
                weight = TOPIC_FACTOR * row["weight"] / top if top > 0 else 0.0
            feature = (row["kind"], row["feature"])
            article = vectors.get(row["article_id"])
            if article is None:
                article = vectors[row["article_id"]] = _ArticleVector(total)
            article.add(feature, row["name"], weight, row["article_count"])
        return vectors

    async def servers_with_own_articles(self) -> list[int]:
        """The servers that see articles of their own (from their feeds) besides the shared ones."""
        rows = await self._db.fetchall(
            "SELECT scope FROM scope_counts WHERE scope != ? AND articles > 0 ORDER BY scope", (SHARED_SCOPE,)
        )
        return [int(r["scope"]) for r in rows]

    async def stats(self, *, viewer: Viewer = EVERYTHING) -> Stats:
        """Counts and dates that describe the index, as ``viewer`` sees it."""
        page = await self._db.fetchone(
            "SELECT pg_database_size(current_database()) AS size"
            if self._db.dialect == "postgresql"
            else "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()"
        )
        database_bytes = int(page["size"]) if page else 0
        scopes = viewer.scopes
        if scopes is not None:
            return await self._scoped_stats(scopes, database_bytes)
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
        return Stats(
            **row,
            database_bytes=database_bytes,
            entities_by_type={r["type"]: r["n"] for r in by_type},
        )

    async def _scoped_stats(self, scopes: tuple[int, ...], database_bytes: int) -> Stats:
        """:meth:`stats` for a server or a DM, from the per-scope counts: an entity or topic in both the
        shared scope and the server's is counted once (the server's own are few, so checking them is cheap)."""
        marks = scope_marks(scopes)
        row = await self._db.fetchone(
            f"SELECT COALESCE(SUM(articles), 0) AS articles, COALESCE(SUM(entities), 0) AS entities, "
            f"COALESCE(SUM(topics), 0) AS topics, COALESCE(SUM(mentions), 0) AS mentions, "
            f"COALESCE(SUM(origins), 0) AS origins, "
            f"MAX(last_ingested) AS last_ingested FROM scope_counts WHERE scope IN ({marks})",
            scopes,
        )
        assert row is not None
        entities, topics = int(row["entities"]), int(row["topics"])
        for own in scopes[1:]:
            both = await self._db.fetchone(
                "SELECT (SELECT COUNT(*) FROM entity_scope_totals m WHERE m.scope = ? AND EXISTS "
                "(SELECT 1 FROM entity_scope_totals z WHERE z.scope = 0 AND z.entity_id = m.entity_id)) AS entities, "
                "(SELECT COUNT(*) FROM topic_scope_totals m WHERE m.scope = ? AND EXISTS "
                "(SELECT 1 FROM topic_scope_totals z WHERE z.scope = 0 AND z.topic_id = m.topic_id)) AS topics",
                (own, own),
            )
            if both is not None:
                entities -= int(both["entities"])
                topics -= int(both["topics"])
        seen, params = visible_in(scopes)
        dates = []
        for order in ("ASC", "DESC"):
            first = await self._db.fetchone(
                f"SELECT a.published FROM articles a WHERE {seen} ORDER BY a.published {order} LIMIT 1", params
            )
            dates.append(first["published"] if first else None)
        return Stats(
            articles=int(row["articles"]),
            entities=entities,
            topics=topics,
            mentions=int(row["mentions"]),
            origins=int(row["origins"]),
            first_published=dates[0],
            last_published=dates[1],
            last_ingested=row["last_ingested"] or None,
            database_bytes=database_bytes,
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
