"""Charts: plotext's ANSI output turned into the same styled lines rich's decoder gives."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from lvs_tui.widgets.chart import (
    CACHE_SIZE,
    DEFAULT_COLOURS,
    AnsiLines,
    Chart,
    Series,
    chart_colours,
    clear_chart_cache,
    minute_origin,
    render_chart,
)

SERIES = Series(tuple(float(-i) for i in range(90)),
                tuple(1.0 + (i % 7) * 0.1 for i in range(90)))
GAPPY = Series((-30.0, -20.0, -3.0), (5.0, 50.0, 0.0))  # lost samples stay gaps


@pytest.mark.parametrize("dark", [True, False])
def test_chart_lines_equal_richs_own_decoding(dark: bool) -> None:
    import plotext as plt

    clear_chart_cache()  # a cached chart would leave plotext's figure on another one
    chart = render_chart((SERIES, GAPPY), "RTT ms", 70, 12, dark)
    assert isinstance(chart, AnsiLines)
    ansi = plt.figure.build().string()  # the figure render_chart just built
    console = Console(width=80, color_system="256", force_terminal=True)
    expected = console.render_lines(Text.from_ansi(ansi), console.options, pad=False)
    got = console.render_lines(chart, console.options, pad=False)
    # plotext ends with a newline: rich's decoding has one blank line more, ours does not
    assert len(got) == len(chart.lines) == 12
    assert len(expected) == 13 and not "".join(seg.text for seg in expected[12]).strip()
    for mine, ref in zip(got, expected[:12], strict=True):
        assert list(Segment.simplify(mine)) == list(Segment.simplify(ref))
    assert any(seg.style and seg.style.color for line in got for seg in line)


def test_labelled_series_get_a_colour_each_and_a_legend_line_that_names_them() -> None:
    """One series a vantage: each drawn in its theme colour ($chart-1 …), named in that
    colour on the chart's last line (plotext's legend box does not fit four vantages in 10
    rows); a vantage without points keeps its place, dimmed."""
    from lvs_tui.widgets.theming import load_theme

    clear_chart_cache()
    theme = chart_colours(load_theme("light").variables)
    assert theme != DEFAULT_COLOURS  # the light theme's own, not the dark default
    local = Series(SERIES[0], SERIES[1], "本地")
    silent = Series((), (), "联通")
    remote = Series(GAPPY[0], GAPPY[1], "电信")
    chart = render_chart((local, silent, remote), "RTT ms", 70, 12, False, theme)
    assert isinstance(chart, AnsiLines) and len(chart.lines) == 12
    legend = {seg.text: seg.style for seg in chart.lines[-1] if seg.text.strip()}
    assert list(legend) == ["━ 本地", "━ 联通", "━ 电信"]
    assert legend["━ 联通"].dim and not legend["━ 本地"].dim
    colours = [legend[k].color.triplet.hex for k in legend]
    assert colours == list(theme[:3])
    drawn = {seg.style.color.triplet.hex for line in chart.lines[:-1] for seg in line
             if seg.style and seg.style.color and seg.style.color.triplet
             and seg.text.strip("─┌┐└┘│┤┬ 0123456789.-")}
    assert {colours[0], colours[2]} <= drawn


def test_the_y_axis_starts_at_zero() -> None:
    """RTT, loss, CPU and traffic are never negative: all-zero loss is a line on the floor,
    not the middle of an axis from -1 to 1."""
    chart = render_chart([Series((-3.0, -2.0, -1.0), (0.0, 0.0, 0.0))], "loss %", 40, 10)
    assert isinstance(chart, AnsiLines)
    text = "\n".join("".join(seg.text for seg in line) for line in chart.lines)
    assert "-0" not in text.split("└")[0] and "-1" not in text.split("└")[0]  # y labels
    assert "0.0┤" in text or "0┤" in text


def test_no_data_says_so() -> None:
    chart = render_chart([Series((), ())], "loss %", 70, 12)
    assert isinstance(chart, Text) and chart.plain == "loss %: no data"


def test_cache_gives_the_same_chart_for_the_same_inputs_and_a_new_one_otherwise() -> None:
    clear_chart_cache()
    first = render_chart((SERIES, GAPPY), "RTT ms", 70, 12)
    assert render_chart([SERIES, GAPPY], "RTT ms", 70, 12) is first  # lists or tuples
    changed = Series(GAPPY.xs, (5.0, 51.0, 0.0))  # one sample differs: never the stale chart
    fresh = render_chart((SERIES, changed), "RTT ms", 70, 12)
    assert fresh is not first and isinstance(fresh, AnsiLines)
    assert fresh.lines != first.lines
    for other in (render_chart((SERIES, GAPPY), "loss %", 70, 12),
                  render_chart((SERIES, GAPPY), "RTT ms", 71, 12),
                  render_chart((SERIES, GAPPY), "RTT ms", 70, 11),
                  render_chart((SERIES, GAPPY), "RTT ms", 70, 12, dark=False)):
        assert other is not first
    # bounded: the oldest entries go
    for n in range(CACHE_SIZE + 5):
        render_chart((Series(tuple(float(-i) for i in range(3)), (1.0, 2.0, float(n))),),
                     "x", 30, 6)
    assert render_chart((SERIES, GAPPY), "RTT ms", 70, 12) is not first


async def test_chart_widget_shows_new_data_and_skips_a_repaint_for_the_same() -> None:
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Chart("RTT ms", id="c")

    clear_chart_cache()
    async with One().run_test(size=(80, 20)) as pilot:
        chart = pilot.app.query_one(Chart)
        chart.plot([SERIES])
        await pilot.pause()
        shown = chart.content
        repaints: list[object] = []
        original = chart.update
        chart.update = lambda *a, **k: (repaints.append(a), original(*a, **k))  # type: ignore
        chart.plot([SERIES])  # same data: same chart, no update
        assert chart.content is shown and not repaints
        chart.plot([GAPPY])  # new data: a new chart on screen
        assert chart.content is not shown and len(repaints) == 1
        await pilot.pause()
        lines = [str(chart.render_line(y).text) for y in range(chart.size.height)]
        assert "".join(lines).strip()


def test_minute_origin_is_the_next_whole_minute() -> None:
    assert minute_origin(1_790_000_040.0) == 1_790_000_040.0  # on a whole minute
    assert minute_origin(1_790_000_040.5) == 1_790_000_100.0
    assert minute_origin(1_790_000_099.9) == 1_790_000_100.0
