"""In-memory name lookups for autocomplete and typos: prefix by any word, and fuzzy matching.

Discord asks for autocomplete on every keystroke, so prefix matches come from sorted arrays (bisect)
and precomputed top lists for one- and two-letter prefixes, never from a table scan; fuzzy matching
uses rapidfuzz over the words of the most mentioned names. The index is rebuilt off the event loop
when the database changes.

Everything is kept in a handful of flat lists and arrays rather than an object per name: with
hundreds of thousands of names, per-name objects would make every cyclic garbage collection of the
process walk them all (a pause of a fifth of a second at 275,000 names).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

SHORT_PREFIX = 2
SHORT_LIST = 25
FUZZY_POOL = 5_000
_SCAN_CAP = 4000


@dataclass(frozen=True, slots=True)
class NameEntry:
    """One named thing (an entity or a topic): its id, key, display name and popularity."""

    id: int
    key: str
    name: str
    weight: int


class NameIndex:
    """Prefix and fuzzy lookup over ``(id, key, name, weight)`` rows."""

    def __init__(self, rows: Sequence[tuple[int, str, str, int]]) -> None:
        # Most popular first: a position is a rank, so any list of positions sorts into rank order.
        ordered = sorted(rows, key=lambda r: (-r[3], r[1]))
        self._ids = array("q", (r[0] for r in ordered))
        self._keys = [r[1] for r in ordered]
        self._names = [r[2] for r in ordered]
        self._weights = array("q", (r[3] for r in ordered))
        pairs = sorted(
            (word, position)
            for position, key in enumerate(self._keys)
            for word in dict.fromkeys([key, *key.split(" ")])
        )
        self._words = [w for w, _ in pairs]
        self._positions = array("i", (p for _, p in pairs))
        short: dict[str, array[int]] = {}
        for position, key in enumerate(self._keys):
            words = dict.fromkeys([key, *key.split(" ")])
            for prefix in {w[:n] for w in words for n in range(1, SHORT_PREFIX + 1) if len(w) >= n}:
                bucket = short.setdefault(prefix, array("i"))
                if len(bucket) < SHORT_LIST:
                    bucket.append(position)
        self._short = short
        # Typos are matched against the names people ask about: the most mentioned ones. Scoring every
        # word of every name would cost milliseconds per keystroke on a large index.
        self._fuzzy_words = sorted({w for w, p in pairs if p < FUZZY_POOL})

    def __len__(self) -> int:
        return len(self._keys)

    def _entry(self, position: int) -> NameEntry:
        return NameEntry(self._ids[position], self._keys[position], self._names[position], self._weights[position])

    def _word_range(self, word: str, *, prefix: bool) -> tuple[int, int]:
        lo = bisect.bisect_left(self._words, word)
        hi = bisect.bisect_left(self._words, word + ("\U0010ffff" if prefix else "\x00"), lo)
        return lo, hi

    def prefix(self, prefix: str, limit: int = 25) -> list[NameEntry]:
        """Entries with a word or the whole key starting with ``prefix``, most popular first."""
        if not prefix:
            return [self._entry(p) for p in range(min(limit, len(self._keys)))]
        if len(prefix) <= SHORT_PREFIX:
            return [self._entry(p) for p in self._short.get(prefix, ())[:limit]]
        lo, hi = self._word_range(prefix, prefix=True)
        positions = sorted(set(self._positions[lo : min(hi, lo + _SCAN_CAP)]))
        return [self._entry(p) for p in positions[:limit]]

    def fuzzy(self, query: str, limit: int = 5, cutoff: float = 75.0) -> list[tuple[NameEntry, float]]:
        """Entries whose key or one of its words is close to ``query``, best first."""
        if not query or not self._fuzzy_words:
            return []
        matches = process.extract(query, self._fuzzy_words, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=cutoff)
        best: dict[int, float] = {}
        for word, score, _ in matches:
            lo, hi = self._word_range(word, prefix=False)
            # Positions are ranks: the few most popular names using a common word are enough.
            for position in sorted(p for p in self._positions[lo:hi] if p < FUZZY_POOL)[:limit]:
                best[position] = max(best.get(position, 0.0), score)
        ranked = sorted(best, key=lambda p: (-best[p], p))[:limit]
        return [(self._entry(p), best[p]) for p in ranked]
