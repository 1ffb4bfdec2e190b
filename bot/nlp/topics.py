"""Topics of an article: ranked keyphrases, and the normalised key users and the index agree on."""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from bot.models import Keyphrase

if TYPE_CHECKING:
    from spacy.tokens import Doc


# --- normalisation (pure Python: the bot normalises `!topic ...` without loading a model) ------------------

_LEADING_WORDS = frozenset(
    "a an the this that these those some any each every either neither no another such what which whose "
    "my your his her its our their i me you he she it we us they them mine yours ours theirs".split()
)
# Words ending like plurals that are not (or whose plural is their singular).
_INVARIANT = frozenset(
    "news series species means gas bus us plus thus this his its has was is as yes whereas "
    "texas kansas arkansas atlas bias alias canvas christmas pancreas overseas "
    "lens chassis corps kudos pathos ethos chaos cosmos thermos mars odds "
    "headquarters barracks crossroads whereabouts "
    "economics politics physics mathematics statistics athletics ethics electronics logistics genetics "
    "linguistics gymnastics aerobics acoustics aesthetics ceramics dynamics robotics semantics "
    "data media aircraft spacecraft sheep fish deer".split()
)
_IRREGULAR = {
    "children": "child", "women": "woman", "men": "man", "people": "people", "feet": "foot",
    "teeth": "tooth", "mice": "mouse", "geese": "goose", "criteria": "criterion",
    "phenomena": "phenomenon", "lives": "life", "wives": "wife", "knives": "knife", "wolves": "wolf",
    "halves": "half", "shelves": "shelf", "thieves": "thief", "leaves": "leaf", "calves": "calf",
    "loaves": "loaf", "selves": "self", "elves": "elf", "scarves": "scarf", "hooves": "hoof",
    "heroes": "hero", "potatoes": "potato", "tomatoes": "tomato", "vetoes": "veto", "echoes": "echo",
    "torpedoes": "torpedo", "embargoes": "embargo", "volcanoes": "volcano", "mosquitoes": "mosquito",
    "dominoes": "domino", "tornadoes": "tornado", "quizzes": "quiz",
    "buses": "bus", "busses": "bus", "gases": "gas", "viruses": "virus", "bonuses": "bonus",
    "campuses": "campus", "statuses": "status", "censuses": "census", "consensuses": "consensus",
    "surpluses": "surplus", "choruses": "chorus", "circuses": "circus", "geniuses": "genius",
    "sinuses": "sinus", "octopuses": "octopus", "prospectuses": "prospectus", "fetuses": "fetus",
    "apparatuses": "apparatus", "syllabuses": "syllabus", "cactuses": "cactus", "pluses": "plus",
    "minuses": "minus", "atlases": "atlas", "biases": "bias", "aliases": "alias", "canvases": "canvas",
    "lenses": "lens",
}
# Greek plurals in -es whose singular is -is: crises, analyses, theses...
_IS_PLURALS = frozenset(
    "crises analyses theses hypotheses diagnoses prognoses emphases syntheses parentheses oases synopses "
    "ellipses neuroses metamorphoses paralyses".split()
)
_IE_PLURALS = frozenset(
    "movies cookies calories zombies rookies brownies prairies hoodies selfies smoothies goalies "
    "aussies collies freebies genies veggies pixies lies ties pies dies".split()
)
_CHES_E = frozenset("headaches aches caches niches cliches moustaches mustaches avalanches psyches quiches".split())
_MEN_NOT_PLURAL = frozenset("omen specimen abdomen stamen semen regimen yemen hymen".split())

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
# Anything that is not a letter, digit, apostrophe, full stop or ampersand separates words.
_SEPARATORS = re.compile(r"[^\w'.&]+|_+")
_ACRONYM = re.compile(r"(?:[a-z]\.)+[a-z]\.?")


