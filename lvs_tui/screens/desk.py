"""The duty desk: runbook, texts and incident log behind the screens.

Everything here is optional at run time: a runbook that fails to load leaves the side pane
saying "runbook not loaded" with the reason, an incident log that cannot be opened keeps
confirmations in memory. The screens never import runbook/texts/incidents themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lvs_tui.board import Board, HostRow
from lvs_tui.config import Config

TEXT_ORDER = ("initial", "update", "recovered", "reboot", "network", "borrow")


@dataclass(frozen=True, slots=True)
class Guidance:
    """What the side pane and the host view show about the runbook for one host."""

    host: str
    plan: object | None = None  # runbook.Plan when the runbook is loaded
    current_text: str | None = None  # the text kind `c` copies
    note: str = ""  # why there is no plan
    labels: dict[str, str] = field(default_factory=dict)  # confirmation -> label


class DutyDesk:
    def __init__(self, cfg: Config, incidents: object | None = None,
                 runbook: object | None = None) -> None:
        self.cfg = cfg
        self.incidents = incidents  # incidents.IncidentLog or None
        self.note = ""
        self.runbook = runbook if runbook is not None else self._load_runbook()
        self._confirmed: dict[str, list[tuple[str, float]]] = {}  # without an incident log

    def _load_runbook(self) -> object | None:
        try:
            from lvs_tui.runbook import load_runbook

            return load_runbook(self.cfg.runbook)
        except Exception as exc:  # a broken runbook file must not stop the console
            self.note = f"runbook not loaded: {exc}".splitlines()[0][:200]
            return None

    # -- incident log ----------------------------------------------------------------
    def observe(self, board: Board) -> None:
        """Feed the incident log (called in the evaluation thread)."""
        if self.incidents is None:
            return
        for row in board.rows:
            try:
                self.incidents.observe(row.situation, board.now)  # type: ignore[attr-defined]
            except Exception as exc:
                self.note = f"incident log: {exc}"[:200]
                return

    def confirmations(self, host: str) -> tuple[tuple[str, float], ...]:
        if self.incidents is not None:
            try:
                return self.incidents.confirmations(host)  # type: ignore[attr-defined]
            except Exception:
                pass
        return tuple(self._confirmed.get(host, ()))

    def confirm(self, host: str, name: str, now: float) -> None:
        if self.incidents is not None:
            try:
                self.incidents.confirm(host, name, now)  # type: ignore[attr-defined]
                if name in {n for n, _ in self.incidents.confirmations(host)}:  # type: ignore
                    return
            except Exception:
                pass
        self._confirmed.setdefault(host, []).append((name, now))

    def record_text(self, host: str, kind: str, text: str, how: str, now: float) -> None:
        if self.incidents is None:
            return
        try:
            self.incidents.record_text(host, kind, text, how, now)  # type: ignore[attr-defined]
        except Exception as exc:
            self.note = f"incident log: {exc}"[:200]

    def record_action(self, host: str, action: str, output: str, now: float,
                      ok: bool | None = None) -> None:
        if self.incidents is None:
            return
        try:
            self.incidents.record_action(host, action, output, now, ok)  # type: ignore
        except Exception as exc:
            self.note = f"incident log: {exc}"[:200]

    # -- runbook and texts -------------------------------------------------------------
    def guide(self, row: HostRow, now: float) -> Guidance:
        if self.runbook is None:
            return Guidance(row.host.name, note=self.note or "runbook not loaded")
        from lvs_tui.runbook import plan

        confirmations = self.confirmations(row.host.name)
        try:
            p = plan(self.runbook, row.situation, row.host, self.cfg,  # type: ignore[arg-type]
                     confirmations, now)
        except Exception as exc:
            return Guidance(row.host.name, note=f"runbook error: {exc}"[:200])
        current = p.texts[0] if p.texts else ("initial" if row.situation.is_problem else None)
        labels = dict(getattr(self.runbook, "confirmations", {}))
        return Guidance(row.host.name, p, current, labels=labels)

    def text(self, row: HostRow, kind: str, now: float) -> str:
        """A generated text; raises ValueError with a one-line reason when it cannot be made."""
        try:
            from lvs_tui import texts

            ctx = texts.context(self.cfg, row.situation, row.host,
                                self.confirmations(row.host.name), now,
                                runbook=self.runbook)  # type: ignore[arg-type]
            return texts.render(kind, ctx)
        except Exception as exc:
            raise ValueError(f"cannot generate the {kind} text: {exc}") from None
