"""ROUGE benchmark of the summaries the product stores, against simple baselines measured in the same run.

Two corpora from ``../shared/eval`` (see its README):

* CNN/DailyMail (``cnndm/{dev,heldout}.jsonl``, journalists' highlights): ours vs Lead-3 vs a TF-IDF
  TextRank, 3 sentences each, ROUGE-1/2/Lsum F1 with stemming. Tune on ``dev`` only.
* BBC News Summary (machine-made references, a regression check): a seeded sample of 300 articles, as many
  sentences as the reference has (at most 10, the most ``summary_sentences`` allows); ours vs Lead-k vs
  sumy's TextRank, ROUGE-1/2 F1 with stemming.

``ours`` is the summary ``newsdesk index`` stores (see :mod:`bench.product`): CNN/DailyMail articles are
indexed as JSON files ``{"text": ...}`` (they have no headline), BBC articles from their own ``.txt`` files
(headline, blank line, body), with the configured pipeline and ``summary_sentences`` set to the length
asked for. The baselines choose among the stock model's sentences of the same text, the headline excluded;
that parse is cached as a ``DocBin`` under ``bench/.cache/``. Ours is indexed afresh on every run.

Run from the project root::

    python -m bench.rouge_eval [--split dev|heldout] [--limit N] [--corpus cnndm|bbc|all] [--workers N] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from bench.data import SHARED
from bench.product import index_files, index_texts, product_settings
from bot.config import Settings
from bot.nlp.analyzer import Analyzer

CNNDM_DIR = SHARED / "eval" / "cnndm"
BBC_DIR = SHARED / "eval" / "bbc-news-summary"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

CNNDM_COUNT = 3
BBC_SEED = 42
# The most sentences `summary_sentences` allows: longer BBC references are matched at this length.
BBC_MAX_COUNT = 10

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
            {
                "id": f"{path.parent.name}/{path.stem}",
                "path": path,
                "headline": headline,
                "text": text,
                "reference": reference,
            }
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


def _evaluate(references: Sequence[str], summaries: dict[str, Sequence[str]], types: Sequence[str]) -> dict:
    """Mean ROUGE F1 (in %) of every method's summaries (sentences joined by newlines) against the references."""
    scorer = _scorer(types)
    n = max(1, len(references))
    scores = {}
    for name, texts in summaries.items():
        totals = dict.fromkeys(types, 0.0)
        for reference, summary in zip(references, texts, strict=True):
            for kind, score in scorer.score(reference, summary).items():
                totals[kind] += score.fmeasure
        scores[name] = {t: round(100.0 * totals[t] / n, 2) for t in types}
    return {"scores": scores}


Baseline = Callable[[Sequence[Span], int], list[int]]


def _baseline_summaries(sentences: Sequence[list[Span]], counts: Sequence[int], method: Baseline) -> list[str]:
    return [
        "\n".join(sentence_text(sents[i]) for i in method(sents, count))
        for sents, count in zip(sentences, counts, strict=True)
    ]


# -------------------------------------------------------------------------------------------- corpora


def product_summaries(texts: Sequence[str], settings: Settings, analyzer: Analyzer | None = None) -> list[str]:
    """The summary ``newsdesk index`` stores for each headline-less text (indexed as a JSON file
    ``{"text": ...}``), its sentences joined by newlines."""
    return ["\n".join(stored.summary) for stored in index_texts(texts, settings, analyzer)]


def run_cnndm(
    settings: Settings, split: str = "dev", limit: int | None = None, nlp: Language | None = None
) -> dict:
    """ROUGE-1/2/Lsum F1 on CNN/DailyMail ``split``: ours vs Lead-3 vs TF-IDF TextRank, 3 sentences each.

    ``nlp`` (the stock pipeline the baselines read) is loaded from the settings' model when not given.
    Returns ``{"corpus", "split", "articles", "count", "scores": {method: {rouge1, rouge2, rougeLsum}}}``;
    methods are ``ours``, ``lead3`` and ``textrank``.
    """
    from bot.nlp.pipeline import load_nlp

    every = load_cnndm(split)
    docs = parse_cached(nlp or load_nlp(settings.model), f"cnndm-{split}", [row["article"] for row in every], limit)
    rows = every[: len(docs)]
    texts = [row["article"] for row in rows]
    sentences = [body_sentences(doc) for doc in docs]
    counts = [CNNDM_COUNT] * len(rows)
    summaries = {
        "ours": product_summaries(texts, settings.replace(summary_sentences=CNNDM_COUNT)),
        "lead3": _baseline_summaries(sentences, counts, lead),
        "textrank": _baseline_summaries(sentences, counts, tfidf_textrank),
    }
    references = ["\n".join(row["highlights"]) for row in rows]
    return {
        "corpus": "cnndm",
        "split": split,
        "articles": len(rows),
        "count": CNNDM_COUNT,
        **_evaluate(references, summaries, ("rouge1", "rouge2", "rougeLsum")),
    }


