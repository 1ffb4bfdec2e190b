"""Settings: committed defaults in ``config/newsdesk.toml``, each overridable by ``NEWSDESK_<KEY>``.

Secrets (the Discord token) come only from the environment and never live in :class:`Settings`' file.
A bad value stops start-up with one :class:`ConfigError` that names the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.locations import describe, is_postgres
from bot.shards import ShardError, ShardPlan, parse_shard_ids

ENV_PREFIX = "NEWSDESK_"
DEFAULT_CONFIG_PATH = Path("config/newsdesk.toml")
# Who polls the feeds: the bot process itself, or `newsdesk worker` processes (then the bot does not).
INGEST_MODES = ("here", "workers")


class ConfigError(Exception):
    """A setting is missing, unknown or malformed; the message names the key."""


# Letters that render as nothing: a prefix made of them looks like no prefix at all.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def valid_prefix(prefix: str) -> bool:
    """A command prefix is 1 to 5 visible characters: no spaces, control, format (zero-width, bidi) or
    blank characters — an empty or invisible prefix would make every message a command."""
    return (
        1 <= len(prefix) <= 5
        and not any(unicodedata.category(c)[0] in "CZ" or c.isspace() or c in _BLANK_LETTERS for c in prefix)
        and unicodedata.category(prefix[0])[0] != "M"
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of the bot. Field defaults mirror ``config/newsdesk.toml``."""

    # A SQLite file, or a PostgreSQL database as a ``postgresql://user:password@host/db`` URL (a str).
    database: Path | str = Path("data/newsdesk.db")
    model: str = "en_core_web_sm"
    folders: tuple[Path, ...] = (Path("seeds"),)
    feeds: tuple[str, ...] = ()
    aliases: Path = Path("config/aliases.toml")
    summary_sentences: int = 3
    max_file_bytes: int = 2_000_000
    max_article_chars: int = 100_000
    max_query_chars: int = 200
    batch_size: int = 64
    workers: int = 0
    prefix: str = "!"
    dev_guild_id: int = 0
    guild_ready_timeout: float = 2.0
    cooldown_uses: int = 5
    cooldown_seconds: float = 10.0
    page_timeout_seconds: float = 180.0
    loop_stall_ms: int = 100
    follow_salience: float = 0.35
    alerts_per_minute: int = 5
    feed_interval_minutes: float = 10.0
    feed_min_interval_minutes: float = 1.0
    feed_timeout_seconds: float = 15.0
    feed_max_bytes: int = 5_000_000
    feed_max_failures: int = 5
    feed_max_per_server: int = 50
    source_add_per_minute: int = 5
    follow_per_minute: int = 10
    fetch_full_text: bool = True
    allowed_private_networks: tuple[str, ...] = ()
    watch_debounce_ms: int = 800
    retention_days: int = 30
    server_grace_days: float = 7.0
    spike_check_minutes: float = 10.0
    digest_check_minutes: float = 1.0
    ingest: str = "here"
    lease_seconds: float = 60.0
    shards: str = ""
    shard_count: int = 0

    def __post_init__(self) -> None:
        checks: dict[str, tuple[float, float]] = {
            "summary_sentences": (1, 10),
            "max_file_bytes": (1, 1 << 31),
            # spaCy refuses texts over a million characters; the headline is analysed with the body.
            "max_article_chars": (1000, 900_000),
            "max_query_chars": (1, 2000),
            "batch_size": (1, 10_000),
            "workers": (0, 64),
            "dev_guild_id": (0, 1 << 64),
            "guild_ready_timeout": (0, 60),
            "cooldown_uses": (1, 1000),
            "cooldown_seconds": (0.1, 3600),
            "page_timeout_seconds": (1, 3600),
            "loop_stall_ms": (1, 60_000),
            "follow_salience": (0, 1),
            "alerts_per_minute": (1, 120),
            "feed_interval_minutes": (0.01, 7 * 24 * 60),
            "feed_min_interval_minutes": (0.01, 7 * 24 * 60),
            "feed_timeout_seconds": (0.1, 600),
            "feed_max_bytes": (1024, 1 << 31),
            "feed_max_failures": (1, 1000),
            "feed_max_per_server": (1, 10_000),
            "source_add_per_minute": (1, 600),
            "follow_per_minute": (1, 600),
            "watch_debounce_ms": (0, 60_000),
            # At least the two days in which a near-identical title is not alerted again.
            "retention_days": (2, 3650),
            "server_grace_days": (0, 365),
            "spike_check_minutes": (0.005, 24 * 60),
            "digest_check_minutes": (0.005, 60),
            # Leases are written in whole seconds: two at least, so one renewed every third of it never lapses.
            "lease_seconds": (2, 3600),
            "shard_count": (0, 65_536),
        }
        for key, (low, high) in checks.items():
            value = getattr(self, key)
            if not low <= value <= high:
                raise ConfigError(f"{key}: {value} is out of range ({low:g} to {high:g})")
        if self.shards.strip() and not self.shard_count:
            raise ConfigError("shards: give shard_count (--shard-count) too, the number of shards the bot runs in all")
        if self.shard_count:
            try:
                parse_shard_ids(self.shards, self.shard_count)
            except ShardError as exc:
                raise ConfigError(f"shards: {exc}") from None
        if not valid_prefix(self.prefix):
            raise ConfigError("prefix: must be 1 to 5 visible characters without spaces")
        if self.ingest not in INGEST_MODES:
            raise ConfigError(f"ingest: must be one of {', '.join(INGEST_MODES)}, got {self.ingest!r}")
        if not self.model.strip():
            raise ConfigError("model: must name a spaCy model package")
        for network in self.allowed_private_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"allowed_private_networks: {network!r} is not an IP address or network") from None

    @property
    def sharded(self) -> bool:
        """Whether the bot connects as shards (``shard_count`` set) rather than as one unsharded connection."""
        return self.shard_count > 0

    @property
    def shard_plan(self) -> ShardPlan:
        """The shards this process serves: ``shards`` of ``shard_count`` (all of them when ``shards`` is
        empty); unsharded, the one shard that holds every server."""
        if not self.shard_count:
            return ShardPlan()
        return ShardPlan(self.shard_count, parse_shard_ids(self.shards, self.shard_count))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def database_location(key: str, raw: Any) -> Path | str:
    """The ``database`` setting: a ``postgresql://`` URL as given, anything else a SQLite file's path."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{key}: expected a file path or a postgresql:// URL, got {raw!r}")
    text = raw.strip()
    if is_postgres(text):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018  (raises on a malformed port)
        except ValueError as exc:
            raise ConfigError(f"{key}: not a valid PostgreSQL URL ({exc}): {describe(text)}") from None
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise ConfigError(f"{key}: the PostgreSQL URL names no database: {describe(text)}")
        return text
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text):
        raise ConfigError(f"{key}: only postgresql:// URLs are supported, got {describe(text)}")
    return Path(text)


def _coerce(key: str, raw: Any, template: Any, type_name: str) -> Any:
    """Turn a TOML value or an environment string into the field's type."""
    if type_name == "Path | str":
        return database_location(key, raw)
    try:
        if type_name == "tuple[str, ...]":
            items = [i for i in raw.split(",")] if isinstance(raw, str) else raw
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise ValueError("expected a list of text values")
            return tuple(i.strip() for i in items if i.strip())
        if isinstance(template, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true or false")
        if isinstance(template, int):
            if isinstance(raw, bool | float):
                raise ValueError("expected a whole number")
            return int(str(raw).strip().replace("_", ""))
        if isinstance(template, float):
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            return float(str(raw).strip())
        if isinstance(template, Path):
            if not isinstance(raw, str) or not raw.strip():
                raise ValueError("expected a path")
            return Path(raw.strip())
        if isinstance(template, tuple):
            items = raw.split(os.pathsep) if isinstance(raw, str) else raw
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise ValueError("expected a list of paths")
            return tuple(Path(i.strip()) for i in items if i.strip())
        if isinstance(template, str):
            if not isinstance(raw, str):
                raise ValueError("expected text")
            return raw.strip()
    except ValueError as exc:
        message = str(exc)
        if message.startswith("invalid literal") or message.startswith("could not convert"):
            message = f"expected a {'whole ' if isinstance(template, int) else ''}number"
        raise ConfigError(f"{key}: {message}, got {raw!r}") from None
    raise ConfigError(f"{key}: unsupported setting type")


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file (when it exists), then apply ``NEWSDESK_<KEY>`` overrides.

    ``path`` defaults to ``$NEWSDESK_CONFIG`` or ``config/newsdesk.toml`` in the working directory.
    """
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_PATH))
    defaults = {f.name: getattr(Settings(), f.name) for f in dataclasses.fields(Settings)}
    types = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        for key, raw in data.items():
            if key not in defaults:
                raise ConfigError(f"{key}: unknown setting in {path}")
            values[key] = _coerce(key, raw, defaults[key], types[key])
    for key, template in defaults.items():
        env_key = f"{ENV_PREFIX}{key.upper()}"
        if env_key in environ:
            values[key] = _coerce(env_key, environ[env_key], template, types[key])
    try:
        return Settings(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Secrets:
    """Values that only ever come from the environment."""

    discord_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        environ = os.environ if environ is None else environ
        token = environ.get("DISCORD_TOKEN", "").strip()
        return cls(discord_token=token or None)