def singular(word: str) -> str:
    """Rule-based singular of one lower-case word (the head of an English noun phrase)."""
    if len(word) < 3 or not word.isalpha() or word in _INVARIANT:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("men") and word not in _MEN_NOT_PLURAL and len(word) > 4:
        return word[:-3] + "man"  # businessmen, chairmen, congressmen
    if not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word in _IS_PLURALS:
        return word[:-2] + "is"
    if word.endswith("ies"):
        if word in _IE_PLURALS or len(word) <= 4:
            return word[:-1]
        return word[:-3] + "y"
    if word.endswith("sses") or word.endswith(("xes", "zzes", "shes")):
        return word[:-2]
    if word.endswith("ches"):
        return word[:-1] if word in _CHES_E else word[:-2]
    return word[:-1]


# Bump when topic_key changes what it returns: the store re-keys the topics of an existing index once
# (bot.store.topics.TopicQueries.rekey), merging those that now share a key.
TOPIC_KEY_VERSION = 2


@lru_cache(maxsize=65536)
def topic_key(text: str) -> str:
    """Normalise a topic for indexing and look-up: ``"Lithium Reserves"`` and ``"the lithium reserve"``
    both give ``"lithium reserve"``, ``"jobs growth"`` and ``"job growth"`` both ``"job growth"``.

    Lower-cases, unifies apostrophes, hyphens, punctuation and whitespace, drops possessive 's, strips
    leading determiners and pronouns (never the last word) and singularises every word by rule: a
    plural modifier is as much an inflection as a plural head ("jobs growth", "sales taxes"), and a key
    is never shown, so "sale tax" reads oddly to no one.
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    words = []
    for raw in _SEPARATORS.split(text):
        word = raw.strip("'.&")
        if _ACRONYM.fullmatch(word):
            word += "."  # "U.S" and "U.S." alike; the dots tell "u.s." from the pronoun "us"
        if word.endswith("'s"):
            word = word[:-2]
        if word:
            words.append(word)
    start = 0
    while start < len(words) - 1 and words[start] in _LEADING_WORDS:
        start += 1
    return " ".join(singular(word) for word in words[start:])


# --- extraction -----------------------------------------------------------------------------------------
#
# PositionRank (Florescu & Caragea, ACL 2017) adapted to news. Content words (nouns, proper nouns,
# adjectives) are the nodes of a co-occurrence graph; PageRank is personalised by the inverse positions of
# each word's occurrences, so words used early and often win. Position is counted in paragraphs, not words:
# a news lead is written to be read whole, and counting words buries the second paragraph's subject under
# the first one's adjectives. Candidates are adjective* noun+ runs; a candidate scores the sum of its words'
# scores, which favours the specific "declining birth rates" over the bare "rates", times a slowly growing
# function of how often the phrase itself occurs (its words may be frequent in other company). Candidates are
# de-duplicated by topic_key. The list is chosen greedily, each phrase losing weight for every word it shares
# with phrases already chosen, so that one subject does not fill it ("Canadian flag", "Canadian pride",
# "Canadian youth"...). A bare proper noun (a who or where, which the entity index covers) and a single word
# already shown inside a chosen phrase are kept only as a last resort.
#
# DUC-2001 (python -m bench.duc) is the yardstick; see the README for the product's figure against
# PositionRank's published 28.6.

# Co-occurrence window, counted in content words: function words carry no topic. F1@10 on DUC-2001 moves by
# less than half a point for windows 6 to 12.
_WINDOW = 10
_DAMPING = 0.85
# Longer runs are mostly titles with names ("tech executive Elon Musk"); they rarely recur and are dropped.
_MAX_WORDS = 3
_TOLERANCE = 1e-6
_MAX_ITERATIONS = 100
_MIN_LETTERS = 2
# Text with fewer paragraphs than this (a single block of prose) is positioned by sentences instead.
_MIN_PARAGRAPHS = 3
# A phrase occurring n times scores n ** _FREQUENCY_EXPONENT times its words' scores: a phrase the article
# repeats is a subject of it, but its words' scores already count their frequency.
_FREQUENCY_EXPONENT = 0.2
# A phrase's score is multiplied by this for each time one of its words is already in a chosen phrase.
_REPEAT_PENALTY = 0.85
# Paragraph p (from 0) weighs 1 / (p + 2): the lead counts 1.5 times the second paragraph, not twice, since
# wire copy often opens on colour ("a historic meeting") and names its subjects in the next paragraphs.
_POSITION_OFFSET = 2.0

# Nouns that only count things.
_QUANTITY_NOUNS = frozenset("millions thousands hundreds dozens billions trillions tens scores lots".split())


@dataclass(frozen=True, slots=True)
class _Ids:
    """spaCy ids of the attributes, tags and labels extraction reads; looked up on first use, so that
    importing this module for :func:`topic_key` does not import spaCy."""

    attrs: list[int]
    adj: int
    propn: int
    verb: int
    content_pos: frozenset[int]
    nouns: frozenset[int]
    judging_tags: frozenset[int]
    participle: int
    amod: int
    numeric_ents: frozenset[int]
    name_ents: frozenset[int]
    not_name_pos: frozenset[int]
    hyphen: int


@lru_cache(maxsize=1)
def _ids() -> _Ids:
    from spacy import attrs, symbols
    from spacy.strings import get_string_id as sid

    return _Ids(
        attrs=[attrs.POS, attrs.TAG, attrs.DEP, attrs.IS_STOP, attrs.ENT_TYPE, attrs.SENT_START,
               attrs.IS_SPACE, attrs.ORTH, attrs.SPACY],
        adj=symbols.ADJ,
        propn=symbols.PROPN,
        verb=symbols.VERB,
        content_pos=frozenset({symbols.ADJ, symbols.NOUN, symbols.PROPN}),
        nouns=frozenset({symbols.NOUN, symbols.PROPN}),
        # Comparatives and superlatives judge rather than name ("biggest oil spill").
        judging_tags=frozenset({sid("JJR"), sid("JJS")}),
        # An -ing participle modifying a noun names a kind of it ("declining birth rates"); -ed ones mostly
        # report events ("reported cases") and cost precision on DUC-2001.
        participle=sid("VBG"),
        amod=sid("amod"),
        # Numbers, dates and amounts are facts about a topic, not topics ("Saturday", "seven miles").
        numeric_ents=frozenset(sid(e) for e in ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "CARDINAL",
                                                "ORDINAL")),
        # Inside a name every word belongs to the name: "Shining" in "Shining Path" is tagged a verb, and a
        # candidate must not cut the name in half ("Path guerrillas").
        name_ents=frozenset(sid(e) for e in ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT",
                                             "WORK_OF_ART", "LAW", "PRODUCT", "LANGUAGE")),
        not_name_pos=frozenset({symbols.PUNCT, symbols.PART, symbols.NUM, symbols.DET, symbols.ADP,
                                symbols.CCONJ, symbols.SCONJ, symbols.SYM, symbols.SPACE, symbols.X}),
        hyphen=sid("-"),
    )


@lru_cache(maxsize=65536)
def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


@lru_cache(maxsize=65536)
def _node(lower: str) -> str:
    """Graph node of a word: its lower-case singular, so "rate" and "rates" share their score."""
    return singular(lower)


@dataclass(slots=True)
class _Words:
    """The content words of a doc (nouns, proper nouns, adjectives worth a node), one entry per list each."""

    text: list[str] = field(default_factory=list)  # display form: proper nouns keep their case
    noun: list[bool] = field(default_factory=list)  # noun or proper noun, else adjective
    propn: list[bool] = field(default_factory=list)
    index: list[int] = field(default_factory=list)  # position among all words: adjacent words form phrases
    sentence: list[int] = field(default_factory=list)
    unit: list[int] = field(default_factory=list)  # paragraph (or sentence) index, from 0


def _words(doc: Doc) -> _Words:
    """The content words of ``doc``. Space tokens are skipped and hyphenated compounds ("wildlife-rich",
    "in-flight") are one word, as keyphrase corpora tokenise them."""
    ids = _ids()
    rows = doc.to_array(ids.attrs).tolist()
    hyphen, content_pos, nouns, adj, verb, propn_pos = (
        ids.hyphen, ids.content_pos, ids.nouns, ids.adj, ids.verb, ids.propn)
    participle, amod, name_ents, not_name_pos = ids.participle, ids.amod, ids.name_ents, ids.not_name_pos
    judging_tags, numeric_ents = ids.judging_tags, ids.numeric_ents
    strings = doc.vocab.strings
    words = _Words()
    paragraphs: list[int] = []
    paragraph = sentence = index = -1
    new_paragraph = new_sentence = True
    n = len(rows)
    i = 0
    while i < n:
        pos, tag, dep, stop, ent, start, space, orth, _ = rows[i]
        if start == 1:
            new_sentence = True
        if space:
            if "\n" in strings[orth]:
                new_paragraph = new_sentence = True
            i += 1
            continue
        paragraph += new_paragraph
        sentence += new_sentence
        first_in_sentence = new_sentence
        new_paragraph = new_sentence = False
        index += 1
        j = i
        while (j + 2 < n and not rows[j][8] and rows[j + 1][7] == hyphen and not rows[j + 1][8]
               and strings[rows[j][7]].isalnum() and strings[rows[j + 2][7]].isalnum()):
            j += 2
        if j > i:
            text = "-".join(strings[rows[k][7]] for k in range(i, j + 1, 2))
            pos = rows[j][0]
            if pos == verb:
                pos = adj  # drought-related, lightning-sparked
            propn = all(rows[k][0] == propn_pos for k in range(i, j + 1, 2))
            content = pos in content_pos and _letters(text) >= _MIN_LETTERS
        else:
            if pos == verb and tag == participle and dep == amod:
                pos = adj
            if ent in name_ents and not stop and pos not in not_name_pos:
                pos = propn_pos
            content = pos in content_pos and not stop and tag not in judging_tags and ent not in numeric_ents
            if content:
                text = strings[orth]
                content = _letters(text) >= _MIN_LETTERS and text.lower() not in _QUANTITY_NOUNS
                # the tagger calls many a capitalised first word a proper noun: trust it there for names only
                propn = pos == propn_pos and (ent in name_ents or not first_in_sentence)
        i = j + 1
        if not content:
            continue
        words.text.append(text if propn else text.lower())
        words.noun.append(pos in nouns)
        words.propn.append(propn)
        words.index.append(index)
        words.sentence.append(sentence)
        paragraphs.append(paragraph)
    words.unit = paragraphs if paragraph + 1 >= _MIN_PARAGRAPHS else words.sentence
    return words


def _pagerank(n: int, sources: np.ndarray, targets: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Personalised PageRank on the undirected graph whose edges (one per co-occurrence, so repeated edges
    weigh more) are ``sources[i]``–``targets[i]``; ``bias`` sums to 1.

    The graph stays an edge list: a long article has thousands of distinct words, and an n×n matrix for it
    would cost more than the rest of the extraction.
    """
    tails = np.concatenate((sources, targets))
    heads = np.concatenate((targets, sources))
    out = np.bincount(tails, minlength=n).astype(np.float64)
    out[out == 0] = 1.0  # an isolated word keeps its teleport share only
    share = 1.0 / out[tails]
    teleport = (1 - _DAMPING) * bias
    scores = bias
    for _ in range(_MAX_ITERATIONS):
        new = teleport + _DAMPING * np.bincount(heads, weights=scores[tails] * share, minlength=n)
        if np.abs(new - scores).sum() < _TOLERANCE:
            return new
        scores = new
    return scores


