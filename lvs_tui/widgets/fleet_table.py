"""The fleet table: one row per host, problems on top, healthy hosts grouped by IDC.

Rows are keyed by host name and updated cell by cell (never cleared), and the cursor is
pinned to the host, not the row index: when rows re-sort under it, it follows its host, so
a key press never acts on a row the operator did not choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

# (key, label, width): fixed widths keep the table steady (no re-measuring every update).
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("idc", "IDC", 8), ("host", "host", 14), ("sit", "situation", 18), ("mode", "mode", 6),
    ("int", "内网", 9), ("ext", "外网", 9), ("vips", "VIPs", 5), ("rtt", "RTT", 8),
    ("loss", "loss", 6), ("cpu", "CPU", 8), ("b0i", "bond0 in", 8), ("b0o", "bond0 out", 9),
    ("b1i", "bond1 in", 8), ("b1o", "bond1 out", 9), ("svc", "services", 10),
)


REBUILD_AT = 40  # rows added + removed beyond which the table is rebuilt in one go


@dataclass(frozen=True, slots=True)
class FleetLine:
    """One host's row, drawn in the evaluation thread; `problem` puts it in the top block."""

    host: str
    idc: str  # display name
    problem: bool
    cells: tuple[Text, ...]  # every column but "idc"
    search: str  # lower-case haystack for the filter: host, IPs, VIPs, IDC, services


class FleetTable(DataTable):
    """DataTable with host-pinned cursor and in-place updates."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "down", show=False, id="down"),
        Binding("k", "cursor_up", "up", show=False, id="up"),
        Binding("enter", "select_cursor", "open", show=False, id="open_host"),
    ]

    class HostHighlighted(Message):
        def __init__(self, host: str | None) -> None:
            self.host = host
            super().__init__()

    class HostChosen(Message):
        def __init__(self, host: str) -> None:
            self.host = host
            super().__init__()

    def __init__(self, host_width: int = 14, idc_width: int = 8, **kw: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)  # type: ignore[arg-type]
        self._widths = {"host": host_width, "idc": idc_width}
        self.selected: str | None = None
        # Until the operator moves the cursor it rides the top row (the worst host); once
        # they do, it is pinned to the host they chose.
        self.follow_top = True
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=self._widths.get(key, width))

    def show(self, lines: Sequence[FleetLine]) -> None:
        """Make the table show exactly `lines`, in order, touching only what changed."""
        wanted = {ln.host: ln for ln in lines}
        gone = [h for h in self._cells if h not in wanted]
        if len(gone) + len(wanted.keys() - self._cells.keys()) > REBUILD_AT:
            self._rebuild(lines)  # a filter changed: one bulk rebuild beats many O(n) edits
            return
        for host in gone:
            self.remove_row(host)
            del self._cells[host]
        previous_idc = None
        for ln in lines:
            idc = Text(ln.idc, style="bold") if ln.problem or ln.idc != previous_idc else Text("")
            previous_idc = None if ln.problem else ln.idc
            cells = (idc, *ln.cells)
            old = self._cells.get(ln.host)
            if old is None:
                self.add_row(*cells, key=ln.host)
            elif old != cells:
                for (col, _, _), new, was in zip(COLUMNS, cells, old, strict=True):
                    if new != was:
                        self.update_cell(ln.host, col, new)
            self._cells[ln.host] = cells
        order = [ln.host for ln in lines]
        if order != self._order:
            rank = {h: i for i, h in enumerate(order)}
            self.sort("host", key=lambda cell: rank.get(cell.plain, 0))
            self._order = order
        self._pin_cursor()

    def _rebuild(self, lines: Sequence[FleetLine]) -> None:
        self.clear()
        self._cells.clear()
        rows = []
        previous_idc = None
        for ln in lines:
            idc = Text(ln.idc, style="bold") if ln.problem or ln.idc != previous_idc else Text("")
            previous_idc = None if ln.problem else ln.idc
            cells = (idc, *ln.cells)
            self._cells[ln.host] = cells
            rows.append((cells, ln.host))
        for cells, host in rows:
            self.add_row(*cells, key=host)
        self._order = [ln.host for ln in lines]
        self._pin_cursor()

    def _pin_cursor(self) -> None:
        if not self._order:
            self.selected = None
            return
        if self.follow_top or self.selected not in self._cells:
            self.selected = self._order[0]
        index = self.get_row_index(self.selected)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)

    def select(self, host: str) -> bool:
        if host not in self._cells:
            return False
        self.selected = host
        self.follow_top = False
        self._pin_cursor()
        return True

    def release(self) -> None:
        """Back to riding the top row."""
        self.follow_top = True
        self._pin_cursor()

    def _moved_by_operator(self) -> None:
        self.follow_top = False

    def action_cursor_down(self) -> None:
        self._moved_by_operator()
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._moved_by_operator()
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self._moved_by_operator()
        super().action_page_down()

    def action_page_up(self) -> None:
        self._moved_by_operator()
        super().action_page_up()

    def action_scroll_bottom(self) -> None:
        self._moved_by_operator()
        super().action_scroll_bottom()

    def on_click(self) -> None:
        self._moved_by_operator()

    def hosts(self) -> tuple[str, ...]:
        """The hosts shown, top to bottom."""
        return tuple(self._order)

    def host_under_cursor(self) -> str | None:
        """The host on the highlighted row, read from the table itself at action time."""
        if not self._order or self.cursor_row < 0:
            return None
        try:
            return str(self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value)
        except Exception:  # the cursor is outside the rows (empty after a filter)
            return None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        host = str(event.row_key.value) if event.row_key is not None else None
        if host in self._cells:
            self.selected = host
        self.post_message(self.HostHighlighted(self.selected))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value in self._cells:
            self.selected = str(event.row_key.value)
            self.post_message(self.HostChosen(self.selected))
