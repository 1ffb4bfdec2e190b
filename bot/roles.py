"""Role timelines: the roles the articles gave one entity, variants of one role merged, in date order.

Articles write one role many ways: "Argentine President", "Argentina's president", "the president of
Argentina", "President". :func:`role_key` makes one key of the first three (case, articles, a plural, a
country written as a name, a demonym, a possessive or an "of" phrase), and :func:`role_timeline` folds a bare role
("President") into the one longer role of the same kind the entity held ("Argentine President"). A
status ("former", "acting", "President-elect") is a role of its own.

Pure Python over what the store returns (:class:`~bot.models.RoleUse`): no spaCy, no SQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import RoleUse
from bot.nlp.topics import singular

# At most this many roles on a timeline: the most used, then shown in date order. Single mentions of a
# role in passing ("a libertarian economist") drop off the timelines of people with long careers.
TIMELINE_ROLES = 10

# Country and nationality words, all spelt to one place: "Argentine", "Argentina's" and "of Argentina"
# qualify a role the same way. Common news countries; anything else is left as written.
_PLACES = {
    "argentina": "argentine argentinian",
    "australia": "australian",
    "austria": "austrian",
    "belgium": "belgian",
    "brazil": "brazilian",
    "britain": "british uk u.k. united-kingdom",
    "canada": "canadian",
    "chile": "chilean",
    "china": "chinese",
    "colombia": "colombian",
    "cuba": "cuban",
    "denmark": "danish",
    "egypt": "egyptian",
    "europe": "european eu",
    "finland": "finnish",
    "france": "french",
    "germany": "german",
    "greece": "greek",
    "india": "indian",
    "indonesia": "indonesian",
    "iran": "iranian",
    "iraq": "iraqi",
    "ireland": "irish",
    "israel": "israeli",
    "italy": "italian",
    "japan": "japanese",
    "kenya": "kenyan",
    "mexico": "mexican",
    "netherlands": "dutch",
    "new-zealand": "new-zealander",
    "nigeria": "nigerian",
    "north-korea": "north-korean",
    "norway": "norwegian",
    "pakistan": "pakistani",
    "peru": "peruvian",
    "philippines": "philippine filipino",
    "poland": "polish",
    "portugal": "portuguese",
    "russia": "russian",
    "saudi-arabia": "saudi",
    "scotland": "scottish",
    "south-africa": "south-african",
    "south-korea": "south-korean korean",
    "spain": "spanish",
    "sweden": "swedish",
    "switzerland": "swiss",
    "syria": "syrian",
    "taiwan": "taiwanese",
    "thailand": "thai",
    "turkey": "turkish",
    "ukraine": "ukrainian",
    "united-states": "american us u.s. usa u.s.a. america",
    "venezuela": "venezuelan",
    "vietnam": "vietnamese",
    "wales": "welsh",
}
PLACE_WORDS = {word: place for place, words in _PLACES.items() for word in (place, *words.split())}
# Places of more than one word, joined as PLACE_WORDS spells them: "united states" → "united-states".
_MULTIWORD_PLACES = sorted((w for w in PLACE_WORDS if "-" in w), key=len, reverse=True)
_LEADING = frozenset({"the", "a", "an"})
# A role starting with one of these is a status of its own, never the fuller form of a bare role.
_STATUS_WORDS = frozenset({"former", "ex", "acting", "interim", "deputy", "vice", "outgoing", "incoming", "late"})
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_DASHES = re.compile(r"\s*[-‐‑–—]\s*")


@dataclass(frozen=True, slots=True)
class RoleKey:
    """One role however it was written: its ``place`` (a country, or ``None``) and its other ``words``."""

    place: str | None
    words: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join((self.place, *self.words) if self.place else self.words)


def role_key(role: str) -> RoleKey:
    """The key that variants of one role share: ``"Argentine President"``, ``"Argentina's president"``,
    ``"the President of Argentina"`` → ``argentina president``; ``"President-elect"`` stays itself."""
    text = unicodedata.normalize("NFKC", role).translate(_APOSTROPHES).lower()
    text = _DASHES.sub("-", " ".join(text.split()))
    for place in _MULTIWORD_PLACES:
        text = re.sub(rf"\b{re.escape(place.replace('-', ' '))}\b", place, text)
    words = text.split()
    while len(words) > 1 and words[0] in _LEADING:
        words = words[1:]
    place: str | None = None
    # "president of (the) argentina": the place moves to the front.
    of_place = words[-2:-1] == ["of"] or words[-3:-1] == ["of", "the"]
    if len(words) >= 3 and of_place and words[-1] in PLACE_WORDS:
        place = PLACE_WORDS[words[-1]]
        words = words[: words.index("of", len(words) - 3)]
    kept: list[str] = []
    for word in words:
        bare = word[:-2] if word.endswith("'s") else word
        if place is None and bare in PLACE_WORDS:
            place = PLACE_WORDS[bare]
        else:
            kept.append(word)
    if kept:  # "Presidents" of a plural apposition is the president
        kept[-1] = singular(kept[-1])
    return RoleKey(place, tuple(kept))


@dataclass(frozen=True, slots=True)
class RolePeriod:
    """One role on a timeline: how it is shown (its most used spelling), the spellings merged into it,
    in how many articles, first and last seen, and the article that first shows it."""

    role: str
    variants: tuple[str, ...]
    articles: int
    first_seen: str
    first_article_id: int
    last_seen: str


def role_timeline(uses: Sequence[RoleUse], limit: int = TIMELINE_ROLES) -> list[RolePeriod]:
    """The roles of ``uses`` with variants merged (see the module docstring), the first seen first;
    at most ``limit``, keeping the most used."""
    groups: dict[RoleKey, list[RoleUse]] = {}
    for use in uses:
        groups.setdefault(role_key(use.role), []).append(use)
    # A bare role ("president") joins the one fuller role ending the same way ("argentina president"),
    # when there is exactly one; with several ("argentina president", "club president") it stays apart.
    for key in [k for k in groups if k.place is None]:
        fuller = [
            other
            for other in groups
            if other != key
            and (other.place is not None or len(other.words) > len(key.words))
            and other.words[len(other.words) - len(key.words) :] == key.words
            and not (other.words and other.words[0] in _STATUS_WORDS)
        ]
        if len(fuller) == 1:
            groups[fuller[0]].extend(groups.pop(key))
    periods = [_period(members) for members in groups.values()]
    kept = sorted(periods, key=lambda p: (-p.articles, p.first_seen))[:limit]
    return sorted(kept, key=lambda p: (p.first_seen, p.first_article_id))


def _period(uses: list[RoleUse]) -> RolePeriod:
    first = min(uses, key=lambda u: (u.first_seen, u.first_article_id))
    # The spelling used most names the role; among equals, the one first used.
    spellings: dict[str, int] = {}
    for use in sorted(uses, key=lambda u: u.first_seen):
        spellings[use.role] = spellings.get(use.role, 0) + use.articles
    shown = max(spellings, key=lambda role: spellings[role])
    return RolePeriod(
        role=shown,
        variants=tuple(role for role in spellings if role != shown),
        articles=sum(u.articles for u in uses),
        first_seen=first.first_seen,
        first_article_id=first.first_article_id,
        last_seen=max(u.last_seen for u in uses),
    )
