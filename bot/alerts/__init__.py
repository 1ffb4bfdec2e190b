"""Alerts: new articles reach the channels and people who asked for them."""
