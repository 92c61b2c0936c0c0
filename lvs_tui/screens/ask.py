"""A one-line question in a modal: a note with a confirmation, a reason, a duration.

Enter answers (an empty answer is an answer: "no note"); escape cancels the whole action.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class AskScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="cancel_ask"),
    ]

    def __init__(self, title: str, prompt: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box", classes="modal-box"):
            yield Label(f"[b]{self.title_text}[/b]", markup=True)
            yield Label(self.prompt, markup=False)
            yield Input(placeholder=self.placeholder, id="ask-input")
            yield Label("enter: save · esc: cancel", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
