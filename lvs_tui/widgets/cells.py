"""How one value is drawn: glyph + word + colour for states, sparklines with visible gaps.

Pure functions from domain values and a palette (the theme's variables) to Rich Text, so
they are tested without a terminal and every widget draws states the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from lvs_tui.duty_state import HostMark
from lvs_tui.fleet import Mode
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.situation import Severity, Situation, SituationId
from lvs_tui.state import MetricSample

Palette = Mapping[str, str]
Cell = tuple[Segment, ...]  # one table cell, ready to draw: no Text, no console needed
BLOCKS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a bucket with no sample: shown, never interpolated

SITUATION_WORDS = {
    SituationId.OK: ("●", "ok"),
    SituationId.UNKNOWN: ("?", "unknown"),
    SituationId.DEGRADED: ("◐", "degraded"),
    SituationId.VIP_UNREACHABLE: ("◐", "VIP DOWN"),  # from every vantage: an outage
    SituationId.ONE_SIDE_DOWN: ("▲", "one side down"),
    SituationId.PATH_BROKEN: ("⚡", "path broken"),
    SituationId.HOST_DOWN: ("✖", "HOST DOWN"),
}

SEVERITY_VAR = {
    Severity.CRITICAL: "status-down",
    Severity.MAJOR: "status-major",
    Severity.WARNING: "status-warning",
    Severity.UNKNOWN: "status-unknown",
    Severity.OK: "status-ok",
}

REACH_VAR = {Reach.UP: "status-ok", Reach.LOSS: "status-loss", Reach.DOWN: "status-down",
             Reach.UNKNOWN: "status-unknown"}


def color(palette: Palette, var: str) -> str:
    return palette.get(var, "") or "default"


def situation_text(s: Situation, palette: Palette) -> Text:
    glyph, word = SITUATION_WORDS.get(s.id, ("?", s.id.value))
    if s.id is SituationId.VIP_UNREACHABLE and s.scope is not None and s.scope.value == "partial":
        word = "VIP partly down"  # from some vantages (carriers) only
    style = color(palette, SEVERITY_VAR[s.severity])
    bold = " bold" if s.severity >= Severity.CRITICAL else ""
    return Text(f"{glyph} {word}", style=style + bold)


def duty_situation(sit: Text, mark: HostMark, palette: Palette) -> Text:
    """The situation word with the duty's state: `维护中` first (the real state after it,
    dimmed), `⇅` for flapping, `✓` acknowledged, `✓?` acknowledged for a milder state."""
    if mark.maintenance is not None:
        out = Text("维护中 ", style=color(palette, "status-stale") + " bold")
        start = len(out)
        out.append_text(sit)
        out.stylize("dim", start)
        return out
    out = Text()
    if mark.flapping:
        out.append("⇅ ", style=color(palette, "status-warning") + " bold")
    out.append_text(sit)
    if mark.ack is not None:
        out.append(" ✓", style=color(palette, "status-ok") + " bold")
    elif mark.stale_ack is not None:
        out.append(" ✓?", style=color(palette, "status-warning") + " bold")
    return out


def reach_text(sig: AddressSignal | None, palette: Palette, stale_after: float) -> Text:
    """An address state: glyph and word; stale values dimmed with their age."""
    if sig is None:
        return Text("- none", style=color(palette, "status-unknown"))
    style = color(palette, REACH_VAR[sig.reach])
    text = Text(f"{sig.reach.glyph} {sig.reach.value}", style=style)
    if sig.reach is Reach.UNKNOWN and sig.age is not None and sig.age > stale_after:
        text.append(f" {age_text(sig.age)}", style=color(palette, "status-stale") + " dim")
    return text


def age_text(age: float | None) -> str:
    if age is None:
        return "never"
    if age < 90:
        return f"{age:.0f}s"
    if age < 5400:
        return f"{age / 60:.0f}m"
    if age < 172800:
        return f"{age / 3600:.0f}h"
    return f"{age / 86400:.0f}d"


def mode_text(mode: Mode, palette: Palette) -> Text:
    return Text(mode.badge, style=color(palette, f"mode-{mode.value}") + " bold")


def number_text(value: float | None, unit: str, palette: Palette, age: float | None = None,
                stale: bool = False, digits: int = 1) -> Text:
    """A measurement; when stale it is dimmed and carries its age."""
    if value is None:
        return Text("-", style=color(palette, "status-unknown"))
    text = Text(f"{value:.{digits}f}{unit}")
    if stale:
        text.stylize(color(palette, "status-stale") + " dim")
        text.append(f" {age_text(age)}", style=color(palette, "status-stale") + " dim")
    return text


def buckets(samples: Sequence[MetricSample], now: float, width: int, step: float
            ) -> list[float | None]:
    """The newest `width` time buckets of `step` seconds ending at `now`; None = no sample."""
    out: list[float | None] = [None] * width
    start = now - width * step
    for s in samples:
        if s.clock <= start or s.clock > now:
            continue
        i = min(width - 1, int((s.clock - start) // step))
        cur = out[i]
        out[i] = s.value if cur is None else max(cur, s.value)
    return out


def spark_text(values: Sequence[float | None], palette: Palette, var: str,
               low: float | None = None, high: float | None = None) -> Text:
    """A sparkline: one block per bucket, `·` where there is no sample (gaps stay gaps)."""
    known = [v for v in values if v is not None]
    text = Text()
    if not known:
        return Text(GAP * len(values), style=color(palette, "spark-gap"))
    lo = min(known) if low is None else low
    hi = max(known) if high is None else high
    span = hi - lo
    style = color(palette, var)
    gap = color(palette, "spark-gap")
    for v in values:
        if v is None:
            text.append(GAP, style=gap)
            continue
        level = 0 if span <= 0 else int((v - lo) / span * (len(BLOCKS) - 1) + 0.5)
        text.append(BLOCKS[max(0, min(len(BLOCKS) - 1, level))], style=style)
    return text


def spark_cell(values: Sequence[float | None], palette: Palette, var: str) -> Cell:
    """`spark_text` as segments, one per run of same-style blocks (a handful, not one a
    character): the fleet table draws thousands of these per board."""
    known = [v for v in values if v is not None]
    gap = Style.parse(color(palette, "spark-gap"))
    if not known:
        return (Segment(GAP * len(values), gap),)
    lo, hi = min(known), max(known)
    span = hi - lo
    style = Style.parse(color(palette, var))
    top = len(BLOCKS) - 1
    runs: list[Segment] = []
    chars: list[str] = []
    current: Style | None = None
    for v in values:
        if v is None:
            char, st = GAP, gap
        else:
            level = 0 if span <= 0 else int((v - lo) / span * top + 0.5)
            char, st = BLOCKS[max(0, min(top, level))], style
        if st is not current and chars:
            runs.append(Segment("".join(chars), current))
            chars = []
        current = st
        chars.append(char)
    runs.append(Segment("".join(chars), current))
    return tuple(runs)


def text_cell(text: Text) -> Cell:
    """A Rich Text as segments, styles resolved without a console (colours, bold, dim…).

    Each run between span edges gets the text's style plus every span covering it, as
    Text.render does; theme names of Rich's console are not looked up (cells use colours).
    """
    plain = text.plain
    if not plain:
        return ()
    base = _style(text.style)
    spans = [sp for sp in text.spans if sp.end > sp.start]
    if not spans:
        return (Segment(plain, base),)
    edges = sorted({0, len(plain), *(sp.start for sp in spans), *(sp.end for sp in spans)})
    out: list[Segment] = []
    for start, end in pairwise(edges):
        if start >= len(plain):
            break
        style = base
        for sp in spans:
            if sp.start <= start and end <= sp.end:
                style = style + _style(sp.style)
        out.append(Segment(plain[start:end], style))
    return tuple(out)


def row_strip(cells: Sequence[Cell], widths: Sequence[int], gutter: int = 1) -> Strip:
    """One table line: each cell after `gutter` blanks, padded or cut to its column's
    width in terminal cells (a CJK character is two; one cut in half becomes a blank)."""
    pad = Segment(" " * gutter)
    segments: list[Segment] = []
    for cell, width in zip(cells, widths, strict=True):
        segments.append(pad)
        used = 0
        for seg in cell:
            size = cell_len(seg.text)
            if used + size > width:
                seg = Segment(_cut(seg.text, width - used), seg.style)
                size = cell_len(seg.text)
            if size:
                segments.append(seg)
                used += size
            if used >= width:
                break
        if used < width:
            segments.append(Segment(" " * (width - used)))
    return Strip(segments, sum(widths) + gutter * len(widths))


def _cut(text: str, width: int) -> str:
    """The longest prefix of `text` that fits in `width` terminal cells."""
    out = ""
    for ch in text:
        if cell_len(out + ch) > width:
            break
        out += ch
    return out


def _style(style: str | Style) -> Style:
    return Style.parse(style) if isinstance(style, str) else style


def sample_step(samples: Sequence[MetricSample], default: float = 60.0) -> float:
    """The item's own interval, estimated from its clocks (median spacing)."""
    gaps = sorted(b.clock - a.clock for a, b in pairwise(samples)
                  if b.clock > a.clock)
    if not gaps:
        return default
    return max(5.0, gaps[len(gaps) // 2])


def rate_text(bps: float | None) -> str:
    if bps is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if bps >= div:
            return f"{bps / div:.1f}{unit}"
    return f"{bps:.0f}"
