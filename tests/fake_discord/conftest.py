"""Makes the ``fake_discord`` fixture available to the tests in this package."""

from tests.fake_discord.fixtures import fake_discord  # noqa: F401
