"""A Newsdesk process of its own against a FakeDiscord running in the test's process:

    python -m tests.fake_discord.child API_BASE GATEWAY_URL run --db PATH

points discord.py at ``API_BASE`` and ``GATEWAY_URL`` (:attr:`FakeDiscord.api_base`,
:attr:`FakeDiscord.gateway_url`), then runs ``newsdesk`` with the remaining arguments, so that a test can
run several bot processes on one index, and kill one of them.
"""

from __future__ import annotations

import sys

from bot.cli import main
from tests.fake_discord.server import patch_discord


def run(argv: list[str]) -> int:
    """``newsdesk argv[2:]`` with discord.py pointed at the fake."""
    api_base, gateway_url, *args = argv
    with patch_discord(api_base, gateway_url):
        return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
