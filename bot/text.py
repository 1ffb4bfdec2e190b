"""Text hygiene shared by everything that reads untrusted text: files, feeds, and the names found in them."""

from __future__ import annotations

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


def strip_invisible(text: str) -> str:
    """``text`` without bidirectional controls and zero-width characters."""
    return text.translate(_DELETE_INVISIBLE)
