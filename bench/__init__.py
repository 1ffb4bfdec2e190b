"""Benchmarks for Newsdesk's NLP (quality and speed), run from the project root."""
