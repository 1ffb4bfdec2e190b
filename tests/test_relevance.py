"""What the existing commands find, judged as a reader would (issue 10, "Relevance of what already
exists"): related articles weigh shared names by how rare they are, topic keys merge the inflections of
every word, and search reads the last word as a prefix, skips stop words and marks whole words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.answers import Answers, NotFound, RelatedAnswer, SearchAnswer, TopicsAnswer
from bot.nlp.names import AliasTable
from bot.store import Store
from bot.text import SearchTerms, search_terms
from tests.backends import copy_database
from tests.conftest import NEWSROOM, SEEDS, TEST_ARTICLES

US_ONLY = {
    "Jobs growth slows in the United States",
    "Canadian employers beat forecasts",
    "Retailers report weak holiday sales",
    "Oil prices climb on supply worries",
    "Ryanair orders 150 new jets",
}


@pytest.fixture
def answers(newsroom_store: Store, aliases: AliasTable) -> Answers:
    return Answers(newsroom_store, aliases)


async def article_id(store: Store, title: str) -> int:
    match = (await store.search.find(title))[0]
    assert match.article.title == title
    return match.article.id


# --- related ----------------------------------------------------------------------------------------


async def test_related_to_the_seed_are_the_milei_stories_not_those_sharing_the_united_states(
    answers: Answers,
) -> None:
    related = await answers.related("1")
    assert isinstance(related, RelatedAnswer)
    titles = [r.article.title for r in related.related]
    assert "Argentina and the IMF discuss new lending programme" in titles
    assert not US_ONLY & set(titles), titles
    imf = next(r for r in related.related if r.article.title.startswith("Argentina and the IMF"))
    assert imf.shared[0] == "Javier Milei" and 0 < imf.score <= 1


async def test_an_article_sharing_only_a_country_has_nothing_closely_related(answers: Answers) -> None:
    retail = await article_id(answers.store, "Retailers report weak holiday sales")
    assert "United States" in [e.name for e in (await answers.store.articles.get(retail)).entities]
    answer = await answers.related(str(retail))
    assert isinstance(answer, NotFound) and answer.message.startswith(f"Nothing closely related to article {retail}")


async def test_the_milei_stories_are_related_to_each_other(answers: Answers) -> None:
    elected = await article_id(answers.store, "Milei wins Argentine run-off")
    related = await answers.related(str(elected))
    assert isinstance(related, RelatedAnswer)
    assert {"Outsider tops Argentine primaries", "Milei warns of shock therapy as he takes office"} <= {
        r.article.title for r in related.related
    }


# --- topics -----------------------------------------------------------------------------------------


async def test_jobs_growth_and_job_growth_are_one_topic(answers: Answers) -> None:
    topics = await answers.topics("25")
    assert isinstance(topics, TopicsAnswer)
    growth = [t for t in topics.topics if re.fullmatch(r"jobs? growth", t.name, re.IGNORECASE)]
    assert len(growth) == 1, [t.name for t in topics.topics]
    assert growth[0].article_count == 2  # the American and the Canadian report


async def test_an_index_made_before_is_rekeyed_once_with_its_follows(
    newsroom_store: Store, tmp_path: Path
) -> None:
    """An index whose keys came from the last-word-only normalisation: "jobs growth" and "job growth" as
    two topics, a member following each, a role following one, a channel filtering on both. Opening it
    merges them, and the follows and the filter's topics with them."""
    path = await copy_database(newsroom_store, tmp_path / "old.db")
    async with Store.open(path) as store:
        growth = await store.topics.by_key("job growth")
        assert growth is not None and growth.article_count == 2
        jobs_report = await article_id(store, "Jobs growth slows in the United States")
        async with store.db.write() as db:
            cursor = await db.execute(
                "INSERT INTO topics (key, name, article_count, score_sum) VALUES ('jobs growth', 'jobs growth', 1, 0) "
                "RETURNING id"
            )
            old_id = (await cursor.fetchone())["id"]
            await db.execute(
                "UPDATE article_topics SET topic_id = ? WHERE topic_id = ? AND article_id = ?",
                (old_id, growth.id, jobs_report),
            )
            await db.execute("UPDATE topics SET article_count = 1 WHERE id = ?", (growth.id,))
            await db.executemany(
                "INSERT INTO follows (guild_id, user_id, kind, target_key, name, channel_id, created_at) "
                "VALUES (1, ?, 'topic', ?, ?, 5, '2024-01-01T00:00:00Z')",
                [(7, "jobs growth", "jobs growth"), (7, "job growth", "job growth"), (8, "jobs growth", "jobs growth")],
            )
            await db.executemany(
                "INSERT INTO role_follows (guild_id, role_id, kind, target_key, name, channel_id, created_by, "
                "created_at) VALUES (1, ?, 'topic', ?, ?, 5, 7, '2024-01-01T00:00:00Z')",
                [(40, "jobs growth", "jobs growth"), (40, "job growth", "job growth"), (41, "jobs growth", "jobs")],
            )
            await db.execute(
                "INSERT INTO alert_filters (guild_id, scope, scope_id, kind, rule_values, labels, created_at) "
                """VALUES (1, 'channel', 5, 'topic', '["jobs growth", "job growth", "lithium"]', '[]', 'x')"""
            )
            await db.execute("DELETE FROM key_versions")
    async with Store.open(path) as store:
        assert await store.topics.by_key("jobs growth") is None
        merged = await store.topics.by_key("job growth")
        assert merged is not None and merged.article_count == 2 and merged.id == growth.id
        assert len(await store.topics.articles(merged.id)) == 2
        follows = await store.db.fetchall("SELECT user_id, target_key FROM follows ORDER BY user_id")
        assert [(r["user_id"], r["target_key"]) for r in follows] == [(7, "job growth"), (8, "job growth")]
        roles = await store.db.fetchall("SELECT role_id, target_key FROM role_follows ORDER BY role_id")
        assert [(r["role_id"], r["target_key"]) for r in roles] == [(40, "job growth"), (41, "job growth")]
        [rule] = (await store.alerts.filters("channel", [5]))[5]
        assert rule.values == ("job growth", "lithium")
        # Trending's per-day counts follow the merge: the kept topic's days hold both articles.
        days = await store.db.fetchall(
            "SELECT SUM(articles) AS n FROM topic_day_counts WHERE topic_id = ?", (merged.id,)
        )
        ranked = await store.db.fetchall(
            "SELECT COUNT(*) AS n FROM article_topics WHERE topic_id = ? AND rank <= 5", (merged.id,)
        )
        assert days[0]["n"] == ranked[0]["n"] == 2
        version = await store.topics.key_version()
    async with Store.open(path) as store:  # once: nothing left to do
        assert await store.topics.key_version() == version


