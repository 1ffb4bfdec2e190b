"""ROUGE benchmark of the extractive summary (:func:`bot.nlp.summary.summarize`) against simple baselines.

Two corpora from ``../shared/eval`` (see its README):

* CNN/DailyMail (``cnndm/{dev,heldout}.jsonl``, journalists' highlights): ours vs Lead-3 vs a TF-IDF
  TextRank, 3 sentences each, ROUGE-1/2/Lsum F1 with stemming. Tune on ``dev`` only.
* BBC News Summary (machine-made references, a regression check): a seeded sample of 300 articles, as many
  sentences as the reference has; ours vs Lead-k vs sumy's TextRank, ROUGE-1/2 F1 with stemming.

Every method sees the same spaCy sentences. Each corpus is parsed once and cached as a ``DocBin`` under
``bench/.cache/`` so that re-runs only re-score.

Run from the project root::

    python -m bench.rouge_eval [--split dev|heldout] [--limit N] [--corpus cnndm|bbc|all] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from bot.nlp.summary import focus_terms, summarize

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
CNNDM_DIR = SHARED / "cnndm"
BBC_DIR = SHARED / "bbc-news-summary"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

CNNDM_COUNT = 3
BBC_SEED = 42

# --------------------------------------------------------------------------------------------- parsing


def _cache_key(nlp: Language, texts: Sequence[str]) -> str:
    """A digest of the texts and of the pipeline, so a changed corpus or model never reuses stale docs."""
    digest = hashlib.sha256()
    digest.update(f"{nlp.meta.get('name')}-{nlp.meta.get('version')}-{spacy.__version__}".encode())
    digest.update("|".join(nlp.pipe_names).encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()[:16]


def _cache_path(nlp: Language, name: str, texts: Sequence[str]) -> Path:
    return CACHE_DIR / f"{name}-{len(texts)}-{_cache_key(nlp, texts)}.spacy"


def parse_cached(nlp: Language, name: str, texts: Sequence[str], limit: int | None = None) -> list[Doc]:
    """The docs of ``texts[:limit]``, parsed by ``nlp`` once and then loaded from ``bench/.cache``.

    A cache of all ``texts`` serves any ``limit``; without one, only the first ``limit`` texts are parsed
    (and cached on their own), so a quick ``--limit`` run does not pay for the whole corpus.
    """
    full = _cache_path(nlp, name, texts)
    if full.exists():
        return list(DocBin().from_disk(full).get_docs(nlp.vocab))[:limit]
    if limit is not None and limit < len(texts):
        texts = texts[:limit]
    path = _cache_path(nlp, name, texts)
    if path.exists():
        return list(DocBin().from_disk(path).get_docs(nlp.vocab))
    started = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=16))
    print(f"parsed {len(texts)} {name} texts in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    docbin = DocBin(store_user_data=False)
    for doc in docs:
        docbin.add(doc)
    docbin.to_disk(path)
    return docs


def load_cnndm(split: str = "dev", limit: int | None = None) -> list[dict]:
    """Rows of ``cnndm/<split>.jsonl`` (``article`` lower-cased text, ``highlights`` list of sentences)."""
    with (CNNDM_DIR / f"{split}.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return rows[:limit] if limit else rows


def _read_text(path: Path) -> str:
    # One article of the BBC set is Latin-1; everything else is UTF-8.
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def load_bbc(sample: int = 300) -> list[dict]:
    """The seeded BBC sample: ``headline``, ``text`` (headline, blank line, body) and ``reference``."""
    articles = sorted(str(path) for path in (BBC_DIR / "articles").glob("*/*.txt"))
    chosen = random.Random(BBC_SEED).sample(articles, sample) if sample < len(articles) else articles
    rows = []
    for name in chosen:
        path = Path(name)
        text = _read_text(path).replace("\r\n", "\n").strip()
        headline = text.split("\n", 1)[0].strip()
        reference = _read_text(BBC_DIR / "summaries" / path.parent.name / path.name).strip()
        rows.append(
            {"id": f"{path.parent.name}/{path.stem}", "headline": headline, "text": text, "reference": reference}
        )
    return rows


# ----------------------------------------------------------------------------------------- sentences


def body_sentences(doc: Doc, skip_chars: int = 0) -> list[Span]:
    """The sentences of ``doc`` that start at or after ``skip_chars`` (the headline) and hold a word."""
    return [
        sent
        for sent in doc.sents
        if sent.start_char >= skip_chars and any(token.is_alpha or token.like_num for token in sent)
    ]


def sentence_text(sent: Span) -> str:
    return " ".join(sent.text.split())


# ----------------------------------------------------------------------------------------------- focus


# Entity types that name something an article can be about (not dates, amounts, ordinals...).
_FOCUS_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})
_CHUNK_SKIP = frozenset({"DET", "PRON", "PUNCT", "SPACE", "NUM"})


def entity_salience(doc: Doc) -> list[tuple[str, float]]:
    """Named entities with their share of the doc's entity mentions, most salient first."""
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for ent in doc.ents:
        if ent.label_ in _FOCUS_LABELS:
            key = ent.text.lower().strip()
            counts[key] += 1
            names.setdefault(key, ent.text)
    total = sum(counts.values())
    return [(names[key], count / total) for key, count in counts.most_common()]


