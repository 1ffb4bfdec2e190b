"""``!timeline``: the roles an entity held over time, from the dated articles of the newsroom index, variants
of one role merged; the pure merging in :mod:`bot.roles`; and the command end to end in the fake Discord."""

from __future__ import annotations

import pytest

from bot.answers import Answers, NotFound, TimelineAnswer
from bot.app import NewsdeskBot
from bot.models import RoleUse
from bot.nlp.names import AliasTable
from bot.render import to_text
from bot.roles import role_key, role_timeline
from bot.store import Store
from tests.fake_discord import FakeDiscord


@pytest.fixture
def answers(newsroom_store: Store, aliases: AliasTable) -> Answers:
    return Answers(newsroom_store, aliases)


async def title_of(store: Store, article_id: int) -> str:
    article = await store.articles.get(article_id)
    assert article is not None
    return article.title


async def test_timeline_orders_roles_by_date(answers: Answers) -> None:
    answer = await answers.timeline("Milei")
    assert isinstance(answer, TimelineAnswer) and answer.entity.name == "Javier Milei"
    assert [r.role for r in answer.roles] == ["Presidential candidate", "President-elect", "Argentine President"]
    assert [r.first_seen[:7] for r in answer.roles] == ["2023-10", "2023-11", "2023-12"]
    firsts = [await title_of(answers.store, r.first_article_id) for r in answer.roles]
    assert firsts == [
        "Outsider tops Argentine primaries",
        "Milei wins Argentine run-off",
        "Milei warns of shock therapy as he takes office",
    ]
    president = answer.roles[-1]
    # The inauguration says "Argentina's president", the seed and the IMF story "Argentine President", his
    # sister's visit "President": one role, named as most articles write it, still held at the last.
    assert set(president.variants) == {"Argentina's president", "President"}
    assert president.articles == 4 and president.last_seen[:10] == "2024-05-20"


async def test_timeline_text_reads_as_a_chain(answers: Answers) -> None:
    text = to_text(await answers.timeline("Javier Milei"))
    assert "Presidential candidate · Oct 2023 → President-elect · Nov 2023 → Argentine President · Dec 2023 –" in text


async def test_who_points_to_the_timeline(answers: Answers) -> None:
    assert "!timeline Javier Milei · roles over time" in to_text(await answers.who("Milei"))


async def test_timeline_of_someone_without_a_role(answers: Answers) -> None:
    answer = await answers.timeline("Sergio Massa")
    assert isinstance(answer, TimelineAnswer) and [r.role for r in answer.roles] == ["Economy Minister"]
    nothing = await answers.timeline("Tesla")
    assert isinstance(nothing, NotFound) and nothing.message.startswith("No article gives Tesla a role yet")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Argentine President", "Argentina's president"),
        ("Argentine President", "the President of Argentina"),
        ("US President", "President of the United States"),
        ("U.S. president", "American President"),
        ("British Prime Minister", "Prime Minister of the United Kingdom"),
        ("Trade Secretary", "the trade secretary"),
        ("President-elect", "President – elect"),
        ("President", "Presidents"),
    ],
)
def test_variants_of_one_role_share_a_key(one: str, other: str) -> None:
    assert role_key(one) == role_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("President", "President-elect"),
        ("President", "former President"),
        ("Argentine President", "Brazilian President"),
        ("Chancellor of the Exchequer", "Chancellor"),
    ],
)
def test_different_roles_keep_their_keys(one: str, other: str) -> None:
    assert role_key(one) != role_key(other)


def use(role: str, when: str, article_id: int, articles: int = 1) -> RoleUse:
    return RoleUse(role, articles, f"{when}T12:00:00Z", article_id, f"{when}T12:00:00Z")


def test_a_bare_role_joins_the_one_fuller_role_only() -> None:
    merged = role_timeline([use("Argentine President", "2024-01-10", 1), use("President", "2024-02-01", 2)])
    assert [(p.role, p.variants, p.articles) for p in merged] == [("Argentine President", ("President",), 2)]
    # Two fuller roles ending the same way: the bare one cannot tell which, and stays apart; a status
    # ("former") is never the fuller form.
    apart = role_timeline(
        [
            use("club president", "2020-01-01", 1),
            use("Argentine President", "2024-01-10", 2),
            use("President", "2024-02-01", 3),
            use("former president", "2024-03-01", 4),
        ]
    )
    assert [p.role for p in apart] == ["club president", "Argentine President", "President", "former president"]


def test_a_long_career_keeps_the_most_used_roles_in_date_order() -> None:
    uses = [use(f"role {n}", f"20{10 + n}-01-01", n, articles=1 if n % 2 else 5) for n in range(14)]
    shown = role_timeline(uses, limit=5)
    assert [p.role for p in shown] == ["role 0", "role 2", "role 4", "role 6", "role 8"]


async def test_timeline_in_discord_by_prefix_and_slash(newsroom_bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!timeline Milei", author=fake_discord.member)).reply()
    [embed] = reply.embeds
    assert embed["title"] == "Javier Milei: roles over time"
    assert embed["description"].startswith(
        "**Presidential candidate** · Oct 2023 → **President-elect** · Nov 2023 → **Argentine President** · Dec 2023 –"
    )
    assert reply.allowed_mentions == {"parse": []}
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    choices = await (await fake_discord.autocomplete("timeline", {"name": "mil"}, focused="name")).choices()
    assert [c["name"] for c in choices][:1] == ["Javier Milei"]
    response = await (await fake_discord.invoke_slash("timeline", {"name": "Javier Milei"})).response()
    assert response.embeds[0]["title"] == "Javier Milei: roles over time"
