"""Pictures: a trend line chart and a co-mention network, drawn as PNG bytes from plain data.

Pure: the store computes the numbers, the cogs attach the picture; nothing here touches SQL or Discord.
Every picture has a fixed size (1200 × 600 pixels: 6 × 3 inches at 200 dpi, so its text stays readable
when Discord shows the embed image at about a third of that) and comes with a one-sentence alt text.

Names and headlines are untrusted: control, bidirectional and other invisible characters are dropped,
long labels are cut, and matplotlib's mathtext is off for every text drawn ("$TSLA" stays "$TSLA").
Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas directly, never through
pyplot's global state; :class:`PictureRenderer` draws them in a worker process, off the event loop.
"""

from __future__ import annotations

import asyncio
import io
import math
import textwrap
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, timedelta
from multiprocessing import get_context
from typing import Literal

import networkx as nx
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from bot.wording import plural

WIDTH_PX = 1200
HEIGHT_PX = 600
DPI = 200
# Discord takes far more (25 MiB a message without boosts); a picture this big would mean a bug, and
# refusing it keeps an upload from ever failing for its size.
MAX_PNG_BYTES = 8 * 1024 * 1024
MAX_SUBJECTS = 4
MAX_NEIGHBOURS = 15
# Two years of daily points; a long range is given per week (see unit_for).
MAX_POINTS = 800
WEEKLY_AFTER_DAYS = 120
# Discord's limit on an attachment's description, which is where the alt text goes.
ALT_TEXT_LIMIT = 1024

LEGEND_NAME_LIMIT = 32
NODE_NAME_LIMIT = 30
HEADLINE_LIMIT = 90
ALT_NAME_LIMIT = 80
ALT_HEADLINE_LIMIT = 200

# Okabe–Ito colours: told apart by readers with any common colour-vision deficiency.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
NODE_KINDS = ("person", "organisation", "place", "other")
KIND_COLOURS = {"person": "#0072B2", "organisation": "#E69F00", "place": "#009E73", "other": "#8C8C8C"}
KIND_LABELS = {"person": "Person", "organisation": "Organisation", "place": "Place", "other": "Other"}
_KIND_OF_TYPE = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place", "FAC": "place"}
TEXT_COLOUR = "#1A202C"
MUTED_COLOUR = "#4A5568"
GRID_COLOUR = "#E2E8F0"
BASE_FONT_PT = 7.5

Unit = Literal["day", "week"]


class PictureTooLarge(RuntimeError):
    """A rendered picture came out over :data:`MAX_PNG_BYTES` (it cannot at the fixed size)."""


# ------------------------------------------------------------------------------------------------
# inputs and output
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrendSeries:
    """One subject's mentions: ``points`` are (day, count) in date order, one per day or per week
    (the week's first day); ``peak_title`` is the headline of the top article at :attr:`peak`."""

    name: str
    points: Sequence[tuple[date, int]]
    peak_title: str | None = None

    @property
    def peak(self) -> tuple[date, int] | None:
        """The point with the most mentions (the earliest of equals); None when there are none.

        The store picks ``peak_title`` for this same point, so the rule lives here only.
        """
        best: tuple[date, int] | None = None
        for day, count in self.points:
            if count > 0 and (best is None or count > best[1]):
                best = (day, count)
        return best