def extract_keyphrases(doc: Doc, limit: int = 10) -> list[Keyphrase]:
    """Rank the keyphrases of ``doc``, best first: at most ``limit``, one per :func:`topic_key`.

    ``doc`` must be tagged (POS, dependencies and entities as :func:`bot.nlp.pipeline.load_nlp` gives them);
    a leading headline is text like any other. Each :class:`Keyphrase` has ``key == topic_key(text)`` and as
    ``score`` the sum of its words' PageRank scores, weighted by how often the phrase occurs and lowered for
    each of its words that a phrase before it shows (so that one subject does not fill the list). A bare
    proper noun ("Musk": a who or where, not a what) and a single word already inside a better phrase
    ("Path" after "Shining Path") rank after all other phrases. An empty doc, or one without nouns, gives
    ``[]``.
    """
    if limit <= 0 or not len(doc):
        return []
    words = _words(doc)
    if not words.text:
        return []
    node_ids: dict[str, int] = {}
    word_node = [node_ids.setdefault(_node(text.lower()), len(node_ids)) for text in words.text]
    n = len(node_ids)

    sequence = np.array(word_node, dtype=np.int64)
    units = np.array(words.unit, dtype=np.float64)
    bias = np.bincount(sequence, weights=1.0 / (units + _POSITION_OFFSET), minlength=n)
    bias /= bias.sum()
    edges = [(sequence[:-d], sequence[d:]) for d in range(1, min(_WINDOW, len(sequence)))]
    sources = np.concatenate([a[a != b] for a, b in edges]) if edges else sequence[:0]
    targets = np.concatenate([b[a != b] for a, b in edges]) if edges else sequence[:0]
    scores = _pagerank(n, sources, targets, bias).tolist()

    candidates: dict[str, _Candidate] = {}
    index, sentence = words.index, words.sentence
    start = 0
    for i in range(1, len(index) + 1):
        if i == len(index) or index[i] != index[i - 1] + 1 or sentence[i] != sentence[i - 1]:
            _add_candidates(start, i, words, scores, word_node, candidates)
            start = i
    return [Keyphrase(c.display(), key, score) for key, c, score in _choose(candidates, limit)]


