"""Extractive summary: pick the few body sentences of an article that best say what it is about.

News puts its most important facts first, so the position of a sentence is the strongest single signal; it
is combined with how central the sentence is to the rest of the article (TF-IDF similarity to the other
sentences), how much of the article's focus (its salient entities and topics, see :func:`focus_terms`) it
carries, and whether it is of informative length. Sentences that are not content at all (bylines, dates,
"scroll down for video", picture captions, questions to the reader, "For more news ... visit ..." trailers,
fragments) are never chosen unless the article is nothing else. Near-duplicates are never chosen together.

Everything here is pure Python and numpy over the tokens spaCy already produced: it costs a small fraction of
the parse, and its time and memory grow linearly with the text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Span

__all__ = ["focus_terms", "summarize", "term_key"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

# Lines that belong to the page, not to the story. Matched against the lower-cased sentence.
_BOILERPLATE = re.compile(
    r"""
    \b(?:published|updated|last\s+(?:updated|modified))\s*(?::|\bat\s+\d|\bon\s+\d)  # "published: 12:00 | updated: ..."
    | \bscroll\s+(?:down|up)\s+(?:for|to)\b                                      # "scroll down for video"
    | \bclick\s+(?:here|the\s+link)\b
    | \bfor\s+(?:more|the\s+latest|all\s+the\s+latest)\b.{0,80}?\b(?:visit|see|go\s+to|click|follow|read)\b
    | \bfollow\s+(?:us|[@\w.]+)\s+on\s+(?:twitter|facebook|instagram|x)\b
    | \b(?:contributed|added)\s+(?:to\s+)?this\s+report\b
    | \ball\s+rights\s+reserved\b | ^\W*(?:image\s+)?copyright\b | \bcopyright\s*(?:©|\(c\)|\d{4}) | ©
    | \bsign\s+up\s+(?:for|to)\b | \bsubscribe\s+to\b
    | \bshare\s+(?:or\s+comment\s+on\s+)?this\s+(?:article|story)\b
    | \bthis\s+(?:story|article)\s+(?:has\s+been|was)\s+(?:updated|corrected|amended)\b
    | \b(?:watch|see)\s+(?:the\s+)?video\s+(?:below|above)\b
    | https?:// | \bwww\. | \w@[\w-]+\.\w                                              # calls to go elsewhere
    | ^\W*(?:video|watch|read\s+more|related|advertisement)\W*$
    """,
    re.VERBOSE,
)
# A timestamp such as "updated 1234 gmt (2034 hkt)" or "12:00 est, 1 may 2013".
_TIMESTAMP = re.compile(r"\b\d{1,2}:?\d{2}\s*(?:gmt|est|edt|et|bst|hkt|utc|pst|pdt)\b")
# A dateline of the page: "Updated 1234 GMT ...", "Posted on 12 May 2013" (the tagger may read a verb).
_DATELINE = re.compile(r"^\W*(?:published|updated|posted|last\s+(?:updated|modified))\b.*(?:\b(?:19|20)\d\d\b|\d:\d)")
# Picture captions: "pictured: ...", "above: ...", "(file picture)", "(left)".
_CAPTION_START = re.compile(
    r"^\W*(?:pictured|picture|photo|photograph|image|above|below|left|right|top|bottom|inset|file\s+photo)\b"
    r"\s*[:,(\-–—]"
)
_CAPTION_MARK = re.compile(
    r"\((?:[^)]{0,30}\b)?(?:pictured|picture|photo|photograph|file\s+image|left|right|centre|center|"
    r"above|below|inset|top|bottom)\b[^)]{0,30}\)"
)
_QUOTES = "\"'‘’“”«»"
_VERB_POS = frozenset({"VERB", "AUX"})


@lru_cache(maxsize=1 << 16)
def term_key(word: str) -> str:
    """The key of a word in a focus mapping: lower case, no possessive, a crude singular.

    Deliberately lighter than a lemmatiser so that it gives the same key for a word wherever it comes from:
    a spaCy token of a sentence, or the bare text of a keyphrase or entity name.
    """
    key = word.lower().replace("’", "'")
    if key.endswith("'s"):
        key = key[:-2]
    key = key.strip("'")
    if len(key) > 4 and key.endswith("ies"):
        return key[:-3] + "y"
    if len(key) > 3 and key.endswith("s") and not key.endswith(("ss", "us", "is", "ics")):
        return key[:-1]
    return key


def _is_term(key: str) -> bool:
    """A content word: letters or digits only (after :func:`term_key`), not a stop word, not a lone letter."""
    return (key.isalpha() or key.isdigit()) and key not in STOP_WORDS and (len(key) > 1 or key.isdigit())


@lru_cache(maxsize=1 << 16)
def _term(word: str) -> str:
    """The key of ``word`` if it is a content word, else ``""`` (cached: news repeats its words)."""
    key = term_key(word)
    return key if _is_term(key) else ""


def focus_terms(
    keyphrases: Iterable[tuple[str, float]], entities: Iterable[tuple[str, float]]
) -> dict[str, float]:
    """Turn ``(phrase text, score)`` pairs of keyphrases and entities into a focus mapping for :func:`summarize`.

    Each phrase is split into words; stop words are dropped and each remaining word is keyed by
    :func:`term_key`. Scores are divided by the best score of their own list, so that keyphrases and
    entities weigh alike whatever their scales, and a word gets the sum over the phrases it occurs in (a
    name that is both a salient entity and part of a topic counts twice). The result is scaled so that the
    heaviest word weighs 1.0.
    """
    weights: Counter[str] = Counter()
    for pairs in (keyphrases, entities):
        pairs = [(text, float(score)) for text, score in pairs if score > 0]
        if not pairs:
            continue
        best = max(score for _, score in pairs)
        for text, score in pairs:
            keys = {term_key(word) for word in _WORD.findall(text)}
            for key in keys:
                if _is_term(key):
                    weights[key] += score / best
    if not weights:
        return {}
    top = max(weights.values())
    return {key: weight / top for key, weight in weights.items()}


@dataclass(frozen=True)
class _Sentence:
    """What the scorer needs to know about one sentence."""

    words: int  # word tokens (not punctuation)
    terms: tuple[str, ...]  # content words, keyed by term_key, with repeats
    junk: bool  # not content at all
    caption: bool  # carries a picture marker such as "(pictured)"
    quote: bool  # opens with a quotation mark: a quote without its speaker


def _describe(sentence: Span) -> _Sentence:
    # One pass over the tokens: their attributes are the costly part, the regexes run once per sentence.
    texts: list[str] = []
    verbs: list[bool] = []
    for token in sentence:
        if not (token.is_punct or token.is_space):
            texts.append(token.text)
            verbs.append(token.pos_ in _VERB_POS)
    terms = tuple(key for text in texts if (key := _term(text)))
    text = " ".join(sentence.text.split()).lower()
    junk = (
        len(texts) < 5
        or len(terms) < 3
        or text.rstrip(_QUOTES + " )").endswith("?")
        or bool(_BOILERPLATE.search(text))
        or bool(_CAPTION_START.match(text))
        or bool(_DATELINE.match(text))
        or _is_label(text, verbs)
        # "By Jane Smith, Reuters", "Updated 1234 GMT (2034 HKT)": no verb, so no statement.
        or (not any(verbs) and ((texts[0].lower() == "by" and len(texts) <= 12) or bool(_TIMESTAMP.search(text))))
    )
    return _Sentence(
        words=len(texts),
        terms=terms,
        junk=junk,
        caption=bool(_CAPTION_MARK.search(text)),
        quote=text[:1] in _QUOTES,
    )


def _is_label(text: str, verbs: Sequence[bool]) -> bool:
    """A caption or transcript label: a few verbless words and a colon ("Lucky: ...", "Caller: ...")."""
    head, colon, _ = text.partition(": ")  # not "12:30"
    if not colon:
        return False
    words = len(_WORD.findall(head))
    return 0 < words <= 4 and not any(verbs[:words])


@dataclass(frozen=True)
class _Weights:
    """The scoring function's constants, fitted by a small grid search on CNN/DailyMail dev and BBC.

    A sentence scores ``position / sqrt(1 + index) + centrality + focus + length terms - penalties``; the
    centrality and focus signals are scaled to [0, 1] within the article, so the weights compare directly.
    """

    position: float = 1.5  # news is written lead first: the strongest single signal
    decay: float = 0.5  # position prior is 1 / (1 + index) ** decay: slow, later facts can still win
    centrality: float = 1.0  # what the rest of the article keeps talking about
    focus: float = 0.2  # the caller's salient entities and topics
    length: float = 0.5  # informative length: a bonus growing up to `short` words...
    short: int = 15
    verbose: float = 0.6  # ...and a penalty for each `long` words beyond `long`: long sentences dilute
    long: int = 25
    caption: float = 0.1  # "(pictured)", "(left)": usually a picture caption that slipped into the text
    quote: float = 0.1  # a quote opening the sentence rarely says who or what on its own
    duplicate: float = 0.6  # share of the shorter sentence's terms that makes two sentences repeats
    # How much of the article the summary keeps changes what a good summary is. A few sentences out of
    # many are a teaser, where the lead is king and concise sentences win; two fifths of the article are a
    # digest, where covering what the article keeps coming back to matters and the lead is one sentence
    # among many. Between `brief` and `digest` (summary sentences / candidate sentences) the position
    # weight and the length terms fade to their digest share.
    brief: float = 0.25
    digest: float = 0.4
    digest_position: float = 0.1
    digest_length: float = 0.0


_WEIGHTS = _Weights()


def _centrality(described: Sequence[_Sentence]) -> np.ndarray:
    """Mean TF-IDF cosine similarity of each sentence to the others, scaled so the most central is 1.

    Sparse: one entry per (sentence, distinct term), so memory and time grow with the text, never with
    sentences × vocabulary (a long text of distinct numbers would make that dense matrix gigabytes).
    """
    n = len(described)
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for i, sentence in enumerate(described):
        for key, count in Counter(sentence.terms).items():
            rows.append(i)
            cols.append(vocab.setdefault(key, len(vocab)))
            counts.append(count)
    if n < 2 or not vocab:
        return np.zeros(n)
    row = np.array(rows, dtype=np.intp)
    col = np.array(cols, dtype=np.intp)
    df = np.bincount(col, minlength=len(vocab))
    weight = (1.0 + np.log(np.array(counts, dtype=float))) * (np.log((1.0 + n) / (1.0 + df)) + 1.0)[col]
    norms = np.sqrt(np.bincount(row, weights=weight * weight, minlength=n))
    norms[norms == 0] = 1.0
    weight /= norms[row]
    # The summed similarity to the others is the dot product with the sum of all rows, less the sentence's
    # own (1 for any sentence with terms).
    column_sums = np.bincount(col, weights=weight, minlength=len(vocab))
    self_similarity = np.bincount(row, weights=weight * weight, minlength=n)
    central = (np.bincount(row, weights=weight * column_sums[col], minlength=n) - self_similarity) / (n - 1)
    top = central.max()
    return central / top if top > 0 else central


def _focus(described: Sequence[_Sentence], focus: Mapping[str, float] | None) -> np.ndarray:
    """Share of the focus weight each sentence carries, scaled so the best is 1."""
    if not focus:
        return np.zeros(len(described))
    scores = np.array([sum(focus.get(key, 0.0) for key in set(s.terms)) for s in described])
    top = scores.max() if len(scores) else 0.0
    return scores / top if top > 0 else scores


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _features(described: Sequence[_Sentence], focus: Mapping[str, float] | None) -> dict[str, np.ndarray]:
    """The per-sentence signals that do not depend on the weights."""
    return {
        "index": np.arange(len(described), dtype=float),
        "words": np.array([s.words for s in described], dtype=float),
        "centrality": _centrality(described),
        "focus": _focus(described, focus),
        "caption": np.array([s.caption for s in described], dtype=float),
        "quote": np.array([s.quote for s in described], dtype=float),
        "junk": np.array([s.junk for s in described], dtype=bool),
    }


def _combine(f: Mapping[str, np.ndarray], w: _Weights, count: int) -> np.ndarray:
    """The score of each sentence (higher is better) for a summary of ``count`` sentences."""
    candidates = max(1, int(np.count_nonzero(~f["junk"])))
    digest = min(max((count / candidates - w.brief) / (w.digest - w.brief), 0.0), 1.0)
    position = w.position * (1.0 - digest * (1.0 - w.digest_position))
    length = 1.0 - digest * (1.0 - w.digest_length)
    return (
        position / (1.0 + f["index"]) ** w.decay
        + w.centrality * f["centrality"]
        + w.focus * f["focus"]
        + length * w.length * np.minimum(f["words"] / w.short, 1.0)
        - length * w.verbose * np.maximum(f["words"] - w.long, 0.0) / w.long
        - w.caption * f["caption"]
        - w.quote * f["quote"]
    )


def _select(described: Sequence[_Sentence], score: np.ndarray, count: int, w: _Weights) -> list[int]:
    # Junk is never worth showing, unless the article is nothing else (then a fragment beats no summary).
    candidates = [i for i, s in enumerate(described) if not s.junk] or list(range(len(described)))
    chosen: list[int] = []
    chosen_terms: list[set[str]] = []
    for i in sorted(candidates, key=lambda i: -score[i]):
        terms = set(described[i].terms)
        # A repeat adds nothing to a summary this short: it is skipped even if that leaves it shorter.
        if any(_overlap(terms, other) >= w.duplicate for other in chosen_terms):
            continue
        chosen.append(i)
        chosen_terms.append(terms)
        if len(chosen) == count:
            break
    return sorted(chosen)


def summarize(
    sentences: Sequence[Span], count: int = 3, focus: Mapping[str, float] | None = None
) -> list[int]:
    """Indices (ascending, i.e. in article order) of the ``count`` sentences that best summarise the article.

    ``sentences`` are the article's body sentences, without the headline. ``focus`` maps term keys (see
    :func:`focus_terms`, :func:`term_key`) to weights: what the article is about; without it the choice
    rests on position, centrality and length alone.

    Junk sentences (bylines, datelines, captions, questions, trailers, fragments) are left out unless the
    article has nothing else, and of near-duplicate sentences only the best is kept; so when ``sentences``
    has fewer than ``count`` sentences all of them are returned save those, and an empty input gives ``[]``.
    """
    if count <= 0 or not sentences:
        return []
    described = [_describe(sentence) for sentence in sentences]
    return _select(described, _combine(_features(described, focus), _WEIGHTS, count), count, _WEIGHTS)
