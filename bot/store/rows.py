"""Rows the store's parts share, as the data classes every layer reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.models import ArticleBrief, EntityRef

ENTITY_COLUMNS = "id, name, type, article_count, mention_count"
BRIEF_COLUMNS = "a.id, a.title, a.source, a.url, a.published"


def entity_ref(row: Sequence[Any]) -> EntityRef:
    """An entity from a row that starts with :data:`ENTITY_COLUMNS`."""
    return EntityRef(id=row[0], name=row[1], type=row[2], article_count=row[3], mention_count=row[4])


def article_brief(row: Sequence[Any]) -> ArticleBrief:
    """An article brief from a row that starts with :data:`BRIEF_COLUMNS`."""
    return ArticleBrief(id=row[0], title=row[1], source=row[2], url=row[3], published=row[4])
