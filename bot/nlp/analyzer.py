"""The analyzer: where articles are analysed — in this process, or in worker processes of their own.

:func:`bot.nlp.analysis.pipe` does the work; this module decides where it runs, and imports spaCy only
when it runs here. Two ways:

- **in-process** (the command line, benchmarks, tests): small jobs run in this process, in the analyzer's
  one thread (:attr:`Analyzer.thread`); bulk work (:data:`POOL_MIN_ARTICLES` or more) goes to worker
  processes, which repay their start-up.
- **processes only** (the bot): every article, even one, is analysed in a worker process, and this
  process never imports spaCy. spaCy's components hold the GIL for tens of milliseconds per call (more
  on a busy machine), and a thread holding the GIL holds the bot's event loop with it; a process does not.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import TYPE_CHECKING

from bot.models import AnalysisFailed, ArticleAnalysis, ArticleText

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

# Below this many articles, starting worker processes (each loads the model) costs more than it saves.
POOL_MIN_ARTICLES = 200

# Worker-process state: each worker loads the pipeline once in its initializer.
_worker_nlp: Language | None = None


def _init_worker(model: str, aliases: dict[str, str]) -> None:
    from bot.nlp.analysis import configure
    from bot.nlp.pipeline import load_nlp

    global _worker_nlp
    _worker_nlp = configure(load_nlp(model), aliases)


def _analyze_chunk(articles: list[ArticleText], summary_sentences: int, batch_size: int) -> list[ArticleAnalysis]:
    from bot.nlp.analysis import pipe

    assert _worker_nlp is not None, "worker used before its initializer ran"
    return pipe(_worker_nlp, articles, summary_sentences, batch_size)


class Analyzer:
    """The pipeline (loaded on first use) and, for bulk work or ``processes_only``, worker processes that
    hold their own copy."""

    def __init__(
        self,
        model: str,
        aliases: dict[str, str],
        *,
        summary_sentences: int = 3,
        batch_size: int = 64,
        workers: int = 0,
        processes_only: bool = False,
        nlp: Language | None = None,
    ) -> None:
        self.model = model
        self.aliases = aliases
        self.summary_sentences = summary_sentences
        self.batch_size = batch_size
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.processes_only = processes_only
        self._nlp: Language | None = None
        if nlp is not None:
            from bot.nlp.analysis import configure

            self._nlp = configure(nlp, aliases)
        self._pool: ProcessPoolExecutor | None = None
        # One in-process analysis at a time: the pipeline is not safe to share between threads, and
        # several at once would only take turns holding the GIL, keeping the event loop waiting longer.
        self._lock = threading.Lock()
        self._thread: ThreadPoolExecutor | None = None

    @property
    def nlp(self) -> Language:
        """The in-process pipeline, loaded on first use."""
        if self._nlp is None:
            from bot.nlp.analysis import configure
            from bot.nlp.pipeline import load_nlp

            self._nlp = configure(load_nlp(self.model), self.aliases)
        return self._nlp

    def warm_up(self) -> None:
        """Load the model now (blocking: call it from a worker thread), where the articles will be
        analysed: in this process, or in the worker processes."""
        if self.processes_only:
            self._result(self._submit([]))
        else:
            _ = self.nlp

    def analyze(self, articles: Sequence[ArticleText]) -> list[ArticleAnalysis]:
        """Analyse articles (blocking; call it from a worker thread), in this process unless
        ``processes_only``."""
        if self.processes_only:
            return self._result(self._submit(list(articles)))
        from bot.nlp.analysis import pipe

        with self._lock:
            return pipe(self.nlp, articles, self.summary_sentences, self.batch_size)

    def analyze_stream(
        self, batches: Iterator[list[ArticleText]], total: int
    ) -> Iterator[list[ArticleAnalysis | AnalysisFailed]]:
        """Analyse batches in order, in parallel worker processes when ``total`` is large enough (always
        with ``processes_only``).

        Results come back batch by batch, in the order given, so the caller can write each batch in
        its own transaction while the next ones are being analysed. When a batch raises, its articles
        are analysed again one by one, and each that still raises is an :class:`AnalysisFailed` in its
        place: one bad article never costs the others.
        """
        if not self.processes_only and (self.workers < 2 or total < POOL_MIN_ARTICLES):
            for batch in batches:
                try:
                    result: list[ArticleAnalysis | AnalysisFailed] = list(self.analyze(batch))
                except Exception:
                    result = self._one_by_one(batch)
                yield result
            return
        pending: list[tuple[list[ArticleText], Future[list[ArticleAnalysis]]]] = []
        for batch in batches:
            pending.append((batch, self._submit(batch)))
            # Keep a couple of batches queued per worker; more would only hold memory.
            while len(pending) > 2 * self.workers:
                yield self._outcome(*pending.pop(0))
        for batch, future in pending:
            yield self._outcome(batch, future)

    def _outcome(
        self, batch: list[ArticleText], future: Future[list[ArticleAnalysis]]
    ) -> list[ArticleAnalysis | AnalysisFailed]:
        try:
            return list(self._result(future))
        except Exception:
            return self._one_by_one(batch)

    def _submit(self, articles: list[ArticleText]) -> Future[list[ArticleAnalysis]]:
        try:
            return self.start_workers().submit(_analyze_chunk, articles, self.summary_sentences, self.batch_size)
        except BrokenProcessPool:  # a worker died since the last job: start afresh
            self._discard_workers()
            return self.start_workers().submit(_analyze_chunk, articles, self.summary_sentences, self.batch_size)

    def _result(self, future: Future[list[ArticleAnalysis]]) -> list[ArticleAnalysis]:
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (killed, or out of memory on one article): the pool is unusable, so the
            # next job gets a fresh one; this job fails and is retried article by article.
            self._discard_workers()
            raise

    def _discard_workers(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _one_by_one(self, batch: list[ArticleText]) -> list[ArticleAnalysis | AnalysisFailed]:
        results: list[ArticleAnalysis | AnalysisFailed] = []
        for article in batch:
            try:
                results.extend(self.analyze([article]))
            except Exception as exc:
                log.debug("analysis of %r failed", article.title[:80], exc_info=True)
                first_line = (str(exc).strip().splitlines() or [""])[0][:200]
                results.append(AnalysisFailed(f"analysis failed ({type(exc).__name__}: {first_line})"))
        return results

    @property
    def thread(self) -> ThreadPoolExecutor:
        """The one thread async callers analyse in (``loop.run_in_executor(analyzer.thread, ...)``).

        Always the same thread, so the pipeline's allocations come from one malloc arena: glibc gives
        each thread its own, and each keeps its high-water mark (hundreds of MB across a pool of threads).
        """
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-analysis")
        return self._thread

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
        """Stop the worker processes and the analysis thread, if they were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None