def _choose(candidates: dict[str, _Candidate], limit: int) -> list[tuple[str, _Candidate, float]]:
    """The ``limit`` best candidates with the scores they were chosen at. Each is chosen after a penalty for
    its words that the phrases chosen before it already show; bare names and single words already shown
    come last, in the order of their own scores."""
    ranked = sorted(candidates.items(), key=lambda item: (-item[1].ranking_score(), item[1].first))
    # A max-heap of (-penalised score, rank): penalties only grow, so a popped entry whose score is still
    # current beats every other one (lazy greedy selection).
    heap = [(-c.ranking_score(), rank) for rank, (_, c) in enumerate(ranked) if not c.bare_name]
    last = [rank for rank, (_, c) in enumerate(ranked) if c.bare_name]
    chosen: list[tuple[str, _Candidate, float]] = []
    shown: Counter[str] = Counter()
    while heap and len(chosen) < limit:
        stored, rank = heapq.heappop(heap)
        key, candidate = ranked[rank]
        words = key.split()
        if len(words) == 1 and key in shown:
            last.append(rank)
            continue
        score = candidate.ranking_score() * _REPEAT_PENALTY ** sum(shown[w] for w in words)
        if score < -stored:
            heapq.heappush(heap, (-score, rank))
            continue
        chosen.append((key, candidate, score))
        shown.update(set(words))
    for rank in sorted(last)[: limit - len(chosen)]:
        key, candidate = ranked[rank]
        chosen.append((key, candidate, candidate.ranking_score()))
    return chosen


