"""Text handling shared by the layers: hygiene for untrusted text (files, feeds, and the names found in
them), the words of a search, the snippet of an article that shows where they are, and text that spaCy's
tokenizer can read in linear time."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence

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


def search_words(text: str) -> list[str]:
    """The words a search for ``text`` matches (the first :data:`SEARCH_WORDS`); anything else in it,
    quotes and operators included, only separates them."""
    return _WORD.findall(text)[:SEARCH_WORDS]


def snippet(body: str, words: Sequence[str], width: int = 200) -> str:
    """The passage of ``body`` around the first place it uses the most query words, each marked with
    \x02 … \x03. Words match by their start, so "elections" is found for "election" as BM25's stemmer
    would.

    It runs on the event loop over untrusted text, so its work is bounded: only the first
    :data:`SNIPPET_SCAN_CHARS` characters and :data:`SNIPPET_MAX_MATCHES` matches are looked at, and
    the best window is found in one pass over them.
    """
    stems = {w.casefold()[: max(4, len(w) - 2)] for w in words if w}
    pattern = (
        re.compile(
            r"\b(" + "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True)) + r")\w*", re.IGNORECASE
        )
        if stems
        else None
    )
    text = " ".join(body[:SNIPPET_SCAN_CHARS].split())
    matches = list(itertools.islice(pattern.finditer(text), SNIPPET_MAX_MATCHES)) if pattern else []
    if not matches:
        return text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + "…"
    # The window that holds the most distinct words wins; the earliest among equals. The window
    # [first, first + width) slides over the matches: each enters and leaves it once.
    best_start, best_score = matches[0].start(), 0
    words_in_window: Counter[str] = Counter()
    entering = 0
    for first in matches:
        while entering < len(matches) and matches[entering].start() < first.start() + width:
            words_in_window[matches[entering].group(1).casefold()] += 1
            entering += 1
        if len(words_in_window) > best_score:
            best_start, best_score = first.start(), len(words_in_window)
        leaving = first.group(1).casefold()
        words_in_window[leaving] -= 1
        if not words_in_window[leaving]:
            del words_in_window[leaving]
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
