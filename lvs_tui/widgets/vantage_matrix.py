"""Addresses of the selected host × vantages: "unreachable only from 联通" at a glance.

The rows, the cells and the column widths; `matrix_table.MatrixTable` draws them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

from lvs_tui.board import SILENCED, HostRow
from lvs_tui.config import Config
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.widgets.cells import REACH_VAR, Palette, age_text, color

ADDRESS_WIDTH = 26  # "VIP 203.0.113.53 svc0053" whole; 20 still shows "外网 198.51.100.16"
MIN_ADDRESS_WIDTH = 20
VANTAGE_WIDTH = 11  # "● 9.9ms 10%", "● 123ms 10%", "? stale 59s"


@dataclass(frozen=True, slots=True)
class MatrixFit:
    """Column widths for the room there is. Every vantage column stays on screen: a carrier
    cut off at the right edge is the one whose trouble nobody sees."""

    address: int
    vantage: int
    compact: bool  # glyph only: RTT and loss do not fit beside every vantage


def matrix_fit(width: int, titles: Sequence[str], gutter: int = 1) -> MatrixFit:
    """Widths for `width` cells (0: not laid out yet) and the vantage `titles`: RTT and
    loss if every vantage fits beside an address column of at least 20, else the glyph."""
    n = len(titles)
    room = width - gutter - n * (VANTAGE_WIDTH + gutter)
    if width <= 0 or room >= MIN_ADDRESS_WIDTH:
        return MatrixFit(ADDRESS_WIDTH if width <= 0 else min(room, ADDRESS_WIDTH),
                         VANTAGE_WIDTH, False)
    narrow = max([2, *(cell_len(t) for t in titles)])
    room = width - gutter - n * (narrow + gutter)
    return MatrixFit(max(16, min(room, ADDRESS_WIDTH)), narrow, True)


def rtt_text(ms: float) -> str:
    """Tenths only under 10 ms: "0.6ms", "12ms", "123ms" (a column of 11 with the loss)."""
    return f"{ms:.1f}ms" if ms < 9.95 else f"{ms:.0f}ms"


def matrix_cell(sig: AddressSignal | None, palette: Palette, compact: bool = False,
                before: float | None = None) -> Text:
    """One vantage's view of one address. `before`: seconds since this vantage's last
    answer, which came before another vantage saw the address go silent — no news since,
    so it is dimmed with its age instead of a green RTT (a proxy checks once a minute)."""
    if sig is None:
        return Text("·", style=color(palette, "spark-gap"))  # this vantage does not probe it
    if before is not None and sig.reach.answers:
        stale = color(palette, "status-stale")
        return Text(sig.reach.glyph if compact else f"{sig.reach.glyph} {age_text(before)} ago",
                    style=stale)
    if compact:
        return Text(sig.reach.glyph, style=color(palette, REACH_VAR[sig.reach]))
    text = Text(f"{sig.reach.glyph} ", style=color(palette, REACH_VAR[sig.reach]))
    if sig.reach is Reach.UNKNOWN:
        word = ("silenced" if SILENCED in sig.detail else
                "unknown" if sig.age is None else f"stale {age_text(sig.age)}")
        text.append(word, style=color(palette, "status-stale"))
    elif sig.reach is Reach.DOWN:
        text.append("down", style=color(palette, "status-down") + " bold")
    else:
        rtt = "-" if sig.rtt_ms is None else rtt_text(sig.rtt_ms)
        text.append(rtt)
        if sig.loss_pct:
            text.append(f" {sig.loss_pct:.0f}%", style=color(palette, "status-loss"))
    return text


def _before(sigs: Sequence[AddressSignal | None], now: float) -> list[float | None]:
    """Per vantage: the age of its last answer if that predates the address's silence
    as another vantage saw it (as the diagnosis counts signs of life), else None."""
    silent = [s.silent_since for s in sigs if s is not None and s.silent_since is not None]
    if not silent:
        return [None] * len(sigs)
    outage = min(silent)
    return [now - s.last_up if s is not None and s.last_up is not None and s.last_up <= outage
            else None for s in sigs]


def matrix_rows(cfg: Config, row: HostRow, palette: Palette, now: float,
                prefix: bool = False, compact: bool = False
                ) -> list[tuple[str, tuple[Text, ...]]]:
    """(row key "host|address", cells): one row per address, one column per vantage. The
    address comes before the service name, which a narrow column cuts first."""
    by = {(s.address, s.vantage): s for s in row.signals.addresses}
    targets = [(f"{side.zh} {addr}", addr) for side, addr in row.host.addresses]
    targets += [(f"VIP {v.address} {v.service}".strip(), v.address)
                for v in cfg.fleet.vips_of(row.host.name)]
    out = []
    for label, addr in targets:
        down = addr in row.situation.down_addresses
        name = f"{row.host.name} " if prefix else ""
        head = Text(f"{name}{label}", style=color(palette, "status-down") if down else "")
        sigs = [by.get((addr, v.id)) for v in cfg.vantages]
        cells = tuple(matrix_cell(sig, palette, compact, before)
                      for sig, before in zip(sigs, _before(sigs, now), strict=True))
        out.append((f"{row.host.name}|{addr}", (head, *cells)))
    return out

