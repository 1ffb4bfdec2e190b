"""Session-wide fixtures: the real spaCy pipeline is loaded once for the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.language import Language

from bot.nlp.pipeline import load_nlp

ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = ROOT / "seeds" / "ap-musk-milei-tesla-texas.md"


@pytest.fixture(scope="session")
def nlp() -> Language:
    """The real pipeline, as the indexer loads it."""
    return load_nlp()
