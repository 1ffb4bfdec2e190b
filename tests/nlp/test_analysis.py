"""Per-article analysis: salience, key sentences, summary and topics, on the seed."""

from __future__ import annotations

import pytest

from bot.models import ArticleAnalysis, ArticleText
from bot.nlp.analysis import Analyzer, salience
from tests.conftest import seed_body

SEED_TITLE = "Elon Musk and Argentine President Javier Milei meet at Tesla factory in Texas"


@pytest.fixture(scope="module")
def seed_analysis(analyzer: Analyzer) -> ArticleAnalysis:
    return analyzer.analyze([ArticleText(SEED_TITLE, seed_body())])[0]


def test_the_subjects_are_the_most_salient(seed_analysis: ArticleAnalysis) -> None:
    ranked = [e.name for e in seed_analysis.entities]
    assert set(ranked[:2]) == {"Elon Musk", "Javier Milei"}
    by_name = {e.name: e for e in seed_analysis.entities}
    assert by_name["Javier Milei"].in_headline and by_name["Javier Milei"].in_lead
    assert by_name["China"].salience < 0.2  # a passing mention
    assert by_name["Javier Milei"].roles == ["Argentine President"]
    assert by_name["Tesla"].type == "ORG"


def test_key_sentence_names_the_entity(seed_analysis: ArticleAnalysis) -> None:
    by_name = {e.name: e for e in seed_analysis.entities}
    assert "International Monetary Fund" in by_name["International Monetary Fund"].key_sentence
    assert "China" in by_name["China"].key_sentence


def test_summary_has_three_sentences_from_the_body(seed_analysis: ArticleAnalysis) -> None:
    body = seed_body()
    assert len(seed_analysis.summary) == 3
    assert all(sentence in " ".join(body.split()) for sentence in seed_analysis.summary)
    assert SEED_TITLE not in seed_analysis.summary
    positions = [body.index(s[:40]) for s in seed_analysis.summary]
    assert positions == sorted(positions)


def test_topics_are_phrases_not_names(seed_analysis: ArticleAnalysis) -> None:
    keys = [t.key for t in seed_analysis.topics]
    assert keys and len(keys) == len(set(keys))
    entity_keys = {e.key for e in seed_analysis.entities}
    assert not entity_keys & set(keys)


def test_derived_title_is_not_analysed_twice(analyzer: Analyzer) -> None:
    body = "Tesla opened a factory in Texas. Workers said the plant would hire thousands."
    [result] = analyzer.analyze([ArticleText("Tesla opened a factory in Texas", body, title_derived=True)])
    by_name = {e.name: e for e in result.entities}
    assert by_name["Texas"].mentions == 1
    assert by_name["Texas"].in_headline  # the first sentence stands in for the headline


def test_empty_body_gives_an_empty_analysis(analyzer: Analyzer) -> None:
    [result] = analyzer.analyze([ArticleText("", "")])
    assert result.entities == [] and result.summary == [] and result.topics == []


def test_salience_weights() -> None:
    assert salience(True, True, 5, 5) == 1.0
    assert salience(False, False, 1, 10) == pytest.approx(0.04)
    assert salience(False, True, 0, 0) == 0.25


GUN_DEBATE = """The Senate debated the Second Amendment on Tuesday as gun control returned to Washington.

Senator Dianne Feinstein said the Second Amendment did not bar limits on assault weapons. Gun owners said any \
new gun control law would fail.

The National Rifle Association promised to fight the bill. Feinstein said she had the votes."""

OIL_PRICE = """The oil price rose sharply on Monday as traders feared supply cuts.

Analyst Mary Price said the oil price could reach a new high this month. Mary Price said refiners were buying.

Oil price swings have hurt airlines, Price said."""


def _topics(analyzer: Analyzer, body: str) -> list[str]:
    [result] = analyzer.analyze([ArticleText(body.split(".")[0], body, title_derived=True)])
    return [t.text for t in result.topics]


def test_topics_keep_the_names_of_things_but_not_people_or_places(analyzer: Analyzer) -> None:
    topics = _topics(analyzer, GUN_DEBATE)
    assert {"gun control", "Second Amendment", "National Rifle Association"} <= set(topics), topics
    assert not [t for t in topics if "Feinstein" in t or t == "Washington"], topics


def test_a_word_of_a_surname_does_not_take_the_topic_with_it(analyzer: Analyzer) -> None:
    topics = _topics(analyzer, OIL_PRICE)
    assert "oil price" in topics, topics
    assert not [t for t in topics if "Mary" in t or t == "Price"], topics
