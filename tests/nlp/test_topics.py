"""Topics: keyphrase extraction on real parses, and the pure-Python topic key."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from bot.models import Keyphrase
from bot.nlp.topics import extract_keyphrases, topic_key
from tests.conftest import ROOT, SEED_ARTICLE

# Words a clean keyphrase never starts with.
DETERMINERS_AND_PRONOUNS = frozenset(
    "a an the this that these those some any each every no another such my your his her its our their "
    "i me you he she it we us they them what which who whom whose".split()
)


def _body(markdown: str) -> str:
    """The seed article without its front matter: the text after the second `---` line."""
    parts = re.split(r"^---[ \t]*$", markdown, maxsplit=2, flags=re.MULTILINE)
    assert len(parts) == 3, "seed article has no front matter"
    return parts[2].strip()


@pytest.fixture(scope="module")
def seed_doc(nlp: Language) -> Doc:
    return nlp(_body(SEED_ARTICLE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def seed_phrases(seed_doc: Doc) -> list[Keyphrase]:
    return extract_keyphrases(seed_doc, limit=15)


# --- extraction on the seed article ---------------------------------------------------------------------


@pytest.mark.parametrize("expected", ["lithium reserves", "social media censorship", "declining birth rates"])
def test_seed_article_top_15_has_the_real_topics(seed_phrases: list[Keyphrase], expected: str) -> None:
    found = {p.key for p in seed_phrases} | {p.text.lower() for p in seed_phrases}
    assert topic_key(expected) in found or expected in found, [p.text for p in seed_phrases]


def test_seed_article_phrases_are_clean(nlp: Language, seed_doc: Doc) -> None:
    stop_words = nlp.Defaults.stop_words
    phrases = extract_keyphrases(seed_doc, limit=50)
    assert len(phrases) == 50
    for phrase in phrases:
        words = phrase.text.split()
        assert words, phrase
        assert words[0].lower() not in DETERMINERS_AND_PRONOUNS, phrase
        assert words[0].lower() not in stop_words and words[-1].lower() not in stop_words, phrase
        assert any(c.isalpha() for c in phrase.text), phrase
        assert phrase.text == phrase.text.strip() and "\n" not in phrase.text, phrase
        assert not re.match(r"\W", phrase.text) and not re.search(r"\W$", phrase.text.rstrip(".")), phrase


def test_seed_article_keys_are_topic_keys_and_unique(seed_doc: Doc) -> None:
    phrases = extract_keyphrases(seed_doc, limit=30)
    assert all(isinstance(p, Keyphrase) for p in phrases)
    assert all(p.key == topic_key(p.text) for p in phrases)
    assert len({p.key for p in phrases}) == len(phrases)


def test_limit_is_respected(seed_doc: Doc) -> None:
    assert len(extract_keyphrases(seed_doc, limit=3)) == 3
    assert extract_keyphrases(seed_doc, limit=0) == []
    # the first phrases do not depend on how many are asked for
    assert extract_keyphrases(seed_doc, limit=3) == extract_keyphrases(seed_doc, limit=10)[:3]


def test_display_text_is_lower_case_except_names(seed_doc: Doc) -> None:
    texts = {p.text for p in extract_keyphrases(seed_doc, limit=30)}
    assert {"lithium industry", "declining birth rates", "social media censorship"} <= texts
    assert any(t[0].isupper() for t in texts), texts  # names keep their capitals


def test_keyphrase_is_frozen() -> None:
    phrase = Keyphrase("lithium industry", "lithium industry", 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        phrase.score = 1.0  # type: ignore[misc]


# --- ranking ----------------------------------------------------------------------------------------------

LITHIUM = "Lithium prices soared as battery makers scrambled for lithium supplies."
COFFEE = "Coffee growers in Brazil warned of a poor harvest after frost hit coffee farms."


def test_ranking_is_not_raw_counts(nlp: Language) -> None:
    # The same words, counted the same, in the opposite order: a count ranks both docs alike, a
    # position-aware ranking puts each doc's opening subject first.
    lithium_first = extract_keyphrases(nlp(f"{LITHIUM}\n\n{COFFEE}"), limit=5)
    coffee_first = extract_keyphrases(nlp(f"{COFFEE}\n\n{LITHIUM}"), limit=5)
    assert "lithium" in lithium_first[0].key
    assert "coffee" in coffee_first[0].key
    assert [p.key for p in lithium_first] != [p.key for p in coffee_first]


def test_lead_beats_a_more_frequent_late_word(nlp: Language) -> None:
    # "ministers" twice, "lithium mining" once: counts would rank them the other way round.
    text = "\n\n".join([
        "Argentina plans to expand lithium mining in the Andes.",
        "Ministers met on Tuesday.",
        "The ministers spoke to reporters.",
    ])
    phrases = extract_keyphrases(nlp(text), limit=5)
    assert phrases[0].key == "lithium mining", phrases
    assert any(p.key == "minister" for p in phrases)


def test_headline_does_not_run_into_the_body(nlp: Language) -> None:
    phrases = extract_keyphrases(nlp("Battery Makers\nLithium prices rise again"), limit=5)
    keys = {p.key for p in phrases}
    assert {"battery maker", "lithium price"} <= keys, keys
    assert "lithium prices" in {p.text for p in phrases}  # a capitalised first word is not a name


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", "...", " ,;!? -- ", "123 456", "the of and it"])
def test_nothing_to_extract_gives_empty_list(nlp: Language, text: str) -> None:
    assert extract_keyphrases(nlp(text)) == []


def test_unparsed_empty_doc(nlp: Language) -> None:
    assert extract_keyphrases(Doc(nlp.vocab, words=[])) == []


# --- topic_key ---------------------------------------------------------------------------------------


def test_plural_and_singular_share_a_key() -> None:
    assert topic_key("Lithium reserves") == topic_key("lithium reserve") == "lithium reserve"
    assert topic_key("declining birth rates") == topic_key("Declining Birth Rate")


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("reserves", "reserve"),
        ("industries", "industry"),
        ("rates", "rate"),
        ("crises", "crisis"),
        ("batteries", "battery"),
        ("analyses", "analysis"),
        ("taxes", "tax"),
        ("churches", "church"),
        ("classes", "class"),
        ("businesses", "business"),
        ("buses", "bus"),
        ("viruses", "virus"),
        ("heroes", "hero"),
        ("movies", "movie"),
        ("knives", "knife"),
        ("women", "woman"),
        ("children", "child"),
        ("businessmen", "businessman"),
        ("elections", "election"),
    ],
)
def test_singularises(plural: str, singular: str) -> None:
    assert topic_key(plural) == singular


@pytest.mark.parametrize(
    "word",
    ["news", "gas", "series", "species", "us", "bus", "analysis", "business", "crisis", "status", "census",
     "economics", "politics", "texas", "physics", "glass", "chaos", "data"],
)
def test_singularisation_exceptions(word: str) -> None:
    assert topic_key(word) == word
    assert topic_key(f"natural {word}") == f"natural {word}"


def test_every_word_is_singularised() -> None:
    assert topic_key("jobs growth") == topic_key("job growth") == "job growth"
    assert topic_key("Women's Jobs Records") == topic_key("woman job record")
    assert topic_key("sales taxes") == topic_key("sale tax") == "sale tax"
    assert topic_key("news agencies") == "news agency"
    assert topic_key("U.S. interests") == "u.s. interest"


@pytest.mark.parametrize(
    "text", ["jobs growth", "sales taxes", "Crises analyses", "women's businesses", "the U.S. bus"]
)
def test_topic_keys_are_stable(text: str) -> None:
    """A stored key normalised again is unchanged: re-keying an index (bot.store.topics.rekey) works from
    the stored keys."""
    assert topic_key(topic_key(text)) == topic_key(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("The lithium industry", "lithium industry"),
        ("  its   Lithium\tReserves ", "lithium reserve"),
        ("these supply chains", "supply chain"),
        ("Our economy", "economy"),
        ("free-market principles", "free market principle"),
        ("free market principle", "free market principle"),
        ("free–market principles", "free market principle"),
        ("Argentina’s lithium", "argentina lithium"),
        ("Argentina's lithium", "argentina lithium"),
        ("the U.S. economy", "u.s. economy"),
        ("U.S economy", "u.s. economy"),
        ("US", "us"),
        ("the", "the"),
        ("lithium, batteries!", "lithium battery"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalisation(text: str, key: str) -> None:
    assert topic_key(text) == key


def test_topic_key_needs_no_spacy() -> None:
    # The bot normalises `!topic ...` input without loading a model; importing the module must not even
    # import spaCy (a fresh interpreter, since this one has spaCy loaded already).
    code = (
        "import sys; from bot.nlp.topics import topic_key; "
        "assert topic_key('Lithium Reserves') == 'lithium reserve'; print('spacy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


CANADIAN_PRIDE = """Canadian pride took a blow when sprinter Ben Johnson lost his Olympic gold medal after a \
steroid test.

