"""Command logic on the real seeded index: the answers the console and the bot both show."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import catalogue
from bot.answers import (
    Answers,
    ArticleAnswer,
    Choices,
    HelpAnswer,
    LatestAnswer,
    NotFound,
    RelatedAnswer,
    Resolved,
    SearchAnswer,
    StatsAnswer,
    StoryAnswer,
    SubjectSummary,
    TopicAnswer,
    TopicsAnswer,
    UserError,
    Wanted,
    WhoAnswer,
)
from bot.nlp.names import AliasTable
from bot.store import Store
from tests.conftest import ROOT


@pytest.fixture
def answers(seeded_store: Store, aliases: AliasTable) -> Answers:
    return Answers(seeded_store, aliases, max_query_chars=200)


async def test_who_milei_on_the_seed(answers: Answers) -> None:
    answer = await answers.who("Milei")
    assert isinstance(answer, WhoAnswer)
    profile = answer.profile
    assert profile.entity.name == "Javier Milei" and profile.entity.type == "PERSON"
    assert profile.top_role == "Argentine President"
    assert "Elon Musk" in [ref.name for ref, _ in profile.co_mentions]
    assert profile.key_articles and profile.key_articles[0].key_sentence
    assert "Karina Milei" in [o.name for o in answer.others]


async def test_who_musk_is_case_insensitive(answers: Answers) -> None:
    answer = await answers.who("musk")
    assert isinstance(answer, WhoAnswer) and answer.profile.entity.name == "Elon Musk"


async def test_who_corrects_a_typo(answers: Answers) -> None:
    answer = await answers.who("Mllei")
    assert isinstance(answer, WhoAnswer)
    assert answer.profile.entity.name == "Javier Milei" and answer.corrected_from == "Mllei"


async def test_who_by_alias(answers: Answers) -> None:
    answer = await answers.who("the U.S.")
    assert isinstance(answer, WhoAnswer) and answer.profile.entity.name == "United States"


async def test_who_nobody_says_how_many_articles_were_searched(answers: Answers) -> None:
    answer = await answers.who("Xyzzy Plugh")
    assert isinstance(answer, NotFound)
    assert answer.message == "No one called Xyzzy Plugh in 4 indexed articles."


async def test_who_with_64_distinct_words_is_not_found_not_an_error(answers: Answers) -> None:
    words = " ".join(a + b for a in "bcdfghjk" for b in "bcdfghjk")  # 64 words in 191 characters
    assert isinstance(await answers.who(words), NotFound)  # SQLite joins at most 64 tables


async def test_a_name_lookup_counts_a_repeated_word_once(answers: Answers) -> None:
    candidates, _ = await answers.entity_candidates(" ".join(["Milei"] * 70))
    assert candidates and candidates[0].name == "Javier Milei"


async def test_who_by_the_start_of_any_word(answers: Answers) -> None:
    answer = await answers.who("Hew")
    assert isinstance(answer, WhoAnswer) and answer.profile.entity.name == "Patricia Hewitt"


async def test_who_with_two_equally_known_names_offers_a_choice(
    store: Store, indexer_for, aliases: AliasTable, tmp_path
) -> None:
    for first in ("Anna", "Boris"):
        (tmp_path / f"{first}.txt").write_text(
            f"{first} Smith speaks\n\n{first} Smith, a teacher from Leeds, spoke to reporters on Monday.\n"
        )
    await indexer_for(store).index_paths([tmp_path / "Anna.txt", tmp_path / "Boris.txt"])
    answer = await Answers(store, aliases).who("Smith")
    assert isinstance(answer, Choices)
    assert sorted(answer.options) == ["Anna Smith", "Boris Smith"]


async def test_summary_latest_gives_three_sentences(answers: Answers) -> None:
    answer = await answers.summary("latest")
    assert isinstance(answer, ArticleAnswer) and answer.summary_only
    # The Hewitt story has no date, so its file time (today) makes it the newest.
    assert answer.article.title == "Hewitt backs call centre workers"
    seed = await answers.summary("1")
    assert isinstance(seed, ArticleAnswer) and len(seed.article.summary) == 3


async def test_summary_of_an_entity_lists_sentences_with_article_ids(answers: Answers) -> None:
    answer = await answers.summary("Milei")
    assert isinstance(answer, SubjectSummary) and answer.subject == "Javier Milei"
    ids = [s.article_id for s in answer.sentences]
    assert len(ids) >= 2 and len(set(ids)) == len(ids)
    dates = [s.published for s in answer.sentences]
    assert dates == sorted(dates, reverse=True)


async def test_summary_of_a_topic(answers: Answers, seeded_store: Store) -> None:
    top = (await seeded_store.topics.top(1))[0]
    answer = await answers.summary(top.name)
    assert isinstance(answer, SubjectSummary) and answer.kind == "topic"


async def test_summary_of_a_missing_article(answers: Answers) -> None:
    answer = await answers.summary("999")
    assert isinstance(answer, NotFound) and "999" in answer.message


async def test_topics_topic_search_latest_article_related_stats(answers: Answers) -> None:
    topics = await answers.topics("5")
    assert isinstance(topics, TopicsAnswer) and 0 < len(topics.topics) <= 5
    topic = await answers.topic(topics.topics[0].name.upper())
    assert isinstance(topic, TopicAnswer) and topic.articles
    search = await answers.search("lithium")
    assert isinstance(search, SearchAnswer) and len(search.hits) == 2
    assert all("\x02lithium\x03" in hit.snippet.lower() for hit in search.hits)  # cut from each body
    latest = await answers.latest()
    assert isinstance(latest, LatestAnswer) and len(latest.articles) == 4
    article = await answers.article("#1")
    assert isinstance(article, ArticleAnswer) and not article.summary_only
    related = await answers.related("1")
    assert isinstance(related, RelatedAnswer)
    stats = await answers.stats()
    assert isinstance(stats, StatsAnswer) and stats.stats.articles == 4


async def test_bad_arguments_raise_one_sentence(answers: Answers) -> None:
    with pytest.raises(UserError, match="whole numbers"):
        await answers.article("abc")
    with pytest.raises(UserError, match="whole number"):
        await answers.latest("-3")
    with pytest.raises(UserError, match="under 200"):
        await answers.who("x" * 201)
    with pytest.raises(UserError, match="Usage"):
        await answers.ask("!who")
    with pytest.raises(UserError, match="no command"):
        await answers.ask("!frobnicate")


async def test_story_of_an_article_or_by_story_id(answers: Answers, seeded_store: Store) -> None:
    from bot.render import to_text

    answer = await answers.ask("!story 1")
    assert isinstance(answer, StoryAnswer) and answer.asked == 1
    members = [m.article_id for m in answer.story.members]
    assert 1 in members
    assert answer.summary and {c.article_id for c in answer.summary} <= set(members)
    by_id = await answers.story(f"s{answer.story.id}")
    assert isinstance(by_id, StoryAnswer) and by_id.story == answer.story and by_id.asked is None
    assert await answers.story(f"story {answer.story.id}") == by_id
    text = to_text(answer)
    assert text.startswith(f"Story #{answer.story.id}: ") and "#1" in text
    assert isinstance(await answers.story("s99999"), NotFound)
    assert isinstance(await answers.story("99999"), NotFound)
    with pytest.raises(UserError, match="story id like s12"):
        await answers.story("the pirates")


async def test_ask_parses_like_chat(answers: Answers) -> None:
    assert isinstance(await answers.ask('!who "Javier Milei"'), WhoAnswer)
    assert isinstance(await answers.ask("summary latest"), ArticleAnswer)
    assert isinstance(await answers.ask("!help"), HelpAnswer)
    assert isinstance(await answers.ask("!latest 2"), LatestAnswer)


async def test_autocomplete_by_any_word_and_typo(answers: Answers) -> None:
    assert (await answers.complete_entities("mil"))[:1] == ["Javier Milei"]
    assert "Elon Musk" in await answers.complete_entities("mu")
    assert "Javier Milei" in await answers.complete_entities("Mllei")
    assert len(await answers.complete_entities("")) <= 25
    topics = await answers.complete_topics("lith")
    assert topics and all("lithium" in t.lower() for t in topics)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=250))
async def test_arbitrary_text_never_raises_unexpectedly(answers: Answers, text: str) -> None:
    for command in (answers.who, answers.search, answers.summary, answers.topic):
        with contextlib.suppress(UserError):
            await command(text)
    await answers.complete_entities(text)
    await answers.complete_topics(text)


async def test_one_resolver_for_names_topics_and_subjects(answers: Answers, seeded_store: Store) -> None:
    topic = (await seeded_store.topics.top(1))[0]
    for wanted in (Wanted.TOPIC, Wanted.SUBJECT, Wanted.SUBJECT_OR_NEW_NAME):
        found = await answers.resolve(topic.name, wanted, "x")
        assert isinstance(found, Resolved) and found.kind == "topic" and found.key == topic.key, wanted
    for wanted in (Wanted.NAME, Wanted.SUBJECT, Wanted.SUBJECT_OR_NEW_NAME):
        found = await answers.resolve("Mllei", wanted, "x")
        assert isinstance(found, Resolved) and found.entity is not None, wanted
        assert (found.kind, found.name, found.key) == ("entity", "Javier Milei", "javier milei"), wanted
    ambiguous = [await answers.resolve("argentin", wanted, "follow") for wanted in (Wanted.SUBJECT, Wanted.NAME)]
    assert all(isinstance(a, Choices) and a.command == "follow" for a in ambiguous)
    assert ambiguous[0] == ambiguous[1]  # summary, follow and who offer the same choice
    # A name in no article: not found for who and summary; followed as typed, so its first article pings.
    assert isinstance(await answers.resolve("Marta Lindqvist", Wanted.NAME, "who"), NotFound)
    assert isinstance(await answers.resolve("Marta Lindqvist", Wanted.SUBJECT, "summary"), NotFound)
    new = await answers.resolve("Marta Lindqvist", Wanted.SUBJECT_OR_NEW_NAME, "follow")
    assert new == Resolved("entity", "marta lindqvist", "Marta Lindqvist")
    assert isinstance(await answers.resolve("Javier Milei", Wanted.TOPIC, "topic"), NotFound)


async def test_the_console_says_a_server_command_is_for_discord(answers: Answers) -> None:
    catalogue.load_all()  # as make_answers does for the console and the command line

    with pytest.raises(UserError, match=r"^The follow command only works on Discord, in a server\.$"):
        await answers.ask("!follow Milei")
    with pytest.raises(UserError, match=r"^The source add command only works on Discord, in a server\.$"):
        answers.help("source add")  # help knows it, and says where it works
    with pytest.raises(UserError, match=r"^The sync command is for the bot's owner, on Discord\.$"):
        answers.help("sync")
    with pytest.raises(UserError, match="There is no command fol"):
        answers.help("fol")
    assert all(spec.where == "anywhere" for spec in answers.help().commands)  # the list: what works here


def test_every_module_that_registers_commands_is_loaded_for_the_console() -> None:
    registering = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "bot").rglob("*.py")
        if "@command(" in path.read_text(encoding="utf-8")
    }
    assert registering == set(catalogue.COMMAND_MODULES)


async def test_choices_and_counts_read_in_the_singular_and_plural(answers: Answers) -> None:
    choice = await answers.topic("lith")
    assert isinstance(choice, Choices)
    assert all(re.fullmatch(r"1 article|[0-9]+ articles", d) for d in choice.details), choice.details
