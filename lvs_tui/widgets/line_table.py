"""What the fleet table and the vantage matrix share: a table drawn line by line.

Textual's Line API: one fixed header line of column titles, then one cached strip per
row. A screen line is that strip with the theme's background (or a row style such as the
cursor) applied under the cells' own colours, cropped to the horizontal scroll.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lvs_tui.widgets.cells import Cell, row_strip
from lvs_tui.widgets.textual_private import (
    repaint_requests,
    scrollbars,
    set_repaint_requests,
    update_scrollbars,
)

HEADER = 1  # screen lines above the rows (the column titles), never scrolled vertically


class LineTable(ScrollView):
    """A table of `rows`, each a key and its cells, drawn under a header of `titles` in
    columns of `widths`. A row's strip is kept per key until its cells change; subclasses
    name a row's style in `_row_part(row)` (cursor, even, …)."""

    PART: ClassVar[str] = "line-table"  # component classes: "<PART>--header", …
    GUTTER: ClassVar[int] = 1  # blank cells before each column

    def __init__(self, titles: tuple[str, ...] = (), widths: tuple[int, ...] = (),
                 **kw: Any) -> None:
        super().__init__(**kw)
        self._titles = titles
        self._widths = widths
        self._rows: list[tuple[str, tuple[Cell, ...]]] = []
        self._strips: dict[str, tuple[tuple[Cell, ...], Strip]] = {}  # rows shown only
        self._header: Strip | None = None
        # The widget's base style and each part's, until the styles change: `rich_style`
        # walks every ancestor (~0.2 ms), once per line made a full repaint 10 ms.
        self._styles: dict[str | None, Style] = {}

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def _set_rows(self, rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        """The rows to draw. Strips of rows no longer shown go: each keeps Textual's caches
        of its styled and cropped copies, and the main matrix shows another host's rows at
        every cursor move."""
        self._rows = rows
        keys = {key for key, _ in rows}
        self._strips = {k: v for k, v in self._strips.items() if k in keys}

    def _set_virtual_size(self, size: Size) -> None:
        """A new row count changes what there is to scroll. Where it cannot change this
        widget's own box (its height is not `auto`) and no scrollbar comes or goes, it is
        set without the layout pass assigning `virtual_size` asks for (a frame of its own,
        20–40 ms later): only the scrollbars and the clamp of the scroll position follow."""
        if size == self.virtual_size:
            return
        height = self.styles.height
        if height is None or height.is_auto:  # the box follows the rows: a layout it is
            self.virtual_size = size
            return
        self.set_reactive(LineTable.virtual_size, size)
        update_scrollbars(self, size)  # one that comes or goes asks for the layout itself
        if self.scroll_y > self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False)
        self.refresh()

    def _header_strip(self) -> Strip:
        return row_strip([(Segment(t),) for t in self._titles], self._widths, self.GUTTER)

    def _row_strip(self, row: int) -> Strip:
        """The row drawn whole (all columns), reused until its cells change."""
        key, cells = self._rows[row]
        cached = self._strips.get(key)
        if cached is None or cached[0] != cells:
            cached = self._strips[key] = (cells, row_strip(cells, self._widths, self.GUTTER))
        return cached[1]

    def _row_part(self, row: int) -> str | None:
        """The component class ("cursor", "even", …) styling the row, if any."""
        return None

    def notify_style_update(self) -> None:
        """A restyle: a theme change, or only a focus move. The strips go too: each keeps
        Textual's caches of its styled and cropped copies, and kept across restyles for
        every row ever drawn they grew the console by ~0.5 MB a minute (one-hour run)."""
        super().notify_style_update()
        self._strips.clear()
        self._header = None
        self._styles.clear()

    def watch_has_focus(self, has_focus: bool) -> None:
        """Textual restyles a widget whose focus moves, and a restyle repaints its
        scrollbars whatever changed, in a frame of their own ~40 ms after the widget's
        (`/` and `escape`). Their colours do not follow focus: their repaint requests go
        back to what they were before the restyle (a row count changed with the same key
        still repaints them)."""
        bars = scrollbars(self)
        asked = repaint_requests(bars)
        look = self._scrollbar_look()
        super().watch_has_focus(has_focus)
        if self._scrollbar_look() == look:
            set_repaint_requests(bars, asked)

    def _scrollbar_look(self) -> tuple[object, ...]:
        """What the scrollbars' colours come from (`ScrollBar.render`): this widget's
        scrollbar styles, and its background only under a translucent scrollbar (the
        background moves with focus: `background-tint`)."""
        s = self.styles
        backs = (s.scrollbar_background, s.scrollbar_background_hover,
                 s.scrollbar_background_active)
        under = self.background_colors if any(c.a < 1 for c in backs) else None
        return (s.scrollbar_color, s.scrollbar_color_hover, s.scrollbar_color_active,
                *backs, s.scrollbar_corner_color, under)

    def _style(self, part: str | None) -> Style:
        style = self._styles.get(part)
        if style is None:
            style = self.rich_style
            if part:
                style += self.get_component_rich_style(f"{self.PART}--{part}")
            self._styles[part] = style
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._style(None)
        part: str | None
        if y < HEADER:
            if self._header is None:
                self._header = self._header_strip()
            strip, part = self._header, "header"
        else:
            row = scroll_y + y - HEADER
            if row >= self.row_count:
                return Strip.blank(width, base)
            strip, part = self._row_strip(row), self._row_part(row)
        return strip.apply_style(self._style(part)).crop_extend(scroll_x, scroll_x + width, base)
