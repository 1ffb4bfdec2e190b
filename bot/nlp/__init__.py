"""Article analysis with spaCy: entities, roles, topics and summaries, each a small pipeline step.

Importing this package alone does not import spaCy (its modules do), so the command line can name the
error of a missing model without loading anything.
"""


class ModelNotFoundError(RuntimeError):
    """No usable spaCy model is installed."""
