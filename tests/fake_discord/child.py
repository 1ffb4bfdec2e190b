"""A Newsdesk process of its own against a FakeDiscord running in the test's process:

    python -m tests.fake_discord.child API_BASE GATEWAY_URL [newsdesk arguments]

points discord.py at ``API_BASE`` and ``GATEWAY_URL`` (:attr:`FakeDiscord.api_base`,
:attr:`FakeDiscord.gateway_url`), then runs ``newsdesk`` with the remaining arguments, so that a test or a
benchmark can run several bot processes on one index, and kill one of them (:func:`start_bot_process`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.cli import main
from tests.fake_discord.server import FakeDiscord, patch_discord

ROOT = Path(__file__).resolve().parents[2]


async def start_bot_process(
    fake: FakeDiscord,
    database: Path | str,
    log: Path,
    settings: Mapping[str, str] | None = None,
    arguments: Sequence[str] = (),
) -> asyncio.subprocess.Process:
    """``newsdesk run [arguments]`` on ``database`` against ``fake``, in a process group of its own (kill it
    whole with ``os.killpg``), with the committed settings, no watched folder and ``settings``
    (``NEWSDESK_<KEY>`` values) over them; it logs to ``log``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")},
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": fake.token,
        "NEWSDESK_DATABASE": str(database),
        "NEWSDESK_FOLDERS": "",
        "NEWSDESK_GUILD_READY_TIMEOUT": "0.05",
        **(settings or {}),
    }
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fake_discord.child",
            fake.api_base,
            fake.gateway_url,
            "--config",
            str(ROOT / "config" / "newsdesk.toml"),
            "run",
            *arguments,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )


def run(argv: list[str]) -> int:
    """``newsdesk argv[2:]`` with discord.py pointed at the fake."""
    api_base, gateway_url, *args = argv
    with patch_discord(api_base, gateway_url):
        return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
