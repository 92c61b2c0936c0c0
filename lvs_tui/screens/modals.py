"""Small modal screens: help, go to an IP, a text for manual selection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "close", id="close_help"),
    ]

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows  # (keys as shown, binding id, what it does): keys.help_rows

    def compose(self) -> ComposeResult:
        lines = ["[b]Keys[/b]  (remap any by its id in the config's \\[keys] table)", ""]
        lines += [f"  [b]{escape(k):<10}[/b] {escape(what)}  [dim]({i})[/dim]"
                  for k, i, what in self.rows]
        lines += ["", "  mouse: click a row to select, double-click to open",
                  "  esc / q / ? closes this help"]
        with Vertical(id="help-box", classes="modal-box"):
            yield Static("\n".join(lines))


class GotoIpScreen(ModalScreen[str | None]):
    """Paste the address 5666 read over the phone; the owning host opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="cancel_goto"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box", classes="modal-box"):
            yield Label("Go to IP: paste the address (host side or VIP), enter to open")
            yield Input(placeholder="e.g. 198.51.100.1", id="goto-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """The text itself, for selecting by hand when the terminal does not take OSC 52."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "close", id="close_text"),
    ]

    def __init__(self, title: str, text: str, where: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="text-box", classes="modal-box"):
            yield Label(f"[b]{self.title_text}[/b]  (select with the mouse; esc closes)")
            if self.where:
                yield Label(f"[dim]also in: {self.where}[/dim]")
            yield TextArea(self.text, read_only=True, soft_wrap=True, id="text-area")


class ConfirmSendScreen(ModalScreen[bool]):
    """Sending is never one key: the text is shown and `y` must be pressed to send it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "send", id="confirm_send"),
        Binding("escape,n", "cancel", "cancel", id="cancel_send"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="text-box", classes="modal-box"):
            yield Label(f"[b]{self.title_text}[/b]  y: send · n/esc: cancel")
            yield TextArea(self.text, read_only=True, soft_wrap=True, id="text-area")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
