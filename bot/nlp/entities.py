"""Entity mentions, their canonical names within an article, and the roles the text gives people.

Registered as the pipeline component ``newsdesk_entities``; its result is ``doc._.mentions``: one
:class:`Mention` per named entity of a kept type, each already resolved to its canonical name.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from bot.models import ENTITY_TYPES
from bot.nlp.names import HONORIFICS, AliasTable, clean_name, name_key

_KEPT = frozenset(ENTITY_TYPES)

# Head words that make a capitalised pre-modifier a title ("President Milei") rather than a name part.
TITLE_WORDS = frozenset(
    """
    president vice-president premier minister secretary chancellor senator congressman congresswoman
    representative governor mayor king queen prince princess emperor pope cardinal bishop archbishop
    ambassador envoy general admiral colonel major captain lieutenant sergeant commander chief judge
    justice attorney prosecutor sheriff commissioner chairman chairwoman chair director ceo founder
    leader spokesman spokeswoman spokesperson boss manager coach striker midfielder defender goalkeeper
    player champion singer actor actress star presenter editor correspondent officer mp mep speaker
    deputy prime foreign home health finance defence defense trade economy culture sports education
    treasurer governor-general head executive rapper author writer producer economist analyst
    """.split()
)
_DEMONYM_SUFFIXES = ("an", "ian", "ine", "ese", "ish", "ic", "i", "ch", "sh", "ss", "ist", "ite", "ant", "ent")
_DEMONYM_WORDS = frozenset(
    """
    muslim sikh hindu arab kurd thai greek swiss basque jew zulu maori inuit
    """.split()
)
_ROLE_PREMODIFIER_DEPS = frozenset({"compound", "amod", "nmod", "npadvmod", "poss", "case"})
_ROLE_CUT_DEPS = frozenset({"relcl", "acl", "punct", "appos", "cc", "conj", "advcl", "prep"})
_ROLE_MAX_TOKENS = 8
_ACRONYM_SKIP = frozenset({"of", "the", "and", "for", "de", "la", "&"})
_ALPHA = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity mention: canonical name and key, the spaCy label, where it is, and a role if given."""

    name: str
    key: str
    label: str
    start_char: int
    end_char: int
    sentence_start: int
    role: str | None = None


_HYPHENS = frozenset({"-", "‐", "‑", "–"})


def _effective_label(ent: Span) -> str:
    """The mention's label, with one known slip of the small model corrected.

    en_core_web_sm tags some brands and companies as NORP ("a Tesla factory"). A nationality, religious
    or political group is an adjective, a plural, or a word shaped like a demonym; a singular proper
    noun that is none of these is counted as an organisation.
    """
    if ent.label_ != "NORP":
        return ent.label_
    root = ent.root
    word = root.lower_
    if root.pos_ == "ADJ" or root.tag_ in {"NNPS", "NNS"} or word in _DEMONYM_WORDS:
        return "NORP"
    if word.endswith(_DEMONYM_SUFFIXES):
        return "NORP"
    return "ORG"


def _strip_title_words(ent: Span) -> tuple[Span, list[Token]]:
    """Move leading title words out of a person's name ("President Javier Milei" → "Javier Milei")."""
    start = ent.start
    while start < ent.end - 1:
        word = ent.doc[start].lower_.rstrip(".")
        if word in TITLE_WORDS or word in HONORIFICS or ent.doc[start].pos_ in {"DET", "ADJ"}:
            start += 1
        else:
            break
    return ent.doc[start : ent.end], list(ent.doc[ent.start : start])


def _role_from_tokens(tokens: list[Token], person_tokens: set[int]) -> str | None:
    """Render role tokens as text when they look like a title; ``None`` otherwise."""
    while tokens and (
        tokens[0].pos_ in {"DET", "PRON", "PUNCT", "CCONJ"} or (tokens[0].dep_ == "poss" and tokens[0].pos_ == "PRON")
    ):
        tokens = tokens[1:]
    while tokens and (tokens[-1].pos_ in {"PUNCT", "CCONJ", "ADP", "DET"} or tokens[-1].dep_ == "case"):
        tokens = tokens[:-1]
    while tokens and tokens[0].lower_.rstrip(".") in HONORIFICS:
        tokens = tokens[1:]
    if not tokens or len(tokens) > _ROLE_MAX_TOKENS:
        return None
    if any(t.i in person_tokens for t in tokens):
        return None
    head = max(tokens, key=lambda t: (t.head not in tokens, -t.i))
    head_word = head.lower_.rstrip(".")
    if head.pos_ == "PROPN" and head_word not in TITLE_WORDS:
        return None
    if head.pos_ not in {"NOUN", "PROPN"}:
        return None
    text = "".join(t.text_with_ws for t in tokens).strip()
    text = re.sub(r"\s+", " ", text)
    return text if _ALPHA.search(text) else None


