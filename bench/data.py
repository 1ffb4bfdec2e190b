"""Evaluation data from ``../shared`` (beside the checkout; read-only, never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

from bot.ingest.readers import decode_bytes

SHARED = Path(os.environ.get("NEWSDESK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BBC_ARTICLES = SHARED / "eval" / "bbc-news-summary" / "articles"


def bbc_paths() -> list[Path]:
    """Every BBC article file, in a stable order."""
    if not BBC_ARTICLES.is_dir():
        raise SystemExit(f"evaluation data not found at {BBC_ARTICLES} (set NEWSDESK_SHARED)")
    return sorted(BBC_ARTICLES.glob("*/*.txt"))


def bbc_articles(count: int) -> list[tuple[str, str, Path]]:
    """``count`` distinct BBC articles spread evenly over all sections: (headline, body, path).

    The set repeats some bodies word for word; only the first of each is kept, so every article
    returned is new to an index.
    """
    paths = bbc_paths()
    step = max(1, len(paths) // max(count, 1))
    ordered = paths[::step] + [p for i, p in enumerate(paths) if i % step]
    items: list[tuple[str, str, Path]] = []
    seen: set[str] = set()
    for path in ordered:
        text = decode_bytes(path.read_bytes()).replace("\r\n", "\n")
        title, _, body = text.partition("\n")
        key = " ".join(body.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        items.append((title.strip(), body.strip(), path))
        if len(items) == count:
            break
    return items
