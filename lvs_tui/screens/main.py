"""The main screen: header, fleet table, vantage matrix of the selected host, side pane."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input

from lvs_tui.board import HostRow
from lvs_tui.guidance import Guidance
from lvs_tui.screens.duty_keys import DutyKeys
from lvs_tui.screens.duty_screen import DutyScreen
from lvs_tui.widgets.fleet_table import FleetLine, FleetTable
from lvs_tui.widgets.header_bar import HeaderBar, header_text
from lvs_tui.widgets.key_footer import KeyFooter
from lvs_tui.widgets.keys import Where, bindings, side_keys
from lvs_tui.widgets.matrix_table import MatrixTable
from lvs_tui.widgets.side_pane import SidePane, side_text

MATRIX_HOSTS = 4  # a filter down to this many hosts shows all their addresses in the matrix


class MainScreen(DutyKeys, DutyScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.MAIN)

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.problems_only = False

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with Horizontal(id="main-body"):
            with Vertical(id="fleet-col"):
                yield FleetTable(self._host_width(), self._idc_width(), id="fleet")
                yield MatrixTable(id="matrix")
            yield SidePane(id="side")
        # Always on screen (one line): showing and hiding it cost a layout pass, and the
        # filter in force stays in sight.
        yield Input(placeholder="/ filter: host, IP, VIP, IDC, service · enter keeps · "
                    "esc clears", id="filter-input", compact=True)
        yield KeyFooter()

    def _host_width(self) -> int:
        return max((len(h.name) for h in self.app.cfg.fleet.hosts), default=12)

    def _idc_width(self) -> int:
        from rich.cells import cell_len

        names = [cell_len(i.name) for i in self.app.cfg.fleet.idcs]
        return max([3, *names])

    def on_mount(self) -> None:
        self.query_one(FleetTable).focus()
        self.query_one("#matrix", MatrixTable).border_title = "vantages"

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "narrow")
        self.query_one(SidePane).fit(self.size.width, self.table.full_width)

    def _badges(self) -> tuple[str, ...]:
        badges = ["PROBLEMS ONLY"] if self.problems_only else []
        unacked = getattr(self.app, "unacked", ())
        if unacked:  # critical past [duty] ack_timeout and nobody acknowledged: say who
            names = ", ".join(unacked[:3]) + (" …" if len(unacked) > 3 else "")
            badges.append(f"未确认 {len(unacked)}: {names} (a)")
        return tuple(badges)

    def duty_host(self) -> str | None:
        return self.table.host_under_cursor()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    # -- drawing -------------------------------------------------------------------------
    def on_screen_resume(self, event: events.ScreenResume) -> None:
        self.refresh_view(force=True)

    def refresh_view(self, force: bool = False) -> None:
        app = self.app
        view = getattr(app, "view", None)
        palette = app.theme_variables
        now = view.board.now if view else app.clock()
        header = header_text(app.cfg, view.board if view else None, now,
                             app.paused, palette, badges=self._badges())
        error = getattr(app, "eval_error", "")
        if error:
            header.append(f"  {error}", style=palette.get("status-down", ""))
        self.query_one(HeaderBar).update(header, layout=False)  # fixed height: no layout
        if view is None or (app.paused and not force):
            return
        self.table.show(self.visible_lines(view.lines))
        self.refresh_selected()

    def visible_lines(self, lines: tuple[FleetLine, ...]) -> list[FleetLine]:
        # (not `visible`: that is Textual's own property of every node)
        tokens = self.filter_text.lower().split()
        return [ln for ln in lines if (not self.problems_only or ln.problem)
                and all(t in ln.search for t in tokens)]

    def refresh_selected(self) -> None:
        app = self.app
        host = self.table.host_under_cursor()
        row = app.row(host) if host else None
        view = app.view
        if view is None:
            return
        palette = app.theme_variables
        self.query_one(MatrixTable).show(app.cfg, self._matrix_hosts(row),
                                         view.board.vantages, palette, view.board.now)
        guidance = app.desk.guide(row, view.board.now) if row else None
        mark = view.board.mark(row.host.name) if row else None
        self.query_one(SidePane).show(side_text(app.cfg, row, guidance,
                                                view.board.now, palette, side_keys(app),
                                                mark))

    def _matrix_hosts(self, row: HostRow | None) -> list[HostRow]:
        """The selected host; with a filter down to a few hosts, all of them (selected first)."""
        if row is None:
            return []
        if not self.filter_text.strip() or self.table.row_count > MATRIX_HOSTS:
            return [row]
        app = self.app
        others = [app.row(h) for h in self.table.hosts() if h != row.host.name]
        return [row, *(r for r in others if r is not None)]

    def on_fleet_table_host_highlighted(self, event: FleetTable.HostHighlighted) -> None:
        if not self.app.paused:
            self.refresh_selected()
        self.app.want_host_charts()

    def on_fleet_table_host_chosen(self, event: FleetTable.HostChosen) -> None:
        self.app.open_host(event.host)

    def reveal(self, host: str) -> None:
        """Make the host visible and selected (go to IP, palette): clear what hides it."""
        view = self.app.view
        if view is None:
            return
        if host not in {ln.host for ln in self.visible_lines(view.lines)}:
            self.filter_text, self.problems_only = "", False
            self.query_one("#filter-input", Input).value = ""
            self.table.focus()
            self.table.show(self.visible_lines(view.lines))
        self.table.select(host)

    # -- actions -------------------------------------------------------------------------
    def action_filter(self) -> None:
        self.query_one("#filter-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter-input" and event.value != self.filter_text:
            self.filter_text = event.value  # (not when `escape` cleared it and drew already)
            self.refresh_view(force=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter-input":
            self.table.focus()

    def action_back(self) -> None:
        """Clear the filter; with none, send the cursor back to riding the top row."""
        if self.filter_text or self.query_one("#filter-input").has_focus:
            self.filter_text = ""
            self.query_one("#filter-input", Input).value = ""
            self.table.focus()
            self.refresh_view(force=True)
        else:
            self.table.release()

    def action_pause(self) -> None:
        app = self.app
        app.paused = not app.paused
        self.refresh_view(force=not app.paused)
        self.app.notify("view paused: data keeps flowing, p resumes" if app.paused
                        else "view resumed", timeout=3)

    def action_problems_only(self) -> None:
        self.problems_only = not self.problems_only
        self.refresh_view(force=True)  # the header says PROBLEMS ONLY while it holds

    def action_goto_ip(self) -> None:
        from lvs_tui.screens.modals import GotoIpScreen

        def done(text: str | None) -> None:
            if text:
                error = self.app.goto_ip(text)
                if error:
                    self.app.notify(error, severity="error")

        self.app.push_screen(GotoIpScreen(), done)

    def _current(self) -> tuple[str, str, str] | None:
        """(host, kind, text) of the current text of the highlighted host."""
        app = self.app
        host = self.table.host_under_cursor()
        row = app.row(host) if host else None
        view = app.view
        if row is None or view is None:
            app.notify("no host selected", severity="warning")
            return None
        g: Guidance = app.desk.guide(row, view.board.now)
        if g.current_text is None:
            app.notify(f"{row.host.name}: no text to copy (host is fine)", severity="warning")
            return None
        try:
            text = app.desk.text(row, g.current_text, view.board.now)
        except ValueError as exc:
            app.notify(str(exc), severity="error")
            return None
        return row.host.name, g.current_text, text

    def action_copy_notice(self) -> None:
        current = self._current()
        if current is not None:
            host, kind, _ = current
            app = self.app
            row = app.row(host)
            assert row is not None and app.view is not None
            missing = app.desk.missing(row, kind, app.view.board.now)
            app.copy_text(*current, missing)

    def action_show_text(self) -> None:
        from lvs_tui.screens.modals import TextScreen

        current = self._current()
        if current is not None:
            host, kind, text = current
            self.app.push_screen(TextScreen(f"{kind} text for {host}", text))