@dataclass(slots=True)
class _Candidate:
    """A keyphrase candidate: all occurrences of one key."""

    score: float  # the sum of its words' scores
    first: int  # word index of the first occurrence: earlier wins ties
    bare_name: bool
    forms: dict[str, int]  # display text -> occurrences
    count: int = 1  # occurrences

    def ranking_score(self) -> float:
        """The words' scores, weighted by how often the phrase itself occurs."""
        return self.score * self.count**_FREQUENCY_EXPONENT

    def display(self) -> str:
        """The most frequent spelling; on a tie the less capitalised (a headline's Title Case loses)."""
        return max(self.forms, key=lambda f: (self.forms[f], sum(c.islower() for c in f)))


def _add_candidates(start: int, end: int, words: _Words, scores: list[float], word_node: list[int],
                    candidates: dict[str, _Candidate]) -> None:
    """Record the adjective* noun+ candidates in ``words[start:end]``, a run of adjacent content words."""
    noun = words.noun
    k = start
    while k < end:
        first = k
        while k < end and not noun[k]:
            k += 1
        nouns = k
        while k < end and noun[k]:
            k += 1
        if k == nouns or k - first > _MAX_WORDS:
            continue
        text = " ".join(words.text[first:k])
        key = topic_key(text)
        candidate = candidates.get(key)
        if candidate is None:
            candidates[key] = _Candidate(
                score=sum(scores[word_node[i]] for i in range(first, k)),
                first=first,
                bare_name=k - first == 1 and words.propn[first],
                forms={text: 1},
            )
        else:
            candidate.forms[text] = candidate.forms.get(text, 0) + 1
            candidate.count += 1
