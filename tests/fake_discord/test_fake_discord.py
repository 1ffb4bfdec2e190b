"""The fake Discord against a plain discord.py ``commands.Bot`` (no project code)."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import zlib

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fake_discord import EPHEMERAL, FakeDiscord, Fault, Perm


def make_bot(*, message_content: bool = True, members: bool = False) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = members
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05, help_command=None)

    @bot.command()
    async def ping(ctx: commands.Context) -> None:
        await ctx.send("pong")

    @bot.command()
    @commands.has_permissions(manage_guild=True)
    async def admin_only(ctx: commands.Context) -> None:
        await ctx.send("welcome, admin")

    @bot.command()
    async def echo_file(ctx: commands.Context) -> None:
        await ctx.send((await ctx.message.attachments[0].read()).decode())

    @bot.event
    async def on_command_error(ctx: commands.Context, error: Exception) -> None:
        await ctx.send(f"error: {type(error).__name__}")

    return bot


# ---- login / ready ------------------------------------------------------------------------------
async def test_login_and_on_ready(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()
    seen: list[str] = []

    @bot.event
    async def on_ready() -> None:
        seen.append("ready")

    async with fake.run_bot(bot):
        assert seen == ["ready"]
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        assert bot.application_id == fake.application_id
        guild = bot.get_guild(fake.guild.id)
        assert guild is not None and guild.name == fake.guild.name
        assert guild.get_channel(fake.channel.id) is not None
        me = guild.me
        assert me.guild_permissions.send_messages and not me.guild_permissions.manage_guild
        assert await bot.is_owner(discord.Object(fake.owner.id))
        assert not await bot.is_owner(discord.Object(fake.member.id))
        identify = next(p for p in fake.gateway.received if p["op"] == 2)
        assert identify["d"]["token"] == fake.token
        # discord.py asks for a compressed stream in the URL query; the fake honours zlib-stream.
        assert "compress=" in fake.gateway.connect_paths[0]
    assert fake.sessions == []  # bot.close() ends the session
    fake.assert_no_unexpected_requests()


async def test_wrong_token_raises_login_failure(fake_discord: FakeDiscord) -> None:
    fake_discord.expect_status(401, "GET", "/users/@me")
    bot = make_bot()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("not-the-token")
    finally:
        await bot.close()
    assert fake_discord.requests[-1].status == 401


# ---- prefix commands and permissions -------------------------------------------------------------
async def test_prefix_command_reply(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()):
        sent = await fake.send_message("!ping", author=fake.member)
        reply = await sent.reply()
        assert reply.content == "pong"
        assert reply.channel_id == fake.channel.id
        assert reply.author_id == fake.bot_user.id
        assert reply.request is not None and reply.request["enforce_nonce"] is True

        refused = await (await fake.send_message("!admin_only", author=fake.member)).reply()
        assert refused.content == "error: MissingPermissions"
        allowed = await (await fake.send_message("!admin_only", author=fake.admin)).reply()
        assert allowed.content == "welcome, admin"

        dm = await (await fake.send_dm("!ping", author=fake.member)).reply()
        assert dm.content == "pong" and dm.guild_id is None

        upload = {"filename": "story.txt", "data": b"Markets rallied."}
        echoed = await (await fake.send_message("!echo_file", attachments=[upload])).reply()
        assert echoed.content == "Markets rallied."


async def test_message_content_intent_is_enforced(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    contents: list[str] = []
    bot = make_bot(message_content=False)

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            contents.append(message.content)

    async with fake.run_bot(bot):
        await fake.send_message("!ping")
        await fake.send_message(f"{fake.bot_user.mention} hello")
        await fake.wait_for(lambda: len(contents) == 2, what="two on_message calls")
    assert contents == ["", f"{fake.bot_user.mention} hello"]
    assert not fake.messages  # the bot never saw "!ping"


# ---- hybrid / slash commands ---------------------------------------------------------------------
async def test_hybrid_command_answers_through_interaction_callback(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()

    @bot.hybrid_command(description="Say hello")
    async def hello(ctx: commands.Context, name: str, secret: bool = False) -> None:
        await ctx.send(f"hello {name}", ephemeral=secret)

    @bot.hybrid_command(description="Slow answer")
    async def slow(ctx: commands.Context) -> None:
        await ctx.defer(ephemeral=True)
        await ctx.send("done thinking")

    async with fake.run_bot(bot):
        h = await fake.invoke_slash("hello", {"name": "world"})
        cb = await h.callback()
        assert cb.type == 4 and cb.data is not None and cb.data["content"] == "hello world"
        assert not cb.ephemeral
        msg = await h.response()
        assert msg.content == "hello world" and not msg.ephemeral and msg.interaction_id == h.id
        assert fake.requests_to("POST", "/channels/*/messages") == []  # nothing sent through the channel

        h2 = await fake.invoke_slash("hello", {"name": "you", "secret": True}, user=fake.admin)
        assert (await h2.callback()).ephemeral
        msg2 = await h2.response()
        assert msg2.ephemeral and msg2.flags & EPHEMERAL

        h3 = await fake.invoke_slash("slow")
        assert (await h3.callback()).type == 5
        done = await h3.response()
        assert done.content == "done thinking" and done.ephemeral and not done.loading
        assert done is h3.original  # the first follow-up edited the "thinking" message


async def test_slash_subcommands_and_resolved_options(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()
    news = app_commands.Group(name="news", description="News things")
    admin = app_commands.Group(name="admin", description="Admin things", parent=news)

    @news.command(description="Latest headlines")
    async def latest(interaction: discord.Interaction, count: int, where: discord.TextChannel) -> None:
        await interaction.response.send_message(f"{count} headlines in {where.name}")

    @admin.command(description="Who")
    async def who(interaction: discord.Interaction, member: discord.Member) -> None:
        perms = member.guild_permissions
        await interaction.response.send_message(f"{member.name} manage_guild={perms.manage_guild}")

    bot.tree.add_command(news)
    async with fake.run_bot(bot):
        await bot.tree.sync()
        h = await fake.invoke_slash("news latest", {"count": 3, "where": fake.channel})
        assert (await h.response()).content == "3 headlines in general"
        h = await fake.invoke_slash("news admin who", {"member": fake.admin})
        assert (await h.response()).content == "alice manage_guild=True"


async def test_autocomplete_returns_choices(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()
    topics = ["ukraine", "uk politics", "us elections", "climate"]

    async def topic_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t.title(), value=t) for t in topics if t.startswith(current)]

    @bot.tree.command(description="Follow a topic")
    @app_commands.autocomplete(topic=topic_complete)
    async def follow(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(f"following {topic}")

    async with fake.run_bot(bot):
        h = await fake.autocomplete("follow", {"topic": "uk"})
        choices = await h.choices()
        assert choices == [
            {"name": "Ukraine", "value": "ukraine"},
            {"name": "Uk Politics", "value": "uk politics"},
        ]
        assert (await h.callback()).type == 8


# ---- components -------------------------------------------------------------------------------
async def test_button_click_and_view_interaction_check(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()
    clicks: list[int] = []

    class Confirm(discord.ui.View):
        def __init__(self, owner_id: int) -> None:
            super().__init__(timeout=30)
            self.owner_id = owner_id

        async def interaction_check(self, interaction: discord.Interaction) -> bool:
            if interaction.user.id != self.owner_id:
                await interaction.response.send_message("This is not for you.", ephemeral=True)
                return False
            return True

        @discord.ui.button(label="Confirm", custom_id="confirm", style=discord.ButtonStyle.green)
        async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            clicks.append(interaction.user.id)
            button.disabled = True
            await interaction.response.edit_message(content="Confirmed", view=self)

    @bot.command()
    async def ask(ctx: commands.Context) -> None:
        await ctx.send("Confirm?", view=Confirm(ctx.author.id))

    async with fake.run_bot(bot):
        prompt = await (await fake.send_message("!ask", author=fake.member)).reply()
        assert prompt.custom_ids == ["confirm"]

        other = await fake.click_button(prompt, "confirm", user=fake.admin)
        refusal = await other.response()
        assert refusal.ephemeral and refusal.content == "This is not for you."
        assert clicks == []

        h = await fake.click_button(prompt, "confirm", user=fake.member)
        cb = await h.callback()
        assert cb.type == 7
        updated = await h.response()
        assert updated is prompt and prompt.content == "Confirmed"
        assert prompt.components[0]["components"][0]["disabled"] is True
        assert clicks == [fake.member.id]
        with pytest.raises(ValueError, match="disabled"):
            await fake.click_button(prompt, "confirm", user=fake.member)


async def test_modal_roundtrip(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()

    class Feedback(discord.ui.Modal, title="Feedback"):
        text = discord.ui.TextInput(label="Your feedback", custom_id="text")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)

    @bot.tree.command(description="Send feedback")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    async with fake.run_bot(bot):
        h = await fake.invoke_slash("feedback")
        spec = await h.modal()
        assert spec["title"] == "Feedback"
        submitted = await fake.submit_modal(h, {"text": "great bot"})
        assert (await submitted.response()).content == "thanks: great bot"


# ---- command sync -------------------------------------------------------------------------------
async def test_tree_sync_payload_recorded_global_and_guild(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()

    @bot.tree.command(description="Global one")
    async def everywhere(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("global")

    @bot.tree.command(description="Guild one", guild=discord.Object(fake.guild.id))
    @app_commands.default_permissions(manage_guild=True)
    async def local(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("guild")

    async with fake.run_bot(bot):
        synced = await bot.tree.sync()
        assert [c.name for c in synced] == ["everywhere"]
        guild_synced = await bot.tree.sync(guild=discord.Object(fake.guild.id))
        assert [c.name for c in guild_synced] == ["local"]

        assert [(s.guild_id, s.names) for s in fake.command_syncs] == [
            (None, ["everywhere"]),
            (fake.guild.id, ["local"]),
        ]
        local_payload = fake.command_syncs[1].payload[0]
        assert local_payload["description"] == "Guild one"
        assert int(local_payload["default_member_permissions"]) == Perm.MANAGE_GUILD
        assert fake.guild_commands[fake.guild.id][0]["default_member_permissions"] == str(Perm.MANAGE_GUILD)
        assert synced[0].id == int(fake.global_commands[0]["id"])

        # a re-sync keeps ids stable, as Discord does
        again = await bot.tree.sync()
        assert again[0].id == synced[0].id

        # Discord hides a command from members lacking its default_member_permissions
        with pytest.raises(PermissionError):
            await fake.invoke_slash("local", user=fake.member)
        # guild commands are invoked with data.guild_id so the tree finds them
        h = await fake.invoke_slash("local", user=fake.admin)
        assert h.payload["data"]["guild_id"] == str(fake.guild.id)
        assert (await h.response()).content == "guild"


async def test_invalid_command_definition_is_rejected(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.expect_status(400, "PUT", "/applications/*/commands", code=50035)
    async with fake.run_bot(make_bot()) as bot:
        with pytest.raises(discord.HTTPException) as exc:
            await bot.http.bulk_upsert_global_commands(
                fake.application_id, [{"name": "Bad Name", "description": ""}]
            )
        assert exc.value.code == 50035


# ---- gateway resume -----------------------------------------------------------------------------
async def test_resume_after_server_close_4000_replays_missed_events(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bot = make_bot()
    resumed = asyncio.Event()

    @bot.event
    async def on_resumed() -> None:
        resumed.set()

    async with fake.run_bot(bot):
        session = fake.sessions[0]
        await fake.disconnect(code=4000)
        sent = await fake.send_message("!ping")  # dispatched while the bot is disconnected
        assert not session.connected
        await fake.wait_for_resume()
        await asyncio.wait_for(resumed.wait(), 5)
        reply = await sent.reply()
        assert reply.content == "pong"
        assert session.replayed >= 1
        resume = next(p for p in fake.gateway.received if p["op"] == 6)
        assert resume["d"]["session_id"] == session.session_id
        assert any(p.startswith("/resume") for p in fake.gateway.connect_paths)
        assert sum(1 for p in fake.gateway.received if p["op"] == 2) == 1  # no new IDENTIFY


# ---- REST behaviours and faults -------------------------------------------------------------------
async def test_nonce_dedupes_repeated_sends(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        first = await channel.send("breaking news", nonce=424242)
        second = await channel.send("breaking news again", nonce=424242)
        assert first.id == second.id and second.content == "breaking news"
        third = await channel.send("other", nonce=777)
        assert third.id != first.id
        assert [m.content for m in fake.messages] == ["breaking news", "other"]
        posts = fake.requests_to("POST", f"/channels/{fake.channel.id}/messages")
        assert [r.deduplicated for r in posts] == [False, True, False]


async def test_a_thread_on_a_message_is_made_once_and_checked_like_discord(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        post = await channel.send("breaking news")
        thread = await post.create_thread(name="Breaking news", auto_archive_duration=1440)
        assert thread.id == post.id and thread.parent_id == fake.channel.id and thread.name == "Breaking news"
        entry = await thread.send("more on it")
        assert fake.messages[-1].channel_id == post.id and entry.channel.id == post.id
        assert fake.channels[post.id].message_count == 1 and fake.threads_of(fake.channel) == [fake.channels[post.id]]
        assert (await channel.fetch_message(post.id)).flags.has_thread
        assert [m.content async for m in thread.history(limit=5)] == ["more on it"]

        fake.expect_status(400, "POST", "/channels/*/messages/*/threads", code=160004)
        with pytest.raises(discord.HTTPException) as exc:
            await bot.http.start_thread_with_message(fake.channel.id, post.id, name="again", auto_archive_duration=60)
        assert exc.value.code == 160004
        fake.expect_status(400, "POST", "/channels/*/messages/*/threads", code=50035)
        with pytest.raises(discord.HTTPException) as exc:
            await bot.http.start_thread_with_message(
                fake.channel.id, (await channel.send("x")).id, name="n" * 101, auto_archive_duration=60
            )
        assert exc.value.code == 50035
        fake.expect_status(404, "POST", "/channels/*/messages/*/threads", code=10008)
        with pytest.raises(discord.NotFound):
            await bot.http.start_thread_with_message(fake.channel.id, 1234, name="gone", auto_archive_duration=60)

        # Without Create Public Threads (the bot has it through @everyone) Discord refuses; and a thread
        # takes its parent's permissions, where posting needs Send Messages in Threads.
        fake.set_permissions(fake.channel, fake.guild, deny=Perm.CREATE_PUBLIC_THREADS)
        fake.expect_status(403, "POST", "/channels/*/messages/*/threads", code=50013)
        with pytest.raises(discord.Forbidden):
            await (await channel.send("y")).create_thread(name="nope")
        fake.set_permissions(fake.channel, fake.bot_role, deny=Perm.SEND_MESSAGES_IN_THREADS)
        fake.set_permissions(fake.channel, fake.guild, deny=Perm.SEND_MESSAGES_IN_THREADS)
        fake.expect_status(403, "POST", f"/channels/{post.id}/messages", code=50013)
        with pytest.raises(discord.Forbidden):
            await thread.send("not allowed")


async def test_fetched_messages_carry_no_nonce(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        sent = await channel.send("breaking news", nonce=424242)
        assert sent.nonce == "424242"  # the create answer echoes it; Discord keeps it nowhere
        assert (await channel.fetch_message(sent.id)).nonce is None
        assert [m.nonce for m in [m async for m in channel.history(limit=5)]] == [None]


async def test_429_is_retried_after_retry_after(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()) as bot:
        fake.inject("POST", "/channels/{channel_id}/messages", Fault.rate_limited(0.05), times=2)
        msg = await bot.get_channel(fake.channel.id).send("eventually")
        assert msg.content == "eventually"
        statuses = [r.status for r in fake.requests_to("POST", "/channels/*/messages")]
        assert statuses == [429, 429, 200]
        assert len(fake.messages) == 1


async def test_403_raises_forbidden(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        fake.inject("POST", f"/channels/{fake.channel.id}/messages", Fault.forbidden())
        with pytest.raises(discord.Forbidden) as exc:
            await channel.send("nope")
        assert exc.value.code == 50013
        assert fake.messages == []

        # the permission model answers the same way without injection
        fake.expect_status(403, "POST", f"/channels/{fake.channel.id}/messages", code=50013)
        fake.set_permissions(fake.channel, fake.bot_role, deny=Perm.SEND_MESSAGES)
        with pytest.raises(discord.Forbidden):
            await channel.send("still nope")
        fake.set_permissions(fake.channel, fake.bot_role)
        assert (await channel.send("now fine")).content == "now fine"


async def test_404_unknown_channel_and_unknown_routes(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.expect_status(404, "POST", "/channels/123456789/messages")
    fake.expect_status(404, "GET", "/no/such/route")
    async with fake.run_bot(make_bot()) as bot:
        with pytest.raises(discord.NotFound) as exc:
            await bot.http.send_message(123456789, params=discord.http.handle_message_parameters(content="x"))
        assert exc.value.code == 10003
        fake.inject("GET", "/channels/{id}", Fault.not_found())
        with pytest.raises(discord.NotFound):
            await bot.fetch_channel(fake.channel.id)
        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/no/such/route"))
        assert [r.path for r in fake.unexpected_requests] == ["/no/such/route"]


async def test_dropped_connection_after_processing(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with fake.run_bot(make_bot()) as bot:
        fake.inject("POST", "/channels/*/messages", Fault.dropped())
        with pytest.raises(aiohttp.ClientError):
            await bot.get_channel(fake.channel.id).send("did it arrive?")
        assert [m.content for m in fake.messages] == ["did it arrive?"]  # it did: unknown outcome


async def test_validation_and_allowed_mentions(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.expect_status(400, "POST", "/channels/*/messages", code=50035)
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        with pytest.raises(discord.HTTPException) as exc:
            await channel.send("x" * 2001)
        assert exc.value.code == 50035
        with pytest.raises(discord.HTTPException) as exc:
            await channel.send(embed=discord.Embed(title="t", url="notaurl"))
        assert exc.value.code == 50035

        text = f"@everyone {fake.member.mention} {fake.admin_role.mention}"
        quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        loud = await channel.send(text)
        recorded_quiet, recorded_loud = fake.messages
        assert recorded_quiet.allowed_mentions == {"parse": []}
        assert recorded_quiet.mentions == [] and not recorded_quiet.mention_everyone
        assert recorded_loud.mentions == [fake.member.id]
        assert not recorded_loud.mention_everyone  # the bot lacks Mention Everyone
        assert quiet.mentions == [] and [m.id for m in loud.mentions] == [fake.member.id]

        users = [fake.create_user(f"reader{n}") for n in range(101)]
        with pytest.raises(discord.HTTPException) as exc:
            await channel.send("hello readers", allowed_mentions=discord.AllowedMentions(users=users))
        assert exc.value.code == 50035 and "allowed_mentions.users" in str(exc.value)  # at most 100 users
        await channel.send("hello readers", allowed_mentions=discord.AllowedMentions(users=users[:100]))


# ---- files and embed images --------------------------------------------------------------------
def tiny_png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of the given size (no image library needed)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_a_file_shown_in_an_embed_is_uploaded_and_stored_like_discord(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    png = tiny_png(12, 6)
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        embed = discord.Embed(title="Trend").set_image(url="attachment://trend.png")
        file = discord.File(io.BytesIO(png), filename="trend.png", description="Mentions per day of Milei")
        sent = await channel.send(embed=embed, file=file)

        # discord.py 2.7's form: payload_json with the attachments metadata, and the bytes as files[0].
        request = fake.requests_to("POST", "/channels/*/messages")[-1]
        assert [(f.field_name, f.filename, f.data) for f in request.files] == [("files[0]", "trend.png", png)]
        assert request.json["attachments"] == [
            {"id": 0, "filename": "trend.png", "description": "Mentions per day of Milei"}
        ]
        assert request.json["embeds"][0]["image"] == {"url": "attachment://trend.png"}

        recorded = fake.messages[-1]
        assert [f.data for f in recorded.files] == [png]
        (attachment,) = recorded.attachments
        assert attachment["filename"] == "trend.png" and attachment["size"] == len(png)
        assert attachment["content_type"] == "image/png"
        assert (attachment["width"], attachment["height"]) == (12, 6)
        assert attachment["description"] == "Mentions per day of Milei"
        image = recorded.embeds[0]["image"]
        assert image["url"] == attachment["url"] and image["url"].startswith("http://127.0.0.1")
        assert (image["width"], image["height"]) == (12, 6)

        # What the bot gets back: the stored message, whose image and attachment it can read.
        assert sent.embeds[0].image.url == attachment["url"] and sent.embeds[0].image.width == 12
        assert sent.attachments[0].description == "Mentions per day of Milei"
        assert await sent.attachments[0].read() == png


async def test_a_slash_answer_carries_a_file_shown_in_its_embed(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    png = tiny_png(8, 4)
    bot = make_bot()

    def picture() -> tuple[discord.Embed, discord.File]:
        embed = discord.Embed(title="Graph").set_image(url="attachment://graph.png")
        return embed, discord.File(io.BytesIO(png), filename="graph.png", description="Who appears with Milei")

    @bot.hybrid_command(description="A picture at once")
    async def now(ctx: commands.Context) -> None:
        embed, file = picture()
        await ctx.send(embed=embed, file=file)

    @bot.hybrid_command(description="A picture after thinking")
    async def later(ctx: commands.Context) -> None:
        await ctx.defer()
        embed, file = picture()
        await ctx.send(embed=embed, file=file)

    async with fake.run_bot(bot):
        for name in ("now", "later"):  # the interaction callback, then the follow-up that edits "thinking"
            h = await fake.invoke_slash(name)
            msg = await h.response()
            (attachment,) = msg.attachments
            assert attachment["description"] == "Who appears with Milei"
            assert (attachment["width"], attachment["height"]) == (8, 4)
            assert msg.embeds[0]["image"]["url"] == attachment["url"]
            assert [f.data for f in msg.files] == [png]


async def test_uploads_are_refused_past_discords_limits(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    assert fake.upload_limit == 25 * 1024 * 1024  # a bot in a server without boosts
    fake.upload_limit = 4096
    fake.expect_status(413, "POST", "/channels/*/messages", code=40005)
    fake.expect_status(400, "POST", "/channels/*/messages", code=30015)
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        halves = [discord.File(io.BytesIO(b"x" * 2100), filename=f"part{n}.txt") for n in range(2)]
        with pytest.raises(discord.HTTPException) as exc:
            await channel.send(files=halves)  # each file fits, the message does not
        assert (exc.value.status, exc.value.code) == (413, 40005)
        eleven = [discord.File(io.BytesIO(b"x"), filename=f"f{n}.txt") for n in range(11)]
        with pytest.raises(discord.HTTPException) as exc:
            await channel.send(files=eleven)
        assert (exc.value.status, exc.value.code) == (400, 30015)
        fits = await channel.send(file=discord.File(io.BytesIO(b"x" * 4096), filename="fits.txt"))
        assert fits.attachments[0].size == 4096
        assert len(fake.messages) == 1  # the refused ones left nothing behind


async def test_an_embed_image_must_name_an_image_file_of_its_message(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.expect_status(400, "POST", "/channels/*/messages", code=50035)
    png = tiny_png(2, 2)
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        for url, file_name, code in (
            ("attachment://graph.png", "trend.png", "ATTACHMENT_NOT_FOUND"),  # another file's name
            ("attachment://graph.png", None, "ATTACHMENT_NOT_FOUND"),  # no file at all
            ("attachment://my graph.png", "my graph.png", "URL_TYPE_INVALID_URL"),  # not a name Discord keeps
            ("attachment://notes.txt", "notes.txt", "URL_TYPE_INVALID_URL"),  # not an image
        ):
            files = [discord.File(io.BytesIO(png), filename=file_name)] if file_name else []
            with pytest.raises(discord.HTTPException) as exc:
                await channel.send(embed=discord.Embed().set_image(url=url), files=files)
            assert exc.value.code == 50035
            assert code in json.dumps(fake.requests[-1].response["errors"]["embeds"]["0"]["image"]["url"])
        thumbnail = discord.Embed().set_thumbnail(url="attachment://thumb.png")
        shown = await channel.send(embed=thumbnail, file=discord.File(io.BytesIO(png), filename="thumb.png"))
        assert shown.embeds[0].thumbnail.url == shown.attachments[0].url


async def test_the_multipart_form_is_checked_like_discord(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.expect_status(400, "POST", "/channels/*/messages", code=50035)
    url = f"{fake.api_base}/channels/{fake.channel.id}/messages"

    def form(payload: dict, *files: tuple[str, str]) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("payload_json", json.dumps(payload), content_type="application/json")
        for field_name, filename in files:
            data.add_field(field_name, b"bytes", filename=filename, content_type="application/octet-stream")
        return data

    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as http:

        async def post(data: aiohttp.FormData) -> tuple[int, dict]:
            async with http.post(url, data=data) as response:
                return response.status, await response.json()

        status, body = await post(form({"content": "x"}, ("file", "a.txt")))
        assert status == 400 and body["errors"]["file"]["_errors"][0]["code"] == "FILE_FIELD_NAME_INVALID"
        status, body = await post(form({"content": "x", "attachments": [{"id": 5}]}, ("files[0]", "a.txt")))
        assert status == 400 and body["errors"]["attachments"]["0"]["_errors"][0]["code"] == "ATTACHMENT_NOT_FOUND"
        long_alt = {"content": "x", "attachments": [{"id": 0, "description": "d" * 1025}]}
        status, body = await post(form(long_alt, ("files[0]", "a.txt")))
        assert status == 400 and "description" in body["errors"]["attachments"]["0"]
        # The metadata names the file by its n (here 3), and its filename wins over the part's.
        renamed = {"content": "x", "attachments": [{"id": 3, "filename": "b.txt", "description": "alt"}]}
        status, body = await post(form(renamed, ("files[3]", "a.txt")))
        assert status == 200
        assert [(a["filename"], a["description"]) for a in body["attachments"]] == [("b.txt", "alt")]


async def test_interaction_double_ack_and_late_ack(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.interaction_ack_timeout = 0.2
    fake.expect_status(400, "POST", "/interactions/*/*/callback", code=40060)
    fake.expect_status(404, "POST", "/interactions/*/*/callback", code=10062)
    bot = make_bot()
    errors: list[int] = []

    @bot.tree.command(description="Acks twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        try:
            await interaction.followup.send("two")
            route = discord.http.Route(
                "POST", "/interactions/{i}/{t}/callback", i=interaction.id, t=interaction.token
            )
            await bot.http.request(route, json={"type": 4, "data": {"content": "three"}})  # a raw second ack
        except discord.HTTPException as e:
            errors.append(e.code)

    @bot.tree.command(description="Too slow")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as e:
            errors.append(e.code)

    async with fake.run_bot(bot):
        h = await fake.invoke_slash("twice")
        assert (await h.followup(0)).content == "two"
        await fake.wait_for(lambda: errors, what="the second ack to fail")
        assert errors == [40060]
        h2 = await fake.invoke_slash("late")
        await fake.wait_for(lambda: len(errors) == 2, what="the late ack to fail")
        assert errors[1] == 10062 and not h2.acknowledged


# ---- the fixture's teardown check -----------------------------------------------------------------
async def test_undeclared_client_errors_and_unknown_routes_are_reported() -> None:
    # Its own fake, not the fixture: this test looks at the check instead of being failed by it.
    async with FakeDiscord() as fake, fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        with pytest.raises(discord.HTTPException):
            await channel.send("x" * 2001)  # refused by the validator
        fake.inject("POST", "/channels/*/messages", Fault.forbidden())
        with pytest.raises(discord.Forbidden):
            await channel.send("injected by the test")
        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/no/such/route"))
    assert [(r.status, r.path) for r in fake.unexpected_errors] == [(400, f"/channels/{fake.channel.id}/messages")]
    with pytest.raises(AssertionError, match=r"(?s)-> 400.*Must be 2000 or fewer.*/no/such/route"):
        fake.assert_clean()
    fake.expect_status(400, "POST", "/channels/*/messages", code=50006)  # another code: still reported
    with pytest.raises(AssertionError):
        fake.assert_clean()
    fake.expect_status(400, "POST", "/channels/*/messages", code=50035)
    fake.expect_status(404, "GET", "/no/such/route")
    fake.assert_clean()


# ---- rate limits ----------------------------------------------------------------------------------
async def test_rate_limits_answer_like_discord(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.enable_rate_limits(limit=2, per=0.4, global_limit=4, global_per=0.4)
    fake.expect_status(429)
    auth = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(headers=auth) as http:

        async def get(path: str) -> tuple[int, dict[str, str], dict]:
            async with http.get(fake.api_base + path) as response:
                return response.status, dict(response.headers), await response.json()

        first = await get("/users/@me")
        second = await get("/users/@me")
        status, headers, body = await get("/users/@me")
        assert [first[0], second[0], status] == [200, 200, 429]
        assert [first[1]["X-RateLimit-Remaining"], second[1]["X-RateLimit-Remaining"]] == ["1", "0"]
        assert first[1]["X-RateLimit-Limit"] == "2"
        assert first[1]["X-RateLimit-Bucket"] == headers["X-RateLimit-Bucket"]
        assert 0 < float(first[1]["X-RateLimit-Reset-After"]) <= 0.4
        assert float(first[1]["X-RateLimit-Reset"]) > 1e9  # epoch seconds
        assert body["global"] is False and 0 < body["retry_after"] <= 0.4
        assert headers["X-RateLimit-Scope"] == "user" and "X-RateLimit-Global" not in headers
        # Another route has its own bucket, but every request counts against the global limit.
        assert (await get(f"/channels/{fake.channel.id}"))[0] == 200
        assert (await get(f"/channels/{fake.channel.id}"))[0] == 200
        status, headers, body = await get(f"/guilds/{fake.guild.id}")
        assert status == 429 and body["global"] is True
        assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
        await asyncio.sleep(body["retry_after"])
        assert (await get("/users/@me"))[0] == 200  # windows reopen
    assert sum(r.rate_limited for r in fake.requests) == 2


async def test_discord_py_waits_for_its_bucket_instead_of_going_over(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.enable_rate_limits(routes={"POST /channels/{channel_id}/messages": (2, 0.3)})
    async with fake.run_bot(make_bot()) as bot:
        channel = bot.get_channel(fake.channel.id)
        await asyncio.gather(*(channel.send(f"news {n}") for n in range(5)))
    posts = fake.requests_to("POST", "/channels/*/messages")
    assert [r.status for r in posts] == [200] * 5  # no request beyond the bucket: no 429
    assert sorted(m.content for m in fake.messages) == [f"news {n}" for n in range(5)]
    assert posts[-1].at - posts[0].at >= 0.6  # five sends at two per window span three windows


async def test_discord_py_honours_a_global_429(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.expect_status(429, "POST", "/channels/*/messages")
    channels = [fake.create_channel(name=f"news-{n}") for n in range(4)]
    async with fake.run_bot(make_bot()) as bot:
        fake.enable_rate_limits(global_limit=3, global_per=0.4)
        await asyncio.gather(*(bot.get_channel(c.id).send("flash") for c in channels))
    posts = fake.requests_to("POST", "/channels/*/messages")
    [limited] = [r for r in posts if r.rate_limited]
    assert limited.response["global"] is True
    later = [r for r in posts if r.seq > limited.seq]
    assert [r.status for r in later] == [200]  # the one refused request, retried once
    assert later[0].at - limited.at >= limited.response["retry_after"] - 0.01
    assert len(fake.messages) == 4
