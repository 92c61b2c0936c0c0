"""A chart widget of ours over plotext 6.

plotext 6 is a rewrite (explicit figure API) that textual-plotext 1.0.1 does not support,
so this small widget builds plotext's text output and shows it as Rich Text. Points are
drawn as markers, never joined by lines: a lost sample or a gap stays visibly empty.
plotext keeps one global figure and the cache is not thread-safe, so one lock guards both:
the evaluation thread builds the host view's next charts ahead (`host_charts`), the UI thread
builds what it did not (3-10 ms each, ~30 µs a point). plotext's ANSI output is turned into
rich Segments by `ansi_lines` (one regex pass, a style per escape run, cached):
`Text.from_ansi` took ~10 ms a chart and its rendering ~4 ms more.

Built charts are kept in a small LRU keyed on their exact inputs (series, title, size,
dark), so a chart whose data did not change costs a dictionary look-up, and a `Chart` shown
the same object again does not even repaint. Charts over Zabbix's minute samples put their
x origin on the next whole minute (`minute_origin`) rather than on the board's clock, so
they are the same chart, and a cache hit, for the whole minute.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import plotext as plt
from rich.color import Color
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.widgets import Static

from lvs_tui.widgets.theming import DEFAULTS

# One colour per labelled series, by position (the same vantage, the same colour, in both
# ping charts): the theme's $chart-1 … $chart-6; the dark theme's where no theme is given.
CHART_VARS = tuple(f"chart-{i}" for i in range(1, 7))
DEFAULT_COLOURS = tuple(DEFAULTS[v] for v in CHART_VARS)


def chart_colours(palette: Mapping[str, str]) -> tuple[str, ...]:
    """The series colours of a theme's variables (`app.theme_variables`)."""
    return tuple(palette.get(v) or DEFAULTS[v] for v in CHART_VARS)


class Series(NamedTuple):
    """One line of a chart; a label puts it in the chart's legend (a vantage, in / out)."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    label: str = ""


# plotext writes every run as its full SGR sequence (reset first) followed by its text.
_RUN = re.compile(r"((?:\x1b\[[0-9;]*m)*)([^\x1b]*)")


@lru_cache(maxsize=256)
def _run_style(codes: str) -> Style:
    """The style an escape run sets: rich's own decoder, once per distinct run."""
    spans = Text.from_ansi(codes + "x").spans
    return Style.combine(s.style for s in spans if isinstance(s.style, Style))


@dataclass(frozen=True, slots=True)
class AnsiLines:
    """Pre-split, pre-styled lines: rendering them is yielding them (no wrapping)."""

    lines: tuple[tuple[Segment, ...], ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> Iterator[Segment]:
        for n, line in enumerate(self.lines):
            if n:
                yield Segment.line()
            yield from line


def ansi_lines(ansi: str) -> AnsiLines:
    """plotext's ANSI text as styled lines, the same segments `Text.from_ansi` gives."""
    return AnsiLines(tuple(tuple(Segment(text, _run_style(codes))
                                 for codes, text in _RUN.findall(line) if text)
                           for line in ansi.rstrip("\n").split("\n")))


ChartKey = tuple[tuple[Series, ...], str, int, int, bool, tuple[str, ...]]
CACHE_SIZE = 32  # five charts a host view; a few hosts and ranges back
_cache: LRUCache[ChartKey, AnsiLines | Text] = LRUCache(CACHE_SIZE)
_lock = threading.Lock()  # plotext's one figure and the cache, shared by two threads


def clear_chart_cache() -> None:
    with _lock:
        _cache.clear()


def minute_origin(now: float) -> float:
    """The x origin of a chart over minute samples: the next whole minute (`now` itself on
    one). Every sample is then at x ≤ 0, and the chart stays the same, and cached, until the
    minute turns; its "min ago" is at most a minute early, under a column at 1 h."""
    return math.ceil(now / 60.0) * 60.0


def render_chart(series: Sequence[Series], title: str, width: int, height: int,
                 dark: bool = True, colours: tuple[str, ...] = DEFAULT_COLOURS
                 ) -> AnsiLines | Text:
    """The chart; no data says so instead of drawing empty axes. The same inputs give the
    same (cached) object: callers may compare by identity to skip a repaint."""
    key: ChartKey = (tuple(Series(tuple(s.xs), tuple(s.ys), s.label) for s in series),
                     title, max(20, width), max(5, height), dark, colours)
    with _lock:
        chart = _cache.get(key)
        if chart is None:
            chart = _cache[key] = _build(*key)
        return chart


def _build(series: tuple[Series, ...], title: str, width: int, height: int,
           dark: bool, colours: tuple[str, ...]) -> AnsiLines | Text:
    if not any(s.xs for s in series):
        return Text(f"{title}: no data", style="dim")
    labelled = any(s.label for s in series)
    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height - 1 if labelled else height)
    fig.theme("dark" if dark else "default")
    for i, (xs, ys, _) in enumerate(series):
        if xs:
            rgb = Color.parse(colours[i % len(colours)]).get_truecolor()
            marker = plt.marker("hd", pixel=tuple(rgb))
            fig.draw(fig.signal(list(xs), list(ys), marker=marker if labelled else None))
    # Every quantity charted here (RTT, loss, CPU, traffic) is never negative: the y axis
    # starts at 0, so a flat 0 % loss is a line on the floor, not the middle of -1 … 1.
    fig.ruler(axis="y").lim(0, None)
    fig.title(title)
    chart = ansi_lines(fig.build().string())
    if not labelled:
        return chart
    return AnsiLines((*chart.lines, _legend(series, colours)))


def _legend(series: tuple[Series, ...], colours: tuple[str, ...]) -> tuple[Segment, ...]:
    """One line under the chart: each series' name in its colour (plotext's own legend box
    needs two rows an entry, more than a chart of 10 rows has for four vantages). A series
    without points keeps its place and colour, dimmed."""
    out = [Segment("    ")]
    for i, (xs, _, label) in enumerate(series):
        colour = colours[i % len(colours)]
        out.append(Segment(f"━ {label}", Style(color=colour, dim=not xs)))
        out.append(Segment("   "))
    return tuple(out[:-1])


class Chart(Static):
    """Shows a chart sized to itself; `plot()` redraws with new data."""

    DEFAULT_CSS = """
    Chart { height: 12; min-width: 24; }
    """

    def __init__(self, title: str = "", **kw: Any) -> None:
        super().__init__(**kw)
        self.chart_title = title
        self._series: tuple[Series, ...] = ()
        self._shown: AnsiLines | Text | None = None

    def plot(self, series: Sequence[Series], title: str | None = None) -> None:
        if title is not None:
            self.chart_title = title
        self._series = tuple(series)
        if self.size.width:  # before the first layout, on_resize draws it at its real size
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def dark(self) -> bool:
        theme = getattr(self.app, "current_theme", None)
        return bool(getattr(theme, "dark", True))

    def colours(self) -> tuple[str, ...]:
        return chart_colours(self.app.theme_variables)

    def _draw(self) -> None:
        width, height = self.size.width or 40, self.size.height or 12
        chart = render_chart(self._series, self.chart_title, width, height, self.dark(),
                             self.colours())
        if chart is self._shown:
            return  # the same inputs: already on screen, no repaint
        self._shown = chart
        # The chart is drawn to its own size: its content never asks for a layout pass.
        self.update(chart, layout=False)
