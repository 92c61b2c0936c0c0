"""What the console's full screens (fleet, host view) share."""

from __future__ import annotations

from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget


class DutyScreen(Screen[None]):
    # Textual repaints the whole screen when the focus moves (a full composite, ~30 ms at
    # 160×50); the widgets whose look depends on focus repaint themselves anyway.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