def _premodifier_role(name_span: Span, moved: list[Token], person_tokens: set[int]) -> str | None:
    """Words before the name that hang on it: "tech executive Elon Musk", "Argentine President X"."""
    doc = name_span.doc
    included = set(range(name_span.start, name_span.end)) | {t.i for t in moved}
    i = min(included) - 1
    role: list[Token] = list(moved)
    while i >= 0:
        token = doc[i]
        if token.is_sent_end or "\n" in token.text_with_ws:
            break
        joined = i > 0 and not token.whitespace_ and not doc[i - 1].whitespace_
        if token.text in _HYPHENS and joined and i + 1 in included:
            # A hyphenated title ("President-elect"): the parser hangs the first half on the hyphen's
            # neighbour, which the loop reaches next.
            included.add(i)
            role.insert(0, token)
            i -= 1
            continue
        if (
            token.head.i in included
            and token.dep_ in _ROLE_PREMODIFIER_DEPS
            and token.pos_
            not in {
                "DET",
                "PRON",
                "NUM",
                "VERB",
                "AUX",
                "PUNCT",
            }
        ):
            included.add(i)
            role.insert(0, token)
            i -= 1
            continue
        break
    return _role_from_tokens(role, person_tokens)


def _phrase_tokens(head: Token) -> list[Token]:
    """The noun phrase under ``head``, without clauses, asides or coordinated phrases."""
    keep: list[Token] = []

    def walk(token: Token) -> None:
        keep.append(token)
        for child in token.children:
            # "of" phrases belong to titles ("chancellor of the exchequer"), and so do coordinated
            # modifiers ("Trade and Industry Secretary"); other clauses and asides do not.
            is_title_part = (child.dep_ == "prep" and child.lower_ == "of") or (
                child.dep_ in {"cc", "conj"} and token.i < head.i
            )
            is_cut = child.dep_ in _ROLE_CUT_DEPS and not is_title_part
            if not is_cut:
                walk(child)

    walk(head)
    return sorted(keep, key=lambda t: t.i)


def _appositive_role(name_span: Span, person_tokens: set[int]) -> str | None:
    """A title beside the name: "Patricia Hewitt, the Trade Secretary," or "the Trade Secretary, X"."""
    root = name_span.root
    for child in root.children:
        if child.dep_ == "appos" and child.i >= name_span.end and child.pos_ in {"NOUN", "PROPN"}:
            role = _role_from_tokens(_phrase_tokens(child), person_tokens)
            if role:
                return role
    head = root.head
    if root.dep_ == "appos" and head.i < name_span.start and head.i not in person_tokens:
        return _role_from_tokens(_phrase_tokens(head), person_tokens)
    return None


def _acronym(name: str) -> str:
    words = [w for w in re.split(r"[\s-]+", name) if w and w.lower() not in _ACRONYM_SKIP]
    return "".join(w[0] for w in words if w[0].isalpha()).lower()


def _resolve_short_forms(
    names: dict[str, str], labels: dict[str, Counter[str]], counts: Counter[str]
) -> dict[str, str]:
    """Map each name key to the key of the fuller name it stands for within the article.

    A person's surname or first name resolves to the full name it ends or starts ("Milei" → "Javier
    Milei") whatever label the short mention got, because the small model often mislabels a bare
    surname; other short names resolve only within their own label; an acronym resolves to the name
    whose initials it spells ("IMF" → "International Monetary Fund").
    """
    target: dict[str, str] = {}
    tokens = {key: key.split(" ") for key in names}
    majority = {key: labels[key].most_common(1)[0][0] for key in names}
    for short, short_tokens in tokens.items():
        candidates: list[str] = []
        for full, full_tokens in tokens.items():
            if len(full_tokens) <= len(short_tokens):
                continue
            n = len(short_tokens)
            is_edge = full_tokens[-n:] == short_tokens or full_tokens[:n] == short_tokens
            if (majority[full] == "PERSON" and is_edge and n <= 2) or (majority[full] == majority[short] and is_edge):
                candidates.append(full)
        if not candidates and len(short_tokens) == 1 and 2 <= len(short) <= 6 and names[short].isupper():
            candidates = [f for f in names if f != short and len(tokens[f]) > 1 and _acronym(names[f]) == short]
        if candidates:
            target[short] = max(candidates, key=lambda f: (counts[f], len(f)))
    # A chain (a → b → c) ends at its fullest name.
    for short in list(target):
        seen = {short}
        while target[short] in target and target[short] not in seen:
            seen.add(target[short])
            target[short] = target[target[short]]
    return target


