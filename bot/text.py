"""Text handling shared by the layers: hygiene for untrusted text (files, feeds, and the names found in
them), the words of a search, the snippet of an article that shows where they are, and text that spaCy's
tokenizer can read in linear time."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

# Bidirectional controls reorder what follows them (a title "\u202egnp.exe" shows as "exe.png"), and
# zero-width characters hide inside words (so "Mi\u200blei" would not be Milei). Neither belongs in a
# title, a name or a summary.
INVISIBLE = (
    "\u061c"  # Arabic letter mark
    "\u200b\u200c\u200d"  # zero-width space, non-joiner, joiner
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2060"  # word joiner
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (a BOM inside text)
)
_DELETE_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))
_WORD = re.compile(r"\w+", re.UNICODE)
SEARCH_WORDS = 32  # a search uses at most this many words
# snippet() looks at most at this much of a body and this many matches in it (see there).
SNIPPET_SCAN_CHARS = 50_000
SNIPPET_MAX_MATCHES = 1_000


def strip_invisible(text: str) -> str:
    """``text`` without bidirectional controls and zero-width characters."""
    return text.translate(_DELETE_INVISIBLE)


# Words a search skips unless it has nothing else (a search for "the who" still finds "The Who"): they
# are in nearly every article, so requiring them narrows nothing, and matching any of them finds everything.
STOP_WORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has have "
    "having he her here hers herself him himself his how i if in into is it its itself just me more most "
    "my myself no nor not now of off on once only or other our ours ourselves out over own same she should "
    "so some such than that the their theirs them themselves then there these they this those through to "
    "too under until up very was we were what when where which while who whom why will with would you "
    "your yours yourself yourselves".split()
)
# The operators of SQLite's full-text queries, when typed in capitals, are attempts at a query syntax the
# search does not have (any text is searched as words): they are skipped like stop words.
QUERY_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})
# A last word shorter than this is matched as a whole word: as a prefix it would match nearly everything.
MIN_PREFIX_CHARS = 3


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """What a search looks for: whole ``words`` (each with its inflections) and, when the text typed ends
    in a word still being typed, that ``prefix``. Stop words are left out unless they are all there is."""

    words: tuple[str, ...]
    prefix: str | None = None

    def __bool__(self) -> bool:
        return bool(self.words or self.prefix)

    @property
    def all(self) -> tuple[str, ...]:
        """Every term, the prefix last."""
        return (*self.words, self.prefix) if self.prefix else self.words


def search_terms(text: str) -> SearchTerms:
    """The terms of a search for ``text`` (its first :data:`SEARCH_WORDS` words); anything else in it,
    quotes and punctuation included, only separates them, and :data:`QUERY_OPERATORS` and
    :data:`STOP_WORDS` are left out unless they are all there is. The last word is a prefix ("lithi"
    finds "lithium"), as it would be in a search box; the others match whole."""
    as_typed = [w for w in search_words(text) if w not in QUERY_OPERATORS] or search_words(text)
    typed = [w.casefold() for w in as_typed]
    content = [w for w in typed if w not in STOP_WORDS] or typed
    if not content:
        return SearchTerms(())
    last = typed[-1]
    *whole, final = content
    if final != last or len(last) < MIN_PREFIX_CHARS or last in whole:
        # The last word typed was a stop word left out, too short, or wanted whole already.
        return SearchTerms(tuple(dict.fromkeys(content)))
    return SearchTerms(tuple(dict.fromkeys(whole)), last)


def search_words(text: str) -> list[str]:
    """Every word of ``text`` as a search reads it (the first :data:`SEARCH_WORDS`)."""
    return _WORD.findall(text)[:SEARCH_WORDS]


def _inflected(word: str) -> str:
    """A pattern for ``word`` (lower case) and its regular inflections, as whole words: "budget" matches
    budgets, budgeted and budget's; "industries" matches industry; "make" matches making."""
    if len(word) > 4 and word.endswith("ies"):
        stem, endings = word[:-3], "y|ies|ied|ying"
    elif len(word) > 3 and word.endswith("y") and word[-2] not in "aeiou":
        stem, endings = word[:-1], "y|ies|ied|ying"
    elif len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        stem, endings = word[:-2], "|es|ed|ing"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return _inflected(word[:-1]) + "|" + re.escape(word)
    elif len(word) > 5 and word.endswith("ing"):
        return _inflected(_undoubled(word[:-3])) + "|" + re.escape(word)
    elif len(word) > 4 and word.endswith("ed"):
        return _inflected(_undoubled(word[:-2])) + "|" + re.escape(word)
    elif len(word) > 3 and word.endswith("e"):
        stem, endings = word[:-1], "e|es|ed|ing"
    else:
        stem = word
        doubled = re.escape(word[-1]) + "?" if word[-1:].isalpha() else ""
        endings = f"|s|es|{doubled}ed|{doubled}ing"
    return re.escape(stem) + "(?:" + endings + ")(?:['’]s)?"


