"""Addresses of the selected host × vantages: "unreachable only from 联通" at a glance.

The rows and cells; `matrix_table.MatrixTable` draws them."""

from __future__ import annotations

from rich.text import Text

from lvs_tui.board import HostRow
from lvs_tui.config import Config
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.widgets.cells import REACH_VAR, Palette, age_text, color


def matrix_cell(sig: AddressSignal | None, palette: Palette) -> Text:
    if sig is None:
        return Text("·", style=color(palette, "spark-gap"))  # this vantage does not probe it
    text = Text(f"{sig.reach.glyph} ", style=color(palette, REACH_VAR[sig.reach]))
    if sig.reach is Reach.UNKNOWN:
        text.append("unknown" if sig.age is None else f"stale {age_text(sig.age)}",
                    style=color(palette, "status-stale"))
    elif sig.reach is Reach.DOWN:
        text.append("down", style=color(palette, "status-down") + " bold")
    else:
        rtt = "-" if sig.rtt_ms is None else f"{sig.rtt_ms:.1f}ms"
        text.append(rtt)
        if sig.loss_pct:
            text.append(f" {sig.loss_pct:.0f}%", style=color(palette, "status-loss"))
    return text


def matrix_rows(cfg: Config, row: HostRow, palette: Palette, prefix: bool = False
                ) -> list[tuple[str, tuple[Text, ...]]]:
    """(row key "host|address", cells): one row per address, one column per vantage."""
    by = {(s.address, s.vantage): s for s in row.signals.addresses}
    targets = [(side.zh, addr) for side, addr in row.host.addresses]
    targets += [(f"VIP {v.service}".strip(), v.address) for v in cfg.fleet.vips_of(row.host.name)]
    out = []
    for label, addr in targets:
        down = addr in row.situation.down_addresses
        name = f"{row.host.name} " if prefix else ""
        head = Text(f"{name}{label} {addr}",
                    style=color(palette, "status-down") if down else "")
        cells = tuple(matrix_cell(by.get((addr, v.id)), palette) for v in cfg.vantages)
        out.append((f"{row.host.name}|{addr}", (head, *cells)))
    return out

