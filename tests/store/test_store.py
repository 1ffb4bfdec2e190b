"""The store on either backend: migrations, pragmas (SQLite), safe search, and indexes behind every hot query."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.store import Store, StoreError, fts_words
from bot.store.migrations import load_migrations
from bot.text import SNIPPET_MAX_MATCHES, SNIPPET_SCAN_CHARS, search_terms, snippet


async def test_migrations_bring_a_new_database_to_the_latest_version(store: Store) -> None:
    assert await store.db.schema_version() == len(load_migrations(dialect=store.db.dialect))
    if store.db.dialect == "postgresql":
        with pytest.raises(asyncpg.ForeignKeyViolationError):  # the schema's references hold there too
            async with store.db.write() as db:
                await db.execute("INSERT INTO origins (origin, article_id, seen_at) VALUES ('x', 99, 'now')")
        return
    mode = await store.db.fetchall("PRAGMA journal_mode")
    assert mode[0][0] == "wal"
    async with store.db.turn() as writer:
        [(foreign_keys,)] = await writer.execute_fetchall("PRAGMA foreign_keys")
    assert foreign_keys == 1


async def test_reopening_does_not_migrate_again(location) -> None:
    path = await location("x.db")
    async with Store.open(path) as first:
        version = await first.db.schema_version()
    async with Store.open(path) as second:
        assert await second.db.schema_version() == version


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer"):
        await Store.connect(path)


def test_migration_numbers_have_no_gaps() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


@pytest.mark.parametrize(
    "query",
    ["lithium AND (", '"', "*", "NEAR(a b", "title:x", "-", "a OR", "'; DROP TABLE articles; --", "\x00", "ü*"],
)
async def test_search_never_raises_on_odd_input(seeded_store: Store, query: str) -> None:
    await seeded_store.search.find(query)


def test_fts_words_quotes_every_word() -> None:
    assert fts_words(search_terms('lithium AND ("x')) == ['"lithium"', '"x"']
    assert fts_words(search_terms('lithium AND ("xyz')) == ['"lithium"', '"xyz"*']
    assert fts_words(search_terms('li"th*um')) == ['"li"', '"th"', '"um"']
    assert fts_words(search_terms("  ...  ")) == []


async def test_search_falls_back_to_any_word(seeded_store: Store) -> None:
    matches = await seeded_store.search.find("lithium zzyzx")
    assert len(matches) == 2 and all("lithium" in m.body.lower() for m in matches)


async def test_search_ranks_title_matches_first(seeded_store: Store) -> None:
    matches = await seeded_store.search.find("IMF lending")
    assert matches and matches[0].article.title.startswith("Argentina and the IMF")
    assert "IMF" in matches[0].body


async def test_entity_profile_on_the_seed(seeded_store: Store) -> None:
    milei = await seeded_store.entities.by_key("javier milei")
    assert milei is not None and milei.type == "PERSON"
    profile = await seeded_store.entities.profile(milei.id)
    assert profile is not None
    assert profile.top_role == "Argentine President"
    assert milei.article_count == 3  # the seed, the IMF story, and his sister's visit
    assert "Elon Musk" in [ref.name for ref, _ in profile.co_mentions]
    assert profile.first_seen == "2024-04-12T18:00:00Z"
    assert profile.last_seen == "2024-05-20T07:00:00Z"


async def test_surname_only_articles_join_the_known_person(seeded_store: Store) -> None:
    assert await seeded_store.entities.by_key("milei") is None
    karina = await seeded_store.entities.by_key("karina milei")
    assert karina is not None and karina.article_count == 1


async def test_related_articles_share_names(seeded_store: Store) -> None:
    seed = (await seeded_store.search.find("Tesla factory Texas"))[0].article.id
    related = await seeded_store.articles.related(seed)
    assert related and "Javier Milei" in related[0].shared


@pytest.mark.sqlite_only
async def test_hot_queries_use_indexes(seeded_store: Store) -> None:
    plans = {
        "entity by key": ("SELECT id FROM entities WHERE key = ?", ("x",)),
        "articles of an entity": (
            "SELECT article_id FROM article_entities WHERE entity_id = ? ORDER BY published DESC LIMIT 5",
            (1,),
        ),
        "latest": ("SELECT id FROM articles ORDER BY published DESC, id DESC LIMIT 5", ()),
        "topic by key": ("SELECT id FROM topics WHERE key = ?", ("x",)),
        "articles of a topic": (
            "SELECT article_id FROM article_topics WHERE topic_id = ? ORDER BY published DESC LIMIT 5",
            (1,),
        ),
        "roles of an entity": (
            "SELECT role FROM article_roles WHERE entity_id = ? ORDER BY published DESC LIMIT 1",
            (1,),
        ),
        "people by surname": ("SELECT id FROM entities WHERE surname = ?", ("x",)),
        "top topics": ("SELECT id FROM topics ORDER BY article_count DESC, score_sum DESC LIMIT 10", ()),
    }
    for name, (sql, params) in plans.items():
        plan = " ".join(row[3] for row in await seeded_store.db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", "") or "USING" in plan, (name, plan)
        assert "TEMP B-TREE" not in plan, (name, plan)


async def test_export_iterates_every_article(seeded_store: Store) -> None:
    ids = [a.id async for a in seeded_store.articles.iter_all()]
    assert len(ids) == 4 and ids == sorted(ids)


def test_snippet_marks_the_densest_passage() -> None:
    body = ("Opening words about nothing. " * 12) + "Argentina holds lithium reserves; lithium prices rose. " + (
        "Closing words. " * 20
    )
    text = snippet(body, search_terms("lithium reserve"))
    assert "\x02lithium\x03 \x02reserves\x03" in text and text.startswith("…") and text.endswith("…")
    assert len(text) < 260
    assert snippet("No match here.", search_terms("zebra")) == "No match here."


def test_snippet_work_is_linear_in_the_matches() -> None:
    """The best window was found by comparing every match with every other (8 000 matches took 4.9 s on
    the event loop). Counted in calls to C functions, the work now grows linearly with the matches."""
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event == "c_call"

    for matches in (500, 1_000):
        calls = 0
        sys.setprofile(count)
        try:
            text = snippet("election " * matches, search_terms("election"))
        finally:
            sys.setprofile(None)
        assert "\x02election\x03" in text
        assert calls < 20 * matches, (matches, calls)


def test_snippet_looks_at_a_bounded_part_of_the_body() -> None:
    """Past the first SNIPPET_SCAN_CHARS characters, or SNIPPET_MAX_MATCHES matches, nothing is looked at."""
    late = "Argentina holds lithium reserves."
    far = "Filler words here. " * (SNIPPET_SCAN_CHARS // 19 + 1) + late
    assert "\x02" not in snippet(far, search_terms("lithium reserve"))
    crowded = "lithium " * SNIPPET_MAX_MATCHES + late
    assert "\x02reserves\x03" not in snippet(crowded, search_terms("lithium reserve"))
    assert "\x02reserves\x03" in snippet("lithium " * 10 + late, search_terms("lithium reserve"))
