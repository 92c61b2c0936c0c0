"""Textual's Footer, recomposed only when the keys it shows change.

The stock Footer rebuilds and restyles every key whenever the screen's bindings are
updated, which happens on every screen switch and focus change: 50-80 ms at 160×50, paid
on each `enter` and `escape` between the fleet and the host view for the same keys.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

ShownKeys = tuple[tuple[str, str, str, str, bool, str], ...]


def shown_keys(screen: Screen[object]) -> ShownKeys:
    """What the footer would draw: key, its display, description, action, enabled, tip."""
    app = screen.app
    return tuple((b.key, app.get_key_display(b), b.description, b.action, enabled, tip)
                 for _, b, enabled, tip in screen.active_bindings.values() if b.show)


class KeyFooter(Footer):
    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._keys: ShownKeys | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        will_recompose = (screen.app.app_focus and self.is_attached
                          and screen is self.screen)
        if not will_recompose:
            super().bindings_changed(screen)
            return
        keys = shown_keys(screen)
        if self._bindings_ready and keys == self._keys:
            return
        self._keys = keys
        super().bindings_changed(screen)