def _undoubled(stem: str) -> str:
    """"runn" (from running) → "run"; "budget" stays."""
    return stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiousl" else stem


def snippet(body: str, terms: SearchTerms, width: int = 200) -> str:
    """The passage of ``body`` around the first place it uses the most search terms, each word that
    matches marked whole with \x02 … \x03: a word matches one of the terms' words or their regular
    inflections ("elections" for "election"), or the prefix, its inflections or a word it starts.

    It runs on the event loop over untrusted text, so its work is bounded: only the first
    :data:`SNIPPET_SCAN_CHARS` characters and :data:`SNIPPET_MAX_MATCHES` matches are looked at, and
    the best window is found in one pass over them.
    """
    alternatives = [f"(?P<w{i}>{_inflected(w)})" for i, w in enumerate(terms.words) if w]
    if terms.prefix:
        # The prefix may be a whole word already, with inflections beside the words it starts.
        prefix = f"{_inflected(terms.prefix)}|{re.escape(terms.prefix)}\\w*"
        alternatives.append(f"(?P<w{len(alternatives)}>{prefix})")
    pattern = re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE) if alternatives else None
    text = " ".join(body[:SNIPPET_SCAN_CHARS].split())
    matches = list(itertools.islice(pattern.finditer(text), SNIPPET_MAX_MATCHES)) if pattern else []
    if not matches:
        return text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + "…"
    # The window that holds the most distinct terms wins; the earliest among equals. The window
    # [first, first + width) slides over the matches: each enters and leaves it once.
    best_start, best_score = matches[0].start(), 0
    terms_in_window: Counter[str | None] = Counter()
    entering = 0
    for first in matches:
        while entering < len(matches) and matches[entering].start() < first.start() + width:
            terms_in_window[matches[entering].lastgroup] += 1
            entering += 1
        if len(terms_in_window) > best_score:
            best_start, best_score = first.start(), len(terms_in_window)
        leaving = first.lastgroup
        terms_in_window[leaving] -= 1
        if not terms_in_window[leaving]:
            del terms_in_window[leaving]
    start = max(0, best_start - width // 4)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + width)
    end = text.find(" ", end) if end < len(text) and text.find(" ", end) != -1 else len(text)
    passage = pattern.sub(lambda m: "\x02" + m.group(0) + "\x03", text[start:end])
    return ("…" if start else "") + passage + ("…" if end < len(text) else "")


# spaCy's tokenizer splits punctuation off a chunk one character at a time, copying the rest each time: a
# run of 10 000 "*" or "<" takes seconds, 100 000 minutes. Punctuation runs are cut to PUNCTUATION_RUN
# characters and chunks without spaces to CHUNK_CHARS before the text reaches spaCy; news needs no more.
PUNCTUATION_RUN = 8
CHUNK_CHARS = 100
_PUNCTUATION_RUN = re.compile(rf"((?:[^\w\s]|_){{{PUNCTUATION_RUN}}})(?:[^\w\s]|_)+")
_LONG_CHUNK = re.compile(rf"(?<!\S)\S{{{CHUNK_CHARS + 1},}}")


def tokenizable(text: str) -> str:
    """``text`` with punctuation runs cut to :data:`PUNCTUATION_RUN` characters and chunks without spaces
    broken every :data:`CHUNK_CHARS` characters, so that tokenizing it takes linear time (ordinary prose
    is unchanged)."""
    text = _PUNCTUATION_RUN.sub(r"\1", text)
    return _LONG_CHUNK.sub(
        lambda chunk: " ".join(
            chunk.group()[i : i + CHUNK_CHARS] for i in range(0, len(chunk.group()), CHUNK_CHARS)
        ),
        text,
    )
