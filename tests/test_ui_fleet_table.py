"""The fleet table widget on its own: a small app holding only the table, fed lines.

Cursor pinned to its host through re-sorts, filtering, clicks, vertical and horizontal
scrolling (80 columns), CJK titles aligned, and repaint of only the lines that changed.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.strip import Strip

from lvs_tui.widgets.fleet_table import COLUMNS, GUTTER, FleetLine, FleetTable


def line(host: str, idc: str = "机房A", problem: bool = False, rtt: str = "1.0ms") -> FleetLine:
    cells = tuple((Segment(text),) for text in
                  (host, "ok", "HA", "up", "up", "2/2", rtt, "0%", "5%", "▁▂", "▁▂", "▁▂",
                   "▁▂", "LVS"))
    return FleetLine(host, idc, problem, cells, host)


def fleet(n: int = 60) -> list[FleetLine]:
    return [line(f"h{i:02d}", idc="机房A" if i < n // 2 else "机房B") for i in range(n)]


class Counting(FleetTable):
    """Counts which content lines are drawn, to see what a change repaints."""

    def __init__(self) -> None:
        super().__init__(id="fleet")
        self.drawn: list[int] = []

    def render_line(self, y: int) -> Strip:
        self.drawn.append(y)
        return super().render_line(y)


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[str] = []
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield Counting()

    def on_fleet_table_host_chosen(self, event: FleetTable.HostChosen) -> None:
        self.chosen.append(event.host)

    def on_fleet_table_host_highlighted(self, event: FleetTable.HostHighlighted) -> None:
        self.highlighted.append(event.host)


def table(app: App[None]) -> Counting:
    return app.query_one(Counting)


def text_at(t: FleetTable, y: int) -> str:
    return t.render_line(y).text


async def test_rows_header_and_idc_grouping() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 20)) as pilot:
        t = table(app)
        t.focus()
        t.show([line("bad", idc="机房B", problem=True), *fleet(4)])
        await pilot.pause()
        assert t.hosts() == ("bad", "h00", "h01", "h02", "h03")
        header = text_at(t, 0)
        assert all(label in header for _, label, _ in COLUMNS)
        # the problem row names its IDC, then only the first row of each IDC group does
        idc_width = GUTTER + COLUMNS[0][2]
        idcs = [t.render_line(y).crop(0, idc_width).text.strip() for y in range(1, 6)]
        assert idcs == ["机房B", "机房A", "", "机房B", ""]
        assert t.host_under_cursor() == "bad" and app.highlighted[-1] == "bad"


async def test_cjk_titles_and_cells_stay_in_their_columns() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 20)) as pilot:
        t = table(app)
        t.show(fleet(3))
        await pilot.pause()
        header = text_at(t, 0)
        row = text_at(t, 1)
        # every title and every cell starts at the column's offset counted in terminal cells
        x = 0
        for index, (_, label, width) in enumerate(COLUMNS):
            x += GUTTER
            assert cell_len(header[:header.index(label)]) == x, label
            if index == 1:  # host column: the row's own cell
                assert cell_len(row[:row.index("h00")]) == x
            x += width if index != 1 else t._widths[1]


async def test_cursor_stays_on_its_host_when_rows_resort_and_rides_top_until_moved() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 30)) as pilot:
        t = table(app)
        t.focus()
        t.show(fleet(10))
        await pilot.pause()
        assert t.host_under_cursor() == "h00"
        t.show([line("h05", problem=True), *(ln for ln in fleet(10) if ln.host != "h05")])
        await pilot.pause()
        assert t.host_under_cursor() == "h05"  # untouched: rides the top row
        await pilot.press("j", "j")
        assert t.host_under_cursor() == "h01"
        t.show([line("h07", problem=True), *(ln for ln in fleet(10) if ln.host != "h07")])
        await pilot.pause()
        assert t.host_under_cursor() == "h01" and t.cursor_row == 2
        t.release()
        assert t.host_under_cursor() == "h07"
        assert t.select("h09") and t.host_under_cursor() == "h09"
        assert not t.select("nobody")


async def test_filter_hides_rows_and_the_cursor_moves_off_a_hidden_host() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 30)) as pilot:
        t = table(app)
        t.focus()
        lines = fleet(20)
        t.show(lines)
        await pilot.pause()
        assert t.select("h03")
        t.show([ln for ln in lines if ln.host.endswith("5")])
        await pilot.pause()
        assert t.hosts() == ("h05", "h15") and t.row_count == 2
        assert t.host_under_cursor() == "h05"
        assert text_at(t, 3).strip() == ""  # rows gone are blank
        t.show([])
        await pilot.pause()
        assert t.host_under_cursor() is None and t.selected is None
        await pilot.press("enter", "j")
        assert app.chosen == []
        t.show(lines)
        await pilot.pause()
        assert t.row_count == 20 and t.host_under_cursor() == "h00"


async def test_click_selects_and_click_on_the_selected_row_opens() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 30)) as pilot:
        t = table(app)
        t.show(fleet(10))
        await pilot.pause()
        await pilot.click(Counting, offset=(20, 4))  # screen line 4 = row 3
        await pilot.pause()
        assert t.host_under_cursor() == "h03" and not t.follow_top
        assert app.chosen == []
        await pilot.click(Counting, offset=(20, 4))
        await pilot.pause()
        assert app.chosen == ["h03"]
        await pilot.click(Counting, offset=(20, 0))  # the header: nothing happens
        await pilot.pause()
        assert t.host_under_cursor() == "h03" and app.chosen == ["h03"]
        await pilot.double_click(Counting, offset=(20, 7))
        await pilot.pause()
        assert app.chosen[-1] == "h06"


async def test_keys_scroll_the_rows_under_a_fixed_header() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 12)) as pilot:
        t = table(app)
        t.focus()
        t.show(fleet(60))
        await pilot.pause()
        await pilot.press(*["j"] * 15)
        await pilot.pause()
        assert t.host_under_cursor() == "h15"
        assert t.scroll_y > 0
        assert "IDC" in text_at(t, 0)  # the header stays
        shown = [text_at(t, y) for y in range(1, t.scrollable_content_region.height)]
        assert any("h15" in s for s in shown) and not any("h00" in s for s in shown)
        await pilot.press("end")
        assert t.host_under_cursor() == "h59"
        await pilot.press("pageup")
        assert t.host_under_cursor() == f"h{59 - t._page():02d}"
        await pilot.press("home")
        assert t.host_under_cursor() == "h00" and t.scroll_y == 0
        await pilot.press("down", "down", "up")
        assert t.host_under_cursor() == "h01"


async def test_fewer_rows_shrink_the_scroll_range_and_the_scrollbar_without_a_layout() -> None:
    """`show` sets the scrollable size itself (no layout pass): the scrollbar and the scroll
    position must still follow the new row count, both ways."""
    app = TableApp()
    async with app.run_test(size=(200, 12)) as pilot:
        t = table(app)
        t.focus()
        t.show(fleet(60))
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        bar = t.vertical_scrollbar
        assert t.scroll_y == t.max_scroll_y > 0 and bar.window_virtual_size == 61
        t.show(fleet(60)[40:])  # a filter: 20 rows left, the cursor's host among them
        await pilot.pause()
        assert t.virtual_size.height == 21 and bar.window_virtual_size == 21
        assert t.host_under_cursor() == "h59"
        assert t.scroll_y == t.max_scroll_y == 21 - t.scrollable_content_region.height
        shown = [text_at(t, y) for y in range(1, t.scrollable_content_region.height)]
        assert any("h59" in s for s in shown)  # the cursor's row is on screen, not blanks
        t.show(fleet(60))
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert t.host_under_cursor() == "h59" and bar.window_virtual_size == 61
        assert any("h59" in text_at(t, y) for y in range(1, t.scrollable_content_region.height))


async def test_80_columns_scroll_horizontally() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(app)
        t.focus()
        t.show(fleet(5))
        await pilot.pause()
        assert t.table_width > 80
        assert "services" not in text_at(t, 0)
        await pilot.press(*["right"] * 4)
        await pilot.pause()
        assert t.scroll_x == 4 and "IDC" not in text_at(t, 0)
        assert text_at(t, 1).startswith(" A    h00")  # rows move too; a cut CJK cell blanks
        await pilot.press("ctrl+pagedown", "ctrl+pagedown")  # a page right, to the end
        await pilot.pause()
        assert t.scroll_x == t.table_width - t.scrollable_content_region.width
        assert "services" in text_at(t, 0) and "LVS" in text_at(t, 1)


async def test_a_new_board_repaints_only_the_lines_that_changed() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 30)) as pilot:
        t = table(app)
        t.focus()
        lines = fleet(60)
        t.show(lines)
        await pilot.pause()
        t.drawn.clear()
        changed = list(lines)
        changed[4] = line("h04", rtt="9.9ms")
        changed[40] = line("h40", idc="机房B", rtt="9.9ms")  # off screen
        t.show(changed)
        await pilot.pause()
        assert t.drawn == [5]  # screen line 5 = row 4; nothing else is drawn again
        assert "9.9ms" in text_at(t, 5)
        t.drawn.clear()
        await pilot.press("j")
        await pilot.pause()
        assert sorted(t.drawn) == [1, 2]  # a cursor move: two lines


def test_side_pane_width_gives_way_to_the_table() -> None:
    from lvs_tui.widgets.side_pane import SIDE_MIN, SIDE_ROOM, side_width

    full = 151  # a table of every column and its scrollbar (the simulated fleet's)
    assert side_width(80, full) == SIDE_MIN  # 40 % would be 32
    assert side_width(120, full) == side_width(160, full) == SIDE_ROOM
    assert side_width(200, full) == 200 - full  # the table whole, the pane the rest
    assert side_width(300, full) == 120  # never more than 40 %
    widths = [side_width(w, full) for w in range(80, 320)]
    assert widths == sorted(widths)  # a wider screen never narrows the pane


def _visible_columns(t: FleetTable) -> list[str]:
    """The columns shown whole at scroll 0, by key."""
    room, x, whole = t.scrollable_content_region.width, 0, []
    for (key, _, _), width in zip(COLUMNS, t._widths, strict=True):
        x += GUTTER + width
        if x <= room:
            whole.append(key)
    return whole


async def test_fleet_columns_fit_the_width(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """160 columns show the CPU and a sparkline of each bond whole (the side pane gives way);
    200 columns every column; 80 columns keep the narrow side pane and scroll."""
    from tests.test_ui_rig import rig

    seen = {}
    for size in ((80, 24), (160, 48), (200, 50)):
        r = rig(tmp_path / f"{size[0]}")
        async with r.app.run_test(size=size) as pilot:
            await r.app.next_board()
            await pilot.pause()
            t = r.app.screen.table
            side = r.app.screen.query_one("#side")
            seen[size[0]] = (_visible_columns(t), side.region.width)
            full = t.full_width
            if size[0] == 160:
                row = t.render_line(1).text  # the red host: its sparklines drawn whole
                assert row.rstrip().endswith(tuple("·▁▂▃▄▅▆▇█")), row
    cols, side = seen[160]
    assert {"cpu", "b0i", "b1i"} <= set(cols) and "svc" not in cols
    assert side == 40 < int(160 * 0.4)
    cols, side = seen[200]
    assert cols == [key for key, _, _ in COLUMNS] and side == 200 - full
    cols, side = seen[80]
    assert side == 34 and "cpu" not in cols
