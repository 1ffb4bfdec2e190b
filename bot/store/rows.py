"""Named rows the store's parts share, as the data classes every layer reads."""

from __future__ import annotations

import sqlite3

from bot.models import ArticleBrief, EntityRef

ENTITY_COLUMNS = "id, name, type, article_count, mention_count"
BRIEF_COLUMNS = "a.id, a.title, a.source, a.url, a.published"


def entity_ref(row: sqlite3.Row) -> EntityRef:
    """An entity from a row with :data:`ENTITY_COLUMNS`."""
    return EntityRef(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        article_count=row["article_count"],
        mention_count=row["mention_count"],
    )


def article_brief(row: sqlite3.Row) -> ArticleBrief:
    """An article brief from a row with :data:`BRIEF_COLUMNS`."""
    return ArticleBrief(
        id=row["id"], title=row["title"], source=row["source"], url=row["url"], published=row["published"]
    )
