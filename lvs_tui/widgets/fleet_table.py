"""The fleet table: one row per host, problems on top, healthy hosts grouped by IDC.

A virtualised widget on Textual's Line API: it keeps the rows as data and draws only the
screen lines asked for, from one cached strip per host. A new board repaints only the
visible lines whose content or place changed, a cursor move two lines, a filter is list
bookkeeping plus one repaint of what is visible (no widget per row, no render cache that
a single update throws away).

The cursor is pinned to the host, not the row index: when rows re-sort under it, it follows
its host, so a key press never acts on a row the operator did not choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message

from lvs_tui.widgets.cells import Cell
from lvs_tui.widgets.keys import Where, bindings
from lvs_tui.widgets.line_table import HEADER, LineTable

# (key, label, width): fixed widths keep the table steady (no re-measuring every update).
# In the order they give way to the right edge: a screen narrower than the table shows the
# first ones whole and scrolls to the rest, so one sparkline per bond (in) comes before the
# out ones (160 columns show through bond1 in).
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("idc", "IDC", 8), ("host", "host", 14), ("sit", "situation", 18), ("mode", "mode", 6),
    ("int", "内网", 9), ("ext", "外网", 9), ("vips", "VIPs", 5), ("rtt", "RTT", 8),
    ("loss", "loss", 6), ("cpu", "CPU", 8), ("b0i", "bond0 in", 8), ("b1i", "bond1 in", 8),
    ("b0o", "bond0 out", 9), ("b1o", "bond1 out", 9), ("svc", "services", 10),
)
GUTTER = LineTable.GUTTER
IDC_STYLE = Style(bold=True)


@dataclass(frozen=True, slots=True)
class FleetLine:
    """One host's row, drawn in the evaluation thread; `problem` puts it in the top block."""

    host: str
    idc: str  # display name
    problem: bool
    cells: tuple[Cell, ...]  # every column but "idc"
    search: str  # lower-case haystack for the filter: host, IPs, VIPs, IDC, services


