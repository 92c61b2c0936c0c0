"""What the fleet table and the vantage matrix share: a table drawn line by line.

Textual's Line API: one fixed header line of column titles, then one cached strip per
row. A screen line is that strip with the theme's background (or a row style such as the
cursor) applied under the cells' own colours, cropped to the horizontal scroll.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual.scroll_view import ScrollView
from textual.strip import Strip

HEADER = 1  # screen lines above the rows (the column titles), never scrolled vertically


class LineTable(ScrollView):
    """Subclasses draw `_header_strip()` and `_row_strip(row)`, name a row's style in
    `_row_part(row)` and drop their row strips in `_forget_rows()`."""

    PART: ClassVar[str] = "line-table"  # component classes: "<PART>--header", …

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._header: Strip | None = None
        # The widget's base style and each part's, until the styles change: `rich_style`
        # walks every ancestor (~0.2 ms), once per line made a full repaint 10 ms.
        self._styles: dict[str | None, Style] = {}

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    def _header_strip(self) -> Strip:
        raise NotImplementedError

    def _row_strip(self, row: int) -> Strip:
        raise NotImplementedError

    def _row_part(self, row: int) -> str | None:
        """The component class ("cursor", "even", …) styling the row, if any."""
        return None

    def _forget_rows(self) -> None:
        raise NotImplementedError

    def notify_style_update(self) -> None:
        super().notify_style_update()  # the theme changed: every strip has old colours
        self._forget_rows()
        self._header = None
        self._styles.clear()

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
