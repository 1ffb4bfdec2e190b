"""Entities: who and what the articles name, with running totals, roles, labels and co-mentions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from bot.models import (
    ENTITY_TYPES,
    EVERYTHING,
    SHARED_SCOPE,
    EntityArticle,
    EntityInArticle,
    EntityProfile,
    EntityRef,
    RoleUse,
    SubjectArticle,
    Viewer,
)
from bot.store.database import Database, chunks
from bot.store.rows import entity_ref, scope_marks, seen_by, visible
from bot.store.trending import ABOUT_SALIENCE

# Roles, co-mentions and related articles look at an entity's most recent articles: exact for nearly
# every entity, and for the few in thousands of stories it is what is said of them lately, at a cost
# that does not grow with the index.
RECENT_WINDOW = 300
CO_MENTION_WINDOW = 150
NAME_WORDS = 12  # words of a name a lookup matches on; SQLite joins at most 64 tables
SHORTLIST = 8  # a server's name lookups count this many times the candidates asked for (see EntityQueries._ranked)
_TYPE_ORDER = "CASE label " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(ENTITY_TYPES)) + " END"
_ENTITY_ARTICLE_COLUMNS = "ae.article_id, a.title, ae.published, ae.salience, ae.key_sentence"


def _entity_article(row: sqlite3.Row) -> EntityArticle:
    return EntityArticle(
        article_id=row["article_id"],
        title=row["title"],
        published=row["published"],
        salience=row["salience"],
        key_sentence=row["key_sentence"],
    )


class EntityQueries:
    """The entity tables: lookups by key, words and id, ``!who``'s profile, and the rows each article adds."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------------------------- lookups

    async def _refs(
        self,
        viewer: Viewer,
        where: str,
        params: Sequence[Any],
        *,
        joins: str = "",
        join_params: Sequence[Any] = (),
        order: str = "",
        limit: int | None = None,
    ) -> list[EntityRef]:
        """Entities matching ``where`` (over ``entities e`` and ``joins``) that ``viewer`` sees, with their
        counts in its view: for a server or a DM, the sums of its scopes' running totals."""
        scopes = viewer.scopes
        tail = (f" ORDER BY {order}" if order else "") + (f" LIMIT {int(limit)}" if limit is not None else "")
        if scopes is None:
            sql = f"SELECT e.id, e.name, e.type, e.article_count, e.mention_count FROM entities e {joins} WHERE {where}"
            rows = await self._db.fetchall(sql + tail, (*join_params, *params))
        else:
            sql = (
                "SELECT e.id, e.name, e.type, SUM(t.article_count) AS article_count, "
                f"SUM(t.mention_count) AS mention_count FROM entities e {joins} "
                f"JOIN entity_scope_totals t ON t.entity_id = e.id AND t.scope IN ({scope_marks(scopes)}) "
                f"WHERE {where} GROUP BY e.id"
            )
            rows = await self._db.fetchall(sql + tail, (*join_params, *scopes, *params))
        return [entity_ref(r) for r in rows]

    async def by_key(self, key: str, *, viewer: Viewer = EVERYTHING) -> EntityRef | None:
        """The entity whose normalised name is exactly ``key``, if ``viewer`` sees it."""
        found = await self._refs(viewer, "e.key = ?", (key,))
        return found[0] if found else None

    async def get(self, entity_id: int, *, viewer: Viewer = EVERYTHING) -> EntityRef | None:
        """One entity by id, if ``viewer`` sees it."""
        found = await self._refs(viewer, "e.id = ?", (entity_id,))
        return found[0] if found else None

    async def with_words(
        self, words: Sequence[str], limit: int = 10, *, viewer: Viewer = EVERYTHING
    ) -> list[EntityRef]:
        """Entities whose name contains every one of ``words`` (whole words; the first
        :data:`NAME_WORDS` distinct ones), most mentioned first."""
        words = list(dict.fromkeys(words))[:NAME_WORDS]
        if not words:
            return []
        joins = " ".join(
            f"JOIN entity_words w{i} ON w{i}.entity_id = e.id AND w{i}.word = ?" for i in range(len(words))
        )
        return await self._ranked(viewer, joins, words, None, limit)

    async def with_most_words(
        self, words: Sequence[str], limit: int = 6, *, viewer: Viewer = EVERYTHING
    ) -> list[EntityRef]:
        """Entities whose name has all but one of ``words`` (two or more), most words first: a typo in
        one word of a full name ("Rihard Nicholls") still finds it."""
        unique = list(dict.fromkeys(words))[:NAME_WORDS]
        if len(unique) < 2:
            return []
        marks = ",".join("?" * len(unique))
        # The words' rows carry their entity's mention count (migration 0023): the shortlist is ranked
        # from them alone, without reading the row of each of the thousands of entities a common word
        # names.
        matches = (
            f"SELECT entity_id, COUNT(*) AS hits, MAX(entity_mentions) AS mentions FROM entity_words "
            f"WHERE word IN ({marks}) GROUP BY entity_id HAVING COUNT(*) >= ?"
        )
        return await self._ranked(
            viewer,
            f"JOIN ({matches}) m ON m.entity_id = e.id",
            (*unique, len(unique) - 1),
            "m.hits",
            limit,
            head=f"SELECT m.entity_id AS id, m.mentions AS mention_count, m.hits AS rank FROM ({matches}) m",
        )

    async def _ranked(
        self,
        viewer: Viewer,
        joins: str,
        params: Sequence[Any],
        rank: str | None,
        limit: int,
        *,
        head: str | None = None,
    ) -> list[EntityRef]:
        """The entities ``joins`` selects that ``viewer`` sees, best ``rank`` (a column) first, then most
        mentioned. ``head``, when given, selects the same entities' ids, mention counts and ranks (from
        ``params``) without ``entities``.

        A common word names thousands of entities, and summing each one's totals in a server's view costs
        more than a command may: the best by their totals over every article come first, those the viewer
        sees among them are ranked by the viewer's own counts, and only when too few of them are visible
        is every candidate counted in the viewer's view."""
        order = f"{rank} DESC, mention_count DESC" if rank else "mention_count DESC"
        if viewer.scopes is None:
            return await self._refs(viewer, "TRUE", (), joins=joins, join_params=params, order=order, limit=limit)
        shortlist = limit * SHORTLIST
        if head is None:
            head = f"SELECT e.id, e.mention_count, {rank or 0} AS rank FROM entities e {joins}"
        head_rows = await self._db.fetchall(f"{head} ORDER BY {order} LIMIT {shortlist}", params)
        ranks = {r["id"]: r["rank"] for r in head_rows}
        seen = await self._refs(viewer, f"e.id IN ({','.join('?' * len(ranks))})", list(ranks)) if ranks else []
        if len(seen) < limit and len(head_rows) == shortlist:
            return await self._refs(viewer, "TRUE", (), joins=joins, join_params=params, order=order, limit=limit)
        return sorted(seen, key=lambda e: (-ranks.get(e.id, 0), -e.mention_count, e.id))[:limit]

    async def names(self, scope: int | None = None) -> list[sqlite3.Row]:
        """(id, key, name, mentions) rows for the in-memory name index: of every entity (``None``), of
        those shared articles name (scope 0, mentions there), or of those one server's own articles
        name (mentions there and in shared articles together)."""
        if scope is None:
            return await self._db.fetchall("SELECT id, key, name, mention_count FROM entities")
        if scope == SHARED_SCOPE:
            return await self._db.fetchall(
                "SELECT e.id, e.key, e.name, t.mention_count FROM entity_scope_totals t "
                "JOIN entities e ON e.id = t.entity_id WHERE t.scope = 0"
            )
        return await self._db.fetchall(
            "SELECT e.id, e.key, e.name, t.mention_count + COALESCE(z.mention_count, 0) AS mention_count "
            "FROM entity_scope_totals t JOIN entities e ON e.id = t.entity_id "
            "LEFT JOIN entity_scope_totals z ON z.scope = 0 AND z.entity_id = t.entity_id WHERE t.scope = ?",
            (scope,),
        )

    # ------------------------------------------------------------------------------------- answers

    async def profile(
        self, entity_id: int, *, co_mentions: int = 5, sentences: int = 2, viewer: Viewer = EVERYTHING
    ) -> EntityProfile | None:
        """What ``!who`` shows: counts, roles, co-mentions and key sentences, from what ``viewer`` sees."""
        ref = await self.get(entity_id, viewer=viewer)
        if ref is None:
            return None
        if viewer.scopes is None:
            row = await self._db.fetchone("SELECT first_seen, last_seen FROM entities WHERE id = ?", (entity_id,))
            first_seen, last_seen = (row["first_seen"], row["last_seen"]) if row else (None, None)
        else:
            first_seen, last_seen = await self._seen(entity_id, viewer)
        seen, seen_params = visible(viewer, "r.article_id")
        # Every role in the recent window, counted: the most frequent and the latest come from one query.
        # SQLite takes the bare "role" from the row holding MAX(published): the latest spelling of the role.
        spelling = "(array_agg(role ORDER BY published DESC))[1]" if self._db.dialect == "postgresql" else "role"
        role_groups = await self._db.fetchall(
            f"SELECT {spelling} AS role, COUNT(*) AS n, MAX(published) AS latest FROM (SELECT r.role, r.published "
            f"FROM article_roles r WHERE r.entity_id = ? AND {seen} ORDER BY r.published DESC LIMIT ?) recent "
            "GROUP BY lower(role)",
            (entity_id, *seen_params, RECENT_WINDOW),
        )
        # Most frequent first; among equals, the most recently used (sorts are stable).
        roles = sorted(sorted(role_groups, key=lambda r: r["latest"], reverse=True), key=lambda r: -r["n"])
        latest_role = max(role_groups, key=lambda r: r["latest"], default=None)
        # Count first, name the top few after: joining every co-mentioned row to its entity costs more.
        top = await self._db.fetchall(
            f"""
            SELECT other.entity_id, COUNT(*) AS together
            FROM (SELECT r.article_id FROM article_entities r WHERE r.entity_id = ? AND {seen}
                  ORDER BY r.published DESC LIMIT {CO_MENTION_WINDOW}) mine
            JOIN article_entities other ON other.article_id = mine.article_id
            WHERE other.entity_id != ?
            GROUP BY other.entity_id ORDER BY together DESC, other.entity_id LIMIT ?
            """,
            # A few more than shown, so that ties are broken by how much the others are mentioned.
            (entity_id, *seen_params, entity_id, co_mentions * 4),
        )
        together = {r["entity_id"]: r["together"] for r in top}
        others = (
            await self._refs(viewer, f"e.id IN ({','.join('?' * len(together))})", list(together))
            if together
            else []
        )
        others.sort(key=lambda e: (-together[e.id], -e.mention_count, e.id))
        seen_a, seen_a_params = visible(viewer, "ae.article_id")
        key_articles = await self._db.fetchall(
            f"""
            SELECT {_ENTITY_ARTICLE_COLUMNS}
            FROM article_entities ae JOIN articles a ON a.id = ae.article_id
            WHERE ae.entity_id = ? AND ae.key_sentence != '' AND {seen_a}
            ORDER BY ae.salience DESC, ae.published DESC LIMIT ?
            """,
            (entity_id, *seen_a_params, sentences),
        )
        return EntityProfile(
            entity=ref,
            first_seen=first_seen,
            last_seen=last_seen,
            roles=[(r["role"], r["n"]) for r in roles[:5]],
            latest_role=latest_role["role"] if latest_role else None,
            co_mentions=[(e, together[e.id]) for e in others[:co_mentions]],
            key_articles=[_entity_article(r) for r in key_articles],
        )

    async def _seen(self, entity_id: int, viewer: Viewer) -> tuple[str | None, str | None]:
        """When the articles ``viewer`` sees first and last mentioned an entity."""
        seen, params = visible(viewer, "r.article_id")
        found: list[str | None] = []
        for order in ("ASC", "DESC"):
            row = await self._db.fetchone(
                f"SELECT r.published FROM article_entities r WHERE r.entity_id = ? AND {seen} "
                f"ORDER BY r.published {order} LIMIT 1",
                (entity_id, *params),
            )
            found.append(row["published"] if row else None)
        return found[0], found[1]

    async def articles(
        self, entity_id: int, limit: int = 5, *, min_salience: float = 0.0, viewer: Viewer = EVERYTHING
    ) -> list[EntityArticle]:
        """The latest articles about an entity that ``viewer`` sees (among its most recent ones), with its
        key sentence in each."""
        seen, params = visible(viewer, "r.article_id")
        rows = await self._db.fetchall(
            f"""
            SELECT {_ENTITY_ARTICLE_COLUMNS}
            FROM (SELECT r.article_id, r.published, r.salience, r.key_sentence FROM article_entities r
                  WHERE r.entity_id = ? AND {seen} ORDER BY r.published DESC LIMIT {RECENT_WINDOW}) ae
            JOIN articles a ON a.id = ae.article_id
            WHERE ae.salience >= ?
            ORDER BY ae.published DESC, ae.article_id DESC LIMIT ?
            """,
            (entity_id, *params, min_salience, limit),
        )
        return [_entity_article(r) for r in rows]

    async def articles_since(
        self, entity_id: int, since: str, limit: int, *, min_salience: float = 0.0, viewer: Viewer = EVERYTHING
    ) -> tuple[int, list[SubjectArticle]]:
        """How many articles ``viewer`` sees published from ``since`` mention an entity, and the ``limit``
        most about it (at ``min_salience`` or more) among the most recent :data:`RECENT_WINDOW` of them,
        with their summaries."""
        seen = seen_by(viewer, "r.article_id")
        count = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM article_entities r WHERE r.entity_id = ? AND r.published >= ? AND {seen}",
            (entity_id, since),
        )
        rows = await self._db.fetchall(
            f"""
            SELECT ae.article_id, a.title, ae.published, ae.salience, ae.key_sentence, a.summary
            FROM (SELECT r.article_id, r.published, r.salience, r.key_sentence FROM article_entities r
                  WHERE r.entity_id = ? AND r.published >= ? AND {seen}
                  ORDER BY r.published DESC LIMIT {RECENT_WINDOW}) ae
            JOIN articles a ON a.id = ae.article_id
            WHERE ae.salience >= ?
            ORDER BY ae.salience DESC, ae.published DESC LIMIT ?
            """,
            (entity_id, since, min_salience, limit),
        )
        return int(count["n"]) if count else 0, [
            SubjectArticle(
                r["article_id"], r["title"], r["published"], r["salience"], r["key_sentence"], json.loads(r["summary"])
            )
            for r in rows
        ]

    async def role_uses(self, entity_id: int, *, viewer: Viewer = EVERYTHING) -> list[RoleUse]:
        """Every role the articles ``viewer`` sees gave an entity, as written, with when it was first and
        last used and the first article using it; the earliest first. ``!timeline`` reads an entity's
        whole history: all its rows of ``article_roles``, found through the entity's index."""
        seen = seen_by(viewer, "r.article_id")
        if self._db.dialect == "postgresql":
            # One pass counts and dates each role without sorting the rows (ordering an entity's thousands
            # of rows by role took most of the 12 ms of a "George W Bush"); each role's first article is then
            # one probe of the entity's index at the role's first date.
            sql = f"""
                SELECT g.role, g.first_seen, f.article_id, g.last_seen, g.articles FROM
                    (SELECT r.role, MIN(r.published) AS first_seen, MAX(r.published) AS last_seen,
                            COUNT(*) AS articles
                     FROM article_roles r WHERE r.entity_id = ? AND {seen} GROUP BY r.role) g
                CROSS JOIN LATERAL
                    (SELECT r.article_id FROM article_roles r
                     WHERE r.entity_id = ? AND r.published = g.first_seen AND r.role = g.role AND {seen}
                     ORDER BY r.article_id LIMIT 1) f
                ORDER BY g.first_seen, f.article_id
                """
        else:
            # With one MIN() SQLite takes a bare column from the row holding the minimum: the first article.
            sql = f"""
                SELECT first.role, first.first_seen, first.article_id, last.last_seen, last.articles FROM
                    (SELECT r.role, MIN(r.published) AS first_seen, r.article_id FROM article_roles r
                     WHERE r.entity_id = ? AND {seen} GROUP BY r.role) first
                JOIN (SELECT r.role, MAX(r.published) AS last_seen, COUNT(*) AS articles FROM article_roles r
                      WHERE r.entity_id = ? AND {seen} GROUP BY r.role) last ON last.role = first.role
                ORDER BY first.first_seen, first.article_id
                """
        rows = await self._db.fetchall(sql, (entity_id, entity_id))
        return [RoleUse(r["role"], r["articles"], r["first_seen"], r["article_id"], r["last_seen"]) for r in rows]

    # ------------------------------------------------------------------ writes, inside Database.write()

    async def _ids(self, entities: Sequence[EntityInArticle]) -> dict[str, int]:
        """Entity ids for an article's entities, creating the missing ones.

        A one-word person name ("Milei") in an article that never gives the full name joins the one
        known person with that surname, when one clearly dominates.
        """
        db = self._db.writer
        keys = [e.key for e in entities]
        marks = ",".join("?" * len(keys))
        ids: dict[str, int] = {}
        if keys:
            async with db.execute(f"SELECT key, id FROM entities WHERE key IN ({marks})", keys) as cursor:
                ids.update({row["key"]: row["id"] async for row in cursor})
        for entity in entities:
            if entity.key in ids:
                continue
            words = entity.key.split(" ")
            if entity.type == "PERSON" and len(words) == 1:
                async with db.execute(
                    "SELECT id, mention_count FROM entities WHERE surname = ? AND type = 'PERSON' "
                    "ORDER BY mention_count DESC LIMIT 2",
                    (entity.key,),
                ) as cursor:
                    rows = await cursor.fetchall()
                if rows and (len(rows) == 1 or rows[0]["mention_count"] >= 3 * rows[1]["mention_count"]):
                    ids[entity.key] = rows[0]["id"]
                    continue
            surname = words[-1] if entity.type == "PERSON" and len(words) > 1 else None
            async with db.execute(
                "INSERT INTO entities (key, name, type, surname) VALUES (?, ?, ?, ?) RETURNING id",
                (entity.key, entity.name, entity.type, surname),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            ids[entity.key] = row["id"]
            await db.executemany(
                "INSERT INTO entity_words (word, entity_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(word, row["id"]) for word in dict.fromkeys(words) if word],
            )
        return ids

    async def attach(
        self, article_id: int, published: str, entities: Sequence[EntityInArticle], touched: set[int]
    ) -> None:
        """Add an article's entity rows and their running totals; ``touched`` gains the entities to refresh."""
        db = self._db.writer
        ids = await self._ids(entities)
        merged: dict[int, list[Any]] = {}
        labels: dict[tuple[int, str], int] = {}
        roles: set[tuple[int, str]] = set()
        for entity in entities:
            entity_id = ids[entity.key]
            so_far = merged.get(entity_id)
            # Two keys can land on one entity (a surname joined to a full name): add them up.
            if so_far is None:
                merged[entity_id] = [entity.mentions, entity.salience, int(entity.in_headline), entity.key_sentence]
            else:
                so_far[0] += entity.mentions
                so_far[1] = max(so_far[1], entity.salience)
                so_far[2] |= int(entity.in_headline)
            for label, count in entity.label_counts.items():
                labels[(entity_id, label)] = labels.get((entity_id, label), 0) + count
            roles.update((entity_id, role) for role in entity.roles)
        await db.executemany(
            "INSERT INTO article_entities (article_id, entity_id, mentions, salience, in_headline, "
            "key_sentence, published) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(article_id, eid, m, s, h, k, published) for eid, (m, s, h, k) in merged.items()],
        )
        await db.executemany(
            "INSERT INTO article_entity_labels (article_id, entity_id, label, mentions) VALUES (?, ?, ?, ?)",
            [(article_id, eid, label, n) for (eid, label), n in labels.items()],
        )
        await db.executemany(
            "INSERT INTO article_roles (article_id, entity_id, role, published) VALUES (?, ?, ?, ?)",
            [(article_id, eid, role, published) for eid, role in roles],
        )
        # Running totals: an entity in thousands of articles is never recounted on each write.
        await db.executemany(
            "UPDATE entities SET article_count = article_count + 1, mention_count = mention_count + ? WHERE id = ?",
            [(m, eid) for eid, (m, _, _, _) in merged.items()],
        )
        await db.executemany(
            "INSERT INTO entity_labels (entity_id, label, mentions) VALUES (?, ?, ?) "
            "ON CONFLICT (entity_id, label) DO UPDATE SET mentions = entity_labels.mentions + excluded.mentions",
            [(eid, label, n) for (eid, label), n in labels.items()],
        )
        await db.executemany(
            "INSERT INTO entity_day_counts (day, entity_id, articles) VALUES (?, ?, 1) "
            "ON CONFLICT (day, entity_id) DO UPDATE SET articles = entity_day_counts.articles + 1",
            [(published[:10], eid) for eid, (_, salience, _, _) in merged.items() if salience >= ABOUT_SALIENCE],
        )
        touched.update(merged)

    async def shift_scopes(self, article_id: int, leaving: Iterable[int], joining: Iterable[int]) -> None:
        """Move an article's entity rows in the per-scope running totals: off the scopes it leaves, onto
        the ones it joins (an entity's row in a scope goes when no article there mentions it)."""
        db = self._db.writer
        for scope, sign in [*((s, -1) for s in leaving), *((s, 1) for s in joining)]:
            await db.execute(
                "INSERT INTO entity_scope_totals (scope, entity_id, article_count, mention_count) "
                "SELECT ?, entity_id, ?, ? * mentions FROM article_entities WHERE article_id = ? "
                "ON CONFLICT (scope, entity_id) DO UPDATE SET "
                "article_count = entity_scope_totals.article_count + excluded.article_count, "
                "mention_count = entity_scope_totals.mention_count + excluded.mention_count",
                (scope, sign, sign, article_id),
            )
            # The per-day counts trending reads, for the names the article is about.
            await db.execute(
                "INSERT INTO entity_scope_day_counts (scope, day, entity_id, articles) "
                "SELECT ?, substr(published, 1, 10), entity_id, ? FROM article_entities "
                "WHERE article_id = ? AND salience >= ? "
                "ON CONFLICT (scope, day, entity_id) DO UPDATE SET "
                "articles = entity_scope_day_counts.articles + excluded.articles",
                (scope, sign, article_id, ABOUT_SALIENCE),
            )
            if sign < 0:
                await db.execute(
                    "DELETE FROM entity_scope_totals WHERE scope = ? AND article_count <= 0 AND entity_id IN "
                    "(SELECT entity_id FROM article_entities WHERE article_id = ?)",
                    (scope, article_id),
                )
                await db.execute(
                    "DELETE FROM entity_scope_day_counts WHERE scope = ? AND articles <= 0 AND (day, entity_id) IN "
                    "(SELECT substr(published, 1, 10), entity_id FROM article_entities WHERE article_id = ?)",
                    (scope, article_id),
                )

    async def detach(self, article_id: int, touched: set[int]) -> None:
        """Remove an article's entity rows and take them off the running totals; ``touched`` gains the
        entities to refresh."""
        db = self._db.writer
        async with db.execute(
            "SELECT entity_id, mentions, salience, published FROM article_entities WHERE article_id = ?", (article_id,)
        ) as cursor:
            entity_rows = list(await cursor.fetchall())
        async with db.execute(
            "SELECT entity_id, label, mentions FROM article_entity_labels WHERE article_id = ?", (article_id,)
        ) as cursor:
            label_rows = list(await cursor.fetchall())
        await db.executemany(
            "UPDATE entities SET article_count = article_count - 1, mention_count = mention_count - ? WHERE id = ?",
            [(r["mentions"], r["entity_id"]) for r in entity_rows],
        )
        await db.executemany(
            "UPDATE entity_labels SET mentions = mentions - ? WHERE entity_id = ? AND label = ?",
            [(r["mentions"], r["entity_id"], r["label"]) for r in label_rows],
        )
        days = [(r["published"][:10], r["entity_id"]) for r in entity_rows if r["salience"] >= ABOUT_SALIENCE]
        await db.executemany(
            "UPDATE entity_day_counts SET articles = articles - 1 WHERE day = ? AND entity_id = ?", days
        )
        await db.executemany("DELETE FROM entity_day_counts WHERE day = ? AND entity_id = ? AND articles <= 0", days)
        touched.update(r["entity_id"] for r in entity_rows)
        for table in ("article_entities", "article_entity_labels", "article_roles"):
            await db.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))

    async def refresh(self, entity_ids: set[int]) -> None:
        """First and last seen and the majority type of entities whose articles changed; entities no
        article mentions any more are removed. Counts are running totals kept by attach and detach."""
        if not entity_ids:
            return
        db = self._db.writer
        for chunk in chunks(sorted(entity_ids)):
            marks = ",".join("?" * len(chunk))
            await db.execute(f"DELETE FROM entities WHERE id IN ({marks}) AND article_count <= 0", chunk)
            await db.execute(
                f"""
                UPDATE entities SET
                    first_seen = (SELECT MIN(published) FROM article_entities ae WHERE ae.entity_id = entities.id),
                    last_seen = (SELECT MAX(published) FROM article_entities ae WHERE ae.entity_id = entities.id),
                    type = COALESCE((SELECT label FROM entity_labels l WHERE l.entity_id = entities.id
                                     AND l.mentions > 0 ORDER BY l.mentions DESC, {_TYPE_ORDER} LIMIT 1), type)
                WHERE id IN ({marks})
                """,
                chunk,
            )
