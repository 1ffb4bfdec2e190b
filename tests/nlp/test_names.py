"""Name keys and the alias table: what users type meets what the indexer stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlp.names import AliasTable, clean_name, name_key


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("the U.S.", "U.S."),
        ("Musk’s", "Musk"),
        ("Argentina's", "Argentina"),
        ("Ms Hewitt", "Hewitt"),
        ("Mr. Tony  Blair", "Tony Blair"),
        ("The International Monetary Fund", "International Monetary Fund"),
        ("Sir", "Sir"),
        ("Mi\u200blei", "Milei"),
        ("\u202eJavier\u2069 \ufeffMilei\u200f", "Javier Milei"),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_name_key_folds_case_dots_accents_and_hyphens() -> None:
    assert name_key("U.S.") == name_key("US") == name_key("u.s") == "us"
    assert name_key("José Mourinho") == "jose mourinho"
    assert name_key("Jean-Luc Mélenchon") == name_key("jean luc melenchon")
    assert name_key("   ") == ""


def test_committed_aliases_join_the_united_states(aliases: AliasTable) -> None:
    names = {aliases.canonical(x) for x in ("U.S.", "US", "United States", "America", "the U.S.")}
    assert names == {"United States"}
    assert aliases.canonical("Argentina") is None


def test_malformed_alias_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "aliases.toml"
    path.write_text('"United States" = "US"\n')
    with pytest.raises(ValueError, match="list of names"):
        AliasTable.from_file(path)
    assert len(AliasTable.from_file(tmp_path / "missing.toml")) == 0