def _noun_chunk_keyphrases(doc: Doc, limit: int) -> list[tuple[str, float]]:
    """Stand-in for ``bot.nlp.topics``: the most frequent noun chunks (determiners and pronouns dropped)."""
    counts: Counter[str] = Counter()
    for chunk in doc.noun_chunks:
        words = [token.lower_ for token in chunk if token.pos_ not in _CHUNK_SKIP and not token.is_stop]
        if words:
            counts[" ".join(words)] += 1
    return [(text, float(count)) for text, count in counts.most_common(limit)]


def keyphrases_of(doc: Doc, limit: int = 10) -> list[tuple[str, float]]:
    """Keyphrases as production gets them (``bot.nlp.topics``), or noun chunks while that module is missing."""
    try:
        from bot.nlp.topics import extract_keyphrases
    except ImportError:
        return _noun_chunk_keyphrases(doc, limit)
    return [(phrase.text, phrase.score) for phrase in extract_keyphrases(doc, limit)]


def doc_focus(doc: Doc) -> dict[str, float]:
    """The focus mapping for ``doc``: its top 10 keyphrases and its entities (share of mentions), through
    :func:`~bot.nlp.summary.focus_terms` as the indexer does."""
    return focus_terms(keyphrases_of(doc, 10), entity_salience(doc))


def topics_available() -> bool:
    try:
        import bot.nlp.topics  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------------------- baselines


def lead(sentences: Sequence[Span], count: int) -> list[int]:
    """The first ``count`` sentences."""
    return list(range(min(count, len(sentences))))


_TOKEN = re.compile(r"[a-z0-9]+")


def tfidf_textrank(sentences: Sequence[Span], count: int) -> list[int]:
    """TextRank (PageRank, damping 0.85) over the TF-IDF cosine similarity of the article's sentences.

    Words are lower-cased lemmas without stop words; IDF is over the article's own sentences.
    """
    n = len(sentences)
    if n <= count:
        return list(range(n))
    rows = [
        Counter(t.lemma_.lower() for t in sent if (t.is_alpha or t.like_num) and not t.is_stop) for sent in sentences
    ]
    vocab = {key: i for i, key in enumerate(dict.fromkeys(key for row in rows for key in row))}
    matrix = np.zeros((n, max(len(vocab), 1)))
    for i, row in enumerate(rows):
        for key, tf in row.items():
            matrix[i, vocab[key]] = tf
    df = np.count_nonzero(matrix, axis=0)
    matrix *= np.log(n / np.maximum(df, 1)) + 1.0
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    matrix /= norms[:, None]
    sim = matrix @ matrix.T
    np.fill_diagonal(sim, 0.0)
    out = sim.sum(axis=1)
    out[out == 0] = 1.0
    transition = sim / out[:, None]
    rank = np.full(n, 1.0 / n)
    for _ in range(100):
        new = 0.15 / n + 0.85 * transition.T @ rank
        if np.abs(new - rank).sum() < 1e-8:
            rank = new
            break
        rank = new
    best = sorted(range(n), key=lambda i: (-rank[i], i))[:count]
    return sorted(best)


class _SpanTokenizer:
    """A sumy tokenizer that hands back spaCy's own sentences and words (nltk's punkt data is offline)."""

    def __init__(self, sentences: Sequence[Span]) -> None:
        self._words = {sentence_text(s): [t.text for t in s if not t.is_punct and not t.is_space] for s in sentences}

    def to_sentences(self, paragraph: str) -> list[str]:
        return [paragraph]

    def to_words(self, sentence: str) -> list[str]:
        return self._words.get(sentence) or _TOKEN.findall(sentence.lower())


