"""Keyphrase quality on DUC-2001: the topics the product stores against a plain TextRank.

Scoring follows the literature (Gallina, Boudin & Daille, JCDL 2020): lower-case, Porter-stem every
token, exact match of whole phrases after de-duplicating the predictions, F1@5 and F1@10 averaged per
document. Run from the project root::

    python -m bench.duc [--limit N] [--workers N] [--json]

Rows: ``ours`` is what ``newsdesk index`` stores and ``newsdesk export`` prints as the topics of each
document, indexed as a JSON file ``{"text": ...}`` (the documents have no headline) with the configured
pipeline (see :mod:`bench.product`); compare with PositionRank's published 28.6. ``textrank`` is Mihalcea &
Tarau's own recipe (top third of the words, adjacent ones merged); ``textrank-pke`` scores every longest
noun/adjective run instead, which is how pke (and so the published 21.5) runs TextRank by default. The
baselines read the stock model's parse, cached as a spaCy DocBin under ``bench/.cache`` (keyed by the
model, the pipeline and the text); ours is indexed afresh on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nltk.stem import PorterStemmer
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from bench.data import SHARED
from bench.product import index_texts, product_settings
from bot.config import Settings
from bot.nlp.analyzer import Analyzer

DEFAULT_DATA = SHARED / "eval" / "duc2001"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

# Published F1@10 (per-document average; Gallina, Boudin & Daille, JCDL 2020).
LITERATURE_F1_AT_10 = {"ours": 28.6, "textrank": 21.5, "textrank-pke": 21.5}
LITERATURE_NOTE = {"ours": "PositionRank", "textrank": "TextRank", "textrank-pke": "TextRank"}
KS = (5, 10)


@dataclass(frozen=True, slots=True)
class DucDocument:
    """One DUC-2001 article with its reader-assigned keyphrases."""

    id: str
    text: str
    references: tuple[str, ...]


def load_duc(root: Path = DEFAULT_DATA, limit: int | None = None) -> list[DucDocument]:
    """Load the DUC-2001 documents under ``root`` (``docs/<ID>.txt`` and ``references.json``), sorted by id."""
    references: dict[str, list[str]] = json.loads((root / "references.json").read_text(encoding="utf-8"))
    ids = sorted(references)
    if limit is not None:
        ids = ids[:limit]
    return [
        DucDocument(doc_id, (root / "docs" / f"{doc_id}.txt").read_text(encoding="utf-8"), tuple(references[doc_id]))
        for doc_id in ids
    ]


# --- scoring -----------------------------------------------------------------------------------------

_stemmer = PorterStemmer()


@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    return _stemmer.stem(token)


def normalise_phrase(phrase: str) -> str:
    """The form phrases are compared in: lower-cased, whitespace-tokenised, every token Porter-stemmed."""
    return " ".join(_stem(token) for token in phrase.lower().split())


def _unique(phrases: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(p for p in phrases if p))


def f1_at_k(predicted: Sequence[str], references: Sequence[str], k: int) -> float:
    """F1 of the first ``k`` de-duplicated predictions against the references (both normalised here)."""
    preds = _unique(normalise_phrase(p) for p in predicted)[:k]
    refs = set(_unique(normalise_phrase(r) for r in references))
    if not preds or not refs:
        return 0.0
    hits = sum(1 for p in preds if p in refs)
    if not hits:
        return 0.0
    precision, recall = hits / len(preds), hits / len(refs)
    return 2 * precision * recall / (precision + recall)


def evaluate(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], ks: Sequence[int] = KS
) -> dict[str, float]:
    """Per-document average F1@k (in percent) for each k."""
    n = max(len(predictions), 1)
    return {
        f"F1@{k}": 100 * sum(f1_at_k(p, r, k) for p, r in zip(predictions, references, strict=True)) / n for k in ks
    }


# --- the TextRank baseline (Mihalcea & Tarau, 2004) ------------------------------------------------------

_TEXTRANK_POS = frozenset({"NOUN", "PROPN", "ADJ"})


def _pagerank(
    graph: dict[str, dict[str, float]], damping: float = 0.85, iterations: int = 100, tolerance: float = 1e-6
) -> dict[str, float]:
    nodes = list(graph)
    if not nodes:
        return {}
    score = dict.fromkeys(nodes, 1.0 / len(nodes))
    out_weight = {n: sum(graph[n].values()) for n in nodes}
    for _ in range(iterations):
        new = {}
        for n in nodes:
            rank = sum(score[m] * w / out_weight[m] for m, w in graph[n].items())
            new[n] = (1 - damping) / len(nodes) + damping * rank
        delta = sum(abs(new[n] - score[n]) for n in nodes)
        score = new
        if delta < tolerance:
            break
    return score


def _textrank_scores(doc: Doc, window: int) -> tuple[list[str | None], dict[str, float]]:
    """PageRank of the unweighted graph of nouns and adjectives; an edge joins two that are less than
    ``window`` apart in the sequence of nouns and adjectives (function words skipped, as in pke)."""
    words = [
        t.lower_ if t.pos_ in _TEXTRANK_POS and t.is_alpha and not t.is_stop else None for t in doc if not t.is_space
    ]
    sequence = [w for w in words if w]
    graph: dict[str, dict[str, float]] = {w: {} for w in sequence}
    for i, w in enumerate(sequence):
        for v in sequence[i + 1 : i + window]:
            if v != w:
                graph[w][v] = graph[v][w] = 1.0
    return words, _pagerank(graph)


def textrank(doc: Doc, limit: int = 10, window: int = 2) -> list[str]:
    """TextRank keyphrases as in Mihalcea & Tarau (2004, 3.1): PageRank over the word graph, the top third
    of the words kept, adjacent kept words merged into phrases, phrases ranked by the sum of their words'
    scores."""
    words, score = _textrank_scores(doc, window)
    keep = set(sorted(score, key=score.__getitem__, reverse=True)[: max(1, len(score) // 3)])
    return _rank_runs(words, score, keep, limit)


def textrank_pke(doc: Doc, limit: int = 10, window: int = 2) -> list[str]:
    """TextRank as pke runs it by default (the literature's 21.5): the same word scores, but every longest
    run of nouns and adjectives is a candidate, ranked by the sum of its words' scores."""
    words, score = _textrank_scores(doc, window)
    return _rank_runs(words, score, set(score), limit)


def _rank_runs(words: Sequence[str | None], score: dict[str, float], keep: set[str], limit: int) -> list[str]:
    phrases: dict[str, float] = {}
    run: list[str] = []
    for w in [*words, None]:
        if w and w in keep:
            run.append(w)
            continue
        if run:
            phrases[" ".join(run)] = sum(score[x] for x in run)
            run = []
    return sorted(phrases, key=phrases.__getitem__, reverse=True)[:limit]


# --- parsing with an on-disk cache --------------------------------------------------------------------


def _cache_stem(nlp: Language) -> str:
    meta = nlp.meta
    pipes = hashlib.sha1(",".join(nlp.pipe_names).encode()).hexdigest()[:8]
    return f"duc2001-{meta.get('lang', 'xx')}_{meta.get('name', 'model')}-{meta.get('version', '0')}-{pipes}"


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def parse(nlp: Language, documents: Sequence[DucDocument], cache_dir: Path = CACHE_DIR) -> list[Doc]:
    """Parse ``documents`` with ``nlp``, reusing (and extending) the DocBin cache for this pipeline."""
    stem = _cache_stem(nlp)
    bin_path, index_path = cache_dir / f"{stem}.spacy", cache_dir / f"{stem}.json"
    cached: dict[str, Doc] = {}
    if bin_path.exists() and index_path.exists():
        keys = json.loads(index_path.read_text())
        docs = list(DocBin().from_disk(bin_path).get_docs(nlp.vocab))
        if len(keys) == len(docs):
            cached = dict(zip(keys, docs, strict=True))
    missing = [d for d in documents if _digest(d.text) not in cached]
    if missing:
        for d, parsed in zip(missing, nlp.pipe(d.text for d in missing), strict=True):
            cached[_digest(d.text)] = parsed
        cache_dir.mkdir(parents=True, exist_ok=True)
        keys = list(cached)
        DocBin(docs=[cached[k] for k in keys]).to_disk(bin_path)
        index_path.write_text(json.dumps(keys))
    return [cached[_digest(d.text)] for d in documents]


# --- the benchmark ------------------------------------------------------------------------------------

BASELINES: dict[str, Callable[[Doc, int], list[str]]] = {"textrank": textrank, "textrank-pke": textrank_pke}


def product_topics(
    documents: Sequence[DucDocument], settings: Settings, analyzer: Analyzer | None = None
) -> list[list[str]]:
    """The topics ``newsdesk index`` stores for each document (as ``newsdesk export`` prints them, best
    first), each document indexed as a JSON file ``{"text": ...}``."""
    return [stored.topics for stored in index_texts([d.text for d in documents], settings, analyzer)]


def run(
    settings: Settings, limit: int | None = None, root: Path = DEFAULT_DATA, nlp: Language | None = None
) -> dict:
    """F1@5 and F1@10 of the product's topics and of the TextRank baselines on DUC-2001 (the first ``limit``
    docs). ``nlp`` (the stock pipeline the baselines read) is loaded from the settings' model when not given.

    Returns ``{"documents": n, "methods": {name: {"F1@5", "F1@10", "literature_F1@10"}}}``.
    """
    from bot.nlp.pipeline import load_nlp

    documents = load_duc(root, limit)
    references = [d.references for d in documents]
    docs = parse(nlp or load_nlp(settings.model), documents)
    predictions = {"ours": product_topics(documents, settings)}
    for name, method in BASELINES.items():
        predictions[name] = [method(doc, max(KS)) for doc in docs]
    result: dict = {"documents": len(documents), "methods": {}}
    for name, predicted in predictions.items():
        scores = evaluate(predicted, references)
        result["methods"][name] = {
            **{k: round(v, 2) for k, v in scores.items()},
            "literature_F1@10": LITERATURE_F1_AT_10[name],
        }
    return result


def _table(result: dict) -> str:
    lines = [
        f"DUC-2001 keyphrases, {result['documents']} documents",
        f"{'method':<13} {'F1@5':>6} {'F1@10':>6} {'lit. F1@10':>18}",
    ]
    for name, row in result["methods"].items():
        lit = f"{row['literature_F1@10']:.1f} ({LITERATURE_NOTE[name]})"
        lines.append(f"{name:<13} {row['F1@5']:>6.2f} {row['F1@10']:>6.2f} {lit:>18}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the table (or, with ``--json``, one JSON object)."""
    parser = argparse.ArgumentParser(prog="python -m bench.duc", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N documents")
    parser.add_argument("--workers", type=int, default=None, help="analysis processes (default: the settings')")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"DUC-2001 folder ({DEFAULT_DATA})")
    args = parser.parse_args(argv)
    result = run(product_settings(args.workers), limit=args.limit, root=args.data)
    print(json.dumps(result) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