@dataclass(frozen=True, slots=True)
class TrendChart:
    """Up to four subjects over the last ``days`` days, counted per ``unit``."""

    series: Sequence[TrendSeries]
    days: int
    unit: Unit = "day"

    def __post_init__(self) -> None:
        if not 1 <= len(self.series) <= MAX_SUBJECTS:
            raise ValueError(f"a trend shows 1 to {MAX_SUBJECTS} subjects, not {len(self.series)}")
        if any(len(s.points) > MAX_POINTS for s in self.series):
            raise ValueError(f"a trend shows at most {MAX_POINTS} points per subject")
        if self.unit not in ("day", "week"):
            raise ValueError(f"unit is 'day' or 'week', not {self.unit!r}")


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A name that appears with the centre: its entity type (spaCy's label, e.g. ``PERSON``, or
    ``topic``) and the number of articles that mention both."""

    name: str
    type: str
    shared_articles: int


@dataclass(frozen=True, slots=True)
class CoMentionGraph:
    """A centre name and the names it appears with; ``links`` optionally join two neighbours (by
    name) with the number of articles that mention both of them."""

    centre: str
    centre_type: str
    neighbours: Sequence[Neighbour]
    links: Sequence[tuple[str, str, int]] = field(default_factory=tuple)

    def top(self) -> list[Neighbour]:
        """The :data:`MAX_NEIGHBOURS` neighbours with most shared articles (ties by name); a name is a
        node, so the centre and repeats of a name are left out."""
        ranked = sorted(
            (n for n in self.neighbours if n.shared_articles > 0 and n.name != self.centre),
            key=lambda n: (-n.shared_articles, n.name),
        )
        seen: set[str] = set()
        kept = []
        for neighbour in ranked:
            if neighbour.name not in seen:
                seen.add(neighbour.name)
                kept.append(neighbour)
        return kept[:MAX_NEIGHBOURS]


@dataclass(frozen=True, slots=True)
class Picture:
    """A rendered PNG, the file name to attach it under, and its alt text."""

    png: bytes
    filename: str
    alt_text: str
    width: int = WIDTH_PX
    height: int = HEIGHT_PX


def unit_for(days: int) -> Unit:
    """How a trend over ``days`` days counts: per day up to :data:`WEEKLY_AFTER_DAYS` (90 days of points
    still read as a line), per week beyond (a year of days is a smear)."""
    return "day" if days <= WEEKLY_AFTER_DAYS else "week"


def per_week(points: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """Daily counts summed per week, each week dated by its Monday, in date order."""
    weeks: dict[date, int] = {}
    for day, count in points:
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + count
    return sorted(weeks.items())


def kind_of(entity_type: str) -> str:
    """The node colour group of an entity type: person, organisation, place or other."""
    return _KIND_OF_TYPE.get(entity_type, "other")


# ------------------------------------------------------------------------------------------------
# untrusted text
# ------------------------------------------------------------------------------------------------
# Format characters (Cf) include every bidirectional control and zero-width character; private-use,
# surrogate and unassigned code points have no glyph worth drawing.
_DROPPED = frozenset({"Cf", "Co", "Cs", "Cn"})
_BREAKS = frozenset({"Cc", "Zl", "Zp"})


def clean_label(text: str, limit: int) -> str:
    """``text`` as one safe line of at most ``limit`` characters (cut with an ellipsis)."""
    # Only the start can be shown: bounding the input keeps the work linear in ``limit``.
    head = text[: limit * 4 + 16]
    kept = []
    for char in head:
        category = unicodedata.category(char)
        if category in _BREAKS:
            kept.append(" ")
        elif category not in _DROPPED:
            kept.append(char)
    line = " ".join("".join(kept).split())
    if len(line) > limit or len(text) > len(head):
        line = line[: limit - 1].rstrip() + "…"
    return line or "?"


def _wrapped(text: str, width: int, lines: int) -> str:
    """``text`` (already clean) over at most ``lines`` lines of ``width`` characters."""
    return "\n".join(textwrap.wrap(text, width, max_lines=lines, placeholder="…", break_long_words=True))


def _two_lines(text: str, width: int) -> str:
    """``text`` (already clean) on one line, or two of at most ``width`` characters split at the space
    nearest the middle, so a label is as narrow as it can be ("Central Bank of" / "Argentina")."""
    if len(text) <= width:
        return text
    middle = len(text) / 2
    spaces = sorted((i for i, char in enumerate(text) if char == " "), key=lambda i: abs(i - middle))
    for i in spaces:
        first, second = text[:i], text[i + 1 :]
        if len(first) <= width and len(second) <= width:
            return f"{first}\n{second}"
    return _wrapped(text, width, 2)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _names_sentence(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _span(days: int) -> str:
    return "a year" if days in (365, 366) else plural(days, "day")


def _day(day: date, *, year: bool) -> str:
    return f"{day.day} {day:%b %Y}" if year else f"{day.day} {day:%b}"


# ------------------------------------------------------------------------------------------------
# the trend
# ------------------------------------------------------------------------------------------------
def trend_alt_text(chart: TrendChart) -> str:
    """One sentence describing the trend picture (its attachment description)."""
    names = [clean_label(s.name, ALT_NAME_LIMIT) for s in chart.series]
    sentence = f"Mentions per {chart.unit} of {_names_sentence(names)} over {_span(chart.days)}"
    peak = _overall_peak(chart)
    if peak is None:
        return _fit(sentence + ": none", ALT_TEXT_LIMIT)
    position, (day, count) = peak
    series = chart.series[position]
    when = _day(day, year=_with_year(chart))
    when = f"in the week of {when}" if chart.unit == "week" else f"on {when}"
    whose = f" ({clean_label(series.name, ALT_NAME_LIMIT)})" if len(chart.series) > 1 else ""
    sentence += f"; peak {count}{whose} {when}"
    if series.peak_title:
        sentence += f": {clean_label(series.peak_title, ALT_HEADLINE_LIMIT)}"
    return _fit(sentence, ALT_TEXT_LIMIT)


def _overall_peak(chart: TrendChart) -> tuple[int, tuple[date, int]] | None:
    """The subject (by position) and point with the most mentions; the first subject of equals."""
    best: tuple[int, tuple[date, int]] | None = None
    for position, series in enumerate(chart.series):
        peak = series.peak
        if peak is not None and (best is None or peak[1] > best[1][1]):
            best = (position, peak)
    return best


def _with_year(chart: TrendChart) -> bool:
    """Whether dates need their year: a long range crosses a new year."""
    return chart.days > WEEKLY_AFTER_DAYS


def _new_figure() -> tuple[Figure, FigureCanvasAgg]:
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    return figure, FigureCanvasAgg(figure)


def _legend_off_math(legend: Legend) -> None:
    """Mathtext off for a legend's labels (every other text here is made with ``parse_math=False``;
    tick labels are numbers and dates)."""
    for text in legend.get_texts():
        text.set_parse_math(False)


def trend_figure(chart: TrendChart) -> Figure:
    """The trend as a matplotlib figure (not yet drawn)."""
    figure, _ = _new_figure()
    labels = [clean_label(series.name, LEGEND_NAME_LIMIT) for series in chart.series]
    columns = 4 if sum(map(len, labels)) <= 56 else 2
    rows = math.ceil(len(labels) / columns)
    ax = figure.add_axes((0.075, 0.12, 0.9, 0.72 - 0.06 * rows))
    handles = []
    top = 0
    for series, colour in zip(chart.series, SERIES_COLOURS, strict=False):
        days = [mdates.date2num(day) for day, _ in series.points]
        counts = [count for _, count in series.points]
        top = max([top, *counts])
        (line,) = ax.plot(
            days,
            counts,
            color=colour,
            linewidth=1.3,
            marker="o" if chart.unit == "week" or len(days) < 2 else None,
            markersize=2.2,
            solid_joinstyle="round",
        )
        handles.append(line)
    peak = _overall_peak(chart)
    ax.set_ylim(0, max(top * 1.55, 4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    _style_axes(ax)
    figure.text(
        0.075,
        0.94,
        f"Mentions per {chart.unit}, last {'year' if chart.days in (365, 366) else _span(chart.days)}",
        fontsize=BASE_FONT_PT + 2,
        fontweight="bold",
        color=TEXT_COLOUR,
        va="top",
        parse_math=False,
    )
    # Explicit labels: matplotlib would otherwise leave out a name starting with "_".
    legend = figure.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(0.068, 0.885),
        ncol=columns,
        frameon=False,
        fontsize=BASE_FONT_PT + 0.5,
        handlelength=1.6,
        columnspacing=1.6,
        borderaxespad=0,
        labelcolor=TEXT_COLOUR,
    )
    _legend_off_math(legend)
    if peak is not None:
        _label_peak(ax, chart, peak)
    else:
        ax.text(
            0.5,
            0.5,
            "No mentions in this period",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=MUTED_COLOUR,
            fontsize=BASE_FONT_PT + 1,
            parse_math=False,
        )
    return figure


def _style_axes(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#A0AEC0")
        ax.spines[side].set_linewidth(0.6)
    ax.tick_params(labelsize=BASE_FONT_PT, colors=MUTED_COLOUR, width=0.6, length=2.5)
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.margins(x=0.01)


def _label_peak(ax: Axes, chart: TrendChart, peak: tuple[int, tuple[date, int]]) -> None:
    position, (day, count) = peak
    series = chart.series[position]
    colour = SERIES_COLOURS[position]
    x = mdates.date2num(day)
    ax.plot(
        [x],
        [count],
        "o",
        markersize=4.5,
        markerfacecolor="white",
        markeredgecolor=colour,
        markeredgewidth=1.3,
        zorder=5,
    )
    when = _day(day, year=_with_year(chart))
    text = f"{plural(count, 'mention')} {'in the week of' if chart.unit == 'week' else 'on'} {when}"
    if series.peak_title:
        headline = clean_label(series.peak_title, HEADLINE_LIMIT)
        text += "\n" + _wrapped(headline, 52, 2)
    left, right = ax.get_xlim()
    where = (x - left) / (right - left) if right > left else 0.5
    # Keep the label inside the plot: anchored by its left edge near the left, its right edge near the right.
    align = "left" if where < 0.3 else "right" if where > 0.7 else "center"
    ax.annotate(
        text,
        xy=(x, count),
        xytext=(x, ax.get_ylim()[1] * 0.97),
        textcoords="data",
        ha=align,
        va="top",
        fontsize=BASE_FONT_PT,
        color=TEXT_COLOUR,
        linespacing=1.25,
        arrowprops={"arrowstyle": "-", "color": "#718096", "linewidth": 0.6, "shrinkA": 2, "shrinkB": 3},
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": GRID_COLOUR, "linewidth": 0.6},
        zorder=6,
        parse_math=False,
    )


# ------------------------------------------------------------------------------------------------
# the co-mention graph
# ------------------------------------------------------------------------------------------------
def graph_alt_text(graph: CoMentionGraph) -> str:
    """One sentence describing the graph picture (its attachment description)."""
    centre = clean_label(graph.centre, ALT_NAME_LIMIT)
    top = graph.top()
    if not top:
        return _fit(f"Names that appear with {centre}: none", ALT_TEXT_LIMIT)
    named = [f"{clean_label(n.name, ALT_NAME_LIMIT)} ({plural(n.shared_articles, 'article')})" for n in top[:5]]
    rest = len(top) - len(named)
    listed = _names_sentence(named) if not rest else ", ".join(named) + f" and {plural(rest, 'more name')}"
    return _fit(f"Names that appear most with {centre}: {listed}", ALT_TEXT_LIMIT)


# Layout space: x in [-2, 2] and y in [-1, 1] fill the figure (2:1, like the picture).
_X_HALF = 2.0
_Y_HALF = 1.0
_RING_X = 1.25
_RING_Y = 0.72
_LAYOUT_SEED = 20240514


def graph_positions(graph: CoMentionGraph) -> dict[str, tuple[float, float]]:
    """Node positions: the centre in the middle, neighbours around it on an ellipse, closer the more
    articles they share with it; networkx's spring layout (seeded) decides the order around the ring so
    that linked neighbours sit side by side, then the ring spaces them evenly for their labels."""
    top = graph.top()
    if not top:
        return {graph.centre: (0.0, 0.0)}
    network = nx.Graph()
    network.add_node(graph.centre)
    most = max(n.shared_articles for n in top)
    start = {graph.centre: (0.0, 0.0)}
    for i, neighbour in enumerate(top):
        network.add_edge(graph.centre, neighbour.name, weight=neighbour.shared_articles / most)
        angle = 2 * math.pi * i / len(top)
        start[neighbour.name] = (math.cos(angle), math.sin(angle))
    names = {n.name for n in top}
    for a, b, shared in graph.links:
        if a in names and b in names and a != b and shared > 0:
            network.add_edge(a, b, weight=shared / most)
    layout = nx.spring_layout(network, pos=start, fixed=[graph.centre], seed=_LAYOUT_SEED, iterations=60)
    order = sorted(top, key=lambda n: math.atan2(layout[n.name][1], layout[n.name][0]) % (2 * math.pi))
    positions = {graph.centre: (0.0, 0.0)}
    for i, neighbour in enumerate(order):
        # A quarter turn plus half a step: no node straight above or below the centre, where labels crowd.
        angle = math.pi / 2 + 2 * math.pi * (i + 0.5) / len(order)
        reach = 1.0 - 0.4 * (neighbour.shared_articles / most)
        positions[neighbour.name] = (_RING_X * reach * math.cos(angle), _RING_Y * reach * math.sin(angle))
    return positions


def graph_figure(graph: CoMentionGraph) -> Figure:
    """The co-mention network as a matplotlib figure (not yet drawn)."""
    figure, canvas = _new_figure()
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(-_X_HALF, _X_HALF)
    ax.set_ylim(-_Y_HALF, _Y_HALF)
    ax.set_axis_off()
    top = graph.top()
    positions = graph_positions(graph)
    most = max((n.shared_articles for n in top), default=1)
    centre_xy = positions[graph.centre]

    segments = []
    widths = []
    colours = []
    names = {n.name for n in top}
    for a, b, shared in graph.links:
        if a in names and b in names and a != b and shared > 0:
            segments.append((positions[a], positions[b]))
            widths.append(0.4 + 2.0 * shared / most)
            colours.append("#CBD5E0")
    for neighbour in top:
        segments.append((centre_xy, positions[neighbour.name]))
        widths.append(0.6 + 4.4 * neighbour.shared_articles / most)
        colours.append("#A0AEC0")
    ax.add_collection(LineCollection(segments, linewidths=widths, colors=colours, capstyle="round", zorder=1))

    kinds = [kind_of(n.type) for n in top]
    areas = [40 + 120 * n.shared_articles / most for n in top]
    ax.scatter(
        [positions[n.name][0] for n in top],
        [positions[n.name][1] for n in top],
        s=areas,
        c=[KIND_COLOURS[k] for k in kinds],
        edgecolors="white",
        linewidths=0.8,
        zorder=3,
    )
    centre_kind = kind_of(graph.centre_type)
    ax.scatter(
        [centre_xy[0]],
        [centre_xy[1]],
        s=320,
        c=[KIND_COLOURS[centre_kind]],
        edgecolors=TEXT_COLOUR,
        linewidths=1.2,
        zorder=4,
    )

    title = figure.text(
        0.02,
        0.965,
        f"Who appears with {clean_label(graph.centre, 60)}",
        fontsize=BASE_FONT_PT + 2,
        fontweight="bold",
        color=TEXT_COLOUR,
        va="top",
        parse_math=False,
    )
    subtitle = figure.text(
        0.02,
        0.905,
        "Line width: articles mentioning both",
        fontsize=BASE_FONT_PT - 0.5,
        color=MUTED_COLOUR,
        va="top",
        parse_math=False,
    )
    shown = [k for k in NODE_KINDS if k in {*kinds, centre_kind}]
    legend = figure.legend(
        [
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=5,
                markerfacecolor=KIND_COLOURS[k],
                markeredgecolor="white",
            )
            for k in shown
        ],
        [KIND_LABELS[k] for k in shown],
        loc="lower left",
        bbox_to_anchor=(0.01, 0.015),
        frameon=False,
        fontsize=BASE_FONT_PT - 0.5,
        handletextpad=0.3,
        labelspacing=0.35,
        borderaxespad=0,
        labelcolor=MUTED_COLOUR,
    )
    centre_label = ax.annotate(
        _two_lines(clean_label(graph.centre, NODE_NAME_LIMIT), 20),
        xy=centre_xy,
        xytext=(0, -12),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=BASE_FONT_PT + 1,
        fontweight="bold",
        color=TEXT_COLOUR,
        parse_math=False,
        zorder=6,
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
    )
    labels = []
    for neighbour in top:
        x, y = positions[neighbour.name]
        angle = math.atan2(y / _RING_Y, x / _RING_X)
        gap = 6 + 4 * neighbour.shared_articles / most
        dx, dy = gap * math.cos(angle), gap * math.sin(angle)
        label = ax.annotate(
            f"{_two_lines(clean_label(neighbour.name, NODE_NAME_LIMIT), 18)} · {neighbour.shared_articles}",
            xy=(x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha="left" if dx > 1.5 else "right" if dx < -1.5 else "center",
            va="bottom" if dy > 1.5 else "top" if dy < -1.5 else "center",
            fontsize=BASE_FONT_PT,
            color=TEXT_COLOUR,
            linespacing=1.1,
            parse_math=False,
            zorder=5,
            bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
        labels.append(label)
    _legend_off_math(legend)
    renderer = canvas.get_renderer()
    fixed = [artist.get_window_extent(renderer) for artist in (title, subtitle, legend, centre_label)]
    for neighbour, area in zip(top, areas, strict=True):
        x, y = ax.transData.transform(positions[neighbour.name])
        radius = math.sqrt(area) / 2 * DPI / 72  # a marker's area is in square points
        fixed.append(Bbox.from_extents(x - radius, y - radius, x + radius, y + radius))
    _separate_labels(renderer, labels, fixed)
    return figure


def _way_out(box: Bbox, other: Bbox) -> tuple[float, float]:
    """The shortest move (dx, dy), in pixels and along one axis, that takes ``box`` off ``other``;
    sideways moves count half as much again, so labels keep beside their nodes where they can."""
    up, down = other.y1 - box.y0 + 1, box.y1 - other.y0 + 1
    right, left = other.x1 - box.x0 + 1, box.x1 - other.x0 + 1
    return min(
        ((up, (0.0, up)), (down, (0.0, -down)), (1.5 * right, (right, 0.0)), (1.5 * left, (-left, 0.0))),
        key=lambda option: option[0],
    )[1]


def _separate_labels(renderer: RendererBase, labels: list[Text], fixed: list[Bbox], rounds: int = 40) -> None:
    """Nudge node labels until none overlaps another label or a fixed box (titles, legend, nodes; in
    pixels), and keep them inside the picture."""
    obstacles = [box.expanded(1.02, 1.1) for box in fixed]
    # Measured once: moving a label by (dx, dy) pixels moves its box by as much.
    boxes = [label.get_window_extent(renderer).expanded(1.0, 1.08) for label in labels]
    shifts = [[0.0, 0.0] for _ in labels]
    for _ in range(rounds):
        moves = [[0.0, 0.0] for _ in labels]
        for i, box in enumerate(boxes):
            for j in range(i + 1, len(boxes)):
                if box.overlaps(boxes[j]):
                    dx, dy = _way_out(box, boxes[j])
                    moves[i][0] += dx / 2
                    moves[i][1] += dy / 2
                    moves[j][0] -= dx / 2
                    moves[j][1] -= dy / 2
            for obstacle in obstacles:
                if box.overlaps(obstacle):
                    dx, dy = _way_out(box, obstacle)
                    moves[i][0] += dx
                    moves[i][1] += dy
        if not any(dx or dy for dx, dy in moves):
            break
        for i, (dx, dy) in enumerate(moves):
            moved = boxes[i].translated(dx, dy)
            # Inside the picture above all: a label may touch its node rather than lose its ends.
            dx += max(0.0, 2 - moved.x0) - max(0.0, moved.x1 - (WIDTH_PX - 2))
            dy += max(0.0, 2 - moved.y0) - max(0.0, moved.y1 - (HEIGHT_PX - 2))
            boxes[i] = boxes[i].translated(dx, dy)
            shifts[i][0] += dx
            shifts[i][1] += dy
    pixels_per_point = DPI / 72
    for label, (dx, dy) in zip(labels, shifts, strict=True):
        x, y = label.get_position()
        label.set_position((x + dx / pixels_per_point, y + dy / pixels_per_point))


# ------------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------------
def png_bytes(figure: Figure) -> bytes:
    """``figure`` drawn by Agg as PNG bytes, refused past :data:`MAX_PNG_BYTES`."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    data = buffer.getvalue()
    if len(data) > MAX_PNG_BYTES:
        raise PictureTooLarge(f"picture of {len(data)} bytes is over the {MAX_PNG_BYTES} byte bound")
    return data


