"""Settings: committed defaults, environment overrides, and one clear message for a bad value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import ConfigError, Secrets, Settings, load_settings, valid_prefix

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "newsdesk.toml"


def test_committed_file_matches_the_built_in_defaults() -> None:
    assert load_settings(CONFIG, environ={}) == Settings()


def test_environment_overrides_each_type() -> None:
    settings = load_settings(
        CONFIG,
        environ={
            "NEWSDESK_DATABASE": "/tmp/other.db",
            "NEWSDESK_SUMMARY_SENTENCES": "5",
            "NEWSDESK_FOLLOW_SALIENCE": "0.5",
            "NEWSDESK_FETCH_FULL_TEXT": "off",
            "NEWSDESK_FOLDERS": "seeds:/srv/news",
            "NEWSDESK_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1, 10.0.0.0/8",
        },
    )
    assert settings.database == Path("/tmp/other.db")
    assert settings.summary_sentences == 5
    assert settings.follow_salience == 0.5
    assert settings.fetch_full_text is False
    assert settings.folders == (Path("seeds"), Path("/srv/news"))
    assert settings.allowed_private_networks == ("127.0.0.1", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"NEWSDESK_SUMMARY_SENTENCES": "three"}, "NEWSDESK_SUMMARY_SENTENCES"),
        ({"NEWSDESK_SUMMARY_SENTENCES": "0"}, "summary_sentences"),
        ({"NEWSDESK_FOLLOW_SALIENCE": "high"}, "NEWSDESK_FOLLOW_SALIENCE"),
        ({"NEWSDESK_FETCH_FULL_TEXT": "maybe"}, "NEWSDESK_FETCH_FULL_TEXT"),
        ({"NEWSDESK_PREFIX": "a b"}, "prefix"),
        ({"NEWSDESK_PREFIX": "\u200b"}, "prefix"),
        ({"NEWSDESK_ALLOWED_PRIVATE_NETWORKS": "localhost"}, "allowed_private_networks"),
        ({"NEWSDESK_RETENTION_DAYS": "1"}, "retention_days"),  # the near-duplicate check reads 2 days back
        ({"NEWSDESK_MAX_ARTICLE_CHARS": "2000000"}, "max_article_chars"),  # over spaCy's limit
        ({"NEWSDESK_LOOP_STALL_MS": "0"}, "loop_stall_ms"),
    ],
)
def test_a_bad_value_names_its_key(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(CONFIG, environ=environ)
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_and_mistyped_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('databse = "x.db"\n')
    with pytest.raises(ConfigError, match="databse"):
        load_settings(unknown, environ={})
    mistyped = tmp_path / "mistyped.toml"
    mistyped.write_text("batch_size = 1.5\n")
    with pytest.raises(ConfigError, match="batch_size"):
        load_settings(mistyped, environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("batch_size = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_a_missing_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "absent.toml", environ={}) == Settings()


def test_the_token_comes_only_from_the_environment_and_never_shows() -> None:
    assert "discord_token" not in {f.name for f in dataclasses.fields(Settings)}
    secrets = Secrets.from_env({"DISCORD_TOKEN": " abc.def "})
    assert secrets.discord_token == "abc.def"
    assert "abc" not in repr(secrets)
    assert Secrets.from_env({}).discord_token is None


@pytest.mark.parametrize("prefix", ["!", "?", "nd!", "🗞", "ß.", "$$$$$"])
def test_a_prefix_is_one_to_five_visible_characters(prefix: str) -> None:
    assert valid_prefix(prefix)


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        " ",
        "a b",
        "!!!!!!",
        "\u200b",
        "!\u200d",
        "\u2060",
        "\ufeff",
        "\u202e!",
        "\u2066?",
        "\u3164",
        "\u0301",
        "\x07",
        "\u00a0",
    ],
)
def test_an_empty_long_or_invisible_prefix_is_refused(prefix: str) -> None:
    assert not valid_prefix(prefix)
