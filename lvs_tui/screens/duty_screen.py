"""What the console's full screens (fleet, host view) share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget

from lvs_tui.widgets.textual_private import all_widgets, drop_repaints

if TYPE_CHECKING:
    from textual import getters

    from lvs_tui.app import LvsApp


class DutyScreen(Screen[None]):
    # Textual repaints the whole screen when the focus moves (a full composite, ~30 ms at
    # 160×50); the widgets whose look depends on focus repaint themselves anyway.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    if TYPE_CHECKING:  # the console's app, typed; at run time Textual's own `app`
        app = getters.app(LvsApp)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Textual dispatches a message along the class hierarchy: this runs after the
        subclass drew the screen for its return, and before Screen's own handler repaints
        the whole screen. Each widget the subclass changed would otherwise ask for a frame
        of its own after that full paint (~20–40 ms later), showing nothing new."""
        self.drop_repaints()

    def drop_repaints(self) -> None:
        """Forget the widgets' pending repaint requests: only for a moment the whole screen
        is about to be painted (textual_private.drop_repaints)."""
        drop_repaints(self.all_widgets())

    def all_widgets(self) -> list[Widget]:
        """Every widget of the screen, with the scrollbars Textual keeps out of the DOM."""
        return all_widgets(self)