# Sentence ends in the BBC references, which are concatenated with or without a space after the stop;
# a full stop followed by a digit ("$1.13bn") is a decimal point.
_REFERENCE_END = re.compile(r"[.!?][\"'’”]?(?=\s|[A-Z\"'‘“(]|$)")


def reference_sentences(reference: str) -> int:
    """How many sentences a BBC reference summary has."""
    return max(1, len(_REFERENCE_END.findall(reference.strip())))


def run_bbc(settings: Settings, sample: int = 300, nlp: Language | None = None) -> dict:
    """ROUGE-1/2 F1 on the seeded BBC sample: ours vs Lead-k vs sumy's TextRank, k = the reference's
    sentences (at most :data:`BBC_MAX_COUNT`).

    Ours indexes the article files themselves, those of one k together with ``summary_sentences = k``; the
    baselines never pick the headline. Returns the same shape as :func:`run_cnndm`; methods are ``ours``,
    ``lead`` and ``sumy_textrank``.
    """
    from bot.nlp.pipeline import load_nlp

    rows = load_bbc(sample)
    docs = parse_cached(nlp or load_nlp(settings.model), f"bbc-seed{BBC_SEED}", [row["text"] for row in rows])
    counts = [min(reference_sentences(row["reference"]), BBC_MAX_COUNT) for row in rows]
    by_count: dict[int, list[int]] = defaultdict(list)
    for i, count in enumerate(counts):
        by_count[count].append(i)
    ours = [""] * len(rows)
    for count, indices in sorted(by_count.items()):
        stored = index_files([rows[i]["path"] for i in indices], settings.replace(summary_sentences=count))
        for i, article in zip(indices, stored, strict=True):
            ours[i] = "\n".join(article.summary)
    sentences = [body_sentences(doc, skip_chars=len(row["headline"])) for row, doc in zip(rows, docs, strict=True)]
    summaries = {
        "ours": ours,
        "lead": _baseline_summaries(sentences, counts, lead),
        "sumy_textrank": _baseline_summaries(sentences, counts, sumy_textrank),
    }
    return {
        "corpus": "bbc",
        "articles": len(rows),
        **_evaluate([row["reference"] for row in rows], summaries, ("rouge1", "rouge2")),
    }


# ----------------------------------------------------------------------------------------------- main


def _table(result: dict) -> str:
    types = list(next(iter(result["scores"].values())))
    title = result["corpus"] + (f" {result['split']}" if "split" in result else "")
    lines = [f"{title}: {result['articles']} articles", f"  {'method':<15}" + "".join(f"{t:>11}" for t in types)]
    for name, scores in result["scores"].items():
        lines.append(f"  {name:<15}" + "".join(f"{scores[t]:>11.2f}" for t in types))
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=("cnndm", "bbc", "all"), default="all")
    parser.add_argument("--split", choices=("dev", "heldout"), default="dev")
    parser.add_argument("--limit", type=int, default=None, help="only the first N CNN/DM articles")
    parser.add_argument("--sample", type=int, default=300, help="BBC articles in the seeded sample")
    parser.add_argument("--workers", type=int, default=None, help="analysis processes (default: the settings')")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(None if argv is None else list(argv))

    from bot.nlp.pipeline import load_nlp

    settings = product_settings(args.workers)
    nlp = load_nlp(settings.model)
    results: dict[str, dict] = {}
    if args.corpus in ("cnndm", "all"):
        results["cnndm"] = run_cnndm(settings, args.split, args.limit, nlp)
    if args.corpus in ("bbc", "all"):
        results["bbc"] = run_bbc(settings, args.sample, nlp)
    if args.json:
        print(json.dumps(results))
    else:
        print("\n\n".join(_table(result) for result in results.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
