"""``trend`` and ``graph`` end to end: the counts behind them on a real index, the parsing of what is typed,
the PNG attached through the fake Discord (prefix and slash) with its alt text, and the command line's
``--out`` and console."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image

from bot import charts
from bot.answers import Answers, Choices, GraphAnswer, NotFound, TrendAnswer, UserError, parse_trend
from bot.app import NewsdeskBot
from bot.ingest.indexer import Indexer
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.render import to_embeds, to_text
from bot.store import Store
from tests import backends
from tests.conftest import ROOT
from tests.fake_discord import FakeDiscord

MILEI = "Argentine President Javier Milei {what} in Buenos Aires on {day}. Milei spoke to reporters."
MUSK = "Tesla chief executive Elon Musk {what} in Austin, Texas, on {day}, the company said. Musk spoke to investors."
DATED = [
    # (day, title, text): Milei twice on 3 May, Musk on 3 and 5 May; the newest article is dated 10 May.
    ("2024-05-01", "Milei cuts spending", MILEI.format(what="cut public spending", day="Wednesday")),
    ("2024-05-03", "Milei meets the IMF", MILEI.format(what="met the International Monetary Fund", day="Friday")),
    ("2024-05-03", "Argentina's budget", "The budget of Argentina was debated. Javier Milei was mentioned once."),
    ("2024-05-03", "Musk opens a factory", MUSK.format(what="opened a factory", day="Friday")),
    ("2024-05-05", "Musk on batteries", MUSK.format(what="talked about batteries", day="Sunday")),
    ("2024-05-10", "Rain in London", "It rained in London on Friday. Commuters were late for work."),
]


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every row: a truncated PNG fails here
    return image


@pytest.fixture(scope="module")
async def dated_store(backend: str, tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer) -> Store:
    folder = tmp_path_factory.mktemp("dated")
    for n, (day, title, text) in enumerate(DATED):
        record = {"title": title, "text": text, "published": f"{day}T12:00:00Z", "source": "Test Wire"}
        (folder / f"{n}.json").write_text(json.dumps(record), encoding="utf-8")
    async with Store.open(await backends.fresh_location(backend, folder, keep=True)) as store:
        report = await Indexer(store, analyzer, max_file_bytes=1_000_000).index_paths([folder])
        assert report.indexed == len(DATED), report
        yield store


@pytest.fixture
async def answers(dated_store: Store, aliases: AliasTable) -> Answers:
    made = Answers(dated_store, aliases)
    yield made
    made.close()


# ---- what is typed -------------------------------------------------------------------------------
def test_parse_trend_reads_subjects_and_period() -> None:
    assert parse_trend("Milei") == (["Milei"], 90)
    assert parse_trend("Milei vs Musk 30d") == (["Milei", "Musk"], 30)
    assert parse_trend("Javier Milei VS lithium industry versus Musk vs. Tesla 1Y") == (
        ["Javier Milei", "lithium industry", "Musk", "Tesla"],
        365,
    )
    assert parse_trend("Milei vs Milei") == (["Milei"], 90)
    assert parse_trend("Vsevolod vs Musk") == (["Vsevolod", "Musk"], 90)  # "vs" inside a word is a name
    with pytest.raises(UserError, match="at most 4"):
        parse_trend("a vs b vs c vs d vs e")
    with pytest.raises(UserError, match="name or topic"):
        parse_trend("30d")


# ---- the counts ----------------------------------------------------------------------------------
async def test_trend_counts_articles_per_day_up_to_the_newest_article(answers: Answers) -> None:
    answer = await answers.trend("Milei vs Elon Musk 30d")
    assert isinstance(answer, TrendAnswer)
    assert answer.last == date(2024, 5, 10) and answer.first == date(2024, 4, 11)  # 30 days to the newest
    milei, musk = answer.chart.series
    assert milei.name == "Javier Milei" and musk.name == "Elon Musk"
    assert len(milei.points) == 30 and milei.points[0][0] == answer.first and milei.points[-1][0] == answer.last
    assert {day: n for day, n in milei.points if n} == {date(2024, 5, 1): 1, date(2024, 5, 3): 2}
    assert {day: n for day, n in musk.points if n} == {date(2024, 5, 3): 1, date(2024, 5, 5): 1}
    # The peak's headline is the article most about the subject that day, not the passing mention.
    assert milei.peak == (date(2024, 5, 3), 2) and milei.peak_title == "Milei meets the IMF"
    assert [line.total for line in answer.lines] == [3, 2] and answer.lines[0].kind == "PERSON"
    assert "peak 2 (Javier Milei) on 3 May: Milei meets the IMF" in answer.picture.alt_text


async def test_a_year_counts_per_week_and_a_topic_is_a_subject(answers: Answers, dated_store: Store) -> None:
    topic = (await dated_store.topics.top(1))[0]
    answer = await answers.trend(f"Elon Musk vs {topic.name} 1y")
    assert isinstance(answer, TrendAnswer) and answer.chart.unit == "week"
    musk, about = answer.chart.series
    # 3 and 5 May 2024 fall in the week of Monday 29 April.
    assert {day: n for day, n in musk.points if n} == {date(2024, 4, 29): 2}
    assert answer.lines[1].kind == "topic" and answer.lines[1].total == topic.article_count
    assert all(day.weekday() == 0 for day, _ in about.points[1:])


async def test_trend_of_an_unknown_name_says_so(answers: Answers) -> None:
    assert isinstance(await answers.trend("Milei vs Zebedee Quuxworth"), NotFound)


async def test_graph_counts_shared_articles_and_links_between_neighbours(
    seeded_store: Store, aliases: AliasTable
) -> None:
    answers = Answers(seeded_store, aliases)
    try:
        answer = await answers.graph("Milei")
    finally:
        answers.close()
    assert isinstance(answer, GraphAnswer)
    # What the graph shows, against a count made here from every article's own names.
    articles = [await seeded_store.articles.get(n) for n in range(1, 5)]
    names = [{e.name for e in a.entities} for a in articles if a is not None]
    with_milei = [n for n in names if "Javier Milei" in n]
    expected = Counter(name for n in with_milei for name in n if name != "Javier Milei")
    shown = {n.name: n.shared_articles for n in answer.graph.neighbours}
    assert len(shown) == min(15, len(expected))
    assert all(expected[name] == count for name, count in shown.items())
    assert min(shown.values()) >= sorted(expected.values(), reverse=True)[len(shown) - 1]
    assert shown["Elon Musk"] == 1 and shown["International Monetary Fund"] == 2
    for a, b, shared in answer.graph.links:
        assert shared == sum(1 for n in with_milei if a in n and b in n)
    pairs = {(a, b) for a, b, _ in answer.graph.links} | {(b, a) for a, b, _ in answer.graph.links}
    for a, b in combinations(shown, 2):
        assert ((a, b) in pairs) == any(a in n and b in n for n in with_milei)
    assert decoded(answer.picture.png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)


async def test_graph_of_a_topic_or_typo(seeded_store: Store, aliases: AliasTable) -> None:
    answers = Answers(seeded_store, aliases)
    try:
        corrected = await answers.graph("Mllei")
        assert isinstance(corrected, GraphAnswer) and corrected.corrected_from == "Mllei"
        assert isinstance(await answers.graph("Zebedee Quuxworth"), NotFound | Choices)
        with pytest.raises(UserError):
            await answers.graph("   ")
    finally:
        answers.close()


async def test_cards_stay_within_discords_limits_and_show_the_attachment(answers: Answers) -> None:
    answer = await answers.trend("Milei vs Elon Musk 30d")
    [embed] = to_embeds(answer)
    assert embed.image.url == "attachment://trend.png"
    assert len(embed) <= 6000 and "Milei meets the IMF" in embed.fields[0].value
    assert answer.picture.alt_text in to_text(answer)


# ---- through the fake Discord --------------------------------------------------------------------
def _attached(message, filename: str, fake: FakeDiscord) -> Image.Image:
    (attachment,) = message.attachments
    assert attachment["filename"] == filename and attachment["content_type"] == "image/png"
    assert (attachment["width"], attachment["height"]) == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert attachment["description"] and len(attachment["description"]) <= charts.ALT_TEXT_LIMIT
    [embed] = message.embeds
    assert embed["image"]["url"] == attachment["url"]  # shown in the embed
    assert message.allowed_mentions == {"parse": []}
    return decoded(fake.attachment_data[attachment["id"]])


async def test_graph_and_trend_are_attached_through_discord(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!graph Milei", author=fake_discord.member)).reply(timeout=30)
    image = _attached(reply, "graph.png", fake_discord)
    assert image.format == "PNG" and image.size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert reply.embeds[0]["title"] == "Who appears with Javier Milei"
    assert reply.attachments[0]["description"].startswith("Names that appear most with Javier Milei: ")
    assert reply.attachments[0]["description"] in reply.embeds[0]["description"]  # the alt text, in the embed

    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    interaction = await fake_discord.invoke_slash("trend", {"subjects": "Milei vs Musk 1y"})
    response = await interaction.response()
    image = _attached(response, "trend.png", fake_discord)
    assert image.size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert response.attachments[0]["description"].startswith("Mentions per week of Javier Milei and Elon Musk")

    missing = await (await fake_discord.send_message("!trend Zebedee Quuxworth")).reply(timeout=30)
    assert missing.embeds[0]["title"] == "Not found" and not missing.attachments


async def test_slash_trend_autocompletes_the_subject_after_vs(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    found = await (await fake_discord.autocomplete("trend", {"subjects": "Musk vs mil"}, focused="subjects")).choices()
    assert found and found[0]["value"] == "Musk vs Javier Milei"


# ---- the command line ----------------------------------------------------------------------------
def test_ask_saves_the_picture_and_the_console_says_where(seeded_copy: Path | str, tmp_path: Path) -> None:
    db = seeded_copy
    out = tmp_path / "milei.png"
    env = {"NEWSDESK_DATABASE": str(db), "PYTHONPATH": str(ROOT)}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
        )

    asked = run("ask", "!graph Milei", "--out", str(out))
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("Who appears with Javier Milei\n")
    assert f"Picture saved to {out} (1200 × 600 PNG)." in asked.stdout
    assert decoded(out.read_bytes()).size == (charts.WIDTH_PX, charts.HEIGHT_PX)

    console = run("console", stdin="!trend Milei\nquit\n")
    saved = [line for line in console.stdout.splitlines() if "Picture saved to " in line]
    assert len(saved) == 1, console.stdout + console.stderr
    path = Path(saved[0].split("Picture saved to ", 1)[1].split(" (", 1)[0].removeprefix("newsdesk> "))
    assert path.name == "trend-1.png" and decoded(path.read_bytes()).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    path.unlink()
    path.parent.rmdir()