Canadian citizens watched the Canadian flag lowered as the steroid scandal spread. Canadian youth had idolised \
Johnson.

Canadian headlines called the drug scandal a national disgrace. The Olympic committee said the steroid test was \
conclusive. Canadian officials promised an inquiry into drug use in sport."""


def test_one_word_does_not_fill_the_list(nlp: Language) -> None:
    # "Canadian" is the article's most repeated word: every phrase with it scores high, but each one after the
    # first shows less that is new.
    top = [p.text for p in extract_keyphrases(nlp(CANADIAN_PRIDE), limit=4)]
    assert sum("Canadian" in p for p in top) <= 2, top
    assert any("steroid" in p for p in top), top


def test_choice_rewards_repeated_phrases_and_penalises_repeated_words() -> None:
    from bot.nlp.topics import _Candidate, _choose

    def candidate(score: float, first: int, count: int = 1) -> _Candidate:
        return _Candidate(score=score, first=first, bare_name=False, forms={}, count=count)

    candidates = {
        "oil spill": candidate(1.0, 0),
        "oil price": candidate(0.95, 1),  # shares "oil" with a better phrase
        "tanker crew": candidate(0.9, 2),
        "cleanup cost": candidate(0.8, 3, count=3),  # weaker words, but the article repeats the phrase
    }
    assert [key for key, _, _ in _choose(candidates, 4)] == ["oil spill", "cleanup cost", "tanker crew", "oil price"]
