"""Stories: each new article placed in a story inside the transaction that writes it, and read back.

:mod:`bot.stories` decides (pure); this module gathers what it needs and keeps the result:

- candidates come from indexes, never a scan: the stories of recent articles that share one of the
  article's most salient names (``article_entities_by_entity``), and of the most recent articles whose
  text holds one of its rarest words (the full-text index); at most :data:`MAX_CANDIDATES`, those hit
  most often first; the stories of articles that a dateline placed away from their stored date, by that
  time (``article_stories.shifted_time``); and for an article without a date of its own
  (``articles.date_known`` = 0), at most :data:`MAX_ECHOES` stories from before the horizon, the same
  way, that may show it to be an old report;
- the document frequencies behind the IDF weights are rows of ``story_frequencies``, read for the keys a
  decision needs and incremented once per article; the keys seen only once are dropped every
  :data:`PRUNE_EVERY` articles, so the table does not grow with every new number and name;
- the decision (joined or started, the similarity, the shared names and topics) is a row of
  ``article_stories``, so ``!why`` can say why; the story's capped state is a row of ``stories``;
- a decision that merges stories (an article bridging two that report one event) moves their articles
  and the alerts planned for them to the story joined, so later articles go into the posts' threads and
  nothing is posted again; a merged story's row stays, with ``merged_into``, for ``!story`` to follow.

Every article is dated here (the indexer falls back to the file's time, and keeps that it did), so time
always narrows the candidates to ``policy.horizon``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from bot.models import EVERYTHING, StoryMember, StoryRecord, Viewer, from_iso, to_iso
from bot.store.database import DATABASE_ERRORS, Database, current_time
from bot.store.rows import seen_by
from bot.stories import (
    ArticleFeatures,
    DocumentFrequencies,
    StoryArticle,
    StoryDecision,
    StoryPolicy,
    StoryState,
    Weighted,
    article_features,
    decide,
)

log = logging.getLogger(__name__)

NAME_PROBES = 5  # the article's most salient names that look for stories
ARTICLES_PER_NAME = 12  # recent articles per name (a name in every story, "United States", costs no more)
WORD_PROBES = 10  # the article's rarest words that look for stories in the full-text index
ARTICLES_PER_WORDS = 20
# Stories compared in full (the costly part, ~0.2 ms each): those most probes led to. The story an
# article belongs to shares most of its salient names and rare words, so it is found among the first.
MAX_CANDIDATES = 8
# For an article without a date of its own, the stories from before the horizon that most probes led
# to: echoes that may show it to be an old report (bot.stories.decide).
MAX_ECHOES = 4
_EARLIEST = "0001-01-01T00:00:00Z"
_DOCUMENTS = "#"  # the story_frequencies row counting documents
PRUNE_EVERY = 5000  # documents between two prunings of the keys seen only once

# One salient name's recent articles within the horizon, through article_entities_by_entity.
NAME_PROBE_SQL = (
    "SELECT story_id FROM (SELECT s.story_id FROM article_entities ae "
    "JOIN article_stories s ON s.article_id = ae.article_id "
    "WHERE ae.entity_id = ? AND ae.published BETWEEN ? AND ? AND ae.article_id != ? "
    f"ORDER BY ae.published DESC LIMIT {ARTICLES_PER_NAME})"
)
# The most recent articles within the horizon whose text holds one of the rare words (full-text index).
WORD_PROBE_SQL = (
    "SELECT s.story_id FROM articles_fts f JOIN articles a ON a.id = f.rowid "
    "JOIN article_stories s ON s.article_id = f.rowid "
    "WHERE articles_fts MATCH ? AND f.rowid != ? AND a.published BETWEEN ? AND ? "
    f"ORDER BY f.rowid DESC LIMIT {ARTICLES_PER_WORDS}"
)
# The stories of articles that a dateline placed away from their stored date (which the probes above
# read) within the horizon, holding one of the salient names: through article_stories_by_shifted_time
# first (CROSS JOIN keeps SQLite from walking every article of a common name instead).
SHIFTED_PROBE_SQL = (
    "SELECT s.story_id FROM article_stories s CROSS JOIN article_entities ae "
    "WHERE ae.article_id = s.article_id AND s.shifted_time BETWEEN ? AND ? AND s.article_id != ? "
    "AND ae.entity_id IN ({names}) "
    f"ORDER BY s.shifted_time DESC LIMIT {ARTICLES_PER_WORDS}"
)
# The same on PostgreSQL, through the articles' search_vector.
WORD_PROBE_SQL_POSTGRES = (
    "SELECT s.story_id FROM articles a JOIN article_stories s ON s.article_id = a.id "
    "WHERE a.search_vector @@ to_tsquery('english', ?) AND a.id != ? AND a.published BETWEEN ? AND ? "
    f"ORDER BY a.id DESC LIMIT {ARTICLES_PER_WORDS}"
)


class StoryQueries:
    """The story tables (see the module docstring)."""

    def __init__(self, db: Database, policy: StoryPolicy | None = None) -> None:
        self._db = db
        self.policy = policy or StoryPolicy()

    # --------------------------------------------------------------------------------- writing

    async def place(
        self, article_id: int, published: str, title: str, body: str, source: str | None, *, date_known: bool = True
    ) -> StoryDecision:
        """Place a just-written article (its entity and topic rows in place) in a story, inside the
        caller's transaction: join the best candidate above the threshold, or start a story.
        ``date_known`` is ``False`` when ``published`` is only its file's time or when its feed was read."""
        moment = from_iso(published)
        features = await self._features(article_id, moment, title, body, source, date_known)
        article_keys = features.keys()
        frequencies = await self._frequencies(article_keys)
        # A dateline may place the article earlier than its stored date (bot.stories.event_time).
        candidates = await self._candidates(features, frequencies, moment)
        frequencies = await self._frequencies(
            [*article_keys, *(key for story in candidates for key in story.frequency_keys())], frequencies
        )
        frequencies.add(article_keys)
        await self._count(article_keys, frequencies.documents)
        async with self._db.writer.execute("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM stories") as cursor:
            row = await cursor.fetchone()
        new_id = int(row["next"]) if row else 1
        decision = decide(features, candidates, frequencies, self.policy, new_story_id=new_id)
        if decision.joined:
            by_id = {s.id: s for s in candidates}
            story = by_id[decision.story_id]
            for story_id in decision.merged:
                story.merge(by_id[story_id], frequencies)
            story.add(features, frequencies)
        else:
            story = StoryState.start(new_id, features, frequencies)
        shifted = features.published if features.published not in (None, moment) else None
        await self._save(story, decision, title, shifted)
        return decision

    async def _features(
        self, article_id: int, moment: datetime, title: str, body: str, source: str | None, date_known: bool
    ) -> ArticleFeatures:
        """What the clustering compares of an article: its text, and its names and topics as stored."""
        db = self._db.writer
        async with db.execute(
            "SELECT ae.entity_id, e.name, ae.salience FROM article_entities ae JOIN entities e ON e.id = ae.entity_id "
            "WHERE ae.article_id = ? ORDER BY ae.salience DESC, ae.entity_id",
            (article_id,),
        ) as cursor:
            names = [Weighted(str(r["entity_id"]), r["name"], r["salience"]) for r in await cursor.fetchall()]
        async with db.execute(
            "SELECT t.key, t.name, at.score FROM article_topics at JOIN topics t ON t.id = at.topic_id "
            "WHERE at.article_id = ? ORDER BY at.rank",
            (article_id,),
        ) as cursor:
            topics = [Weighted(r["key"], r["name"], r["score"]) for r in await cursor.fetchall()]
        return article_features(
            StoryArticle(
                article_id,
                title,
                body,
                names=names,
                topics=topics,
                published=moment,
                source=source,
                date_known=date_known,
            )
        )

    async def _count(self, article_keys: list[str], documents: int) -> None:
        """Count one more document holding ``article_keys``; now and then forget the keys seen once."""
        db = self._db.writer
        await db.executemany(
            "INSERT INTO story_frequencies (key, documents) VALUES (?, 1) "
            "ON CONFLICT (key) DO UPDATE SET documents = story_frequencies.documents + 1",
            [(key,) for key in dict.fromkeys([_DOCUMENTS, *article_keys])],
        )
        if documents % PRUNE_EVERY == 0:
            # Words, names and numbers seen once are most of a growing vocabulary; forgotten, they read
            # as never seen (the rarest), which is nearly what they were.
            await db.execute("DELETE FROM story_frequencies WHERE documents = 1 AND key != ?", (_DOCUMENTS,))

    async def _save(
        self, story: StoryState, decision: StoryDecision, title: str, shifted: datetime | None = None
    ) -> None:
        """Write the story's new state (a new story takes ``title``) and the article's decision, with the
        time it was placed at when its dateline put it away from its stored date (``shifted``)."""
        db = self._db.writer
        now = current_time()
        first, last = _iso(story.first_published), _iso(story.last_published)
        if decision.joined:
            await db.execute(
                "UPDATE stories SET size = ?, first_published = ?, last_published = ?, state = ?, updated_at = ? "
                "WHERE id = ?",
                (story.size, first, last, story.to_json(), now, story.id),
            )
        else:
            await db.execute(
                "INSERT INTO stories (id, title, size, first_published, last_published, state, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (story.id, title, story.size, first, last, story.to_json(), now, now),
            )
        for merged in decision.merged:
            # Its articles, and the alerts already planned for them, belong to the story joined: a later
            # article of either goes into the threads of the posts made for both, and pings nobody twice.
            await db.execute("UPDATE article_stories SET story_id = ? WHERE story_id = ?", (story.id, merged))
            await db.execute("UPDATE outbox SET story_id = ? WHERE story_id = ?", (story.id, merged))
            await db.execute(
                "UPDATE stories SET merged_into = ?, updated_at = ? WHERE id = ? OR merged_into = ?",
                (story.id, now, merged, merged),
            )
        best = decision.nearest
        await db.execute(
            "INSERT INTO article_stories (article_id, story_id, joined, similarity, score, shared_names, "
            "shared_topics, decision, placed_at, shifted_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET story_id = excluded.story_id, joined = excluded.joined, "
            "similarity = excluded.similarity, score = excluded.score, shared_names = excluded.shared_names, "
            "shared_topics = excluded.shared_topics, decision = excluded.decision, placed_at = excluded.placed_at, "
            "shifted_time = excluded.shifted_time",
            (
                decision.article_id,
                decision.story_id,
                int(decision.joined),
                best.text if best else None,
                best.score if best else None,
                json.dumps(list(best.shared_names) if best else [], ensure_ascii=False),
                json.dumps(list(best.shared_topics) if best else [], ensure_ascii=False),
                decision.to_json(),
                now,
                to_iso(shifted) if shifted is not None else None,
            ),
        )

    async def place_or_skip(
        self, article_id: int, published: str, title: str, body: str, source: str | None, *, date_known: bool = True
    ) -> StoryDecision | None:
        """:meth:`place`, except that a failure of the clustering itself (a bug, a damaged state) leaves
        the article without a story, logged, instead of costing it (and its batch) its indexing. The
        database's own faults still raise."""
        db = self._db.writer
        await db.execute("SAVEPOINT story_placement")
        try:
            decision: StoryDecision | None = await self.place(
                article_id, published, title, body, source, date_known=date_known
            )
        except DATABASE_ERRORS:
            raise
        except Exception:
            log.exception("placing article %s in a story failed; it stays without one", article_id)
            await db.execute("ROLLBACK TO story_placement")
            decision = None
        await db.execute("RELEASE story_placement")
        return decision

    async def place_stored(self, article_id: int) -> StoryDecision | None:
        """Place an article already in the index again, in a transaction of its own, as if it had just
        been written (``None`` when there is no such article)."""
        async with self._db.write() as db:
            async with db.execute(
                "SELECT published, date_known, title, body, source FROM articles WHERE id = ?", (article_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            await self.detach(article_id)
            return await self.place(
                article_id,
                row["published"],
                row["title"],
                row["body"],
                row["source"],
                date_known=bool(row["date_known"]),
            )

    async def rebuild(self, on_progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Forget every story and place every article again, oldest first, one transaction each (an
        index from before stories were kept, or after a change of policy). Returns (articles, stories)."""
        await self.reset()
        rows = await self._db.fetchall("SELECT id FROM articles ORDER BY published, id")
        for done, row in enumerate(rows, start=1):
            await self.place_stored(row["id"])
            if on_progress is not None:
                on_progress(done, len(rows))
        counted = await self._db.fetchone("SELECT COUNT(*) AS n FROM stories")
        return len(rows), int(counted["n"]) if counted else 0

    async def reset(self) -> None:
        """Forget every story and the counts behind them, so that the articles can be placed afresh
        (:meth:`place_stored`); alerts already planned keep their posts and threads."""
        async with self._db.write() as db:
            await db.execute("UPDATE outbox SET story_id = NULL WHERE story_id IS NOT NULL")
            await db.execute("DELETE FROM article_stories")
            await db.execute("DELETE FROM stories")
            await db.execute("DELETE FROM story_frequencies")

    async def detach(self, article_id: int) -> None:
        """Forget where an article went (its text changed: it is placed again), inside the caller's
        transaction. Its story keeps what it learnt from it: the state is a summary, not a list."""
        await self._db.writer.execute("DELETE FROM article_stories WHERE article_id = ?", (article_id,))

    async def _frequencies(self, keys: Iterable[str], known: DocumentFrequencies | None = None) -> DocumentFrequencies:
        """The document counts of ``keys`` (and the document total), added to ``known``'s."""
        frequencies = known or DocumentFrequencies()
        wanted = [k for k in dict.fromkeys([_DOCUMENTS, *keys]) if k not in frequencies.counts]
        # One statement for thousands of keys: a JSON list joined to the primary key.
        if self._db.dialect == "postgresql":
            statement = "SELECT f.key, f.documents FROM story_frequencies f WHERE f.key = ANY(?::text[])"
            keys: object = wanted
        else:
            statement = "SELECT f.key, f.documents FROM json_each(?) w JOIN story_frequencies f ON f.key = w.value"
            keys = json.dumps(wanted, ensure_ascii=False)
        async with self._db.writer.execute(statement, (keys,)) as cursor:
            rows = await cursor.fetchall()
        for row in rows:
            if row["key"] == _DOCUMENTS:
                frequencies.documents = int(row["documents"])
            else:
                frequencies.counts[row["key"]] = int(row["documents"])
        return frequencies

    async def _candidates(
        self, features: ArticleFeatures, frequencies: DocumentFrequencies, stored: datetime
    ) -> list[StoryState]:
        """The stories of recent articles sharing a salient name or a rare word, most hits first.

        "Recent" is within the horizon of the article's time (:func:`bot.stories.event_time`) and, when
        a dateline put it elsewhere, of its ``stored`` date too: the probes read the other articles'
        stored dates, and the stories of articles that a dateline moved are found by the time they were
        placed at (``shifted_time``). For an article without a date of its own, a few stories from
        before the horizon come too, as echoes (:func:`bot.stories.decide`)."""
        db = self._db.writer
        moment = features.published or stored
        horizon = self.policy.horizon
        names = sorted(features.names, key=lambda k: (-features.names[k], k))[:NAME_PROBES]
        words = [w for w in features.probe_terms(frequencies, WORD_PROBES) if not w[0].isdigit()]
        hits: Counter[int] = Counter()
        for around in dict.fromkeys([moment, stored]):
            since, until = to_iso(around - horizon), to_iso(around + horizon)
            hits |= await self._probe(features.article_id, names, words, since, until)
        if names:
            statement = SHIFTED_PROBE_SQL.format(names=",".join("?" * len(names)))
            params = [to_iso(moment - horizon), to_iso(moment + horizon), features.article_id, *map(int, names)]
            async with db.execute(statement, params) as cursor:
                shifted = Counter(int(r["story_id"]) for r in await cursor.fetchall())
            hits |= shifted
        chosen = sorted(hits, key=lambda s: (-hits[s], -s))[:MAX_CANDIDATES]
        if not features.dated:
            earlier = await self._probe(features.article_id, names, words, _EARLIEST, to_iso(moment - horizon))
            chosen += [s for s in sorted(earlier, key=lambda s: (-earlier[s], -s)) if s not in chosen][:MAX_ECHOES]
        if not chosen:
            return []
        async with db.execute(
            f"SELECT state FROM stories WHERE id IN ({','.join('?' * len(chosen))}) ORDER BY id", chosen
        ) as cursor:
            return [StoryState.from_json(r["state"]) for r in await cursor.fetchall()]

    async def _probe(self, article_id: int, names: list[str], words: list[str], since: str, until: str) -> Counter[int]:
        """How often the articles stored between ``since`` and ``until`` that hold one of ``names``
        (the most recent few per name) or one of ``words`` (the most recent few) lead to each story."""
        db = self._db.writer
        hits: Counter[int] = Counter()
        if names:
            params: list[object] = []
            for name in names:
                params += [int(name), since, until, article_id]
            async with db.execute(" UNION ALL ".join([NAME_PROBE_SQL] * len(names)), params) as cursor:
                hits.update(int(r["story_id"]) for r in await cursor.fetchall())
        if words and self._db.dialect == "postgresql":
            query = " | ".join("'" + w.replace("\\", "").replace("'", "") + "'" for w in words)
            async with db.execute(WORD_PROBE_SQL_POSTGRES, (query, article_id, since, until)) as cursor:
                hits.update(int(r["story_id"]) for r in await cursor.fetchall())
        elif words:
            query = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
            async with db.execute(WORD_PROBE_SQL, (query, article_id, since, until)) as cursor:
                hits.update(int(r["story_id"]) for r in await cursor.fetchall())
        return hits

    # --------------------------------------------------------------------------------- reading

    async def decision(self, article_id: int) -> StoryDecision | None:
        """Where an article went and why (``None`` for an article indexed before stories existed)."""
        row = await self._db.fetchone("SELECT decision FROM article_stories WHERE article_id = ?", (article_id,))
        return StoryDecision.from_json(row["decision"]) if row else None

    async def story_of(self, article_id: int) -> int | None:
        """The story an article belongs to."""
        row = await self._db.fetchone("SELECT story_id FROM article_stories WHERE article_id = ?", (article_id,))
        return int(row["story_id"]) if row else None

    async def get(self, story_id: int, *, limit: int = 50, viewer: Viewer = EVERYTHING) -> StoryRecord | None:
        """A story and its first ``limit`` articles in time order, as ``viewer`` sees it: only the articles
        it may see, counted and dated by them (and named by the first of them, when the story's own title
        came from another server's article); ``None`` when it sees none."""
        row = await self._db.fetchone(
            "SELECT id, title, first_published, last_published, merged_into FROM stories WHERE id = ?", (story_id,)
        )
        if row is not None and row["merged_into"] is not None:  # one step: a merge repoints those before it
            row = await self._db.fetchone(
                "SELECT id, title, first_published, last_published, merged_into FROM stories WHERE id = ?",
                (row["merged_into"],),
            )
        if row is None:
            return None
        story_id = row["id"]
        seen = seen_by(viewer, "s.article_id")
        members = await self._db.fetchall(
            "SELECT a.id, a.title, a.source, a.url, a.published, a.summary, s.joined FROM article_stories s "
            f"JOIN articles a ON a.id = s.article_id WHERE s.story_id = ? AND {seen} "
            "ORDER BY a.published, a.id LIMIT ?",
            (story_id, limit),
        )
        title, first, last = row["title"], row["first_published"], row["last_published"]
        if viewer.scopes is not None:
            if not members:
                return None
            span = await self._db.fetchone(
                "SELECT MIN(a.published) AS first, MAX(a.published) AS last FROM article_stories s "
                f"JOIN articles a ON a.id = s.article_id WHERE s.story_id = ? AND {seen}",
                (story_id,),
            )
            first, last = (span["first"], span["last"]) if span else (first, last)
            if title not in {m["title"] for m in members}:
                title = members[0]["title"]
        return StoryRecord(
            id=row["id"],
            title=title,
            article_count=await self.size(story_id, viewer=viewer),
            first_published=first,
            last_published=last,
            members=[
                StoryMember(
                    article_id=m["id"],
                    title=m["title"],
                    source=m["source"],
                    url=m["url"],
                    published=m["published"],
                    summary=json.loads(m["summary"]),
                    joined=bool(m["joined"]),
                )
                for m in members
            ],
        )

    async def size(self, story_id: int, *, viewer: Viewer = EVERYTHING) -> int:
        """How many indexed articles a story holds (that ``viewer`` sees)."""
        row = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM article_stories s WHERE s.story_id = ? AND {seen_by(viewer, 's.article_id')}",
            (story_id,),
        )
        return int(row["n"]) if row else 0


def _iso(moment: datetime | None) -> str:
    assert moment is not None  # every stored story is dated (see the module docstring)
    return to_iso(moment)
