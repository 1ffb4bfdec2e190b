"""A fake Discord (REST + gateway on 127.0.0.1) that a real discord.py bot logs in to.

from tests.fake_discord import FakeDiscord, Fault

async with FakeDiscord() as fake:
    async with fake.run_bot(bot):
        sent = await fake.send_message("!ping")
        assert (await sent.reply()).content == "pong"
"""

from .faults import Fault, Injection
from .models import ChannelType, FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, Overwrite, Perm
from .records import (
    EPHEMERAL,
    FakeInteraction,
    RecordedCallback,
    RecordedFile,
    RecordedMessage,
    RecordedRequest,
    SentMessage,
)
from .server import CommandSync, FakeDiscord, patch_discord

__all__ = [
    "EPHEMERAL",
    "ChannelType",
    "CommandSync",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Fault",
    "Injection",
    "Overwrite",
    "Perm",
    "RecordedCallback",
    "RecordedFile",
    "RecordedMessage",
    "RecordedRequest",
    "SentMessage",
    "patch_discord",
]