# --- search -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ('"budget" OR NEAR(', SearchTerms((), "budget")),  # operators in capitals are not searched for
        ("budget or near", SearchTerms(("budget",), "near")),
        ("budget for", SearchTerms(("budget",))),  # the last word a stop word: nothing is being typed
        ("lithi", SearchTerms((), "lithi")),
        ("the who", SearchTerms(("the",), "who")),  # only stop words: they are the search
        ("lithium reserves lithium", SearchTerms(("lithium", "reserves"))),
        ("IMF le", SearchTerms(("imf", "le"))),  # too short to be a prefix
        ("NOT", SearchTerms((), "not")),
        ("  ...  ", SearchTerms(())),
    ],
)
def test_search_terms(typed: str, terms: SearchTerms) -> None:
    assert search_terms(typed) == terms


def marked(snippet: str) -> list[str]:
    return re.findall("\x02(.*?)\x03", snippet)


async def test_search_for_budget_with_operators_finds_budget_stories_only(answers: Answers) -> None:
    answer = await answers.search('"budget" OR NEAR(')
    assert isinstance(answer, SearchAnswer)
    titles = [hit.article.title for hit in answer.hits]
    assert set(titles[:2]) == {"Council approves budget with tax rise", "Chancellor sets out spring budget"}
    assert "Charities told to put their finances in order" not in titles
    for hit in answer.hits:
        words = marked(hit.snippet)
        assert words, hit.snippet
        assert all(re.fullmatch(r"(?i)budget\w*", w) for w in words), words


async def test_search_marks_whole_words_and_their_inflections(answers: Answers) -> None:
    answer = await answers.search("organisation orders")
    assert isinstance(answer, SearchAnswer)
    assert answer.hits[0].article.title == "Charities told to put their finances in order"
    words = {w.lower() for w in marked(answer.hits[0].snippet)}
    assert {"organisations", "order", "ordered"} <= words <= {"organisations", "order", "ordered", "orders"}, words


async def test_search_reads_the_last_word_as_a_prefix(answers: Answers) -> None:
    answer = await answers.search("Ryanair Boe")
    assert isinstance(answer, SearchAnswer) and answer.hits[0].article.title == "Ryanair orders 150 new jets"
    assert {"Ryanair", "Boeing"} <= set(marked(answer.hits[0].snippet))


def test_the_newsroom_is_not_the_seeded_index() -> None:
    assert not {p.name for p in NEWSROOM.iterdir()} & {p.name for p in [*SEEDS.iterdir(), *TEST_ARTICLES.iterdir()]}