def extract_mentions(doc: Doc, aliases: AliasTable | None = None) -> list[Mention]:
    """Every mention of a kept entity type, resolved to a canonical name within the article."""
    aliases = aliases or AliasTable()
    raw: list[tuple[Span, str, str, str | None]] = []  # span, display name, label, role
    person_tokens = {t.i for ent in doc.ents if ent.label_ == "PERSON" for t in ent}
    for ent in doc.ents:
        if ent.label_ not in _KEPT:
            continue
        label = _effective_label(ent)
        span, moved = _strip_title_words(ent) if label == "PERSON" else (ent, [])
        name = clean_name(span.text)
        if not _ALPHA.search(name) or len(name) > 120:
            continue
        role = None
        if label == "PERSON":
            others = person_tokens - set(range(ent.start, ent.end))
            role = _premodifier_role(span, moved, others) or _appositive_role(span, others)
        raw.append((span, name, label, role))

    names: dict[str, str] = {}
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    for _span, name, label, _role in raw:
        canonical = aliases.canonical(name)
        display = canonical or name
        key = name_key(display)
        # Keep the longest spelling seen as the display name ("Javier Milei" over "javier milei").
        if key not in names or (display[:1].isupper() and not names[key][:1].isupper()):
            names[key] = display
        labels[key][label] += 1
        counts[key] += 1
    aliased = {name_key(aliases.canonical(n) or n) for _s, n, _l, _r in raw if aliases.canonical(n)}
    resolvable = {k: v for k, v in names.items() if k not in aliased}
    target = _resolve_short_forms(resolvable, labels, counts)

    mentions: list[Mention] = []
    surfaces: dict[tuple[str, ...], str] = {}
    for span, name, label, role in raw:
        key = name_key(aliases.canonical(name) or name)
        key = target.get(key, key)
        surfaces.setdefault(tuple(t.text for t in span), key)
        mentions.append(
            Mention(
                name=names[key],
                key=key,
                label=label,
                start_char=span.start_char,
                end_char=span.end_char,
                sentence_start=span.sent.start_char,
                role=role,
            )
        )
    mentions.extend(_repeat_mentions(doc, surfaces, names, labels))
    mentions.sort(key=lambda m: m.start_char)
    return mentions


def _repeat_mentions(
    doc: Doc, surfaces: dict[tuple[str, ...], str], names: dict[str, str], labels: dict[str, Counter[str]]
) -> list[Mention]:
    """Mentions the tagger missed: later uses of a name the article has already introduced.

    Within one story a name keeps its meaning, so a capitalised "Musk" left untagged in one sentence
    is the same Elon Musk tagged elsewhere. A person's surname alone counts too.
    """
    surnames: set[tuple[str, ...]] = set()
    for key, name in names.items():
        words = tuple(name.split(" "))
        if majority_label(labels[key].elements()) == "PERSON" and len(words) > 1 and words[-1:] not in surfaces:
            surfaces[words[-1:]] = key
            surnames.add(words[-1:])
    if not surfaces:
        return []
    longest = max(len(s) for s in surfaces)
    covered = {t.i for ent in doc.ents for t in ent}
    found: list[Mention] = []
    i = 0
    while i < len(doc):
        token = doc[i]
        if i in covered or not token.text[:1].isupper():
            i += 1
            continue
        for size in range(min(longest, len(doc) - i), 0, -1):
            words = tuple(t.text for t in doc[i : i + size])
            key = surfaces.get(words)
            if key is None or any(j in covered for j in range(i, i + size)):
                continue
            span = doc[i : i + size]
            name, label = names[key], majority_label(labels[key].elements())
            first_names = _untagged_first_names(doc, i, covered) if words in surnames else None
            if first_names is not None:
                # "Karina Milei" beside a known Javier Milei: a relative, not another use of his name.
                span = doc[first_names.start : i + size]
                name = clean_name(span.text)
                key, label = name_key(name), "PERSON"
            found.append(
                Mention(
                    name=name,
                    key=key,
                    label=label,
                    start_char=span.start_char,
                    end_char=span.end_char,
                    sentence_start=span.sent.start_char,
                )
            )
            i += size - 1
            break
        i += 1
    return found


def _untagged_first_names(doc: Doc, surname_at: int, covered: set[int]) -> Span | None:
    """Capitalised, untagged name words right before a surname ("Karina" in "Karina Milei"), if any."""
    start = surname_at
    while start > 0 and surname_at - start < 2:
        token = doc[start - 1]
        word = token.lower_.rstrip(".")
        if (
            token.i in covered
            or token.pos_ != "PROPN"
            or not token.text[:1].isupper()
            or word in TITLE_WORDS
            or word in HONORIFICS
            or "\n" in token.text_with_ws
        ):
            break
        start -= 1
    return doc[start:surname_at] if start < surname_at else None


def majority_label(labels: Iterable[str]) -> str:
    """The most common label; ties go to the label that appears first in :data:`ENTITY_TYPES`."""
    counts = Counter(labels)
    return min(counts, key=lambda lab: (-counts[lab], ENTITY_TYPES.index(lab)))


if not Doc.has_extension("mentions"):
    Doc.set_extension("mentions", default=None)


class EntityMentions:
    """Pipeline component: fills ``doc._.mentions`` with canonical :class:`Mention` objects."""

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self.aliases = AliasTable(aliases)

    def __call__(self, doc: Doc) -> Doc:
        doc._.mentions = extract_mentions(doc, self.aliases)
        return doc


@Language.factory("newsdesk_entities", default_config={"aliases": {}})
def make_entity_mentions(nlp: Language, name: str, aliases: dict[str, str]) -> EntityMentions:
    """Factory for :class:`EntityMentions`; ``aliases`` maps alias keys to canonical names."""
    return EntityMentions(aliases)
