"""What the side pane and the host view show about the runbook for one host: a value.

Made by the duty service (`lvs_tui.duty`) from the board, the runbook and what the operator
confirmed; read by widgets and screens. Lives apart from both so a widget never imports the
service (or a screen) to know its shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lvs_tui.runbook import Plan


@dataclass(frozen=True, slots=True)
class Confirmation:
    """An operator confirmation of the host's open incident, with its one-line note."""

    name: str  # runbook confirmation: reboot_requested, reboot_failed …
    t: float
    note: str = ""  # what people said: 5666's error information, progress, borrow fields …


@dataclass(frozen=True, slots=True)
class Guidance:
    host: str
    plan: Plan | None = None  # when the runbook is loaded
    current_text: str | None = None  # the text kind `c` copies
    note: str = ""  # why there is no plan
    labels: dict[str, str] = field(default_factory=dict)  # confirmation -> label
    kinds: tuple[str, ...] = ()  # the text kinds offered, the current one first

    @property
    def confirmable(self) -> tuple[str, ...]:
        return self.plan.confirmable if self.plan is not None else ()
