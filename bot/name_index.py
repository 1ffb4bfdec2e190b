"""In-memory name lookups for autocomplete and typos: prefix by any word, and fuzzy matching.

Discord asks for autocomplete on every keystroke, so prefix matches come from sorted arrays (bisect)
and precomputed top lists for one- and two-letter prefixes, never from a table scan; fuzzy matching
uses rapidfuzz over the distinct words and keys. The index is rebuilt off the event loop when the
database changes.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

SHORT_PREFIX = 2
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
        # Most popular first, so every list built from this order is already ranked.
        self.entries = sorted((NameEntry(*row) for row in rows), key=lambda e: (-e.weight, e.key))
        words: list[tuple[str, int]] = []
        short: dict[str, list[int]] = {}
        for position, entry in enumerate(self.entries):
            entry_words = dict.fromkeys([entry.key, *entry.key.split(" ")])
            for word in entry_words:
                words.append((word, position))
            for prefix in {w[:n] for w in entry_words for n in range(1, SHORT_PREFIX + 1) if len(w) >= n}:
                bucket = short.setdefault(prefix, [])
                if len(bucket) < 25:
                    bucket.append(position)
        words.sort()
        self._words = [w for w, _ in words]
        self._positions = [p for _, p in words]
        self._short = short
        # Typos are matched against the names people ask about: the most mentioned ones. Scoring every
        # word of every name would cost milliseconds per keystroke on a large index.
        self._fuzzy_targets: dict[str, list[int]] = {}
        for word, position in words:
            if position < FUZZY_POOL:
                self._fuzzy_targets.setdefault(word, []).append(position)
        self._fuzzy_keys = list(self._fuzzy_targets)

    def __len__(self) -> int:
        return len(self.entries)

    def prefix(self, prefix: str, limit: int = 25) -> list[NameEntry]:
        """Entries with a word or the whole key starting with ``prefix``, most popular first."""
        if not prefix:
            return self.entries[:limit]
        if len(prefix) <= SHORT_PREFIX and prefix in self._short:
            return [self.entries[p] for p in self._short[prefix][:limit]]
        lo = bisect.bisect_left(self._words, prefix)
        hi = bisect.bisect_left(self._words, prefix + "\U0010ffff", lo)
        positions = sorted(set(self._positions[lo : min(hi, lo + _SCAN_CAP)]))
        return [self.entries[p] for p in positions[:limit]]

    def fuzzy(self, query: str, limit: int = 5, cutoff: float = 75.0) -> list[tuple[NameEntry, float]]:
        """Entries whose key or one of its words is close to ``query``, best first."""
        if not query or not self._fuzzy_keys:
            return []
        matches = process.extract(query, self._fuzzy_keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=cutoff)
        best: dict[int, float] = {}
        for word, score, _ in matches:
            # Positions are in popularity order: the first few entries of a common word are enough.
            for position in self._fuzzy_targets[word][:limit]:
                best[position] = max(best.get(position, 0.0), score)
        ranked = sorted(best, key=lambda p: (-best[p], p))[:limit]
        return [(self.entries[p], best[p]) for p in ranked]
