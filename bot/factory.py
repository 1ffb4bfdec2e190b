"""Building the shared parts from the settings, the same way for the command line and the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import catalogue
from bot.answers import Answers
from bot.config import ConfigError, Settings
from bot.models import Clock, utc_now
from bot.nlp.names import AliasTable
from bot.store import Store

if TYPE_CHECKING:
    from bot.nlp.analyzer import Analyzer


def load_aliases(settings: Settings) -> AliasTable:
    """The alias table named by the settings; a malformed file is a configuration error."""
    try:
        return AliasTable.from_file(settings.aliases)
    except ValueError as exc:
        raise ConfigError(f"aliases: {exc}") from None


def make_analyzer(settings: Settings, aliases: AliasTable, *, processes_only: bool = False) -> Analyzer:
    """The analyzer as the settings describe it; the model loads on first use. ``processes_only`` (the
    bot) analyses every article in worker processes, so this process never imports spaCy."""
    from bot.nlp.analyzer import Analyzer

    return Analyzer(
        settings.model,
        aliases.as_dict(),
        summary_sentences=settings.summary_sentences,
        batch_size=settings.batch_size,
        workers=settings.workers,
        processes_only=processes_only,
    )


def make_answers(store: Store, settings: Settings, aliases: AliasTable, *, clock: Clock = utc_now) -> Answers:
    """The shared command logic over an open store, with every command catalogued (for help); ``clock``
    tells the time (``trending``'s "now")."""
    catalogue.load_all()
    return Answers(
        store,
        aliases,
        summary_sentences=settings.summary_sentences,
        max_query_chars=settings.max_query_chars,
        prefix=settings.prefix,
        clock=clock,
    )
