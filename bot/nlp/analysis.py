"""From article text to everything the index stores about it: entities, roles, topics and a summary.

:func:`pipe` analyses articles with a loaded pipeline; :mod:`bot.nlp.analyzer` decides where it runs (this
process or worker processes). Nothing here may run on an event loop thread. Every spaCy call holds the
GIL, so none may be long either: texts are made :func:`~bot.text.tokenizable`, analysed in pieces and
batches of bounded size (see below)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.models import ArticleAnalysis, ArticleText, EntityInArticle, Keyphrase
from bot.nlp.entities import Mention, majority_label
from bot.nlp.names import name_key
from bot.nlp.summary import focus_terms, summarize
from bot.nlp.topics import extract_keyphrases
from bot.text import CHUNK_CHARS

TOPICS_PER_ARTICLE = 10
KEY_SENTENCE_MAX_CHARS = 400
_SPACES = re.compile(r"\s+")

# Per Doc, the attribute ruler holds the GIL for about 30 ms per 1000 tokens: a long text is analysed in
# pieces of at most PIECE_CHARS characters (cut at paragraph breaks where it can) and, for text dense in
# tokens (":a:a:a…"), PIECE_TOKENS tokens, joined back into one Doc. (On 300 BBC articles, the 1% longer
# than a piece come out nearly the same: one mention more or less of a name near a cut.)
PIECE_CHARS = 4_000
PIECE_TOKENS = 1_000
# Joining the pieces and reading the joined Doc hold the GIL in proportion to its tokens: an article is
# analysed up to this many (100 000 characters of prose make about 20 000; of ":a:a:a…", 100 000).
MAX_TOKENS = 30_000
# The vectors of a whole batch are computed in single numpy calls, and their intermediate arrays are the
# analysis's peak memory (about 30 MB over the model at 2000 tokens, 75 MB at 5000, no faster): a batch
# holds at most this many tokens (or one piece alone).
BATCH_TOKENS = 2_000


def pieces(text: str, limit: int = PIECE_CHARS) -> list[str]:
    """``text`` as consecutive pieces of at most ``limit`` characters that join back into it: each cut
    after the last paragraph break of the second half of a piece, else after its last sentence end, else
    after its last space (or at the limit, in a text without any)."""
    parts: list[str] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        for separator in ("\n\n", ". ", "\n", " "):
            at = window.rfind(separator, limit // 2)
            if at != -1:
                cut = start + at + len(separator)
                break
        else:
            cut = start + limit
        parts.append(text[start:cut])
        start = cut
    parts.append(text[start:])
    return parts


def _clean_sentence(span: Span) -> str:
    return _SPACES.sub(" ", span.text).strip()


def salience(in_headline: bool, in_lead: bool, mentions: int, most_mentions: int) -> float:
    """How much an article is about an entity, from 0 to 1.

    The headline and the first paragraph say what a news story is about; the share of mentions,
    relative to the most mentioned entity, separates the subject from a passing name.
    """
    share = mentions / most_mentions if most_mentions else 0.0
    return round(0.35 * in_headline + 0.25 * in_lead + 0.40 * share, 4)


def build_analysis(doc: Doc, article: ArticleText, summary_sentences: int) -> ArticleAnalysis:
    """Turn an analysed Doc (with ``doc._.mentions``) into the rows the index keeps."""
    _, body_start = article.doc_text()
    sentences = [s for s in doc.sents if s.start_char >= body_start and s.text.strip()]
    paragraph_break = doc.text.find("\n\n", body_start)
    lead_end = paragraph_break if paragraph_break > body_start else len(doc.text)
    headline_end = body_start if body_start else (sentences[0].end_char if sentences else 0)

    by_key: dict[str, list[Mention]] = defaultdict(list)
    for mention in doc._.mentions or ():
        by_key[mention.key].append(mention)
    most = max((len(ms) for ms in by_key.values()), default=0)

    provisional: list[tuple[str, list[Mention], bool, bool, float]] = []
    for key, mentions in by_key.items():
        in_headline = any(m.start_char < headline_end for m in mentions)
        in_lead = any(body_start <= m.start_char < lead_end for m in mentions)
        provisional.append((key, mentions, in_headline, in_lead, salience(in_headline, in_lead, len(mentions), most)))

    topics = _topics_beside_names(extract_keyphrases(doc, limit=2 * TOPICS_PER_ARTICLE), by_key, doc.text)
    focus = focus_terms(
        ((t.text, t.score) for t in topics),
        ((mentions[0].name, score) for _, mentions, _, _, score in provisional),
    )
    chosen = summarize(sentences, count=summary_sentences, focus=focus)
    summary_spans = [sentences[i] for i in chosen]
    summary_starts = {s.start_char for s in summary_spans}
    sentence_by_start = {s.start_char: s for s in sentences}

    entities: list[EntityInArticle] = []
    for key, mentions, in_headline, in_lead, score in provisional:
        entities.append(
            EntityInArticle(
                name=mentions[0].name,
                key=key,
                type=majority_label(m.label for m in mentions),
                label_counts=dict(Counter(m.label for m in mentions)),
                mentions=len(mentions),
                salience=score,
                in_headline=in_headline,
                in_lead=in_lead,
                key_sentence=_key_sentence(mentions, sentence_by_start, summary_starts),
                roles=list(dict.fromkeys(m.role for m in mentions if m.role)),
            )
        )
    entities.sort(key=lambda e: (-e.salience, -e.mentions, e.key))
    words = sum(1 for t in doc if t.idx >= body_start and not (t.is_punct or t.is_space))
    return ArticleAnalysis(
        summary=[_clean_sentence(s) for s in summary_spans],
        topics=topics,
        entities=entities,
        word_count=words,
    )


# Names that are a who or a where, not a what: ``!who`` answers for them, and as topics the places that most
# news mentions ("United States") would crowd every list of topics.
_NOT_TOPICS = frozenset({"PERSON", "GPE", "LOC", "NORP"})


def _topics_beside_names(keyphrases: list[Keyphrase], by_key: dict[str, list[Mention]], text: str) -> list[Keyphrase]:
    """Keyphrases that are topics, not people or places: ``!who`` covers those, ``!topics`` what the news
    is about.

    A phrase that is the name of a person or a place, a lone word of a person's name ("Milei" where the
    tagger missed it), or a phrase that ends in a person's name in the text ("tech executive Elon Musk",
    "Miss Taylor") is left out. A name used as a modifier stays ("Tesla factory"); so do the names of
    things, since an event, a law, a storm or a body can be what an article is about ("Hurricane Gilbert",
    "Second Amendment", "Census Bureau"); and so does "oil price" beside a person called Price.
    """
    names: set[str] = set()
    person_words: set[str] = set()
    person_spans: list[tuple[int, int]] = []
    for key, mentions in by_key.items():
        label = majority_label(m.label for m in mentions)
        if label in _NOT_TOPICS:
            names.add(key)
        if label == "PERSON":
            person_words.update(key.split(" "))
            person_spans.extend((m.start_char, m.end_char) for m in mentions)
    kept = []
    for phrase in keyphrases:
        key = name_key(phrase.text)
        if key in names or (" " not in key and key in person_words) or _ends_in_a_name(phrase.text, text, person_spans):
            continue
        kept.append(phrase)
    return kept[:TOPICS_PER_ARTICLE]


def _ends_in_a_name(phrase: str, text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether an occurrence of ``phrase`` in ``text`` ends in one of the character ``spans`` (a name)."""
    if not spans:
        return False
    words = phrase.split()
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
    for match in pattern.finditer(text):
        end = match.end()
        start = end - len(words[-1])
        if any(s < end and start < e for s, e in spans):
            return True
    return False


