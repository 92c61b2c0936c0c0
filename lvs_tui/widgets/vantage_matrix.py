"""Addresses of the selected host × vantages: "unreachable only from 联通" at a glance."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from lvs_tui.board import HostRow
from lvs_tui.config import Config
from lvs_tui.signals import AddressSignal, Reach, VantageHealth
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


class VantageMatrix(DataTable):
    """Rebuilt when the host changes; cells updated in place otherwise."""

    def __init__(self, **kw: object) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kw)  # type: ignore[arg-type]
        self._host: str | None = None
        self._cells: dict[str, tuple[Text, ...]] = {}

    def show(self, cfg: Config, hosts: Sequence[HostRow], health: tuple[VantageHealth, ...],
             palette: Palette) -> None:
        """The addresses of one host, or of a few (a filter narrowed the fleet to them)."""
        if not self.columns:
            self.add_column("address", key="address", width=26)
            sick = {h.vantage for h in health if not h.healthy}
            for v in cfg.vantages:
                self.add_column(v.name + (" ?" if v.id in sick else ""), key=v.id, width=12)
        if not hosts:
            self.clear()
            self._cells.clear()
            self._host = None
            return
        many = len(hosts) > 1
        rows = [r for h in hosts for r in matrix_rows(cfg, h, palette, prefix=many)]
        names = ",".join(h.host.name for h in hosts)
        if names != self._host or set(self._cells) != {k for k, _ in rows}:
            self.clear()
            self._cells.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
                self._cells[key] = cells
            self._host = names
            self.border_title = f"{names if not many else f'{len(hosts)} hosts'} × vantages"
            return
        keys = ["address", *(v.id for v in cfg.vantages)]
        for key, cells in rows:
            old = self._cells[key]
            for col, new, was in zip(keys, cells, old, strict=True):
                if new != was:
                    self.update_cell(key, col, new)
            self._cells[key] = cells
