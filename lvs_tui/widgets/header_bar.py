"""The header: clock in the duty time zone, each source's state and age, host counts, PAUSED."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from lvs_tui.board import Board
from lvs_tui.config import Config
from lvs_tui.state import SourceState, SourceStatus
from lvs_tui.widgets.cells import Palette, age_text, color

SOURCE_GLYPH = {SourceState.OK: ("●", "status-ok"),
                SourceState.DEGRADED: ("◐", "status-warning"),
                SourceState.DOWN: ("✖", "status-down"),
                SourceState.STALE: ("◌", "status-unknown"),
                SourceState.STARTING: ("…", "status-unknown"),
                SourceState.OFF: ("-", "status-stale")}
COUNTS = (("down", "✖", "status-down"), ("problem", "▲", "status-major"),
          ("ok", "●", "status-ok"), ("unknown", "?", "status-unknown"))


def source_label(cfg: Config, name: str) -> str:
    if name.startswith("vantage:"):
        vid = name.split(":", 1)[1]
        try:
            return cfg.vantage(vid).name
        except (KeyError, StopIteration, ValueError):
            return vid
    return {"icmp": "ICMP", "zabbix": "Zabbix", "alert_page": "5666"}.get(name, name)


def source_text(cfg: Config, s: SourceStatus, now: float, palette: Palette) -> Text:
    glyph, var = SOURCE_GLYPH.get(s.state, ("?", "status-unknown"))
    text = Text()
    text.append(f"{glyph} {source_label(cfg, s.name)} ", style=color(palette, var))
    text.append(s.state.value, style=color(palette, var))
    # stale: the age of its last word (`since`), whatever it was; else of its last success
    last = s.since if s.state is SourceState.STALE else s.last_ok
    age = None if last is None else max(0.0, now - last)
    detail = s.detail if s.name == "icmp" or s.state is not SourceState.OK else ""
    if detail:
        text.append(f" ({detail})", style="dim")
    if age is not None and (age >= 2 or s.state is not SourceState.OK):
        text.append(f" {age_text(age)}", style="dim")
    return text


def header_text(cfg: Config, board: Board | None, now: float, paused: bool,
                palette: Palette, badges: Sequence[str] = ()) -> Text:
    """Two lines: clock, view badges (PAUSED, what narrows the fleet) and counts; then
    every source's state and age."""
    clock = datetime.fromtimestamp(now, cfg.duty.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    text = Text()
    text.append(" lvs-tui ", style="bold reverse")
    text.append(f" {clock} ")
    if paused:
        text.append(" PAUSED ", style=f"bold reverse {color(palette, 'paused')}")
    for badge in badges:
        text.append(f" {badge} ", style=f"bold reverse {color(palette, 'paused')}")
    text.append("  ")
    if board is None:
        text.append("evaluating…", style="dim")
    else:
        counts = board.counts
        for key, glyph, var in COUNTS:
            n = counts.get(key, 0)
            style = color(palette, var) + (" bold" if n and key == "down" else "")
            text.append(f"{glyph} {n} {key}  ", style=style if n or key == "ok" else "dim")
    text.append("\n ")
    sources = sorted(board.sources if board else (), key=_source_rank)
    if not sources:
        text.append("no sources reporting", style=color(palette, "status-unknown"))
    for i, s in enumerate(sources):
        if i:
            text.append(" · ", style="dim")
        text.append_text(source_text(cfg, s, now, palette))
    return text


def _source_rank(s: SourceStatus) -> tuple[int, int, str]:
    """Sources in trouble first: the line is cut at the right edge (80 columns show four or
    five), and a failing 5666 page or vantage must never be the part cut off. Then ICMP,
    Zabbix, the vantages, the 5666 page; sources not configured last."""
    trouble = 2 if s.state is SourceState.OFF else 1 if s.state is SourceState.OK else 0
    order = {"icmp": 0, "zabbix": 1, "alert_page": 3}
    return (trouble, order.get(s.name, 2), s.name)


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: 2; background: $panel; }
    """
