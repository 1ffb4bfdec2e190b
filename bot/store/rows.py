"""Named rows the store's parts share, as the data classes every layer reads."""

from __future__ import annotations

import sqlite3

from bot.models import ArticleBrief, EntityRef, Viewer

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


def visible(viewer: Viewer, article_id: str = "a.id") -> tuple[str, tuple[int, ...]]:
    """A condition (and its parameters) true for the articles ``viewer`` may see, ``article_id`` being the
    column that holds the article's id in the query; everything passes for :data:`EVERYTHING`."""
    scopes = viewer.scopes
    return ("TRUE", ()) if scopes is None else visible_in(scopes, article_id)


def visible_in(scopes: tuple[int, ...], article_id: str = "a.id") -> tuple[str, tuple[int, ...]]:
    """A condition (and its parameters) true for the articles with a row in ``article_scopes`` for one of
    ``scopes``. ``article_id`` must name its table (``a.id``): bare, it would mean the subquery's own."""
    if "." not in article_id:
        raise ValueError(f"visible_in needs a qualified column, not {article_id!r}")
    return (
        f"EXISTS (SELECT 1 FROM article_scopes vs WHERE vs.article_id = {article_id} "
        f"AND vs.scope IN ({scope_marks(scopes)}))",
        scopes,
    )


def scope_marks(scopes: tuple[int, ...]) -> str:
    """``?, ?`` for an ``IN`` list of scopes."""
    return ",".join("?" * len(scopes))


def seen_by(viewer: Viewer, article_id: str) -> str:
    """:func:`visible` with the scopes written into the condition (they are integers the bot makes, never
    text a user typed), for statements whose parameters are hard to interleave."""
    scopes = viewer.scopes
    if scopes is None:
        return "TRUE"
    if "." not in article_id:
        raise ValueError(f"seen_by needs a qualified column, not {article_id!r}")
    listed = ", ".join(str(int(scope)) for scope in scopes)
    return f"EXISTS (SELECT 1 FROM article_scopes vs WHERE vs.article_id = {article_id} AND vs.scope IN ({listed}))"
