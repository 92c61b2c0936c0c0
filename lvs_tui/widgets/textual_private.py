"""Every use of Textual's private API, in one module: a Textual upgrade is a one-file job.

Checked against Textual 8.2.8 (pinned in pyproject.toml). Each shortcut saves a layout pass
or a frame on a key (docs/architecture.md, "Keys that cost no layout" and "`enter` is
prepared before it is pressed"). `PRIVATE` lists, for each private name, why we use it and
the test that fails when a new Textual moves it or changes what it means;
`tests/test_ui_textual_private.py` checks that each name still exists. On an upgrade: run
those tests; for one that fails, fix the function here or drop the shortcut (the cost is a
frame or a layout pass more, never a wrong screen).

Public names whose use also leans on how Textual 8.2 works inside, kept where they are:
`DutyScreen.focused` redefined without repaint and `DutyScreen.on_screen_resume` running
before `Screen`'s own handler (tests/test_ui_frames.py), `HostScreen.on_screen_resume`
clearing `ScreenResume.refresh_styles` before `Screen` reads it (tests/test_ui_host.py,
test_reopening_restyles_only_when_the_styles_can_have_changed). The frame-counting tests
and benchmarks/ui_load.py wrap `Screen._compositor_refresh` (and read `_dirty_widgets`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.dom import DOMNode
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget

TESTED_WITH = "8.2.8"


@dataclass(frozen=True, slots=True)
class Private:
    owner: type  # the Textual class that defines it (on an instance for attributes)
    name: str
    why: str
    pinned_by: str  # tests/<file>.py::<test>


PRIVATE: tuple[Private, ...] = (
    Private(Widget, "_repaint_required",
            "the flag a widget's pending repaint waits on: dropped when the whole screen is "
            "about to be painted anyway (drop_repaints), and put back on scrollbars a focus "
            "restyle asked to repaint for nothing (repaint_requests)",
            "tests/test_ui_frames.py::test_filter_key_and_escape_are_one_frame_each"),
    Private(Widget, "_get_virtual_dom",
            "a widget's scrollbars, which Textual keeps out of the DOM: they repaint too",
            "tests/test_ui_frames.py::test_a_cleared_filter_still_repaints_the_scrollbars"),
    Private(Widget, "_size_updated",
            "set a new size without asking for the second layout pass Textual asks for "
            "when a pass resized a widget (OnePass)",
            "tests/test_ui_host.py::"
            "test_sections_follow_a_new_hosts_text_height_in_one_layout_pass"),
    Private(Widget, "_layout_required",
            "a widget's pending layout request, done now while the view is hidden "
            "(settle_layout)",
            "tests/test_ui_host.py::"
            "test_enter_is_one_full_paint_even_when_the_texts_change_height"),
    Private(Widget, "_clear_arrangement_cache",
            "what Widget._check_refresh does before a layout: settle_layout does the same",
            "tests/test_ui_host.py::"
            "test_enter_is_one_full_paint_even_when_the_texts_change_height"),
    Private(Widget, "_layout_updates",
            "the counter that invalidates an ancestor's cached arrangement (settle_layout)",
            "tests/test_ui_host.py::"
            "test_enter_is_one_full_paint_even_when_the_texts_change_height"),
    Private(Screen, "_refresh_layout",
            "the screen's layout pass, run while the view is hidden (settle_layout)",
            "tests/test_ui_host.py::"
            "test_enter_is_one_full_paint_even_when_the_texts_change_height"),
    Private(App, "_css_update_count",
            "counts stylesheet invalidations (themes): a resumed screen whose styles cannot "
            "have changed skips Textual's full restyle (css_update_count)",
            "tests/test_ui_host.py::"
            "test_reopening_restyles_only_when_the_styles_can_have_changed"),
    Private(ScrollView, "_scroll_update",
            "the scrollbars' visibility and window after a row count set without a layout "
            "(update_scrollbars)",
            "tests/test_ui_fleet_table.py::"
            "test_fewer_rows_shrink_the_scroll_range_and_the_scrollbar_without_a_layout"),
)


# -- repaints ------------------------------------------------------------------------------
def all_widgets(root: DOMNode) -> list[Widget]:
    """Every widget under `root` (itself included), with the scrollbars Textual keeps out
    of the DOM."""
    return [w for node in root.walk_children(Widget, with_self=True)
            for w in (node, *node._get_virtual_dom())]


def drop_repaints(widgets: Sequence[Widget]) -> None:
    """Forget the widgets' pending repaint requests (read when a widget goes idle). Only
    for a moment the whole screen is about to be painted: their content was already
    marked for re-rendering when they changed."""
    for widget in widgets:
        widget._repaint_required = False


def scrollbars(widget: Widget) -> list[Widget]:
    """The widget's scrollbars (and scroll corner), out of the DOM."""
    return list(widget._get_virtual_dom())


def repaint_requests(widgets: Sequence[Widget]) -> list[bool]:
    return [w._repaint_required for w in widgets]


def set_repaint_requests(widgets: Sequence[Widget], asked: Sequence[bool]) -> None:
    for widget, was in zip(widgets, asked, strict=True):
        widget._repaint_required = was


# -- layout --------------------------------------------------------------------------------
def settle_layout(screen: Screen[Any], widgets: Callable[[], list[Widget]],
                  passes: int) -> None:
    """Do now what Textual 8.2 does when a widget that asked for a layout goes idle
    (`Widget._check_refresh`: clear the arrangement caches up to the first ancestor of
    fixed size; then the screen's layout pass), and drop those requests. Up to `passes`
    times: a pass can ask for another (a table's scrollbars)."""
    for _ in range(passes):
        asked = [w for w in widgets() if w._layout_required]
        if not asked:
            break
        for widget in asked:
            widget._layout_required = False
            for ancestor in widget.ancestors:
                if not isinstance(ancestor, Widget):
                    break
                ancestor._clear_arrangement_cache()
                ancestor._layout_updates += 1
                if not ancestor.styles.auto_dimensions:
                    break
        screen._refresh_layout(screen.app.size)


if TYPE_CHECKING:  # a mixin for widgets: typed as one, a plain class at run time
    _WidgetMixin = Widget
else:
    _WidgetMixin = object


class OnePass(_WidgetMixin):
    """Mixin for widgets whose heights follow their text. Textual asks for a second
    layout pass (and two more frames, ~40 ms of latency on `enter`) whenever a layout pass
    changed a widget's size, though that pass has placed everything already; Textual's own
    scroll reflow sets sizes this way (Textual 8.2)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


def update_scrollbars(view: ScrollView, size: Size) -> None:
    """The scrollbars' visibility and window for a virtual size set without a layout. A
    scrollbar that comes or goes sets a reactive that asks for the layout itself."""
    view._scroll_update(size)


# -- styles --------------------------------------------------------------------------------
def css_update_count(app: App[Any]) -> int | None:
    """How many times the app's stylesheet was invalidated (a theme change); None when
    this Textual does not count them (then never skip a restyle)."""
    count = getattr(app, "_css_update_count", None)
    return count if isinstance(count, int) else None


__all__ = ["PRIVATE", "TESTED_WITH", "OnePass", "Private", "all_widgets", "css_update_count",
           "drop_repaints", "repaint_requests", "scrollbars", "set_repaint_requests",
           "settle_layout", "update_scrollbars"]
