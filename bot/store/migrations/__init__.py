"""Numbered schema migrations: ``NNNN_name.sql``, applied in order and recorded in ``PRAGMA user_version``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its number (the ``user_version`` after it) and its SQL script."""

    version: int
    name: str
    sql: str


class MigrationError(RuntimeError):
    """The migration scripts are missing or misnumbered: the installation itself is broken."""


def load_migrations(folder: Traversable | None = None) -> list[Migration]:
    """Every migration shipped in this package (or in ``folder``), by number; numbers must run 1, 2, 3…
    without gaps, and there must be at least one: an install without its ``.sql`` files would otherwise
    create databases without tables."""
    folder = folder or resources.files(__name__)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    if not found:
        raise MigrationError(f"no schema migrations (NNNN_name.sql) in {folder}: this installation is incomplete")
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise MigrationError(f"migrations must be numbered {expected}, found {[m.name for m in found]}")
    return found