def _key_sentence(mentions: list[Mention], sentences: dict[int, Span], summary_starts: set[int]) -> str:
    """The sentence that best says what the article says about the entity.

    One that made the summary, else the first informative one (six words or more) that names it.
    """
    starts = [m.sentence_start for m in mentions if m.sentence_start in sentences]
    if not starts:
        return ""
    in_summary = [s for s in starts if s in summary_starts]
    informative = [s for s in starts if len(sentences[s]) >= 6]
    chosen = (in_summary or informative or starts)[0]
    text = _clean_sentence(sentences[chosen])
    if len(text) > KEY_SENTENCE_MAX_CHARS:
        text = text[: KEY_SENTENCE_MAX_CHARS - 1].rstrip() + "…"
    return text


def configure(nlp: Language, aliases: dict[str, str]) -> Language:
    """Add the Newsdesk entity component to a loaded pipeline."""
    if "newsdesk_entities" not in nlp.pipe_names:
        nlp.add_pipe("newsdesk_entities", config={"aliases": aliases})
    return nlp


def pipe(
    nlp: Language, articles: Sequence[ArticleText], summary_sentences: int, batch_size: int
) -> list[ArticleAnalysis]:
    return [
        build_analysis(doc, article, summary_sentences)
        for doc, article in zip(_docs(nlp, articles, batch_size), articles, strict=True)
    ]


