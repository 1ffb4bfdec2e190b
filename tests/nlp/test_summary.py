"""The extractive summary: sentence choice on real and constructed articles, with the real pipeline."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from spacy.language import Language
from spacy.tokens import Span

from bot.nlp.summary import _centrality, _Sentence, focus_terms, summarize

SEED_ARTICLE = Path(__file__).resolve().parents[2] / "seeds" / "ap-musk-milei-tesla-texas.md"

# A plain news story, one sentence a line; the junk tests put their junk line in front of it.
STORY = [
    "The city council approved a $40 million expansion of the Riverside public library on Monday.",
    "The expansion will add three reading rooms, a children's wing and a digital archive to the library.",
    "Mayor Linda Park said the Riverside library had outgrown its building as visitor numbers doubled.",
    "Construction of the new library wing is expected to start in the spring and take two years.",
    "Residents had campaigned for a larger library for nearly a decade, the council said.",
]


def sentences(nlp: Language, lines: list[str]) -> list[Span]:
    """The body sentences of ``lines`` (one sentence a line), as the indexer hands them over."""
    doc = nlp("\n".join(lines))
    return [sent for sent in doc.sents if sent.text.strip()]


def seed_body() -> str:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    _, _, body = text.split("---", 2)  # front matter sits between the first two "---" lines
    return body.strip()


def test_seed_article_summary(nlp: Language) -> None:
    doc = nlp(seed_body())
    sents = [sent for sent in doc.sents if sent.text.strip()]
    trailer = next(i for i, sent in enumerate(sents) if sent.text.startswith("For more news"))
    entities = [(ent.text, 1.0) for ent in doc.ents if ent.label_ in ("PERSON", "ORG", "GPE")]
    focus = focus_terms([(chunk.text, 1.0) for chunk in doc.noun_chunks], entities)
    for chosen in (summarize(sents, 3, focus), summarize(sents, 3)):
        assert len(chosen) == 3
        assert chosen == sorted(set(chosen))
        assert trailer not in chosen
        assert all(0 <= i < len(sents) for i in chosen)
    # The lead of a well-formed news story is its best sentence.
    assert 0 in summarize(sents, 3, focus)


@pytest.mark.parametrize(
    "junk",
    [
        "By Jane Smith and John Doe, Associated Press",
        "Published: 12:04 EST, 1 May 2013 | Updated: 14:30 EST, 1 May 2013",
        "By Daily Mail Reporter",
        "Scroll down for video",
        "Pictured: the Riverside public library, which opened in 1962, on Monday.",
        "Have you ever wondered what your local library will look like in ten years?",
        "For more news on city politics and local government, visit our coverage.",
        "Updated 1234 GMT (2034 HKT) April 12, 2015",
        "Library plans.",
    ],
)
def test_junk_is_never_chosen_over_content(nlp: Language, junk: str) -> None:
    sents = sentences(nlp, [junk, *STORY])
    assert sents[0].text.strip() == junk
    assert 0 not in summarize(sents, 3)
    assert 0 not in summarize(sents, 1, focus_terms([("Riverside library", 1.0)], []))
    # Even asked for every sentence, junk stays out while there is content.
    assert 0 not in summarize(sents, len(sents))


def test_trailer_after_the_story_is_not_chosen(nlp: Language) -> None:
    lines = [*STORY, "For more news on Riverside, visit our library coverage."]
    sents = sentences(nlp, lines)
    assert len(sents) == len(lines)
    assert len(STORY) not in summarize(sents, 5)


def test_focus_sentence_beats_a_weak_lead(nlp: Language) -> None:
    # A scene-setting lead, then two stories told alike; only the focus says the library one matters.
    lines = [
        "It was an ordinary Tuesday afternoon, with a light rain falling over the quiet streets.",
        "Dozens of residents waited outside in the rain before the doors of the hall opened.",
        "The council voted to double parking fees in the town centre from June.",
        "The council voted to close the Riverside library in the town centre from June.",
        "Shop owners fear the higher parking fees will keep shoppers away from the town centre.",
        "Readers fear the closure of the Riverside library will leave the town without a reading room.",
        "Parking fees in the town have not changed for ten years.",
        "The Riverside library has not changed its opening hours for ten years.",
    ]
    sents = sentences(nlp, lines)
    assert len(sents) == len(lines)
    focus = focus_terms([("Riverside library", 0.9), ("closure", 0.2)], [("Riverside", 0.5)])
    assert summarize(sents, 1, focus) == [3]
    assert summarize(sents, 1) != [3]  # the focus, not the wording, makes the difference
    assert 0 not in summarize(sents, 1)
    assert 0 not in summarize(sents, 1, focus)


def test_fewer_sentences_than_count_returns_all(nlp: Language) -> None:
    sents = sentences(nlp, STORY[:2])
    assert summarize(sents, 3) == [0, 1]
    assert summarize(sents, 5, {"library": 1.0}) == [0, 1]


def test_empty_input_and_zero_count(nlp: Language) -> None:
    assert summarize([], 3) == []
    assert summarize([], 3, {"library": 1.0}) == []
    assert summarize(sentences(nlp, STORY), 0) == []


def test_near_duplicates_are_not_both_chosen(nlp: Language) -> None:
    lines = [
        STORY[0],
        # The picture caption that repeats the lead, as DailyMail pages do.
        "The city council approved a $40 million expansion of the Riverside library on Monday.",
        *STORY[1:],
        STORY[0],  # and an exact repeat
    ]
    sents = sentences(nlp, lines)
    assert len(sents) == len(lines)
    repeats = {0, 1, len(lines) - 1}
    for count in (2, 3, 4, len(lines)):
        chosen = summarize(sents, count)
        assert len(repeats & set(chosen)) == 1, (count, chosen)
    assert len(summarize(sents, len(lines))) == len(lines) - 2


def test_focus_terms_mapping() -> None:
    focus = focus_terms(
        [("Electric vehicles", 0.5), ("the lithium reserves", 0.25)],
        [("Elon Musk", 3.0), ("Musk", 1.0), ("Argentina's", 2.0)],
    )
    assert focus["musk"] == pytest.approx(1.0)  # in two entities: the heaviest word
    assert max(focus.values()) == pytest.approx(1.0)
    assert {"vehicle", "lithium", "reserve", "elon", "argentina"} <= set(focus)
    assert "the" not in focus
    assert all(key == key.lower() for key in focus)
    assert focus_terms([], []) == {}
    assert focus_terms([("the", 1.0)], [("Nobody", 0.0)]) == {}


def test_centrality_memory_grows_with_the_text_not_sentences_times_vocabulary() -> None:
    """A long text of distinct numbers made a dense sentences × vocabulary matrix (147 KB of text took
    1.39 GB). Scoring is sparse now: 1000 sentences of 8 new terms each need about a megabyte, not 130."""
    described = [
        _Sentence(words=12, terms=tuple(f"{n}-{k}" for k in range(8)), junk=False, caption=False, quote=False)
        for n in range(1000)
    ]
    joined = described[0].terms + described[1].terms
    described[0] = _Sentence(words=16, terms=joined, junk=False, caption=False, quote=False)
    tracemalloc.start()
    try:
        central = _centrality(described)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, peak
    assert central.argmax() in (0, 1) and central.max() == 1.0  # the two sentences that share terms


def test_centrality_is_the_mean_tf_idf_cosine_to_the_other_sentences() -> None:
    terms = [("tax", "tax", "budget"), ("budget", "vote"), ("vote", "tax"), ("weather",)]
    described = [_Sentence(words=10, terms=t, junk=False, caption=False, quote=False) for t in terms]
    vocab = sorted({term for t in terms for term in t})
    counts = np.array([[t.count(term) for term in vocab] for t in terms], dtype=float)
    df = (counts > 0).sum(axis=0)
    weights = np.where(counts > 0, 1 + np.log(np.maximum(counts, 1)), 0) * (np.log(5 / (1 + df)) + 1)
    unit = weights / np.linalg.norm(weights, axis=1)[:, None]
    similarity = unit @ unit.T
    expected = (similarity.sum(axis=1) - 1) / 3
    assert np.allclose(_centrality(described), expected / expected.max())
