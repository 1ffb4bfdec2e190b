"""Numbered schema migrations, applied in order; SQLite records the last one in ``PRAGMA user_version``,
PostgreSQL in the table ``schema_version`` (bot/store/postgres_schema.py).

``NNNN_name.sql`` is the step for SQLite, and for PostgreSQL too unless ``NNNN_name.postgresql.sql``
stands beside it: a dialect's own file replaces the shared one for that dialect only, so both dialects
always have the same steps under the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

DIALECTS = ("sqlite", "postgresql")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.([a-z]+))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its number (the schema version after it), its file name and its SQL script."""

    version: int
    name: str
    sql: str


class MigrationError(RuntimeError):
    """The migration scripts are missing or misnumbered: the installation itself is broken."""


def load_migrations(folder: Traversable | None = None, dialect: str = "sqlite") -> list[Migration]:
    """Every migration shipped in this package (or in ``folder``) for ``dialect``, by number; numbers
    must run 1, 2, 3… without gaps, and there must be at least one: an install without its ``.sql``
    files would otherwise create databases without tables. A dialect's own file must override a shared
    one of the same number and name (a step that exists for one dialect only would make the same
    version mean two schemas)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}: expected one of {', '.join(DIALECTS)}")
    folder = folder or resources.files(__name__)
    shared: dict[str, Traversable] = {}
    own: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        number, name, file_dialect = match.groups()
        stem = f"{number}_{name}"
        if file_dialect is None:
            shared[stem] = entry
        elif file_dialect not in DIALECTS:
            raise MigrationError(f"the migration {entry.name} is for an unknown SQL dialect {file_dialect!r}")
        elif file_dialect == dialect:
            own[stem] = entry
    if not shared:
        raise MigrationError(f"no schema migrations (NNNN_name.sql) in {folder}: this installation is incomplete")
    orphans = sorted(stem for stem in own if stem not in shared)
    if orphans:
        raise MigrationError(f"the {dialect} migrations {orphans} override no NNNN_name.sql of the same name")
    chosen = {stem: own.get(stem, entry) for stem, entry in shared.items()}
    found = [Migration(int(stem[:4]), entry.name, entry.read_text(encoding="utf-8")) for stem, entry in chosen.items()]
    found.sort(key=lambda m: (m.version, m.name))
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise MigrationError(f"{dialect} migrations must be numbered {expected}, found {[m.name for m in found]}")
    return found
