"""``newsdesk``: build the index, ask it questions offline, export it, and run the bot.

Commands (each takes ``--db PATH`` or ``--db postgresql://…`` to use another database than the configured one):

- ``newsdesk index [--force] [--no-alerts] [PATH ...]``: index files and folders (default: the configured folders)
- ``newsdesk ask "!who Milei"``: print what the bot would answer (``--out FILE.png`` saves a picture)
- ``newsdesk console``: a prompt for the same
- ``newsdesk stats``: how much the index holds
- ``newsdesk export``: one JSON object per article on stdout
- ``newsdesk stories``: place every article in a story again (an index from before stories were kept)
- ``newsdesk migrate``: bring the database's schema up to date, and say which version it is at
- ``newsdesk run [--shards 0-1 --shard-count 4]``: the Discord bot (needs DISCORD_TOKEN), or some of its shards
- ``newsdesk worker``: poll the feeds and index them, beside the bots (see :mod:`bot.worker`)
- ``newsdesk start``: index, then the bot if DISCORD_TOKEN is set, else the console
- ``newsdesk copy --from sqlite:PATH --to postgresql://…``: move an index into an empty PostgreSQL database
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

from bot.answers import Answers, UserError
from bot.config import ConfigError, Secrets, Settings, database_location, load_settings
from bot.factory import load_aliases, make_analyzer, make_answers
from bot.ingest.indexer import Indexer, IndexReport
from bot.locations import describe
from bot.models import EVERYTHING, AlertPolicy, Viewer
from bot.nlp import ModelNotFoundError
from bot.render import picture_of, to_text
from bot.store import Store, StoreError
from bot.store.copy import CopyReport, TableCopy, copy_index, sqlite_source
from bot.store.migrations import load_migrations
from bot.wording import plural

log = logging.getLogger("newsdesk")


@asynccontextmanager
async def _open_answers(settings: Settings) -> AsyncIterator[Answers]:
    async with Store.open(settings.database) as store:
        answers = make_answers(store, settings, load_aliases(settings))
        try:
            yield answers
        finally:
            answers.close()


async def run_index(
    settings: Settings,
    paths: list[Path],
    *,
    force: bool = False,
    alerts: bool = True,
    out: TextIO = sys.stderr,
    progress: bool = True,
) -> IndexReport:
    """Index ``paths`` (or the configured folders) with a progress bar, and print the closing summary.

    New articles are alerted (a running bot delivers them from the outbox) unless ``alerts`` is off.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    aliases = load_aliases(settings)
    analyzer = make_analyzer(settings, aliases)
    console = Console(file=out)
    targets = paths or list(settings.folders)
    for target in targets:
        if not target.exists():
            print(f"skipped {target}: no such file or folder", file=out)
    columns = (
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.1f} articles/s"),
        TimeElapsedColumn(),
    )
    try:
        async with Store.open(settings.database) as store:
            indexer = Indexer(
                store,
                analyzer,
                max_file_bytes=settings.max_file_bytes,
                batch_size=settings.batch_size,
                max_article_chars=settings.max_article_chars,
            )
            with Progress(*columns, console=console, disable=not progress or not out.isatty()) as bar:
                task = bar.add_task("index", total=None, rate=0.0)

                def on_progress(done: int, total: int) -> None:
                    elapsed = bar.tasks[0].elapsed or 0.0
                    bar.update(task, completed=done, total=total, rate=done / elapsed if elapsed else 0.0)

                def on_skip(where: str, reason: str) -> None:
                    bar.console.print(f"skipped {where}: {reason}", markup=False, highlight=False)

                report = await indexer.index_paths(
                    [t for t in targets if t.exists()],
                    force=force,
                    on_skip=on_skip,
                    on_progress=on_progress,
                    alerts=AlertPolicy(settings.follow_salience) if alerts else None,
                )
    finally:
        analyzer.close()
    print(report.summary_line(), file=out)
    return report


def save_picture(answer: Any, path: Path) -> str | None:
    """Write the answer's picture to ``path``; the line that says where, or None when it has no picture."""
    picture = picture_of(answer)
    if picture is None:
        return None
    path.write_bytes(picture.png)
    return f"Picture saved to {path} ({picture.width} × {picture.height} PNG)."


async def run_ask(
    settings: Settings,
    question: str,
    out: TextIO = sys.stdout,
    *,
    picture_path: Path | None = None,
    viewer: Viewer = EVERYTHING,
) -> int:
    """Print the answer to one command (as ``viewer`` sees the index: everything, unless a server's view
    was asked for), and save its picture to ``picture_path`` when it has one; 1 when the command itself
    was not understood or the picture could not be saved."""
    async with _open_answers(settings) as answers:
        try:
            answer = await answers.ask(question, viewer=viewer)
        except UserError as exc:
            print(exc, file=out)
            return 1
        out.write(to_text(answer, settings.prefix))
    if picture_of(answer) is None:
        if picture_path is not None:
            print(f"No picture to save: only {settings.prefix}trend and {settings.prefix}graph draw one.", file=out)
        return 0
    if picture_path is None:
        print("Add --out FILE.png to save the picture.", file=out)
        return 0
    try:
        print(save_picture(answer, picture_path), file=out)
    except OSError as exc:
        print(f"Could not save the picture to {picture_path}: {exc.strerror or exc}.", file=out)
        return 1
    return 0