class FleetTable(LineTable, can_focus=True):
    """The fleet, one line per host, with a host-pinned row cursor."""

    PART = "fleet-table"
    COMPONENT_CLASSES: ClassVar[set[str]] = {"fleet-table--header", "fleet-table--cursor"}
    DEFAULT_CSS = """
    FleetTable { background: $surface; color: $foreground; overflow-y: scroll; }
    FleetTable:focus { background-tint: $foreground 5%; }
    FleetTable:focus > .fleet-table--header { background-tint: $foreground 5%; }
    FleetTable > .fleet-table--header { text-style: bold; background: $panel; }
    FleetTable > .fleet-table--cursor { background: $primary 40%; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        *bindings(Where.FLEET),
        # fixed, not remappable: the arrows and paging keys every table has
        Binding("down", "cursor_down", "down", show=False),
        Binding("up", "cursor_up", "up", show=False),
        Binding("pagedown", "page_down", "page down", show=False),
        Binding("pageup", "page_up", "page up", show=False),
        Binding("home", "first", "first row", show=False),
        Binding("end", "last", "last row", show=False),
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
        wanted = {"host": host_width, "idc": idc_width}
        super().__init__(tuple(label for _, label, _ in COLUMNS),
                         tuple(wanted.get(key, width) for key, _, width in COLUMNS), **kw)
        self._lines: list[FleetLine] = []
        self._row_of: dict[str, int] = {}
        self._group_head: list[bool] = []  # the row shows its IDC (first of its group)
        self.cursor_row = 0
        self.selected: str | None = None
        # Until the operator moves the cursor it rides the top row (the worst host); once
        # they do, it is pinned to the host they chose.
        self.follow_top = True
        self._posted: str | None = None  # the host last announced by HostHighlighted

    # -- data ---------------------------------------------------------------------------
    @property
    def table_width(self) -> int:
        return sum(w + GUTTER for w in self._widths)

    @property
    def full_width(self) -> int:
        """The box width that shows every column whole (the rows and the scrollbar)."""
        return self.table_width + self.styles.scrollbar_size_vertical

    def show(self, lines: Sequence[FleetLine]) -> None:
        """Make the table show exactly `lines`, in order; repaint only what changed."""
        old_lines, old_heads = self._lines, self._group_head
        self._lines = list(lines)
        self._row_of = {ln.host: i for i, ln in enumerate(self._lines)}
        self._group_head = _group_heads(self._lines)
        # What is drawn: the IDC name on the first row of its group, then the line's cells.
        self._set_rows([(ln.host, ((Segment(ln.idc, IDC_STYLE),) if head else (), *ln.cells))
                        for ln, head in zip(self._lines, self._group_head, strict=True)])
        self._set_virtual_size(Size(self.table_width, len(self._lines) + HEADER))
        self._pin_cursor()  # repaints the cursor's old and new line if it moved
        top = int(self.scroll_y)
        for row in range(top, min(len(self._lines), top + self._page() + 1)):
            if (row >= len(old_lines) or _differs(old_lines[row], self._lines[row])
                    or old_heads[row] != self._group_head[row]):
                self.refresh_line(row + HEADER)
        if len(self._lines) < len(old_lines):  # rows gone at the bottom: blank them
            self.refresh_lines(len(self._lines) + HEADER, len(old_lines) - len(self._lines))

    def hosts(self) -> tuple[str, ...]:
        """The hosts shown, top to bottom."""
        return tuple(ln.host for ln in self._lines)

    def host_under_cursor(self) -> str | None:
        """The host on the highlighted row."""
        if 0 <= self.cursor_row < len(self._lines):
            return self._lines[self.cursor_row].host
        return None

    def select(self, host: str) -> bool:
        if host not in self._row_of:
            return False
        self.selected = host
        self.follow_top = False
        self._pin_cursor()
        return True

    def release(self) -> None:
        """Back to riding the top row."""
        self.follow_top = True
        self._pin_cursor()

    # -- cursor -------------------------------------------------------------------------
    def _pin_cursor(self) -> None:
        if not self._lines:
            self.selected = None
            self._move_to(0)
            return
        if self.follow_top or self.selected not in self._row_of:
            self.selected = self._lines[0].host
        self._move_to(self._row_of[self.selected])

    def _move_to(self, row: int) -> None:
        """Put the cursor on `row`, repaint the two lines, keep it in view, announce it."""
        row = max(0, min(row, len(self._lines) - 1)) if self._lines else 0
        if row != self.cursor_row:
            self.refresh_line(self.cursor_row + HEADER)
            self.cursor_row = row
            self.refresh_line(row + HEADER)
        self.selected = self.host_under_cursor()
        self._scroll_to_cursor()
        if self.selected != self._posted:
            self._posted = self.selected
            self.post_message(self.HostHighlighted(self.selected))

    def _page(self) -> int:
        """Rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - HEADER)

    def _scroll_to_cursor(self) -> None:
        top, page = int(self.scroll_y), self._page()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False)

    def _operator_moves(self, row: int) -> None:
        self.follow_top = False
        self._move_to(row)

    def action_cursor_down(self) -> None:
        self._operator_moves(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self._operator_moves(self.cursor_row - 1)

    def action_page_down(self) -> None:
        self._operator_moves(self.cursor_row + self._page())

    def action_page_up(self) -> None:
        self._operator_moves(self.cursor_row - self._page())

    def action_first(self) -> None:
        self._operator_moves(0)

    def action_last(self) -> None:
        self._operator_moves(len(self._lines) - 1)

    def action_select_cursor(self) -> None:
        host = self.host_under_cursor()
        if host is not None:
            self.post_message(self.HostChosen(host))

    def on_click(self, event: events.Click) -> None:
        """A click selects the row; a click on the selected row (or a double click) opens."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER:
            return
        row = int(self.scroll_y) + offset.y - HEADER
        if not 0 <= row < len(self._lines):
            return
        event.stop()
        if row == self.cursor_row or event.chain > 1:
            self._operator_moves(row)
            self.action_select_cursor()
        else:
            self._operator_moves(row)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    # -- drawing ------------------------------------------------------------------------
    def _row_part(self, row: int) -> str | None:
        return "cursor" if row == self.cursor_row else None


def _differs(old: FleetLine, new: FleetLine) -> bool:
    return old is not new and (old.host != new.host or old.cells != new.cells)


def _group_heads(lines: Sequence[FleetLine]) -> list[bool]:
    """IDC name on a problem row and on the first healthy row of each IDC group."""
    heads = []
    previous: str | None = None
    for ln in lines:
        heads.append(ln.problem or ln.idc != previous)
        previous = None if ln.problem else ln.idc
    return heads
