"""The pictures: PNGs that decode at the fixed size within the size bound, hostile names drawn literally,
alt text that says what the picture shows, labels kept apart, drawing off the event loop, and a picture
attached through the fake Discord the way the cogs will send it."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from datetime import date, timedelta

import discord
import pytest
from discord.ext import commands
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

from bot import charts
from bot.charts import (
    ALT_TEXT_LIMIT,
    MAX_NEIGHBOURS,
    CoMentionGraph,
    Neighbour,
    PictureRenderer,
    TrendChart,
    TrendSeries,
    clean_label,
    graph_alt_text,
    graph_figure,
    graph_positions,
    render_graph,
    render_trend,
    trend_alt_text,
    trend_figure,
)
from tests.fake_discord import FakeDiscord

START = date(2024, 4, 1)
HOSTILE = [
    "$TSLA",
    "Price $\\undefined{$ rally",  # mathtext would fail to parse this and raise while drawing
    "\u202eevil\u202c Mi\u200blei\x00\x07\nnext line",
    "_starts with an underscore",
    "Supercalifragilistic " * 25,  # 500 characters
]


def days(counts: list[int], start: date = START) -> list[tuple[date, int]]:
    return [(start + timedelta(days=n), count) for n, count in enumerate(counts)]


def year_trend() -> TrendChart:
    """Four subjects, a year of daily points: the largest trend there is."""
    series = [
        TrendSeries(name, days([(n * (k + 3)) % 17 for n in range(365)]), f"{name} in the headlines")
        for k, name in enumerate(["Javier Milei", "Elon Musk", "Keir Starmer", "Federal Reserve"])
    ]
    return TrendChart(series, days=365)


def full_graph() -> CoMentionGraph:
    names = [
        ("Argentina", "GPE"),
        ("Elon Musk", "PERSON"),
        ("International Monetary Fund", "ORG"),
        ("Buenos Aires", "GPE"),
        ("Sergio Massa", "PERSON"),
        ("Peronists", "NORP"),
        ("Luis Caputo", "PERSON"),
        ("Central Bank of Argentina", "ORG"),
        ("Donald Trump", "PERSON"),
        ("Brazil", "GPE"),
        ("Lula da Silva", "PERSON"),
        ("World Bank", "ORG"),
        ("Patricia Bullrich", "PERSON"),
        ("Casa Rosada", "FAC"),
        ("Mercosur", "ORG"),
        ("Left out", "PERSON"),
    ]
    neighbours = [Neighbour(name, kind, 40 - 2 * n) for n, (name, kind) in enumerate(names)]
    links = [("Argentina", "Buenos Aires", 12), ("Brazil", "Lula da Silva", 8), ("Elon Musk", "Donald Trump", 5)]
    return CoMentionGraph("Javier Milei", "PERSON", neighbours, links)


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every row: a truncated or corrupt PNG fails here
    return image


# ---- the PNG -----------------------------------------------------------------------------------
@pytest.mark.parametrize("draw", [lambda: render_trend(year_trend()), lambda: render_graph(full_graph())])
def test_pictures_decode_at_the_fixed_size_within_the_size_bound(draw) -> None:
    picture = draw()
    image = decoded(picture.png)
    assert image.format == "PNG"
    assert image.size == (charts.WIDTH_PX, charts.HEIGHT_PX) == (picture.width, picture.height)
    assert len(picture.png) < 300 * 1024 < charts.MAX_PNG_BYTES
    assert picture.filename.endswith(".png") and picture.filename.isascii()


def test_a_picture_over_the_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "MAX_PNG_BYTES", 1000)
    with pytest.raises(charts.PictureTooLarge):
        render_graph(full_graph())


def test_the_same_data_draws_the_same_picture() -> None:
    # Seeded layout, no timestamps in the PNG: a picture is reproducible (and cacheable).
    assert render_graph(full_graph()).png == render_graph(full_graph()).png
    assert render_trend(year_trend()).png == render_trend(year_trend()).png


def test_empty_data_still_draws() -> None:
    quiet = TrendChart([TrendSeries("Nobody", days([0] * 30))], days=30)
    assert decoded(render_trend(quiet).png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    alone = CoMentionGraph("Nobody", "PERSON", [])
    assert decoded(render_graph(alone).png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)


# ---- untrusted names and headlines ---------------------------------------------------------------
def all_texts(figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text)]


def test_hostile_names_and_headlines_draw_literally() -> None:
    chart = TrendChart([TrendSeries(name, days([1, 5, 2]), f"Headline {name}") for name in HOSTILE[:4]], days=30)
    figure = trend_figure(chart)
    FigureCanvasAgg(figure).print_png(io.BytesIO())  # would raise on "$\undefined{$" with mathtext on
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend[0] == "$TSLA" and legend[1] == "Price $\\undefined{$ rally"
    assert legend[2] == "evil Milei next line"  # no bidi override, zero-width space, NUL, bell or newline
    assert legend[3] == "_starts with an underscore"  # matplotlib would drop it from an implicit legend
    assert all(not t.get_parse_math() for t in figure.findobj(Text) if "$" in t.get_text())

    graph = CoMentionGraph(HOSTILE[1], "ORG", [Neighbour(name, "PERSON", 3) for name in HOSTILE])
    figure = graph_figure(graph)
    FigureCanvasAgg(figure).print_png(io.BytesIO())
    texts = all_texts(figure)
    assert any(text.startswith("$TSLA") for text in texts)
    assert not any(char in text for text in texts for char in "\u202e\u202c\u200b\x00\x07")
    assert max(len(line) for text in texts for line in text.splitlines()) <= 90


def test_clean_label_keeps_one_short_safe_line() -> None:
    assert clean_label("  Javier\tMilei \n", 40) == "Javier Milei"
    assert clean_label("\u2066Mi\u200blei\u2069\u202e", 40) == "Milei"
    assert clean_label("$TSLA", 40) == "$TSLA"
    assert clean_label("x" * 500, 10) == "x" * 9 + "…"
    assert clean_label("\x00\u200b", 10) == "?"  # never an empty label
    huge = "word " * 200_000
    started = time.perf_counter()
    assert len(clean_label(huge, 30)) == 30
    assert time.perf_counter() - started < 1  # only the start of a megabyte is looked at


# ---- alt text ------------------------------------------------------------------------------------
def test_trend_alt_text_names_subjects_span_and_peak() -> None:
    milei = TrendSeries("Javier Milei", days([1, 9, 3, 9]), "Milei wins Argentina's presidency")
    musk = TrendSeries("Elon Musk", days([2, 4, 0, 1]))
    assert trend_alt_text(TrendChart([milei, musk], days=30)) == (
        "Mentions per day of Javier Milei and Elon Musk over 30 days; "
        "peak 9 (Javier Milei) on 2 Apr: Milei wins Argentina's presidency"
    )
    assert trend_alt_text(TrendChart([musk], days=30)) == "Mentions per day of Elon Musk over 30 days; peak 4 on 2 Apr"
    weekly = TrendChart([TrendSeries("Elon Musk", days([3, 7]), "Musk buys Twitter")], days=365, unit="week")
    assert trend_alt_text(weekly) == (
        "Mentions per week of Elon Musk over a year; peak 7 in the week of 2 Apr 2024: Musk buys Twitter"
    )
    quiet = TrendChart([TrendSeries("Nobody", days([0, 0]))], days=90)
    assert trend_alt_text(quiet) == "Mentions per day of Nobody over 90 days: none"


def test_graph_alt_text_lists_the_closest_names() -> None:
    text = graph_alt_text(full_graph())
    assert text.startswith(
        "Names that appear most with Javier Milei: Argentina (40 articles), Elon Musk (38 articles), "
        "International Monetary Fund (36 articles), Buenos Aires (34 articles), Sergio Massa (32 articles)"
    )
    assert text.endswith("and 10 more names")
    assert graph_alt_text(CoMentionGraph("Nobody", "PERSON", [])) == "Names that appear with Nobody: none"


def test_alt_text_stays_within_discords_description_limit() -> None:
    long = "Supercalifragilistic " * 100
    chart = TrendChart([TrendSeries(long, days([1, 2]), long) for _ in range(4)], days=30)
    graph = CoMentionGraph(long, "PERSON", [Neighbour(f"{long}{n}", "PERSON", 5) for n in range(15)])
    for text in (trend_alt_text(chart), graph_alt_text(graph)):
        assert len(text) <= ALT_TEXT_LIMIT and "\n" not in text


# ---- the data ------------------------------------------------------------------------------------
def test_the_peak_is_the_most_mentions_earliest_first() -> None:
    assert TrendSeries("x", days([1, 4, 2, 4])).peak == (START + timedelta(days=1), 4)
    assert TrendSeries("x", days([0, 0])).peak is None
    assert TrendSeries("x", []).peak is None


def test_long_ranges_count_per_week() -> None:
    assert [charts.unit_for(d) for d in (30, 90, 365)] == ["day", "day", "week"]
    # 1 April 2024 is a Monday: two full weeks and the Monday after.
    assert charts.per_week(days([1] * 15)) == [(START, 7), (date(2024, 4, 8), 7), (date(2024, 4, 15), 1)]
    assert charts.per_week(days([2, 3], start=date(2024, 4, 3))) == [(START, 5)]  # dated by its Monday
    assert charts.per_week([]) == []


def test_a_trend_shows_one_to_four_subjects() -> None:
    subject = TrendSeries("x", days([1]))
    with pytest.raises(ValueError, match="1 to 4"):
        TrendChart([subject] * 5, days=30)
    with pytest.raises(ValueError, match="1 to 4"):
        TrendChart([], days=30)
    with pytest.raises(ValueError, match="points"):
        TrendChart([TrendSeries("x", days([1] * (charts.MAX_POINTS + 1)))], days=30)


def test_the_graph_keeps_the_fifteen_closest_names_with_stronger_ties_nearer() -> None:
    graph = full_graph()
    top = graph.top()
    assert len(top) == MAX_NEIGHBOURS and "Left out" not in {n.name for n in top}
    positions = graph_positions(graph)
    assert positions == graph_positions(full_graph())  # seeded: the same layout every time
    assert set(positions) == {graph.centre, *(n.name for n in top)}

    def reach(name: str) -> float:
        x, y = positions[name]
        return (x / 1.3) ** 2 + (y / 0.72) ** 2

    assert reach("Argentina") < reach("Brazil") < reach("Mercosur")

    # A name is one node: the centre and a repeated name do not come back as neighbours.
    odd = CoMentionGraph("Milei", "PERSON", [Neighbour("Milei", "PERSON", 9), *[Neighbour("IMF", "ORG", 3)] * 2])
    assert [n.name for n in odd.top()] == ["IMF"]
    assert decoded(render_graph(odd).png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)


def test_graph_labels_do_not_overlap_and_stay_in_the_picture() -> None:
    long_names = CoMentionGraph(
        "Javier Milei",
        "PERSON",
        [Neighbour(f"Minister of Economy number {n}", "PERSON", 20 - n) for n in range(15)],
    )
    figure = graph_figure(long_names)
    renderer = FigureCanvasAgg(figure).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in figure.axes[0].texts]
    assert len(boxes) == 16  # the centre and its 15 neighbours
    for i, box in enumerate(boxes):
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= charts.WIDTH_PX and box.y1 <= charts.HEIGHT_PX
        assert not any(box.overlaps(other) for other in boxes[i + 1 :])


# ---- off the event loop --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def renderer() -> Iterator[PictureRenderer]:
    pictures = PictureRenderer()
    pictures.start()  # one worker process for the module's tests
    yield pictures
    pictures.close()


async def test_drawing_leaves_the_event_loop_responsive(renderer: PictureRenderer) -> None:
    loop = asyncio.get_running_loop()
    stalls: list[float] = []
    drawing = True

    async def tick() -> None:
        while drawing:
            expected = loop.time() + 0.005
            await asyncio.sleep(0.005)
            stalls.append(loop.time() - expected)

    await renderer.render(year_trend())  # the worker has started and drawn once: not measured
    ticker = asyncio.create_task(tick())
    started = loop.time()
    pictures = [await renderer.render(year_trend()) for _ in range(3)]
    elapsed = loop.time() - started
    drawing = False
    await ticker
    assert all(decoded(p.png).size == (charts.WIDTH_PX, charts.HEIGHT_PX) for p in pictures)
    # Drawn on the loop, one stall would last a whole picture (a third of the time); a generous bound.
    assert len(stalls) >= 10
    assert max(stalls) < elapsed / 6


async def test_a_worker_that_died_is_replaced(renderer: PictureRenderer) -> None:
    await renderer.render(full_graph())
    pool = renderer._pool
    assert pool is not None
    for process in list(pool._processes.values()):  # the executor's own record of its worker
        process.kill()
        process.join()
    picture = await renderer.render(full_graph())
    assert decoded(picture.png).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert renderer._pool is not pool


# ---- through the fake Discord --------------------------------------------------------------------
async def test_a_picture_is_attached_with_its_alt_text_and_shown_in_the_embed(
    fake_discord: FakeDiscord, renderer: PictureRenderer
) -> None:
    fake = fake_discord
    intents = discord.Intents.default()
    client = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05, help_command=None)
    picture = await renderer.render(full_graph())
    async with fake.run_bot(client):
        channel = client.get_channel(fake.channel.id)
        embed = discord.Embed(title="Who appears with Javier Milei")
        embed.set_image(url=f"attachment://{picture.filename}")
        file = discord.File(io.BytesIO(picture.png), filename=picture.filename, description=picture.alt_text)
        sent = await channel.send(embed=embed, file=file)

    recorded = fake.messages[-1]
    assert [f.data for f in recorded.files] == [picture.png]
    (attachment,) = recorded.attachments
    assert attachment["filename"] == "graph.png" and attachment["content_type"] == "image/png"
    assert (attachment["width"], attachment["height"]) == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert attachment["description"] == picture.alt_text
    assert recorded.embeds[0]["image"]["url"] == attachment["url"]  # the fake resolved attachment://graph.png
    assert sent.embeds[0].image.width == charts.WIDTH_PX
    assert decoded(fake.attachment_data[attachment["id"]]).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