async def run_console(
    settings: Settings,
    out: TextIO = sys.stdout,
    read: Callable[[str], str] = input,
    *,
    viewer: Viewer = EVERYTHING,
) -> None:
    """A prompt that answers commands as the bot would (seeing everything, or one server's view), until
    ``quit`` or end of input."""
    pictures: Path | None = None  # a private folder of this session's pictures, made at the first one
    async with _open_answers(settings) as answers:
        stats = await answers.store.articles.stats(viewer=viewer)
        print(
            f"Newsdesk console — {plural(stats.articles, 'article')}, {plural(stats.entities, 'name')}. "
            f"Type a command like {settings.prefix}who Milei, {settings.prefix}help, or quit.",
            file=out,
        )
        while True:
            try:
                line = await asyncio.to_thread(read, "newsdesk> ")
            except (EOFError, KeyboardInterrupt):
                print(file=out)
                return
            line = line.strip()
            if not line:
                continue
            if line.lower() in {"quit", "exit", "q"}:
                return
            try:
                answer = await answers.ask(line, viewer=viewer)
            except UserError as exc:
                print(exc, file=out)
                out.flush()
                continue
            out.write(to_text(answer, settings.prefix))
            picture = picture_of(answer)
            if picture is not None:
                pictures = pictures or Path(tempfile.mkdtemp(prefix="newsdesk-pictures-"))
                stem = Path(picture.filename).stem
                number = sum(1 for _ in pictures.glob(f"{stem}-*.png")) + 1
                print(save_picture(answer, pictures / f"{stem}-{number}.png"), file=out)
            out.flush()


async def run_stats(settings: Settings, out: TextIO = sys.stdout, *, viewer: Viewer = EVERYTHING) -> None:
    """Print ``!stats``."""
    async with _open_answers(settings) as answers:
        out.write(to_text(await answers.stats(viewer=viewer), settings.prefix))


