"""Role follows end to end: a manager has a role pinged about a topic; the alert pings that role and
nobody else, only while the role may be pinged; members cannot; following and why show it."""

from __future__ import annotations

from pathlib import Path

from bot.alerts.dispatcher import allowed_pings, mentions
from bot.alerts.service import split_role
from bot.models import RoleFollow
from tests.alerts.conftest import LITHIUM, SALIENT, AlertBot
from tests.fake_discord import FakeDiscord, FakeUser
from tests.fake_discord.records import RecordedMessage


async def _ask(fake: FakeDiscord, text: str, user: FakeUser) -> RecordedMessage:
    return await (await fake.send_message(text, author=user)).reply(timeout=20)


def _titled(title: str):  # type: ignore[no-untyped-def]
    return lambda m: bool(m.embeds) and m.embeds[0].get("title") == title


def test_split_role_takes_the_role_mentioned_last() -> None:
    assert split_role("Javier Milei <@&123>") == ("Javier Milei", 123)
    assert split_role("lithium mining") == ("lithium mining", None)
    assert split_role("<@&1> Milei") == ("<@&1> Milei", None)  # a role goes after what it follows
    assert split_role("Milei <@&1> Spikes") == ("Milei spikes", 1)  # for follow to refuse: roles get every article
    assert mentions([7], [5, 6]) == "<@&5> <@&6> <@7>"
    assert allowed_pings([7], [5]).to_dict() == {"parse": [], "users": [7], "roles": [5]}


async def test_a_role_follow_pings_that_role_only_while_it_may_be_pinged(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    news = fake.create_role(name="News", mentionable=True)
    quiet = fake.create_role(name="Quiet")  # not mentionable, and the bot lacks Mention Everyone
    other = fake.create_role(name="Other", mentionable=True)
    async with alert_bot() as bot:
        await fake.flush()
        denied = await _ask(fake, f"!follow lithium mining <@&{news.id}>", fake.member)
        assert denied.content == "You need the Manage Server permission for that."
        refused = await _ask(fake, f"!follow lithium mining <@&{quiet.id}>", fake.admin)
        assert refused.content.startswith("I cannot ping Quiet: make it mentionable")
        everyone = await _ask(fake, f"!follow lithium mining <@&{fake.guild.id}>", fake.admin)
        assert everyone.content == "I will not ping everyone about news: mention a role instead."
        done = await _ask(fake, f"!follow lithium mining <@&{news.id}>", fake.admin)
        assert done.content.startswith(f"<@&{news.id}> now follows lithium mining (topic): it will be pinged in")
        assert done.mention_roles == [] and not done.ephemeral  # the confirmation names the role, never pings it
        spikes = await _ask(fake, f"!follow lithium mining <@&{news.id}> spikes", fake.admin)
        assert spikes.content == "A role is pinged about every new article on what it follows; spikes are for members."
        assert (await _ask(fake, "!follow Javier Milei", fake.member)).content.startswith("You now follow")
        # The member follows the topic for its spikes only: the role is pinged about the article, they are not.
        assert (await _ask(fake, "!follow lithium mining spikes", fake.member)).content.endswith("usual).")

        # An article that mentions another role in its text: only the followed role is pinged.
        (news_folder / "lithium.txt").write_text(LITHIUM.replace("Environmental groups", f"<@&{other.id}> groups"))
        alert = await fake.wait_for_message(predicate=_titled(LITHIUM.split("\n")[0]), timeout=30)
        assert alert.mention_roles == [news.id] and alert.mentions == [] and not alert.mention_everyone
        assert alert.allowed_mentions == {"parse": [], "users": [], "roles": [news.id]}
        assert alert.content.startswith(f"<@&{news.id}> — new on lithium mining")

        listing = await _ask(fake, "!following", fake.member)
        [field] = listing.embeds[0]["fields"]
        assert (field["name"], field["value"]) == ("Roles pinged here", f"<@&{news.id}>: lithium mining (topic)")
        article_id = int(alert.embeds[0]["footer"]["text"].split("#", 1)[1].split(" ", 1)[0])
        why = await _ask(fake, f"!why {article_id}", fake.member)
        assert f"<@&{news.id}> following lithium mining" in why.embeds[0]["description"]
        assert "pinged 1 role" in why.embeds[0]["description"]

        # Made unmentionable after it was set: the next alert still posts, and pings no role.
        fake.update_role(news, mentionable=False)
        await fake.flush()
        await _ask(fake, f"!follow Javier Milei <@&{news.id}>", fake.admin)  # refused now, but…
        follow = RoleFollow(fake.guild.id, news.id, "entity", "javier milei", "Javier Milei", fake.channel.id)
        await bot.store.alerts.add_role_follow(follow, fake.admin.id)  # …one set before the change is stored
        (news_folder / "milei.txt").write_text(SALIENT)
        later = await fake.wait_for_message(predicate=_titled(SALIENT.split("\n")[0]), timeout=30)
        assert later.mention_roles == [] and later.mentions == [fake.member.id]
        assert later.allowed_mentions["roles"] == []
        later_id = int(later.embeds[0]["footer"]["text"].split("#", 1)[1].split(" ", 1)[0])
        [planned] = await bot.store.alerts.for_article(fake.guild.id, later_id)
        assert planned.ping_role_ids == [news.id]  # planned for the role, left out when sent

        gone = await _ask(fake, f"!unfollow lithium mining <@&{news.id}>", fake.admin)
        assert gone.content == f"<@&{news.id}> is no longer pinged about lithium mining."
        assert [f.name for f in await bot.store.alerts.role_follows_of(fake.guild.id)] == ["Javier Milei"]
