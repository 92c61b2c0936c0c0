"""The keys of the duty's own state, shared by the fleet and host screens:
`a` acknowledge (with a note), `A` take it back, `m` a maintenance window (end, reason).

The screens give the host (`duty_host`); the duty service does the rest off the UI thread.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar

from textual.binding import BindingType
from textual.screen import Screen

from lvs_tui.duty_state import DutyInputError, parse_duration, parse_until
from lvs_tui.screens.ask import AskScreen
from lvs_tui.widgets.keys import Where, bindings

if TYPE_CHECKING:
    from textual import getters

    from lvs_tui.app import LvsApp


class DutyKeys(Screen[None]):
    """Mixed into a screen that says which host its keys are about (Textual merges these
    bindings into the screen's own)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.DUTY)  # rows in widgets/keys.py

    if TYPE_CHECKING:  # the console's app, typed; at run time Textual's own `app`
        app = getters.app(LvsApp)

    def duty_host(self) -> str | None:
        """The host the keys are about: the screen's own `host` (the host view); the fleet
        screen overrides this with the host under its cursor."""
        host = getattr(self, "host", None)
        return host if isinstance(host, str) else None

    def action_acknowledge(self) -> None:
        host = self.duty_host()
        row = self.app.row(host) if host else None
        if row is None:
            self.app.notify("no host selected", severity="warning")
            return
        if not row.situation.is_problem:
            self.app.notify(f"{host}: nothing to acknowledge (host is fine)",
                            severity="warning")
            return
        app = self.app

        def answered(note: str | None) -> None:
            if note is None:
                return

            async def work() -> None:
                said = await app.desk.acknowledge(row, app.clock(), note)
                app.notify(said, timeout=4)
                app.refresh_marks()

            self.run_worker(work(), group="duty", exit_on_error=False)

        app.push_screen(AskScreen(f"{host}: acknowledge (I am on it)",
                                  "备注（一行，可空；回车确认）"), answered)

    def action_unacknowledge(self) -> None:
        host = self.duty_host()
        if host is None:
            return
        app = self.app

        async def work() -> None:
            said = await app.desk.unacknowledge(host, app.clock())
            app.notify(said, timeout=4)
            app.refresh_marks()

        self.run_worker(work(), group="duty", exit_on_error=False)

    def action_maintenance(self) -> None:
        host = self.duty_host()
        if host is None:
            return
        app = self.app
        tz = app.cfg.duty.tz

        def reason_given(end_text: str, reason: str | None) -> None:
            if reason is None:
                return

            async def work() -> None:
                now = app.clock()
                try:
                    kw = _end(end_text, tz)
                    w = await app.desk.add_window_async(
                        host, now, reason=reason, **kw)
                except DutyInputError as exc:
                    app.notify(str(exc), severity="error", timeout=8)
                    return
                app.notify(f"{host}: maintenance {w.id} · {w.reason}", timeout=5)
                app.refresh_marks()

            self.run_worker(work(), group="duty", exit_on_error=False)

        def end_given(end_text: str | None) -> None:
            if not end_text:
                return
            try:
                _end(end_text, tz)
            except DutyInputError as exc:
                app.notify(str(exc), severity="error", timeout=8)
                return
            app.push_screen(AskScreen(f"{host}: maintenance", "原因（必填：什么工作，谁在做）"),
                            lambda reason: reason_given(end_text, reason))

        app.push_screen(AskScreen(f"{host}: maintenance window",
                                  "持续多久或到何时：2h / 90m / 2026-12-07 06:00（最长 7 天）"),
                        end_given)


def _end(text: str, tz: tzinfo) -> dict[str, float]:
    """'2h' -> seconds, '2026-12-07 06:00' -> until."""
    text = text.strip()
    if text[:1].isdigit() and "-" in text:
        return {"until": parse_until(text, tz)}
    return {"seconds": parse_duration(text)}
