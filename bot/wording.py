"""Counts in sentences: "1 article", "3 articles", from one helper rather than a suffix in brackets."""

from __future__ import annotations


def plural(count: float, noun: str, plural_noun: str | None = None) -> str:
    """``count`` and ``noun``, the noun in the plural unless the count is exactly one.

    Whole numbers get thousands separators (``1,204 mentions``), others their shortest form
    (``every 0.5 minutes``); ``plural_noun`` is for nouns that do not just take an "s".
    """
    number = f"{count:,}" if isinstance(count, int) else f"{count:g}"
    return f"{number} {noun if count == 1 else plural_noun or noun + 's'}"
