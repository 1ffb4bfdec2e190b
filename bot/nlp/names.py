"""Entity names without spaCy: normalised keys, honorifics, and the alias table.

The bot resolves what users type (``!who the U.S.``) with the same functions the indexer used, so
nothing here may need a model.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from bot.text import strip_invisible

HONORIFICS = frozenset(
    """
    mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend fr mme mlle herr st
    """.split()
)
_LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "–": "-", "—": "-", "‐": "-"})
_KEY_DROP = re.compile(r"[.'\"“”()\[\]{}]")
_KEY_SPACE = re.compile(r"[\s,;:!?/\\|*_~<>#@&+=^-]+")


def clean_name(text: str) -> str:
    """A display name from a mention: no leading article, honorific or possessive; single spaces.

    ``"the U.S.'s"`` → ``"U.S."``, ``"Ms Hewitt"`` → ``"Hewitt"``, ``"Musk’s"`` → ``"Musk"``.
    """
    name = _SPACES.sub(" ", unicodedata.normalize("NFKC", strip_invisible(text))).strip(" \t\n,;:!?\"'()[]-")
    name = _LEADING_ARTICLE.sub("", name)
    name = _POSSESSIVE.sub("", name).rstrip(" '’")
    words = name.split(" ")
    while len(words) > 1 and words[0].lower().rstrip(".") in HONORIFICS:
        words.pop(0)
    return " ".join(words)


def name_key(text: str) -> str:
    """The lookup key of a name: case-folded, accents and punctuation folded, so variants meet.

    ``"U.S."``, ``"u.s"`` and ``"US"`` share ``"us"``; ``"Jean-Luc"`` and ``"jean luc"`` share a key.
    """
    text = unicodedata.normalize("NFKD", clean_name(text)).translate(_APOSTROPHES)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _KEY_DROP.sub("", text.casefold())
    return _KEY_SPACE.sub(" ", text).strip()


class AliasTable:
    """Variant names that mean one entity (``"US"``, ``"America"`` → ``"United States"``).

    The file is TOML: each key is a canonical name, each value the list of its aliases.
    """

    def __init__(self, canonical_by_key: Mapping[str, str] | None = None) -> None:
        self._canonical_by_key = dict(canonical_by_key or {})

    @classmethod
    def from_file(cls, path: Path) -> AliasTable:
        """Read the table; a missing file is an empty table, a malformed one a :class:`ValueError`."""
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
        table: dict[str, str] = {}
        for canonical, aliases in data.items():
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ValueError(f"{path}: {canonical!r} must map to a list of names")
            for alias in [canonical, *aliases]:
                table[name_key(alias)] = canonical
        return cls(table)

    def canonical(self, name: str) -> str | None:
        """The canonical name for ``name``, or ``None`` when it is no alias."""
        return self._canonical_by_key.get(name_key(name))

    def as_dict(self) -> dict[str, str]:
        """Alias key → canonical name (for worker processes)."""
        return dict(self._canonical_by_key)

    def __len__(self) -> int:
        return len(self._canonical_by_key)
