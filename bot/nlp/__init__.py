"""Article analysis with spaCy: entities, roles, topics and summaries, each a small pipeline step."""
