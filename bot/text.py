"""Text handling shared by the layers: hygiene for untrusted text (files, feeds, and the names found in
them), the words of a search, and the snippet of an article that shows where they are."""

from __future__ import annotations

import re
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
    would."""
    stems = {w.casefold()[: max(4, len(w) - 2)] for w in words if w}
    pattern = (
        re.compile(
            r"\b(" + "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True)) + r")\w*", re.IGNORECASE
        )
        if stems
        else None
    )
    text = " ".join(body.split())
    matches = list(pattern.finditer(text)) if pattern else []
    if not matches:
        return text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + "…"
    # The window that holds the most distinct words wins; the earliest among equals.
    best_start, best_score = matches[0].start(), 0
    for first in matches:
        inside = {m.group(1).casefold() for m in matches if first.start() <= m.start() < first.start() + width}
        if len(inside) > best_score:
            best_start, best_score = first.start(), len(inside)
    start = max(0, best_start - width // 4)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + width)
    end = text.find(" ", end) if end < len(text) and text.find(" ", end) != -1 else len(text)
    passage = pattern.sub(lambda m: "\x02" + m.group(0) + "\x03", text[start:end])
    return ("…" if start else "") + passage + ("…" if end < len(text) else "")
