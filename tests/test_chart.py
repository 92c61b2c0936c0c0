"""Charts: plotext's ANSI output turned into the same styled lines rich's decoder gives."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from lvs_tui.widgets.chart import AnsiLines, render_chart

SERIES = (tuple(float(-i) for i in range(90)), tuple(1.0 + (i % 7) * 0.1 for i in range(90)))
GAPPY = ((-30.0, -20.0, -3.0), (5.0, 50.0, 0.0))  # lost samples stay gaps


@pytest.mark.parametrize("dark", [True, False])
def test_chart_lines_equal_richs_own_decoding(dark: bool) -> None:
    import plotext as plt

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


def test_no_data_says_so() -> None:
    chart = render_chart([((), ())], "loss %", 70, 12)
    assert isinstance(chart, Text) and chart.plain == "loss %: no data"
