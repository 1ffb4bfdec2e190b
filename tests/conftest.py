"""Session-wide fixtures: the real spaCy pipeline is loaded once for the whole suite.

``seeded_store`` is one real SQLite index built once from ``seeds/`` and ``tests/data/articles``, and
``newsroom_store`` one with ``tests/data/newsroom`` besides (unrelated stories, a role that changes over
time); tests that change data use ``store`` (an empty index in the test's own temporary folder) instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from spacy.language import Language

from bot.app import NewsdeskBot
from bot.config import Settings, load_settings
from bot.ingest.indexer import Indexer
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store
from tests.fake_discord import FakeDiscord
from tests.fake_discord.fixtures import fake_discord  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "ap-musk-milei-tesla-texas.md"
TEST_ARTICLES = ROOT / "tests" / "data" / "articles"
NEWSROOM = ROOT / "tests" / "data" / "newsroom"


def seed_body() -> str:
    """The seed article's text without its front matter."""
    return SEED_ARTICLE.read_text(encoding="utf-8").split("---\n", 2)[2].strip()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The committed settings, with the database in a temporary folder and no environment overrides."""
    base = load_settings(ROOT / "config" / "newsdesk.toml", environ={})
    return base.replace(
        database=tmp_path_factory.mktemp("db") / "newsdesk.db",
        aliases=ROOT / "config" / "aliases.toml",
        folders=(SEEDS,),
        workers=1,
    )


@pytest.fixture(scope="session")
def aliases() -> AliasTable:
    """The committed alias table."""
    return AliasTable.from_file(ROOT / "config" / "aliases.toml")


@pytest.fixture(scope="session")
def analyzer(settings: Settings, aliases: AliasTable) -> Analyzer:
    """One analyzer (and one loaded model) for the whole session, in-process."""
    return Analyzer(settings.model, aliases.as_dict(), summary_sentences=settings.summary_sentences, workers=1)


@pytest.fixture(scope="session")
def nlp(analyzer: Analyzer) -> Language:
    """The real pipeline, as the indexer runs it."""
    return analyzer.nlp


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An empty index in this test's temporary folder."""
    async with Store.open(tmp_path / ".db" / "index.db") as opened:
        yield opened


@pytest.fixture
def indexer_for(analyzer: Analyzer, settings: Settings):
    """Build an :class:`Indexer` over a given store with the session's analyzer."""

    def make(store: Store, *, max_file_bytes: int | None = None, batch_size: int = 64) -> Indexer:
        return Indexer(store, analyzer, max_file_bytes=max_file_bytes or settings.max_file_bytes, batch_size=batch_size)

    return make


@pytest.fixture(scope="session")
async def seeded_store(tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer) -> AsyncIterator[Store]:
    """The seed article and the test articles, indexed once. Read-only for tests."""
    path = tmp_path_factory.mktemp("seeded") / "index.db"
    async with Store.open(path) as opened:
        report = await Indexer(opened, analyzer, max_file_bytes=2_000_000).index_paths([SEEDS, TEST_ARTICLES])
        assert report.indexed == 4 and not report.skipped, report
        yield opened


@pytest.fixture(scope="session")
async def newsroom_store(tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer) -> AsyncIterator[Store]:
    """The seeded articles and the newsroom's, indexed once, the seed first (article 1). Read-only for tests.

    The newsroom's articles are written for the tests, as wire copy: five business stories that share
    nothing with the seed but the United States, two of them on "jobs growth" and "job growth"; a story
    of organisations and orders that never says "budget", and two budget stories; Javier Milei as a
    presidential candidate, the President-elect and Argentina's president.
    """
    path = tmp_path_factory.mktemp("newsroom") / "index.db"
    async with Store.open(path) as opened:
        indexer = Indexer(opened, analyzer, max_file_bytes=2_000_000)
        report = await indexer.index_paths([SEEDS, TEST_ARTICLES, NEWSROOM])
        assert report.indexed == 4 + len(list(NEWSROOM.glob("*.md"))) and not report.skipped, report
        yield opened


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the backup API, not a file copy)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


@pytest.fixture
async def bot_settings(settings: Settings, seeded_store: Store, tmp_path: Path) -> Settings:
    """Settings for one bot run: its own copy of the seeded index, no watched folders."""
    database = tmp_path / "bot.db"
    copy_database(seeded_store.path, database)
    return settings.replace(database=database, folders=(), guild_ready_timeout=0.05, page_timeout_seconds=30.0)


@pytest.fixture
async def newsroom_bot(
    fake_discord: FakeDiscord,  # noqa: F811
    settings: Settings,
    newsroom_store: Store,
    tmp_path: Path,
) -> AsyncIterator[NewsdeskBot]:
    """The real bot, ready, on its own copy of the newsroom's index."""
    database = tmp_path / "newsroom.db"
    copy_database(newsroom_store.path, database)
    newsroom = settings.replace(database=database, folders=(), guild_ready_timeout=0.05, page_timeout_seconds=30.0)
    newsdesk = NewsdeskBot(newsroom)
    async with fake_discord.run_bot(newsdesk):
        yield newsdesk


@pytest.fixture
async def bot(fake_discord: FakeDiscord, bot_settings: Settings) -> AsyncIterator[NewsdeskBot]:  # noqa: F811
    """The real Newsdesk bot, ready, with every cog loaded."""
    newsdesk = NewsdeskBot(bot_settings)
    async with fake_discord.run_bot(newsdesk):
        yield newsdesk