def sumy_textrank(sentences: Sequence[Span], count: int) -> list[int]:
    """sumy's TextRankSummarizer (English stemmer and stop words) over the same sentences."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph
    from sumy.models.dom import Sentence as SumySentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    if not sentences:
        return []
    tokenizer = _SpanTokenizer(sentences)
    objects = [SumySentence(sentence_text(s), tokenizer) for s in sentences]
    document = ObjectDocumentModel([Paragraph(objects)])
    summarizer = TextRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    picked = {id(s) for s in summarizer(document, count)}
    return [i for i, s in enumerate(objects) if id(s) in picked]


# ----------------------------------------------------------------------------------------------- ROUGE


def _scorer(types: Sequence[str]):
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(types), use_stemmer=True)


Item = tuple[list[Span], str, int, dict[str, float]]  # sentences, reference, summary length, focus


def _evaluate(items: Sequence[Item], methods: dict[str, Callable[..., list[int]]], types: Sequence[str]) -> dict:
    """Mean ROUGE F1 (in %) of every method over ``items``, and the milliseconds each takes per article.

    ``ours`` also gets the focus; baselines only the sentences and the count.
    """
    scorer = _scorer(types)
    totals = {name: dict.fromkeys(types, 0.0) for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for sentences, reference, count, focus in items:
        for name, method in methods.items():
            started = time.perf_counter()
            picked = method(sentences, count, focus) if name == "ours" else method(sentences, count)
            seconds[name] += time.perf_counter() - started
            summary = "\n".join(sentence_text(sentences[i]) for i in picked)
            for kind, score in scorer.score(reference, summary).items():
                totals[name][kind] += score.fmeasure
    n = max(1, len(items))
    return {
        "scores": {name: {t: round(100.0 * total[t] / n, 2) for t in types} for name, total in totals.items()},
        "ms_per_article": {name: round(1000.0 * seconds[name] / n, 3) for name in methods},
    }


def _focus_source() -> str:
    return "bot.nlp.topics" if topics_available() else "noun chunks (bot.nlp.topics missing)"


# -------------------------------------------------------------------------------------------- corpora


def run_cnndm(nlp: Language, split: str = "dev", limit: int | None = None) -> dict:
    """ROUGE-1/2/Lsum F1 on CNN/DailyMail ``split``: ours vs Lead-3 vs TF-IDF TextRank, 3 sentences each.

    Returns ``{"corpus", "split", "articles", "count", "focus", "scores": {method: {rouge1, rouge2,
    rougeLsum}}, "ms_per_article": {method: ms}}``; methods are ``ours``, ``lead3`` and ``textrank``.
    """
    rows = load_cnndm(split)
    docs = parse_cached(nlp, f"cnndm-{split}", [row["article"] for row in rows], limit)
    items = [
        (body_sentences(doc), "\n".join(row["highlights"]), CNNDM_COUNT, doc_focus(doc))
        for row, doc in zip(rows, docs, strict=False)
    ]
    methods = {"ours": summarize, "lead3": lead, "textrank": tfidf_textrank}
    return {
        "corpus": "cnndm",
        "split": split,
        "articles": len(items),
        "count": CNNDM_COUNT,
        "focus": _focus_source(),
        **_evaluate(items, methods, ("rouge1", "rouge2", "rougeLsum")),
    }


# Sentence ends in the BBC references, which are concatenated with or without a space after the stop;
# a full stop followed by a digit ("$1.13bn") is a decimal point.
_REFERENCE_END = re.compile(r"[.!?][\"'’”]?(?=\s|[A-Z\"'‘“(]|$)")


def reference_sentences(reference: str) -> int:
    """How many sentences a BBC reference summary has."""
    return max(1, len(_REFERENCE_END.findall(reference.strip())))


def run_bbc(nlp: Language, sample: int = 300) -> dict:
    """ROUGE-1/2 F1 on the seeded BBC sample: ours vs Lead-k vs sumy's TextRank, k = the reference's sentences.

    The headline is parsed with the article (as the indexer does, so it feeds the focus) but is never a
    candidate sentence. Returns the same shape as :func:`run_cnndm`; methods are ``ours``, ``lead`` and
    ``sumy_textrank``.
    """
    rows = load_bbc(sample)
    docs = parse_cached(nlp, f"bbc-seed{BBC_SEED}", [row["text"] for row in rows])
    items = [
        (
            body_sentences(doc, skip_chars=len(row["headline"])),
            row["reference"],
            reference_sentences(row["reference"]),
            doc_focus(doc),
        )
        for row, doc in zip(rows, docs, strict=True)
    ]
    methods = {"ours": summarize, "lead": lead, "sumy_textrank": sumy_textrank}
    return {
        "corpus": "bbc",
        "articles": len(items),
        "focus": _focus_source(),
        **_evaluate(items, methods, ("rouge1", "rouge2")),
    }


# ----------------------------------------------------------------------------------------------- main


def _table(result: dict) -> str:
    types = list(next(iter(result["scores"].values())))
    title = result["corpus"] + (f" {result['split']}" if "split" in result else "")
    lines = [
        f"{title}: {result['articles']} articles, focus from {result['focus']}",
        f"  {'method':<15}" + "".join(f"{t:>11}" for t in types) + f"{'ms/article':>12}",
    ]
    for name, scores in result["scores"].items():
        row = "".join(f"{scores[t]:>11.2f}" for t in types)
        lines.append(f"  {name:<15}{row}{result['ms_per_article'][name]:>12.2f}")
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=("cnndm", "bbc", "all"), default="all")
    parser.add_argument("--split", choices=("dev", "heldout"), default="dev")
    parser.add_argument("--limit", type=int, default=None, help="only the first N CNN/DM articles")
    parser.add_argument("--sample", type=int, default=300, help="BBC articles in the seeded sample")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(None if argv is None else list(argv))

    from bot.nlp.pipeline import load_nlp

    nlp = load_nlp()
    results: dict[str, dict] = {}
    if args.corpus in ("cnndm", "all"):
        results["cnndm"] = run_cnndm(nlp, args.split, args.limit)
    if args.corpus in ("bbc", "all"):
        results["bbc"] = run_bbc(nlp, args.sample)
    if args.json:
        print(json.dumps(results))
    else:
        print("\n\n".join(_table(result) for result in results.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