def _docs(nlp: Language, articles: Sequence[ArticleText], batch_size: int) -> Iterator[Doc]:
    """One Doc per article, in order. Every article goes through ``nlp.pipe`` as pieces (one for nearly
    all); the pieces of a long one are joined into one Doc before the entity component, which resolves
    names across the whole article, runs on it."""
    entities = nlp.get_pipe("newsdesk_entities") if "newsdesk_entities" in nlp.pipe_names else None
    parts: list[Doc] = []
    for batch in _batches(_tokenized_pieces(nlp, articles), batch_size):
        analysed = nlp.pipe([doc for _, doc in batch], batch_size=len(batch), disable=["newsdesk_entities"])
        for (last, _), doc in zip(batch, analysed, strict=True):
            doc.tensor = numpy.zeros((0,), dtype="float32")  # the components' vectors: not read again
            parts.append(doc)
            if last:
                whole = parts[0] if len(parts) == 1 else Doc.from_docs(parts, ensure_whitespace=False)
                parts = []
                yield entities(whole) if entities is not None else whole


def _tokenized_pieces(nlp: Language, articles: Iterable[ArticleText]) -> Iterator[tuple[bool, Doc]]:
    """The tokenized pieces of each article's text (up to :data:`MAX_TOKENS` tokens), in order, each with
    whether it ends its article."""
    for article in articles:
        docs: list[Doc] = []
        tokens = 0
        for doc in _piece_docs(nlp, article.doc_text()[0]):
            if docs and tokens + len(doc) > MAX_TOKENS:
                break
            docs.append(doc)
            tokens += len(doc)
        for index, doc in enumerate(docs):
            yield index == len(docs) - 1, doc


def _piece_docs(nlp: Language, text: str) -> Iterator[Doc]:
    """``text`` tokenized in :func:`pieces`; a piece of more than :data:`PIECE_TOKENS` tokens is cut smaller."""
    for part in pieces(text):
        doc = nlp.make_doc(part)
        if len(doc) <= PIECE_TOKENS:
            yield doc
            continue
        smaller = max(CHUNK_CHARS, len(part) * PIECE_TOKENS // len(doc))
        yield from (nlp.make_doc(sub) for sub in pieces(part, smaller))


def _batches(docs: Iterable[tuple[bool, Doc]], max_docs: int) -> Iterator[list[tuple[bool, Doc]]]:
    """Consecutive items in batches of at most ``max_docs`` docs and :data:`BATCH_TOKENS` tokens (a
    longer doc makes a batch of its own)."""
    batch: list[tuple[bool, Doc]] = []
    tokens = 0
    for item in docs:
        if batch and (len(batch) == max_docs or tokens + len(item[1]) > BATCH_TOKENS):
            yield batch
            batch, tokens = [], 0
        batch.append(item)
        tokens += len(item[1])
    if batch:
        yield batch
