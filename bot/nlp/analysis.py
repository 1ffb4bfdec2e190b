"""From article text to everything the index stores about it: entities, roles, topics and a summary.

:class:`Analyzer` owns the spaCy pipeline. Bulk work goes through ``nlp.pipe`` in batches, split over
worker processes when there are enough articles to repay their start-up; small jobs (a new article for
an alert) run in-process. Nothing here may run on an event loop thread: callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.models import ArticleAnalysis, ArticleText, EntityInArticle, Keyphrase
from bot.nlp.entities import Mention, majority_label
from bot.nlp.names import name_key
from bot.nlp.pipeline import load_nlp
from bot.nlp.summary import focus_terms, summarize
from bot.nlp.topics import extract_keyphrases

TOPICS_PER_ARTICLE = 10
KEY_SENTENCE_MAX_CHARS = 400
# Below this many articles, starting worker processes (each loads the model) costs more than it saves.
POOL_MIN_ARTICLES = 200
_SPACES = re.compile(r"\s+")


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


# Worker-process state: each worker loads the pipeline once in its initializer.
_worker_nlp: Language | None = None


def _init_worker(model: str, aliases: dict[str, str]) -> None:
    global _worker_nlp
    _worker_nlp = configure(load_nlp(model), aliases)


def _analyze_chunk(articles: list[ArticleText], summary_sentences: int, batch_size: int) -> list[ArticleAnalysis]:
    assert _worker_nlp is not None, "worker used before its initializer ran"
    return _pipe(_worker_nlp, articles, summary_sentences, batch_size)


def _pipe(
    nlp: Language, articles: Sequence[ArticleText], summary_sentences: int, batch_size: int
) -> list[ArticleAnalysis]:
    texts = (a.doc_text()[0] for a in articles)
    return [
        build_analysis(doc, article, summary_sentences)
        for doc, article in zip(nlp.pipe(texts, batch_size=batch_size), articles, strict=True)
    ]


class Analyzer:
    """The loaded pipeline plus, for bulk work, a pool of worker processes that hold their own copy."""

    def __init__(
        self,
        model: str,
        aliases: dict[str, str],
        *,
        summary_sentences: int = 3,
        batch_size: int = 64,
        workers: int = 0,
        nlp: Language | None = None,
    ) -> None:
        self.model = model
        self.aliases = aliases
        self.summary_sentences = summary_sentences
        self.batch_size = batch_size
        self.workers = workers or min(2, os.cpu_count() or 1)
        self._nlp: Language | None = configure(nlp, aliases) if nlp is not None else None
        self._pool: ProcessPoolExecutor | None = None

    @property
    def nlp(self) -> Language:
        """The in-process pipeline, loaded on first use."""
        if self._nlp is None:
            self._nlp = configure(load_nlp(self.model), self.aliases)
        return self._nlp

    def analyze(self, articles: Sequence[ArticleText]) -> list[ArticleAnalysis]:
        """Analyse articles in-process (blocking; call it from a worker thread)."""
        return _pipe(self.nlp, articles, self.summary_sentences, self.batch_size)

    def analyze_stream(self, batches: Iterator[list[ArticleText]], total: int) -> Iterator[list[ArticleAnalysis]]:
        """Analyse batches in order, in parallel worker processes when ``total`` is large enough.

        Results come back batch by batch, in the order given, so the caller can write each batch in
        its own transaction while the next ones are being analysed.
        """
        if self.workers < 2 or total < POOL_MIN_ARTICLES:
            for batch in batches:
                yield self.analyze(batch)
            return
        pool = self.start_workers()
        pending = []
        for batch in batches:
            pending.append(pool.submit(_analyze_chunk, batch, self.summary_sentences, self.batch_size))
            # Keep a couple of batches queued per worker; more would only hold memory.
            while len(pending) > 2 * self.workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()

    def start_workers(self) -> ProcessPoolExecutor:
        """The worker processes (started on first use; each loads its own copy of the model)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.model, self.aliases),
            )
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
