"""The key footer: the screen's shown bindings on one line, drawn as one widget.

Textual's Footer is a container with a widget per key: every change of the shown keys (a
screen switch, the filter box taking focus) removes and mounts those widgets, a layout pass
and a full repaint, 50-80 ms at 160×50 and the largest part of `/` and `escape`. This one
draws the same line from the screen's `active_bindings` and only repaints when it changes;
a click on a key presses it, as on Textual's footer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

# key, its display, description, enabled, tooltip
ShownKey = tuple[str, str, str, bool, str]


def shown_keys(screen: Screen[object]) -> tuple[ShownKey, ...]:
    """What the footer draws, in the screen's binding order."""
    app = screen.app
    return tuple((b.key, app.get_key_display(b), b.description, enabled, tip)
                 for _, b, enabled, tip in screen.active_bindings.values() if b.show)


class KeyFooter(Widget):
    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom; height: 1;
        color: $footer-foreground; background: $footer-background;
        & > .key-footer--key {
            color: $footer-key-foreground; background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._keys: tuple[ShownKey, ...] = ()
        self._spans: list[tuple[int, int, ShownKey]] = []  # x from, x to, key

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys = shown_keys(screen)
        if keys != self._keys:
            self._keys = keys
            self.refresh()  # one line, same height: a repaint, never a layout

    @property
    def keys(self) -> tuple[ShownKey, ...]:
        """The keys shown now (tests read them)."""
        return self._keys

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        desc_style = self.get_component_rich_style("key-footer--description")
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for key in self._keys:
            self._append(text, key, key_style, desc_style)
        return text

    def _append(self, text: Text, key: ShownKey, key_style: Style,
                desc_style: Style) -> None:
        _, display, description, enabled, _ = key
        start = text.cell_len
        text.append(f" {display} ", style=key_style)
        if description:
            text.append(f"{description} ", style=desc_style)
        if not enabled:
            text.stylize("dim", start)
        self._spans.append((start, text.cell_len, key))

    def on_click(self, event: events.Click) -> None:
        for start, end, (key, _, _, enabled, _) in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