def render_trend(chart: TrendChart) -> Picture:
    """The trend picture (blocking: call it off the event loop, e.g. through :class:`PictureRenderer`)."""
    return Picture(png_bytes(trend_figure(chart)), "trend.png", trend_alt_text(chart))


def render_graph(graph: CoMentionGraph) -> Picture:
    """The co-mention picture (blocking: call it off the event loop, e.g. through :class:`PictureRenderer`)."""
    return Picture(png_bytes(graph_figure(graph)), "graph.png", graph_alt_text(graph))


def render(spec: TrendChart | CoMentionGraph) -> Picture:
    """Either picture, by the kind of ``spec``."""
    if isinstance(spec, TrendChart):
        return render_trend(spec)
    if isinstance(spec, CoMentionGraph):
        return render_graph(spec)
    raise TypeError(f"cannot draw a {type(spec).__name__}")


class PictureRenderer:
    """Draws pictures in one worker process of its own (spawned on first use, or by :meth:`start`,
    and kept for the next pictures), one at a time, off the event loop.

    Not a thread: matplotlib holds the GIL while it lays out and draws, and when the machine is busy
    (spaCy's indexing workers on the same cores) a drawing thread stalls the event loop for 40 to 140 ms
    at a time, against under 25 ms from a process (``python -m bench.charts`` measures both). One
    process bounds the memory and CPU a burst of requests can take; requests queue behind it.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn the worker now (it loads matplotlib and its fonts, about a second), so that the first
        picture does not wait for it."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), initializer=_warm_up)

    async def render(self, spec: TrendChart | CoMentionGraph) -> Picture:
        """The picture for ``spec``, drawn in the worker process."""
        try:
            return await self._draw(spec)
        except BrokenProcessPool:
            # The worker died (killed for memory, say): a new one draws it, once; pictures are idempotent.
            self.close()
            return await self._draw(spec)

    async def _draw(self, spec: TrendChart | CoMentionGraph) -> Picture:
        self.start()
        return await asyncio.get_running_loop().run_in_executor(self._pool, render, spec)

    def close(self) -> None:
        """Stop the worker process, if one was started (a picture being drawn is finished first)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _warm_up() -> None:
    """Load fonts and draw once in a new worker, so that its first real picture is not the slow one."""
    render(TrendChart([TrendSeries("warm-up", [(date(2024, 1, 1), 1), (date(2024, 1, 2), 2)])], days=2))
