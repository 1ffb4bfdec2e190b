"""Session-wide fixtures: the real spaCy pipeline is loaded once for the whole suite.

Every test that reaches the index runs twice, once per backend (:data:`tests.backends.BACKENDS`): on a real
SQLite file and on a real (throwaway) PostgreSQL server — the ``backend`` fixture, which the ``store``,
``settings``, ``seeded_store`` and ``newsroom_store`` fixtures depend on. ``--backend sqlite`` (or
``NEWSDESK_TEST_BACKENDS=sqlite``) runs one. Tests about the SQLite file itself are marked ``sqlite_only``.

``seeded_store`` is one real index built once from ``seeds/`` and ``tests/data/articles``, and
``newsroom_store`` one with ``tests/data/newsroom`` besides (unrelated stories, a role that changes over
time); tests that change data use ``store`` (an empty index of their own) instead, or a copy
(:func:`copy_database`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from spacy.language import Language

from bot.app import NewsdeskBot
from bot.config import Settings, load_settings
from bot.ingest.indexer import Indexer
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.store import Store
from tests import backends
from tests.backends import copy_database, fresh_location
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=backends.BACKENDS,
        help="test the index on this backend only (repeatable; default: $NEWSDESK_TEST_BACKENDS, else both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about the SQLite file itself (modes, damage, WAL, full disk)")
    config.addinivalue_line("markers", "postgresql_only: about the PostgreSQL connections (asyncpg, the server)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the runs on a backend not chosen, and the PostgreSQL runs of tests about SQLite's file."""
    chosen = backends.chosen_backends(config.getoption("backend"))
    kept, left_out = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("backend") if params is not None else None
        wrong = backend is not None and (
            backend not in chosen
            or (backend != "sqlite" and item.get_closest_marker("sqlite_only"))
            or (backend != "postgresql" and item.get_closest_marker("postgresql_only"))
        )
        (left_out if wrong else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session", params=backends.BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The backend the index of this test lives on: ``"sqlite"`` or ``"postgresql"`` (a throwaway server,
    started at the first test that needs it and deleted after the last)."""
    if request.param == "postgresql":
        await backends.cluster()
    yield request.param
    if request.param == "postgresql":
        await backends.stop_cluster()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """PostgreSQL databases a test made (its store, copies of the seeded index) go when it ends."""
    yield
    backends.drop_test_databases()


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The committed settings, with the database in a temporary folder and no environment overrides (for
    what does not depend on where the index is: the model, the aliases)."""
    base = load_settings(ROOT / "config" / "newsdesk.toml", environ={})
    return base.replace(
        database=tmp_path_factory.mktemp("db") / "newsdesk.db",
        aliases=ROOT / "config" / "aliases.toml",
        folders=(SEEDS,),
        workers=1,
    )


@pytest.fixture(scope="session")
async def settings(base_settings: Settings, backend: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """:func:`base_settings` with the database on this test's backend (shared by the session)."""
    return base_settings.replace(
        database=await fresh_location(backend, tmp_path_factory.mktemp("db"), "newsdesk.db", keep=True)
    )


@pytest.fixture(scope="session")
def aliases() -> AliasTable:
    """The committed alias table."""
    return AliasTable.from_file(ROOT / "config" / "aliases.toml")


@pytest.fixture(scope="session")
def analyzer(base_settings: Settings, aliases: AliasTable) -> Analyzer:
    """One analyzer (and one loaded model) for the whole session, in-process."""
    return Analyzer(
        base_settings.model, aliases.as_dict(), summary_sentences=base_settings.summary_sentences, workers=1
    )


@pytest.fixture(scope="session")
def nlp(analyzer: Analyzer) -> Language:
    """The real pipeline, as the indexer runs it."""
    return analyzer.nlp


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty index of this test's own (in its temporary folder, or a new PostgreSQL database)."""
    async with Store.open(await fresh_location(backend, tmp_path / ".db")) as opened:
        yield opened


@pytest.fixture
async def location(backend: str, tmp_path: Path):
    """Where a new index of this test's own goes (a file in its temporary folder, or a new database), for
    tests that open and close it themselves; ``location("name.db")`` gives another."""

    async def make(name: str = "index.db") -> Path | str:
        return await fresh_location(backend, tmp_path, name)

    return make


@pytest.fixture
def indexer_for(analyzer: Analyzer, base_settings: Settings):
    """Build an :class:`Indexer` over a given store with the session's analyzer."""

    def make(store: Store, *, max_file_bytes: int | None = None, batch_size: int = 64) -> Indexer:
        return Indexer(
            store, analyzer, max_file_bytes=max_file_bytes or base_settings.max_file_bytes, batch_size=batch_size
        )

    return make


@pytest.fixture(scope="session")
async def seeded_store(
    backend: str, tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer
) -> AsyncIterator[Store]:
    """The seed article and the test articles, indexed once. Read-only for tests."""
    location = await fresh_location(backend, tmp_path_factory.mktemp("seeded"), keep=True)
    async with Store.open(location) as building:
        report = await Indexer(building, analyzer, max_file_bytes=2_000_000).index_paths([SEEDS, TEST_ARTICLES])
        assert report.indexed == 4 and not report.skipped, report
    opened = await backends.freeze(location)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
async def newsroom_store(
    backend: str, tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer
) -> AsyncIterator[Store]:
    """The seeded articles and the newsroom's, indexed once, the seed first (article 1). Read-only for tests.

    The newsroom's articles are written for the tests, as wire copy: five business stories that share
    nothing with the seed but the United States, two of them on "jobs growth" and "job growth"; a story
    of organisations and orders that never says "budget", and two budget stories; Javier Milei as a
    presidential candidate, the President-elect and Argentina's president.
    """
    location = await fresh_location(backend, tmp_path_factory.mktemp("newsroom"), keep=True)
    async with Store.open(location) as building:
        indexer = Indexer(building, analyzer, max_file_bytes=2_000_000)
        report = await indexer.index_paths([SEEDS, TEST_ARTICLES, NEWSROOM])
        assert report.indexed == 4 + len(list(NEWSROOM.glob("*.md"))) and not report.skipped, report
    opened = await backends.freeze(location)
    yield opened
    await opened.close()


@pytest.fixture
async def bot_settings(settings: Settings, seeded_store: Store, tmp_path: Path) -> Settings:
    """Settings for one bot run: its own copy of the seeded index, no watched folders."""
    database = await copy_database(seeded_store, tmp_path / "bot.db")
    return settings.replace(database=database, folders=(), guild_ready_timeout=0.05, page_timeout_seconds=30.0)


@pytest.fixture
async def seeded_copy(seeded_store: Store, tmp_path: Path) -> Path | str:
    """A copy of the seeded index of this test's own (a file, or a database), for a test to change or to
    hand to a ``newsdesk`` process."""
    return await copy_database(seeded_store, tmp_path / "seeded.db")


@pytest.fixture
async def newsroom_bot(
    fake_discord: FakeDiscord,  # noqa: F811
    settings: Settings,
    newsroom_store: Store,
    tmp_path: Path,
) -> AsyncIterator[NewsdeskBot]:
    """The real bot, ready, on its own copy of the newsroom's index."""
    database = await copy_database(newsroom_store, tmp_path / "newsroom.db")
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
