"""Newsdesk: a Discord bot that answers questions about the news from a precomputed index."""
