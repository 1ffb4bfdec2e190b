"""``!summary <name or topic> <period>``: the period's key sentences across articles, none said twice, in
time order, each with its article id — on articles dated relative to now, analysed by the real pipeline;
the de-duplication and the periods in :mod:`bot.subject_summary`; and the command in the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.answers import Answers, Choices, NotFound, Resolved, SubjectSummary, UserError, Wanted
from bot.app import NewsdeskBot
from bot.ingest.indexer import Indexer
from bot.ingest.readers import content_hash
from bot.models import ArticleRecord
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.render import to_text
from bot.store import Store
from bot.subject_summary import (
    Candidate,
    content_words,
    distinct_sentences,
    parse_period,
    same_statement,
    split_period,
)
from tests.backends import copy_database, fresh_location
from tests.fake_discord import FakeDiscord

NOW = datetime.now(UTC)

# (hours ago, outlet, title, body): one event reported by two outlets, in nearly the same words; news
# the day before; and older stories inside and outside a month.
WEEK = [
    (
        45 * 24,
        "wire.example",
        "Milei visits Israel",
        "Argentine President Javier Milei arrived in Jerusalem on Tuesday, promising to move Argentina's "
        "embassy to the city. He met Prime Minister Benjamin Netanyahu.",
    ),
    (
        12 * 24,
        "wire.example",
        "Milei vetoes pension rise",
        "Argentine President Javier Milei vetoed a law raising state pensions, saying the country could not "
        "afford it. Pensioners protested outside Congress in Buenos Aires.",
    ),
    (
        72,
        "wire.example",
        "Argentina to scrap fuel subsidies",
        "Argentine President Javier Milei announced on Monday that the government would scrap fuel subsidies "
        "from January. Economists said fuel prices could rise by a third.",
    ),
    (
        69,
        "paper.example",
        "Milei ends fuel subsidies",
        "Argentine President Javier Milei announced on Monday that his government would scrap fuel subsidies "
        "from January, officials said. Milei said the subsidies cost the state billions of dollars a year.",
    ),
    (
        20,
        "wire.example",
        "Milei meets IMF chief in Washington",
        "President Javier Milei of Argentina met the head of the International Monetary Fund, Kristalina "
        "Georgieva, in Washington on Thursday to discuss a new loan programme. Georgieva praised Milei's "
        "spending cuts.",
    ),
]


@pytest.fixture(scope="module")
async def recent_store(
    backend: str, tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer
) -> AsyncIterator[Store]:
    """The articles of :data:`WEEK`, published so many hours before the tests run."""
    records = [
        ArticleRecord(
            origin=f"https://{outlet}/{n}",
            title=title,
            body=body,
            content_hash=content_hash(body),
            published=NOW - timedelta(hours=hours),
            source=outlet,
        )
        for n, (hours, outlet, title, body) in enumerate(WEEK)
    ]
    async with Store.open(await fresh_location(backend, tmp_path_factory.mktemp("recent"), keep=True)) as store:
        report = await Indexer(store, analyzer, max_file_bytes=100_000).index_records(records)
        assert report.indexed == len(WEEK)
        yield store


@pytest.fixture
def answers(recent_store: Store, aliases: AliasTable) -> Answers:
    return Answers(recent_store, aliases)


async def ids_by_title(store: Store) -> dict[str, int]:
    return {a.title: a.id for a in await store.articles.latest(len(WEEK))}


async def test_a_week_of_milei_said_once_each_in_time_order(answers: Answers) -> None:
    ids = await ids_by_title(answers.store)
    answer = await answers.summary("Milei 7d")
    assert isinstance(answer, SubjectSummary) and answer.subject == "Javier Milei"
    assert answer.period is not None and answer.period.label == "7d" and answer.article_count == 3
    published = [s.published for s in answer.sentences]
    assert published == sorted(published)
    about_subsidies = [s for s in answer.sentences if "announced on Monday" in s.text]
    # The paper's lead repeats the wire's: shown once, from the wire, which said it first.
    assert len(about_subsidies) == 1
    assert about_subsidies[0].article_id == ids["Argentina to scrap fuel subsidies"]
    assert about_subsidies[0].also_in == (ids["Milei ends fuel subsidies"],)
    assert {s.article_id for s in answer.sentences} >= {
        ids["Argentina to scrap fuel subsidies"],
        ids["Milei meets IMF chief in Washington"],
    }
    words = [content_words(s.text) for s in answer.sentences]
    assert not any(same_statement(a, b) for i, a in enumerate(words) for b in words[i + 1 :])


async def test_a_surname_that_is_also_a_topic_means_the_person(
    newsroom_store: Store, aliases: AliasTable, tmp_path: Path
) -> None:
    """A headline led by a surname ("Milei wins…") can make the surname a topic of its article; asked for
    by that word, the person about whom far more articles are written is meant."""
    path = await copy_database(newsroom_store, tmp_path / "index.db")
    async with Store.open(path) as store:
        async with store.db.write() as db:
            cursor = await db.execute(
                "INSERT INTO topics (key, name, article_count, score_sum) VALUES ('milei', 'Milei', 1, 0.1) "
                "RETURNING id"
            )
            topic_id = (await cursor.fetchone())["id"]
            await db.execute(
                "INSERT INTO article_topics (article_id, topic_id, score, rank, published) "
                "SELECT id, ?, 0.1, 11, published FROM articles WHERE title = 'Milei wins Argentine run-off'",
                (topic_id,),
            )
        answers = Answers(store, aliases)
        for wanted, command in ((Wanted.SUBJECT, "summary"), (Wanted.SUBJECT_OR_NEW_NAME, "follow")):
            found = await answers.resolve("Milei", wanted, command)
            assert isinstance(found, Resolved) and found.kind == "entity" and found.name == "Javier Milei"


async def test_the_period_decides_which_articles_count(answers: Answers) -> None:
    ids = await ids_by_title(answers.store)
    day = await answers.summary("Javier Milei 24h")
    assert isinstance(day, SubjectSummary) and day.article_count == 1
    assert {s.article_id for s in day.sentences} == {ids["Milei meets IMF chief in Washington"]}
    month = await answers.summary("Milei 30d")
    assert isinstance(month, SubjectSummary) and month.article_count == 4
    assert month.sentences[0].article_id == ids["Milei vetoes pension rise"]
    assert ids["Milei visits Israel"] not in {s.article_id for s in month.sentences}
    hour = await answers.summary("Milei 1h")
    assert isinstance(hour, NotFound) and hour.message == (
        "Nothing about Javier Milei in the last hour; summary Javier Milei shows the latest."
    )


async def test_a_topic_over_a_period(answers: Answers) -> None:
    answer = await answers.summary("fuel subsidies 7d")
    assert isinstance(answer, SubjectSummary) and answer.kind == "topic" and answer.article_count == 2
    assert all("subsid" in s.text.lower() for s in answer.sentences)


async def test_summary_without_a_period_and_of_an_article_are_unchanged(answers: Answers) -> None:
    latest = await answers.summary("Milei")
    assert isinstance(latest, SubjectSummary) and latest.period is None
    published = [s.published for s in latest.sentences]
    assert published == sorted(published, reverse=True)
    with pytest.raises(UserError, match="Tell me a name or topic to summarise over the last 7 days"):
        await answers.summary("7d")
    with pytest.raises(UserError, match="like: summary Milei 24h"):
        await answers.summary("latest 24h")


def test_a_choice_keeps_the_period() -> None:
    text = to_text(Choices("Brown", "summary", ["Gordon Brown", "James Brown"], ["person", "person"], then="7d"))
    assert text.rstrip().endswith("e.g. !summary Gordon Brown 7d)")


@pytest.mark.parametrize(
    ("typed", "subject", "label"),
    [
        ("Milei 7d", "Milei", "7d"),
        ("Javier Milei 24h", "Javier Milei", "24h"),
        ("lithium reserves 30d", "lithium reserves", "30d"),
        ("Milei 48 hours", "Milei", "48h"),
        ("Milei week", "Milei", "7d"),
        ("Milei", "Milei", None),
        ("Milei 400d", "Milei 400d", None),  # more than a quarter of a year is no period
        ("7d", "7d", None),  # a period alone is not split off (the command refuses it)
    ],
)
def test_split_period(typed: str, subject: str, label: str | None) -> None:
    found, period = split_period(typed)
    assert (found, period.label if period else None) == (subject, label)


def test_period_words() -> None:
    assert [parse_period(p).words for p in ("24h", "7d", "30d", "1h", "2d", "36h")] == [  # type: ignore[union-attr]
        "the last 24 hours",
        "the last 7 days",
        "the last 30 days",
        "the last hour",
        "the last 2 days",
        "the last 36 hours",
    ]


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        (
            "Argentine President Javier Milei announced on Monday that the government would scrap fuel subsidies.",
            "Argentine President Javier Milei announced on Monday that his government would scrap fuel subsidies "
            "from January, officials said.",
            True,
        ),
        (
            "Javier Milei met IMF officials in Washington.",
            "IMF officials met Javier Milei in Washington on Thursday.",
            True,
        ),
        (
            "Javier Milei met IMF officials in Washington.",
            "Javier Milei vetoed a law raising state pensions.",
            False,
        ),
        ("Milei spoke.", "Milei spoke on Monday about the economy and the peso.", False),
    ],
)
def test_same_statement(one: str, other: str, same: bool) -> None:
    assert same_statement(content_words(one), content_words(other)) is same


def test_distinct_sentences_keep_the_weightiest_and_at_most_two_per_article() -> None:
    def candidate(text: str, article_id: int, day: int, weight: float) -> Candidate:
        return Candidate(text, article_id, f"t{article_id}", f"2024-05-{day:02d}T00:00:00Z", weight)

    chosen = distinct_sentences(
        [
            candidate("Lithium prices fell sharply on Monday in Chile.", 3, 3, 0.2),
            candidate("The mine in Jujuy will employ 2,000 workers from next year.", 1, 1, 0.9),
            candidate("The Jujuy mine will employ 2,000 workers from next year, the company said.", 2, 2, 0.5),
            candidate("Workers at the mine voted for a strike over pay.", 1, 1, 0.3),
            candidate("Exports to China rose for a third month in a row.", 1, 1, 0.25),
        ],
        limit=3,
    )
    assert [(c.article_id, c.repeated_in) for c in chosen] == [(1, [2]), (1, []), (3, [])]


async def test_summary_over_a_period_in_discord(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    # The seeded call-centre story carries no date: it is dated when it was indexed, today.
    reply = await (await fake_discord.send_message("!summary Hewitt 24h")).reply()
    [embed] = reply.embeds
    assert embed["title"] == "Patricia Hewitt: the last 24 hours"
    assert "`#3`" in embed["description"] and "in time order" in embed["description"]
    none = await (await fake_discord.send_message("!summary Milei 7d")).reply()
    assert "Nothing about Javier Milei in the last 7 days" in none.embeds[0]["description"]
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    completed = await (await fake_discord.autocomplete("summary", {"target": "hewi 24h"}, focused="target")).choices()
    assert [c["value"] for c in completed][:1] == ["Patricia Hewitt 24h"]
    response = await (await fake_discord.invoke_slash("summary", {"target": "Patricia Hewitt 24h"})).response()
    assert response.embeds[0]["title"] == "Patricia Hewitt: the last 24 hours"

