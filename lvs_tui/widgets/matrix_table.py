"""Addresses of the selected host(s) × vantages, drawn on Textual's Line API.

Same content as `vantage_matrix.matrix_rows` (one row per address, one column per vantage),
but a change repaints only the lines that changed: the DataTable it replaces re-rendered
every cell on any update, ~30 ms per cursor move in the fleet at 160×50.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message

from lvs_tui.board import HostRow
from lvs_tui.config import Config
from lvs_tui.signals import VantageHealth
from lvs_tui.widgets.cells import Palette, text_cell
from lvs_tui.widgets.line_table import HEADER, LineTable
from lvs_tui.widgets.vantage_matrix import ADDRESS_WIDTH, MatrixFit, matrix_fit, matrix_rows

Shown = tuple[Config, Sequence[HostRow], tuple[VantageHealth, ...], Palette, float, str | None]


class MatrixTable(LineTable, can_focus=True):
    """Rows keyed "host|address"; with `cursor`, a row cursor that announces its row."""

    PART = "matrix-table"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "matrix-table--header", "matrix-table--cursor", "matrix-table--even"}
    DEFAULT_CSS = """
    MatrixTable { background: $surface; color: $foreground; }
    MatrixTable:focus { background-tint: $foreground 5%; }
    MatrixTable > .matrix-table--header { text-style: bold; background: $panel; }
    MatrixTable > .matrix-table--cursor { background: $primary 40%; text-style: bold; }
    MatrixTable:dark > .matrix-table--even { background: $surface-darken-1 40%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "cursor(1)", "down", show=False),
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("home", "cursor_to(0)", "first", show=False),
        Binding("end", "cursor_to(-1)", "last", show=False),
    ]

    class AddressHighlighted(Message):
        def __init__(self, key: str) -> None:
            self.key = key  # "host|address"
            super().__init__()

    def __init__(self, cursor: bool = False, **kw: object) -> None:
        super().__init__(("address",), (ADDRESS_WIDTH,), **kw)
        self.cursor = cursor
        self.cursor_row = 0
        self._posted: str | None = None
        self._fit: MatrixFit | None = None
        self._shown: Shown | None = None  # shown again with new widths on a resize

    def row_keys(self) -> tuple[str, ...]:
        """The rows shown, top to bottom ("host|address")."""
        return tuple(key for key, _ in self._rows)

    def show(self, cfg: Config, hosts: Sequence[HostRow], health: tuple[VantageHealth, ...],
             palette: Palette, now: float, start: str | None = None) -> None:
        """The addresses of one host, or of a few (a filter narrowed the fleet to them), as
        the board of moment `now` has them. New rows put the cursor on row `start` (a key
        "host|address"), else on the first."""
        self._shown = (cfg, hosts, health, palette, now, start)
        sick = {h.vantage for h in health if not h.healthy}
        titles = ("address", *(v.name + (" ?" if v.id in sick else "") for v in cfg.vantages))
        fit = self._fitted(titles)
        if titles != self._titles or fit != self._fit:
            self._titles, self._fit, self._header = titles, fit, None
            self._widths = (fit.address, *(fit.vantage for _ in titles[1:]))
            self._strips.clear()
            self.refresh()
        many = len(hosts) > 1
        rows = [(key, tuple(text_cell(t) for t in cells))
                for h in hosts
                for key, cells in matrix_rows(cfg, h, palette, now, many, fit.compact)]
        names = ",".join(h.host.name for h in hosts)
        title = f"{names if not many else f'{len(hosts)} hosts'} × vantages"
        if title != self.border_title:  # setting it repaints the whole widget, same or not
            self.border_title = title
        old = self._rows
        self._set_rows(rows)
        self._set_virtual_size(Size(sum(self._widths) + self.GUTTER * len(self._widths),
                                    len(rows) + HEADER))
        for i, (key, cells) in enumerate(rows):
            if i >= len(old) or old[i][0] != key or old[i][1] != cells:
                self.refresh_line(i + HEADER)
        if len(rows) < len(old):
            self.refresh_lines(len(rows) + HEADER, len(old) - len(rows))
        keys = [k for k, _ in rows]
        if [k for k, _ in old] != keys:
            self._move(keys.index(start) if start in keys else 0)
        else:
            self._announce()

    def _fitted(self, titles: tuple[str, ...]) -> MatrixFit:
        return matrix_fit(self.scrollable_content_region.width, titles[1:], self.GUTTER)

    def on_resize(self) -> None:
        if self._shown is not None and self._fitted(self._titles) != self._fit:
            self.show(*self._shown)

    # -- cursor -------------------------------------------------------------------------
    def action_cursor(self, step: int) -> None:
        self._move(self.cursor_row + step)

    def action_cursor_to(self, row: int) -> None:
        self._move(row if row >= 0 else len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if self.cursor and offset is not None and offset.y >= HEADER:
            self._move(int(self.scroll_y) + offset.y - HEADER)

    def _move(self, row: int) -> None:
        row = max(0, min(row, len(self._rows) - 1))
        if row != self.cursor_row:
            self.refresh_line(self.cursor_row + HEADER)
            self.cursor_row = row
            self.refresh_line(row + HEADER)
        page = max(1, self.scrollable_content_region.height - HEADER)
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + page:
            self.scroll_to(y=row - page + 1, animate=False)
        self._announce()

    def _announce(self) -> None:
        key = self._rows[self.cursor_row][0] if self.cursor and self._rows else None
        if key is not None and key != self._posted:
            self._posted = key
            self.post_message(self.AddressHighlighted(key))

    # -- drawing ------------------------------------------------------------------------
    def _row_part(self, row: int) -> str | None:
        if self.cursor and row == self.cursor_row:
            return "cursor"
        return "even" if row % 2 == 0 else None
