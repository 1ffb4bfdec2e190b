"""Where an index lives: a SQLite file (a path) or a PostgreSQL database (a ``postgresql://`` URL), and how
to show either without its password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")

Location = Path | str
"""A SQLite file, or a ``postgresql://user@host/db`` URL (a ``str``)."""


def is_postgres(location: Location | object) -> bool:
    """Whether ``location`` names a PostgreSQL database (a ``postgresql://`` or ``postgres://`` URL)."""
    return isinstance(location, str) and location.split("://", 1)[0].lower() in POSTGRES_SCHEMES and "://" in location


def describe(location: Location) -> str:
    """``location`` fit to print or log: a file's path as is; a URL without its password (in the user part
    or as a ``password=`` parameter), which never belongs in a log, a console or an error message."""
    if not isinstance(location, str) or "://" not in location:
        return str(location)
    try:
        parts = urlsplit(str(location))
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}@{host}"
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
        query = urlencode(kept, safe="/")
        return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    except ValueError:  # a URL too malformed to take apart: show only its scheme
        return str(location).split("://", 1)[0] + "://…"


def password_of(url: str) -> str | None:
    """The password written in ``url``, if any (to scrub it from a driver's error message)."""
    try:
        parts = urlsplit(url)
        return parts.password or dict(parse_qsl(parts.query)).get("password") or None
    except ValueError:
        return None
