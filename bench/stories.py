"""Story clustering quality: the production path against news articles grouped by event (ECB+).

    python -m bench.stories [--json] [--shuffles 5] [--no-cache]

Data: ``../shared/eval/stories`` (ECB+ development half, 483 articles in 42 events; see its README).
Each of its 21 topics holds two different events of the same kind — the hard negatives.

The production path: every article is written as a JSON record (headline, text, and the publication
date and outlet where the corpus knows them) and indexed by the real :class:`Indexer` into a temporary
:class:`Store`, in stream order, exactly as ``newsdesk index`` stores it (an article without a known date
gets the file's time, as in the product, and is stored as having no date of its own, which the
clustering reads: such a date never counts as published together, and an echo keeps such an article
apart). The indexer places each article in a story as it writes it;
the headline figures are those stories, read back. Then, for each shuffled order, every story is
forgotten and each article is placed again by the store itself (``store.stories.place_stored``: its
candidates found through the indexes, the decision, the stored state), in that order; placing them again
in stream order must give the indexer's stories (``placed_again_same``). For reference, the same
decisions are also made in memory over every story that shares a name or a probe word
(:class:`bot.stories.StoryStream`, fed what the index holds for each article, undated articles undated):
the difference is what the bounded candidate lookup and the file dates cost. Stories are read back once
every article is placed: a later article may merge two stories it bridges (:func:`bot.stories.same_event`).
The index is cached under ``bench/.cache`` by a digest of the data and of the indexing and clustering code.

The upper bound (``upper_bound``): the gold events, each split wherever two of its articles, in the time
order the indexer placed them (stored date or dateline; the file's time for an undated one), lie more than
the policy's horizon apart — the best any placement can score under the product's time rule.

Stream order: file order (topic, then document number), except that the articles with a known date
take the places of the dated articles in date order — what a feed reader sees is dated articles in time
order, with undated ones in between. The same run also places the articles in ``--shuffles`` random
orders (seeds 1…N) and reports their mean and worst.

Scores, over the 483 articles:

- ``pairwise``: over all unordered article pairs; precision = pairs put in one story that report one
  event ÷ pairs put in one story; recall = pairs reporting one event put in one story ÷ pairs reporting
  one event; F1 their harmonic mean.
- ``bcubed_f1``: per article, precision = share of its story reporting its event, recall = share of its
  event in its story; each averaged over articles, then their harmonic mean.
- ``wrong_merge_rate``: among predicted stories of two or more articles, the share holding articles of
  more than one event.
- ``halves``: the same scores over the articles of the odd-numbered topics (``tuning``: the policy was
  tuned on them) and of the even-numbered ones (``held_out``), from the same run over all the articles.

Baseline, measured in the same run and the same orders: online average-link clustering over TF-IDF
cosine (the corpus README's): word tokens of two or more characters, lower case, English stop words
removed, sublinear term frequency, smoothed IDF over the whole set, unit length; each article joins the
story with the highest mean cosine to its members when that reaches the threshold (0.15 and 0.25), else
starts one. It is also run in plain file order, as the README measured it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.data import SHARED
from bot.config import load_settings
from bot.ingest.indexer import Indexer
from bot.models import Article, from_iso
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store
from bot.stories import StoryArticle, StoryPolicy, StoryStream, Weighted, event_time

STORIES = SHARED / "eval" / "stories"
ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
# What decides what the index holds for an article: a change in any of these re-indexes.
_INDEX_SOURCES = ("bot/nlp", "bot/ingest", "bot/store", "bot/models.py", "config/aliases.toml")


@dataclass(frozen=True, slots=True)
class LabelledDoc:
    """One ECB+ article: its id, event, file, and the date and outlet when the corpus knows them."""

    doc_id: str
    event: str
    path: Path
    date: datetime | None
    source: str | None


def _natural(doc_id: str) -> tuple[int, int, str]:
    topic, rest = doc_id.split("_", 1)
    number = re.match(r"\d+", rest)
    return int(topic), int(number.group()) if number else 0, rest


def labelled_docs() -> list[LabelledDoc]:
    """Every article of the set, in file order (topic, then number, ECB before ECB+ for equal numbers)."""
    if not (STORIES / "clusters.json").is_file():
        raise SystemExit(f"evaluation data not found at {STORIES} (set NEWSDESK_SHARED)")
    clusters = json.loads((STORIES / "clusters.json").read_text(encoding="utf-8"))
    meta = json.loads((STORIES / "meta.json").read_text(encoding="utf-8"))
    event_of = {doc: event for event, docs in clusters.items() for doc in docs}
    docs = []
    for doc_id in sorted(event_of, key=_natural):
        info = meta.get(doc_id, {})
        date = datetime.fromisoformat(info["date"]).replace(tzinfo=UTC) if info.get("date") else None
        docs.append(LabelledDoc(doc_id, event_of[doc_id], STORIES / "docs" / f"{doc_id}.txt", date, info.get("source")))
    return docs


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for name in _INDEX_SOURCES:
        target = ROOT / name
        files = sorted(target.rglob("*")) if target.is_dir() else [target] if target.exists() else []
        for path in files:
            if path.is_file() and path.suffix in (".py", ".sql", ".toml"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _write_records(docs: Sequence[LabelledDoc], folder: Path) -> None:
    """One JSON record per article, as a feed or an export would give it: headline, text, and the
    publication date and outlet where the corpus knows them (else the indexer falls back to the file's time).
    The files are named so that the indexer, which reads a folder in name order, meets them in stream order."""
    for position, index in enumerate(stream_order(docs)):
        doc = docs[index]
        headline, _, body = (part.strip() for part in doc.path.read_text(encoding="utf-8").partition("\n"))
        # A one-sentence article is its own text (the indexer then derives the headline from it).
        record: dict[str, str] = {"title": headline, "text": body} if body else {"text": headline}
        if doc.date is not None:
            record["published"] = doc.date.isoformat()
        if doc.source:
            record["source"] = doc.source
        (folder / f"{position:04d}-{doc.doc_id}.json").write_text(json.dumps(record), encoding="utf-8")


async def index_labelled(docs: Sequence[LabelledDoc], indexer: Indexer) -> None:
    """Index ``docs`` as ``newsdesk index`` does, from JSON records in a temporary folder, in stream order:
    the indexer places each article in a story as it writes it, so the index holds the product's own
    decisions for that order."""
    with tempfile.TemporaryDirectory() as folder:
        _write_records(docs, Path(folder))
        report = await indexer.index_paths([Path(folder)])
    if report.skipped or report.analysed + report.duplicates != len(docs):
        raise RuntimeError(f"indexing went wrong: {report.summary_line()} {report.skipped[:3]}")


async def _index(docs: Sequence[LabelledDoc], database: Path) -> None:
    settings = load_settings()
    aliases = AliasTable.from_file(settings.aliases).as_dict()
    analyzer = Analyzer(settings.model, aliases, summary_sentences=settings.summary_sentences, workers=settings.workers)
    try:
        async with Store.open(database) as store:
            await index_labelled(docs, Indexer(store, analyzer, max_file_bytes=settings.max_file_bytes))
    finally:
        analyzer.close()


def indexed_database(docs: Sequence[LabelledDoc], *, use_cache: bool = True) -> Path:
    """The index of ``docs`` as ``newsdesk index`` builds it, cached under ``bench/.cache`` by a digest
    of the data, the model and the indexing code (so stale analyses are never reused)."""
    settings = load_settings()
    digest = hashlib.sha256(_sources_digest().encode())
    digest.update(b"bot/stories.py")
    digest.update((ROOT / "bot" / "stories.py").read_bytes())  # the indexer places every article it writes
    digest.update(b"stream order")
    digest.update(settings.model.encode())
    for doc in docs:
        digest.update(f"{doc.doc_id}|{doc.date}|{doc.source}|".encode())
        digest.update(doc.path.read_bytes())
    target = CACHE_DIR / f"stories-{digest.hexdigest()[:16]}.db"
    if use_cache and target.exists():
        return target
    CACHE_DIR.mkdir(exist_ok=True)
    building = target.with_suffix(".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    asyncio.run(_index(docs, building / "index.db"))
    for stale in CACHE_DIR.glob("stories-*.db"):
        stale.unlink()
    shutil.move(building / "index.db", target)
    shutil.rmtree(building, ignore_errors=True)
    return target


def story_article(article: Article, dated: bool) -> StoryArticle:
    """What the clustering gets for an indexed article: names keyed by entity id, topics by topic key.

    ``dated`` says whether the stored date is a publication date (else it is the file's time).
    """
    return StoryArticle(
        article_id=article.id,
        title=article.title,
        body=article.body or "",
        names=tuple(Weighted(str(e.entity_id), e.name, e.salience) for e in article.entities),
        topics=tuple(Weighted(t.key, t.name, t.score) for t in article.topics),
        published=from_iso(article.published) if dated else None,
        source=article.source,
    )


async def read_story_articles(store: Store, docs: Sequence[LabelledDoc]) -> list[StoryArticle]:
    """What the index holds for each of ``docs`` (names with salience, topics, headline, body), in order.

    An article is found by its origin, the record file named after its place in the stream and the document.
    """
    ids = [article.id async for article in store.articles.iter_all()]
    by_doc: dict[str, Article] = {}
    for article_id in ids:
        article = await store.articles.get(article_id, with_body=True)
        assert article is not None
        for origin in article.origins:
            by_doc[_doc_id(origin)] = article
    return [story_article(by_doc[d.doc_id], d.date is not None) for d in docs]


def _doc_id(origin: str) -> str:
    return Path(origin).stem.partition("-")[2]


async def indexed_stories(store: Store, articles: Sequence[StoryArticle]) -> list[int]:
    """The story the indexer put each article in (by position in ``articles``): the one it joined or
    started as it wrote it, or the one a later article merged that into."""
    return await indexed_story_ids(store, [article.article_id for article in articles])


async def indexed_story_ids(store: Store, article_ids: Sequence[int]) -> list[int]:
    """The story each of ``article_ids`` is in now, as the store keeps it."""
    stories = []
    for article_id in article_ids:
        story = await store.stories.story_of(article_id)
        if story is None:
            raise RuntimeError(f"article {article_id} was indexed without a story")
        stories.append(story)
    return stories


async def placed_times(store: Store, articles: Sequence[StoryArticle]) -> list[datetime | None]:
    """When the indexer placed each article in time: its stored date (the file's time for an undated
    one) or its dateline's (:func:`bot.stories.event_time`), as :meth:`StoryQueries.place` does."""
    times = []
    for article in articles:
        stored = await store.articles.get(article.article_id)
        assert stored is not None
        times.append(event_time(replace(article, published=from_iso(stored.published))))
    return times


def load_articles(
    *, use_cache: bool = True
) -> tuple[list[LabelledDoc], list[StoryArticle], list[int], Path, list[datetime | None]]:
    """Every labelled article in file order, with what the index holds for it, the story the indexer put
    it in, the index itself, and when the indexer placed each article in time."""
    docs = labelled_docs()
    database = indexed_database(docs, use_cache=use_cache)  # runs its own event loop when it indexes

    async def read() -> tuple[list[StoryArticle], list[int], list[datetime | None]]:
        async with Store.open(database) as store:
            articles = await read_story_articles(store, docs)
            return articles, await indexed_stories(store, articles), await placed_times(store, articles)

    articles, stories, times = asyncio.run(read())
    return docs, articles, stories, database, times


def perfect_within_horizon(
    docs: Sequence[LabelledDoc], times: Sequence[datetime | None], horizon: timedelta
) -> list[str]:
    """The best any placement can do under the product's time rule: each event's articles, in time
    order, split wherever two consecutive ones lie more than ``horizon`` apart (a story is a candidate
    only for articles within the horizon of its members, :func:`bot.stories.within`). Undated articles
    (none, as indexed: each carries the file's time) stay with their event."""
    labels = [""] * len(docs)
    by_event: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(docs):
        by_event[doc.event].append(index)
    for event, members in by_event.items():
        dated = sorted((i for i in members if times[i] is not None), key=lambda i: (times[i], i))
        part, previous = 0, None
        for index in dated:
            moment = times[index]
            assert moment is not None
            if previous is not None and moment - previous > horizon:
                part += 1
            labels[index], previous = f"{event}#{part}", moment
        for index in members:
            labels[index] = labels[index] or f"{event}#0"
    return labels


# ------------------------------------------------------------------------------------------- orders


def stream_order(docs: Sequence[LabelledDoc]) -> list[int]:
    """File order, with the dated articles' places taken by the dated articles in date order."""
    dated = iter(sorted((i for i, d in enumerate(docs) if d.date), key=lambda i: (docs[i].date, i)))
    return [next(dated) if d.date else i for i, d in enumerate(docs)]


def shuffled_order(count: int, seed: int) -> list[int]:
    """A seeded random order of ``count`` articles."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return order


# ------------------------------------------------------------------------------------------ scoring


def score(predicted: Sequence[Any], gold: Sequence[str]) -> dict[str, Any]:
    """Pairwise precision/recall/F1, B-cubed F1 and the wrong-merge rate (see the module docstring)."""
    stories, events, joint = Counter(predicted), Counter(gold), Counter(zip(predicted, gold, strict=True))

    def pairs(counts: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together, same_event, both = pairs(stories), pairs(events), pairs(joint)
    precision = both / together if together else 1.0
    recall = both / same_event if same_event else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    count = len(gold)
    b_precision = sum(joint[(p, g)] / stories[p] for p, g in zip(predicted, gold, strict=True)) / count
    b_recall = sum(joint[(p, g)] / events[g] for p, g in zip(predicted, gold, strict=True)) / count
    events_in: dict[Any, set[str]] = defaultdict(set)
    for p, g in zip(predicted, gold, strict=True):
        events_in[p].add(g)
    grouped = [s for s, n in stories.items() if n > 1]
    wrong = [s for s in grouped if len(events_in[s]) > 1]
    return {
        "pairwise": {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)},
        "bcubed_f1": round(2 * b_precision * b_recall / (b_precision + b_recall), 4),
        "wrong_merge_rate": round(len(wrong) / len(grouped), 4) if grouped else 0.0,
        "stories": len(stories),
        "grouped_stories": len(grouped),
        "wrong_merges": len(wrong),
        "merged_events": sorted(
            (sorted(events_in[s], key=_natural_event) for s in wrong), key=lambda events: _natural_event(events[0])
        ),
    }


def _natural_event(event: str) -> tuple[int, str]:
    topic, _, kind = event.partition("_")
    return int(topic) if topic.isdigit() else 0, kind


# ------------------------------------------------------------------------------------ the two methods


def place(articles: Sequence[StoryArticle], order: Sequence[int], policy: StoryPolicy) -> tuple[list[int], StoryStream]:
    """Story id of each article (by position in ``articles``), placing them in ``order``; and the stream."""
    stream = StoryStream(policy)
    labels = [0] * len(articles)
    for index in order:
        labels[index] = stream.add(articles[index]).story_id
    return [stream.story_of(label) for label in labels], stream


def cluster_ours(articles: Sequence[StoryArticle], order: Sequence[int], policy: StoryPolicy) -> list[int]:
    """Story id of each article (by position in ``articles``), placing them in ``order`` in memory, every
    story sharing a name or a probe word a candidate (:class:`StoryStream`)."""
    return place(articles, order, policy)[0]


async def place_in_store(
    store: Store, article_ids: Sequence[int], orders: Sequence[Sequence[int]], policy: StoryPolicy
) -> list[list[int]]:
    """The product's own path: for each order, every story forgotten, then each article placed again by
    the store (:meth:`bot.store.stories.StoryQueries.place_stored`: candidates through the indexes, the
    decision, the stored state) in that order; the story id of each article, by position."""
    store.stories.policy = policy
    runs = []
    for order in orders:
        await store.stories.reset()
        for index in order:
            assert await store.stories.place_stored(article_ids[index]) is not None
        # Read back at the end: a later article may have merged an article's story into another.
        runs.append(await indexed_story_ids(store, article_ids))
    return runs


def cluster_product(
    database: Path, article_ids: Sequence[int], orders: Sequence[Sequence[int]], policy: StoryPolicy
) -> tuple[list[list[int]], float]:
    """:func:`place_in_store` on a copy of ``database`` (the cached index stays as it is), and the
    seconds each article took to place, on average."""

    async def run(copy: Path) -> tuple[list[list[int]], float]:
        async with Store.open(copy) as store:
            started = time.perf_counter()
            runs = await place_in_store(store, article_ids, orders, policy)
            return runs, (time.perf_counter() - started) / max(1, len(article_ids) * len(orders))

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "index.db"
        shutil.copyfile(database, copy)
        return asyncio.run(run(copy))


_BASELINE_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tfidf_vectors(texts: Sequence[str]) -> list[dict[str, float]]:
    """The baseline's vectors: sublinear TF × smoothed IDF over ``texts``, English stop words removed."""
    from spacy.lang.en.stop_words import STOP_WORDS  # the baseline's stop list; the product's lives in bot.stories

    counts = [Counter(t for t in _BASELINE_TOKEN.findall(text.lower()) if t not in STOP_WORDS) for text in texts]
    document_frequency: Counter[str] = Counter()
    for c in counts:
        document_frequency.update(c.keys())
    total = len(texts)
    vectors = []
    for c in counts:
        weights = {
            t: (1 + math.log(n)) * (math.log((1 + total) / (1 + document_frequency[t])) + 1) for t, n in c.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({t: w / norm for t, w in weights.items()})
    return vectors


def cluster_average_link(vectors: Sequence[dict[str, float]], order: Sequence[int], threshold: float) -> list[int]:
    """Online average link: join the story with the highest mean cosine to its members, if ≥ threshold."""

    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        if len(a) > len(b):
            a, b = b, a
        return sum(w * b.get(t, 0.0) for t, w in a.items())

    members: list[list[int]] = []
    labels = [0] * len(vectors)
    for index in order:
        best, best_score = -1, -1.0
        for story, held in enumerate(members):
            mean = sum(cosine(vectors[index], vectors[j]) for j in held) / len(held)
            if mean > best_score:
                best, best_score = story, mean
        if best >= 0 and best_score >= threshold:
            members[best].append(index)
        else:
            best = len(members)
            members.append([index])
        labels[index] = best
    return labels


# ---------------------------------------------------------------------------------------------- run


BASELINE_THRESHOLDS = (0.15, 0.25)


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and worst of several runs' scores."""
    f1s = [r["pairwise"]["f1"] for r in runs]
    rates = [r["wrong_merge_rate"] for r in runs]
    return {
        "runs": len(runs),
        "pairwise_f1_mean": round(sum(f1s) / len(f1s), 4),
        "pairwise_f1_min": min(f1s),
        "bcubed_f1_mean": round(sum(r["bcubed_f1"] for r in runs) / len(runs), 4),
        "wrong_merge_rate_mean": round(sum(rates) / len(rates), 4),
        "wrong_merge_rate_max": max(rates),
    }


HALVES = {"tuning": 1, "held_out": 0}  # the parity of the ECB topic number: odd topics tune, even ones test


def topic_of(doc: LabelledDoc) -> int:
    """The ECB topic of a document ("12_3ecbplus" → 12)."""
    return int(doc.doc_id.split("_", 1)[0])


def score_halves(docs: Sequence[LabelledDoc], labels: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """:func:`score` over the articles of the odd topics (the policy was tuned on them) and over those of
    the even topics (held out), each from the same run over all the articles."""
    halves = {}
    for name, parity in HALVES.items():
        kept = [i for i, doc in enumerate(docs) if topic_of(doc) % 2 == parity]
        halves[name] = score([labels[i] for i in kept], [docs[i].event for i in kept])
    return halves


def same_partition(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two labellings group the articles alike, whatever the story ids."""
    return len(set(a)) == len(set(b)) == len(set(zip(a, b, strict=True)))


def _with_halves(docs: Sequence[LabelledDoc], labels: Sequence[Any]) -> dict[str, Any]:
    return {**score(labels, [d.event for d in docs]), "halves": score_halves(docs, labels)}


def _shuffled(docs: Sequence[LabelledDoc], runs: Sequence[Sequence[Any]]) -> dict[str, Any]:
    gold = [d.event for d in docs]
    halves = [score_halves(docs, run) for run in runs]
    return {
        **_summarise([score(run, gold) for run in runs]),
        "halves": {name: _summarise([h[name] for h in halves]) for name in HALVES},
    }


def evaluate(
    docs: Sequence[LabelledDoc],
    articles: Sequence[StoryArticle],
    indexed: Sequence[int],
    database: Path,
    *,
    shuffles: int = 5,
    policy: StoryPolicy | None = None,
    baselines: bool = True,
    times: Sequence[datetime | None] | None = None,
) -> dict[str, Any]:
    """The product's path — the stories ``newsdesk index`` put the articles in (``indexed``, stream order),
    and the store placing them again in shuffled orders — the same decisions in memory over every candidate
    (for reference), and the baselines over the same orders and file order. Each with its scores over
    the tuning and the held-out topics. ``policy`` applies to the placements after indexing; the indexer
    always uses the product's own."""
    policy = policy or StoryPolicy()
    stream = stream_order(docs)
    orders = [shuffled_order(len(docs), seed) for seed in range(1, shuffles + 1)]
    runs, seconds = cluster_product(database, [a.article_id for a in articles], [stream, *orders], policy)
    labels, placed = place(articles, stream, policy)
    result: dict[str, Any] = {
        "articles": len(docs),
        "events": len({d.event for d in docs}),
        **_with_halves(docs, indexed),
        "order": "stream (file order, dated articles in date order), as newsdesk index placed them",
        # Placing the indexed articles again in the same order must give the same stories.
        "placed_again_same": same_partition(runs[0], indexed) if policy == StoryPolicy() else None,
        "articles_per_second": round(1 / seconds, 1) if seconds else None,
        "largest_state_bytes": max(len(story.to_json().encode()) for story in placed.stories.values()),
    }
    if orders:
        result["shuffled"] = _shuffled(docs, runs[1:])
    result["in_memory"] = _with_halves(docs, labels)
    if times is not None:
        result["upper_bound"] = _with_halves(docs, perfect_within_horizon(docs, times, policy.horizon))
    if baselines:
        gold = [d.event for d in docs]
        vectors = tfidf_vectors([f"{a.title}\n\n{a.body}" for a in articles])
        result["baselines"] = {}
        for threshold in BASELINE_THRESHOLDS:
            row = _with_halves(docs, cluster_average_link(vectors, stream, threshold))
            row["file_order"] = score(cluster_average_link(vectors, range(len(docs)), threshold), gold)
            if orders:
                row["shuffled"] = _shuffled(docs, [cluster_average_link(vectors, o, threshold) for o in orders])
            result["baselines"][f"tfidf_average_link_{threshold}"] = row
    return result


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"ECB+ dev: {result['articles']} articles, {result['events']} events; stream order unless noted. "
        "Tuning: odd topics; held out: even topics (same run).",
        f"  {'method':<38}{'P':>7}{'R':>7}{'F1':>7}{'B3 F1':>7}{'wrong merges':>15}"
        f"{'tuning F1 / wrong':>20}{'held-out F1 / wrong':>22}",
    ]

    def halves(h: dict[str, Any], f1: str, rate: str) -> str:
        tuning, held = h["tuning"], h["held_out"]
        return (
            f"{tuning[f1] if f1 in tuning else tuning['pairwise']['f1']:>12.3f} / {tuning[rate]:>5.1%}"
            f"{held[f1] if f1 in held else held['pairwise']['f1']:>14.3f} / {held[rate]:>5.1%}"
        )

    def row(name: str, r: dict[str, Any]) -> str:
        p = r["pairwise"]
        wrong = f"{r['wrong_merge_rate']:.1%} ({r['wrong_merges']}/{r['grouped_stories']})"
        line = f"  {name:<38}{p['precision']:>7.3f}{p['recall']:>7.3f}{p['f1']:>7.3f}{r['bcubed_f1']:>7.3f}{wrong:>15}"
        return line + (halves(r["halves"], "f1", "wrong_merge_rate") if "halves" in r else "")

    def shuffled(name: str, s: dict[str, Any]) -> str:
        return (
            f"  {name:<38}{'':>14}{s['pairwise_f1_mean']:>7.3f}{s['bcubed_f1_mean']:>7.3f}"
            f"{s['wrong_merge_rate_mean']:>15.1%}"
            + halves(s["halves"], "pairwise_f1_mean", "wrong_merge_rate_mean")
            + f"   (worst F1 {s['pairwise_f1_min']:.3f}, worst wrong merges {s['wrong_merge_rate_max']:.1%})"
        )

    lines.append(row("newsdesk stories, as indexed", result))
    if "shuffled" in result:
        lines.append(shuffled(f"  … {result['shuffled']['runs']} shuffled orders, mean", result["shuffled"]))
    lines.append(row("  … in memory, every candidate", result["in_memory"]))
    if "upper_bound" in result:
        lines.append(row("perfect clustering within the horizon", result["upper_bound"]))
    for name, base in result.get("baselines", {}).items():
        lines.append(row(name.replace("_", " "), base))
        if "shuffled" in base:
            lines.append(shuffled("  … shuffled orders, mean", base["shuffled"]))
        lines.append(row("  … file order", base["file_order"]))
    merged = ", ".join(" + ".join(events) for events in result["merged_events"]) or "none"
    lines.append(f"\nnewsdesk stories, events merged in one story: {merged}")
    if result["placed_again_same"] is False:
        lines.append("WARNING: placed again by the store in stream order, the articles formed other stories")
    lines.append(
        f"newsdesk stories placed {result['articles_per_second']} articles/s in the store (after indexing); "
        f"largest stored story state {result['largest_state_bytes']:,} bytes"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--shuffles", type=int, default=5, help="random orders to place the articles in (default 5)")
    parser.add_argument("--no-cache", action="store_true", help="index again even if a cached index matches")
    args = parser.parse_args(argv)
    docs, articles, indexed, database, times = load_articles(use_cache=not args.no_cache)
    result = evaluate(docs, articles, indexed, database, shuffles=args.shuffles, times=times)
    print(json.dumps(result) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
