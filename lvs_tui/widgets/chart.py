"""A chart widget of ours over plotext 6.

plotext 6 is a rewrite (explicit figure API) that textual-plotext 1.0.1 does not support,
so this small widget builds plotext's text output and shows it as Rich Text. Points are
drawn as markers, never joined by lines: a lost sample or a gap stays visibly empty.
plotext keeps one global figure, so charts are built on the UI thread only (≈5 ms each).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotext as plt
from rich.text import Text
from textual.widgets import Static

Series = tuple[tuple[float, ...], tuple[float, ...]]


def render_chart(series: Sequence[Series], title: str, width: int, height: int,
                 dark: bool = True) -> Text:
    """The chart as Rich Text; no data says so instead of drawing empty axes."""
    if not any(xs for xs, _ in series):
        return Text(f"{title}: no data", style="dim")
    fig = plt.figure
    fig.clear()
    fig.plot_size(max(20, width), max(5, height))
    fig.theme("dark" if dark else "default")
    for xs, ys in series:
        if xs:
            fig.draw(fig.signal(list(xs), list(ys)))
    fig.title(title)
    return Text.from_ansi(fig.build().string())


class Chart(Static):
    """Shows a chart sized to itself; `plot()` redraws with new data."""

    DEFAULT_CSS = """
    Chart { height: 12; min-width: 24; }
    """

    def __init__(self, title: str = "", **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.chart_title = title
        self._series: tuple[Series, ...] = ()

    def plot(self, series: Sequence[Series], title: str | None = None) -> None:
        if title is not None:
            self.chart_title = title
        self._series = tuple(series)
        if self.size.width:  # before the first layout, on_resize draws it at its real size
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.size.width or 40, self.size.height or 12
        dark = getattr(self.app, "current_theme", None)
        is_dark = bool(getattr(dark, "dark", True))
        # The chart is drawn to its own size: its content never asks for a layout pass.
        self.update(render_chart(self._series, self.chart_title, width, height, is_dark),
                    layout=False)