async def run_export(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Write one JSON object per article; returns how many."""
    count = 0
    async with Store.open(settings.database) as store:
        async for article in store.articles.iter_all():
            record: dict[str, Any] = {
                "id": article.id,
                "origin": article.origins[0] if article.origins else None,
                "origins": article.origins,
                "url": article.url,
                "title": article.title,
                "source": article.source,
                "published": article.published,
                "summary": article.summary,
                "topics": [t.name for t in article.topics],
                "entities": [
                    {"name": e.name, "type": e.type, "roles": e.roles, "mentions": e.mentions, "salience": e.salience}
                    for e in article.entities
                ],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


async def run_stories(settings: Settings, out: TextIO = sys.stderr) -> None:
    """Place every article in a story again, oldest first, and say how many stories that made."""
    async with Store.open(settings.database) as store:
        articles, stories = await store.stories.rebuild()
    print(f"Placed {plural(articles, 'article')} in {plural(stories, 'story', 'stories')}.", file=out)


async def run_migrate(settings: Settings, out: TextIO = sys.stdout) -> None:
    """Apply the migrations the configured database lacks, and say where it is (never a URL's password)."""
    async with Store.open(settings.database) as store:
        version = await store.db.schema_version()
        latest = len(load_migrations(dialect=store.db.dialect))
        kind = "PostgreSQL" if store.db.dialect == "postgresql" else "SQLite"
        print(f"The {kind} database {store.location} is at schema version {version} of {latest}.", file=out)


async def run_copy(source: str, target: str, out: TextIO = sys.stdout) -> CopyReport:
    """Copy the SQLite index ``source`` (``sqlite:PATH``) into the empty PostgreSQL database ``target``,
    printing each table's rows as it is done, then the total; the URL is shown without its password."""
    width = 24

    def on_table(done: TableCopy) -> None:
        print(f"{done.table:<{width}} {done.rows:>12,}", file=out, flush=True)

    report = await copy_index(sqlite_source(source), target, on_table=on_table)
    print(
        f"Copied {plural(report.rows, 'row')} of {plural(len(report.tables), 'table')} into {describe(target)} "
        f"in {report.seconds:.1f} s.",
        file=out,
    )
    return report


async def run_bot(settings: Settings, secrets: Secrets) -> int:
    """Run the Discord bot until it is stopped; returns the exit status."""
    from bot.app import run_bot as start

    return await start(settings, secrets)


async def run_worker(settings: Settings, secrets: Secrets) -> int:
    """Poll and index feeds until SIGTERM or SIGINT; returns the exit status."""
    from bot.worker import run_worker as start

    return await start(settings, secrets)


async def run_start(settings: Settings, secrets: Secrets) -> int:
    """Index the configured folders, then run the bot, or the console when there is no token."""
    await run_index(settings, [])
    if secrets.discord_token:
        return await run_bot(settings, secrets)
    print("DISCORD_TOKEN is not set: opening the local console instead of the bot.", file=sys.stderr)
    await run_console(settings)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdesk", description="Newsdesk: news answers from a local index.")
    parser.add_argument("--config", type=Path, help="settings file (default: config/newsdesk.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--db",
            type=_database_option,
            metavar="PATH|URL",
            help="database file or postgresql:// URL (default: from the settings)",
        )
        return p

    index = with_db(sub.add_parser("index", help="index article files and folders"))
    index.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the configured folders)")
    index.add_argument("--force", action="store_true", help="analyse every article again")
    index.add_argument("--no-alerts", action="store_true", help="index without alerting the new articles")

    def with_server(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--server", type=int, metavar="ID", help="answer as in this Discord server (default: see everything)"
        )
        return p

    ask = with_server(with_db(sub.add_parser("ask", help="answer one command, as the bot would")))
    ask.add_argument("question", help='a command, e.g. "!who Milei"')
    ask.add_argument("--out", type=Path, help="save the answer's picture (trend, graph) to this PNG file")
    with_server(with_db(sub.add_parser("console", help="a prompt that answers commands")))
    with_server(with_db(sub.add_parser("stats", help="how much the index holds")))
    with_db(sub.add_parser("export", help="one JSON object per article on stdout"))
    with_db(sub.add_parser("stories", help="place every article in a story again, oldest first"))
    with_db(sub.add_parser("migrate", help="bring the database's schema up to date and say its version"))
    run = with_db(sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)"))
    run.add_argument(
        "--shards", metavar="IDS", help='serve only these shards: "0-1", "2", "0,2" (default: all of --shard-count)'
    )
    run.add_argument(
        "--shard-count", type=int, metavar="N", help="the number of shards the bot runs in all (default: unsharded)"
    )
    with_db(sub.add_parser("start", help="index, then the bot (or the console without a token)"))
    with_db(sub.add_parser("worker", help="poll the feeds and index them, without Discord (beside the bots)"))
    copy = sub.add_parser("copy", help="copy a SQLite index into an empty PostgreSQL database, analysing nothing again")
    copy.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH", help="the SQLite index file")
    copy.add_argument(
        "--to", dest="target", required=True, metavar="postgresql://…", help="an empty PostgreSQL database"
    )
    return parser


def _database_option(text: str) -> Path | str:
    """``--db``: a file's path, or a ``postgresql://`` URL (checked as the setting is)."""
    try:
        return database_location("--db", text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--db: ")) from None


def configure_logging(verbose: bool) -> None:
    """Log to stderr; ``verbose`` shows Newsdesk's debug lines, never aiosqlite's, which repeat every
    statement with its parameters (article text, and feed URLs with their passwords)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``newsdesk`` command."""
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = load_settings(args.config)
        if getattr(args, "db", None):
            settings = settings.replace(database=args.db)
        if getattr(args, "shard_count", None) is not None:
            settings = settings.replace(shard_count=args.shard_count, shards=args.shards or "")
        elif getattr(args, "shards", None) is not None:
            settings = settings.replace(shards=args.shards)
        secrets = Secrets.from_env()
        server = getattr(args, "server", None)
        viewer = EVERYTHING if server is None else Viewer.server(server)
        commands: dict[str, Callable[[], Awaitable[Any]]] = {
            "index": lambda: run_index(settings, args.paths, force=args.force, alerts=not args.no_alerts),
            "ask": lambda: run_ask(settings, args.question, picture_path=args.out, viewer=viewer),
            "console": lambda: run_console(settings, viewer=viewer),
            "stats": lambda: run_stats(settings, viewer=viewer),
            "export": lambda: run_export(settings),
            "stories": lambda: run_stories(settings),
            "migrate": lambda: run_migrate(settings),
            "run": lambda: run_bot(settings, secrets),
            "start": lambda: run_start(settings, secrets),
            "worker": lambda: run_worker(settings, secrets),
            "copy": lambda: run_copy(args.source, args.target),
        }
        result = asyncio.run(commands[args.command]())
    except ConfigError as exc:
        print(f"newsdesk: configuration error: {exc}", file=sys.stderr)
        return 2
    except ModelNotFoundError as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `newsdesk export | head`
        return 0
    if args.command == "index":
        return 0
    return result if isinstance(result, int) and args.command in {"ask", "run", "start", "worker"} else 0


if __name__ == "__main__":
    sys.exit(main())
