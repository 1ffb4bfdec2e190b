"""Per-article analysis: salience, key sentences, summary and topics, on the seed."""

from __future__ import annotations

import re
import time
from concurrent.futures import Future

import pytest

from bot.models import AnalysisFailed, ArticleAnalysis, ArticleText
from bot.nlp import analyzer as analyzer_module
from bot.nlp.analysis import PIECE_CHARS, build_analysis, pieces, salience
from bot.nlp.analyzer import Analyzer
from bot.text import CHUNK_CHARS, PUNCTUATION_RUN, tokenizable
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


def test_tokenizable_bounds_punctuation_runs_and_chunks_and_keeps_prose() -> None:
    """spaCy's tokenizer takes quadratic time (holding the GIL) on a run of punctuation: 8 000 "*" took
    4.7 s, 100 000 about twelve minutes. Runs and chunks without spaces are bounded first."""
    prose = seed_body()
    assert tokenizable(prose) == prose
    hostile = tokenizable("Look" + "*" * 100_000 + " here " + "x" * 250 + " ...! ok")
    assert max(len(run) for run in re.findall(r"[^\w\s]+", hostile)) <= PUNCTUATION_RUN
    assert max(len(chunk) for chunk in hostile.split()) <= CHUNK_CHARS
    assert hostile.endswith(" here " + " ".join(["x" * 100, "x" * 100, "x" * 50]) + " ...! ok")


def test_pieces_join_back_and_cut_at_paragraphs() -> None:
    text = "\n\n".join(f"Paragraph {n} says something about the harbour." for n in range(2000))
    parts = pieces(text, 1000)
    assert "".join(parts) == text
    assert all(len(part) <= 1000 for part in parts) and all(part.endswith("\n\n") for part in parts[:-1])
    assert pieces("short", 1000) == ["short"] and "".join(pieces("x" * 2500, 1000)) == "x" * 2500


def test_a_long_article_analysed_in_pieces_matches_the_whole(analyzer: Analyzer) -> None:
    """One spaCy call over a long text holds the GIL for its whole length (the attribute ruler: about
    300 ms per 100 000 characters, a frozen bot); pieces joined into one Doc give the same analysis."""
    body = "\n\n".join([seed_body()] + [f"Update {n}: {seed_body()}" for n in range(5)])
    assert len(body) > PIECE_CHARS
    article = ArticleText(SEED_TITLE, body)
    whole = build_analysis(analyzer.nlp(article.doc_text()[0]), article, 3)
    [in_pieces] = analyzer.analyze([article])
    assert in_pieces.summary == whole.summary
    assert [(t.key, round(t.score, 9)) for t in in_pieces.topics] == [
        (t.key, round(t.score, 9)) for t in whole.topics
    ]
    assert [(e.key, e.mentions, e.salience, e.roles) for e in in_pieces.entities] == [
        (e.key, e.mentions, e.salience, e.roles) for e in whole.entities
    ]
    assert in_pieces.word_count == whole.word_count


def test_hostile_text_is_analysed_in_bounded_time(analyzer: Analyzer) -> None:
    started = time.perf_counter()
    results = analyzer.analyze([ArticleText("Stars", "*" * 30_000), ArticleText("Colons", ":a" * 50_000)])
    assert time.perf_counter() - started < 10  # about 2 s; the stars alone took over a minute
    assert all(r.entities == [] for r in results)


def test_a_failing_pool_batch_is_analysed_again_one_by_one(
    analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process failing a batch (a crash, a bad article) costs only the articles that fail alone."""
    failed: Future[list[ArticleAnalysis]] = Future()
    failed.set_exception(RuntimeError("worker died"))

    class DeadPool:
        def submit(self, *args: object) -> Future[list[ArticleAnalysis]]:
            return failed

    pooled = Analyzer(analyzer.model, analyzer.aliases, workers=2, nlp=analyzer.nlp)
    monkeypatch.setattr(pooled, "start_workers", lambda: DeadPool())
    monkeypatch.setattr(analyzer_module, "POOL_MIN_ARTICLES", 1)
    analyze = pooled.analyze

    def poisoned(articles):  # type: ignore[no-untyped-def]
        if any("POISON" in a.body for a in articles):
            raise ValueError("poisoned")
        return analyze(articles)

    monkeypatch.setattr(pooled, "analyze", poisoned)
    batches = [[ArticleText("A", "Tesla opened a factory in Texas."), ArticleText("B", "POISON")]]
    [results] = list(pooled.analyze_stream(iter(batches), total=2))
    assert isinstance(results[0], ArticleAnalysis) and any(e.name == "Texas" for e in results[0].entities)
    assert results[1] == AnalysisFailed("analysis failed (ValueError: poisoned)")
