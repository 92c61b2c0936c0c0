"""The host view: every address × vantage with history, Zabbix charts, VIPs, the runbook
checklist with keys to confirm each step, and a preview of every text, each copyable."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from lvs_tui.board import HostRow
from lvs_tui.duty import text_kinds
from lvs_tui.fleet import Fleet
from lvs_tui.guidance import Guidance
from lvs_tui.probes import ChartSource
from lvs_tui.screens.ask import AskScreen
from lvs_tui.screens.duty_keys import DutyKeys
from lvs_tui.screens.duty_screen import DutyScreen
from lvs_tui.situation import ImpactLevel
from lvs_tui.state import Metric, MetricSample
from lvs_tui.widgets.cells import age_text, color, rate_text, situation_text
from lvs_tui.widgets.chart import Chart
from lvs_tui.widgets.header_bar import HeaderBar, header_text
from lvs_tui.widgets.host_charts import (
    CHART_IDS,
    PING_CHARTS,
    ZABBIX,
    ChartInputs,
    ChartPlan,
    first_address,
    ping_charts,
    zabbix_charts,
)
from lvs_tui.widgets.key_footer import KeyFooter
from lvs_tui.widgets.keys import Where, bindings
from lvs_tui.widgets.matrix_table import MatrixTable
from lvs_tui.widgets.side_pane import duty_lines, guidance_lines, impact_lines
from lvs_tui.widgets.textual_private import OnePass, css_update_count, settle_layout

if TYPE_CHECKING:
    from lvs_tui.app import LvsApp

RANGES = (1, 6, 24)  # hours
READING = "config snapshot: …"  # holds the note's line while the directory is read
SETTLE_PASSES = 3  # layout passes before the view shows; the rest are left to Textual
INSTALLED = "host-view"  # the one host view, kept mounted and switched between hosts


class HostMatrix(MatrixTable):
    """The vantage matrix with a row cursor: the highlighted address gets history charts."""

    def __init__(self, **kw: object) -> None:
        super().__init__(cursor=True, **kw)


class Section(OnePass, Static):
    pass


class HostBody(OnePass, VerticalScroll):
    pass


class HostScreen(DutyKeys, DutyScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.HOST)

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host
        self.text_kind: str | None = None  # None: the current step's text
        self.hours = 1
        self.address: str | None = None
        self._long: dict[tuple[Metric, int], tuple[MetricSample, ...]] = {}
        # The last note read per host (one line each, at most the fleet): a host opened
        # again shows it until the new read lands, a host never opened a placeholder, so
        # the head keeps its height and the read costs no layout pass, often no repaint.
        self._notes: dict[str, str] = {}
        self.snapshot_note = READING
        self._drawn: tuple[str, object] | None = None  # (host, board) last drawn
        self._styled: tuple[object, ...] | None = None  # _style_key when last restyled

    @classmethod
    def open(cls, app: LvsApp, host: str) -> None:
        """Push the host view of `host`. One view is installed and reused: building and
        styling its ~40 widgets costs more than half a second at 500 hosts, switching it to
        another host costs a repaint."""
        if not app.is_screen_installed(INSTALLED):
            app.install_screen(cls(host), INSTALLED)
        screen = app.get_screen(INSTALLED, cls)
        screen.switch_to(host)
        if screen.is_mounted:
            screen.refresh_view()  # drawn before it shows: one paint, not two
            screen.settle()
        app.push_screen(screen)

    def settle(self) -> None:
        """Lay the hidden view out now, so that showing it is one full paint. Otherwise the
        first frame does the layout the new texts' heights ask for, and the body's scrollbars,
        which that layout resized, repaint in a frame of their own ~25 ms later.

        This does what Textual 8.2 does when a widget that asked for a layout goes idle
        (`Widget._check_refresh`: clear the arrangement caches up to the first ancestor of
        fixed size; then the screen's layout pass) and drops the requests that would redo
        it: pushing the screen repaints every widget anyway. Tested in test_ui_host."""
        settle_layout(self, self.all_widgets, SETTLE_PASSES)
        self.drop_repaints()

    def switch_to(self, host: str) -> None:
        """Show `host` from scratch: its own address, text, range and snapshot."""
        if host == self.host:
            return
        self.host = host
        self.text_kind = None
        self.hours = 1
        self.address = None
        self._long.clear()
        self.snapshot_note = self._notes.get(host, READING)

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with HostBody(id="host-body"):
            yield Section(id="host-head")
            # The matrix has the whole width: every vantage's column with RTT and loss.
            yield HostMatrix(id="host-matrix")
            with Horizontal(id="ping-charts"):
                yield Chart("RTT ms", id="rtt-chart", classes="chart")
                yield Chart("loss %", id="loss-chart", classes="chart")
            yield Static("Zabbix", id="zabbix-title", classes="section-title")
            with Horizontal(id="zabbix-charts"):
                for chart_id, title, _, _ in ZABBIX:
                    yield Chart(title, id=chart_id, classes="chart")
            yield Static("VIPs", classes="section-title")
            yield Section(id="vips", classes="section")
            yield Static("runbook", classes="section-title")
            yield Section(id="runbook", classes="section")
            yield Static("texts", id="texts-title", classes="section-title")
            yield Section(id="text-preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refresh_view()

    async def _snapshot_age(self, host: str) -> None:
        """The newest config snapshot's age: a directory read, so off the UI thread."""
        import asyncio

        app = self.app
        note = await asyncio.to_thread(
            app.desk.snapshot_age, host, app.clock())
        self._notes[host] = note
        view = app.view
        row = self.row
        if host == self.host and note != self.snapshot_note and view and row:
            self.snapshot_note = note
            update_in_place(self.query_one("#host-head", Static), self._head(row, view.board.now))

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles every node of a screen it resumes (~12 ms here, and it repaints
        # every scrollbar, ~8 ms more): this one's styles only change with the stylesheet
        # and the app's classes, both in the key, so it is restyled only when they moved.
        # (This handler runs before Screen's own, which reads the flag.)
        key = self._style_key()
        if key == self._styled:
            event.refresh_styles = False
        elif event.refresh_styles:
            self._styled = key
        matrix = self.query_one(HostMatrix)
        if self.focused is not matrix:  # focus() repaints the whole widget, even if focused
            matrix.focus(scroll_visible=False)
        self.query_one("#host-body", VerticalScroll).scroll_home(animate=False)
        self.run_worker(self._snapshot_age(self.host), group="snapshot", exit_on_error=False)
        view = self.app.view
        if self._drawn != (self.host, view.board if view else None):
            self.refresh_view()

    def _style_key(self) -> tuple[object, ...]:
        """What this screen's styles depend on beyond its own DOM: CSS invalidations (themes),
        the stylesheet's sources (a screen's CSS), the app's classes and pseudo-classes."""
        app = self.app
        count = css_update_count(app)
        if count is None:  # not this Textual: never skip the restyle
            return (object(),)
        return (count, app.theme, len(app.stylesheet.source), frozenset(app.classes),
                app.pseudo_classes)

    @property
    def row(self) -> HostRow | None:
        return self.app.row(self.host)

    def guidance(self) -> Guidance | None:
        row = self.row
        app = self.app
        view = app.view
        return app.desk.guide(row, view.board.now) if row and view else None

    # -- drawing -------------------------------------------------------------------------
    def refresh_view(self) -> None:
        app = self.app
        view = app.view
        row = self.row
        palette = app.theme_variables
        header = self.query_one(HeaderBar)
        head = header_text(app.cfg, view.board if view else None,
                           view.board.now if view else app.clock(),
                           app.paused, palette)
        if not unchanged(header, head):
            header.update(head, layout=False)  # fixed height
        if row is None or view is None:
            return
        self._drawn = (self.host, view.board)
        now = view.board.now
        update_in_place(self.query_one("#host-head", Static), self._head(row, now))
        if self.address is None:  # where the matrix's cursor starts: the first one down
            self.address = first_address(app.cfg, self.host,
                                         row.situation.down_addresses)
        matrix = self.query_one(HostMatrix)
        matrix.show(app.cfg, [row], view.board.vantages, palette, now,
                    start=f"{self.host}|{self.address}")
        self._ping_charts(now)
        self._zabbix_charts(now)
        update_in_place(self.query_one("#vips", Static), self._vips(row))
        g = self.guidance()
        update_in_place(self.query_one("#runbook", Static), self._runbook(g, now))
        self._texts(row, g, now)

    def _head(self, row: HostRow, now: float) -> Text:
        app = self.app
        h, s = row.host, row.situation
        idc = app.cfg.fleet.idc(h.idc)
        text = Text()
        text.append(f"{h.name}  ", style="bold")
        text.append(f"{idc.name} ({idc.carrier}) · {h.mode.badge} · "
                    f"{','.join(x.value for x in h.services)} · 内网 {h.internal} · "
                    f"外网 {h.external}\n")
        text.append_text(situation_text(s, app.theme_variables))
        if s.since is not None:
            text.append(f"  for {age_text(max(0.0, now - s.since))}")
        text.append("\n")
        view = app.view
        mark = view.board.mark(h.name) if view else None
        text.append_text(duty_lines(mark, app.cfg, now, app.theme_variables))
        for e in s.evidence:
            text.append(f" • {e}\n")
        text.append("impact:\n", style="bold")
        text.append_text(impact_lines(s, app.theme_variables))
        hw = h.hardware
        if hw.model:
            text.append(f"hardware: {hw.model} · {hw.nics} x {hw.nic_speed} · {hw.os} · "
                        f"asset {hw.asset_tag or '?'}\n", style="dim")
        if self.snapshot_note:
            text.append(self.snapshot_note + "\n", style="dim")
        return text

    def on_matrix_table_address_highlighted(self, event: MatrixTable.AddressHighlighted
                                            ) -> None:
        address = event.key.split("|", 1)[-1]
        if address == self.address:
            return  # already charted
        self.address = address
        view = self.app.view
        if view is not None:
            self._ping_charts(view.board.now)

    def _ping_charts(self, now: float) -> None:
        if self.address is None:
            return
        app = self.app
        self._plot(ping_charts(app.cfg, app.store, self.address, now))

    def _zabbix_charts(self, now: float) -> None:
        app = self.app
        self._plot(zabbix_charts(self._samples, now, self.hours, app.cfg.duty.tz))
        source_note = ""
        if self.hours > 1 and not self._chart_source():
            source_note = " — only the last hour is held locally (no Zabbix history source)"
        latest = self._latest_line(now)
        update_in_place(self.query_one("#zabbix-title", Static),
                        f"Zabbix · {self.hours} h (r: 1h/6h/24h){source_note}  {latest}")

    def _plot(self, inputs: ChartInputs) -> None:
        for chart_id, (series, title) in inputs.items():
            self.query_one(f"#{chart_id}", Chart).plot(series, title)

    def chart_plan(self, host: str | None = None) -> ChartPlan | None:
        """The charts the next board will want for `host` (default: the one shown), at the
        sizes on screen; None before the view is composed and laid out (a timer may ask
        between `install_screen` and the first `enter`'s compose). The evaluation thread
        builds them ahead, so `enter` and the next board find them in the cache."""
        host = host or self.host
        same = host == self.host
        ids = CHART_IDS if not same or self.hours == 1 else PING_CHARTS
        shown = {c.id: c for c in self.query(Chart)}  # none until the view is composed
        charts = [shown[i] for i in ids if i in shown]
        if len(charts) < len(ids) or not all(c.size for c in charts):
            return None
        if same and self.address:
            address = self.address
        else:
            row = self.app.row(host)
            address = first_address(self.app.cfg, host,
                                    row.situation.down_addresses if row else ())
        return ChartPlan(host, address, tuple((c.id or "", *c.size) for c in charts),
                         charts[0].dark(), charts[0].colours())

    def _latest_line(self, now: float) -> str:
        row = self.row
        if row is None:
            return ""
        cpu = row.signals.metric(Metric.CPU)
        parts = [f"CPU {cpu.value:.0f}%" if cpu else "CPU -"]
        for m in (Metric.BOND0_IN, Metric.BOND0_OUT, Metric.BOND1_IN, Metric.BOND1_OUT):
            s = row.signals.metric(m)
            parts.append(f"{m.value} {rate_text(s.value if s else None)}")
        if row.signals.monitoring_age is not None:
            parts.append(f"newest {age_text(row.signals.monitoring_age)} ago")
        return " · ".join(parts)

    def _samples(self, m: Metric) -> Sequence[MetricSample]:
        if self.hours > 1 and (m, self.hours) in self._long:
            return self._long[(m, self.hours)]
        return self.app.store.metrics(self.host, m)

    def _chart_source(self) -> ChartSource | None:
        return next((s for s in self.app.sources if isinstance(s, ChartSource)), None)

    def _vips(self, row: HostRow) -> Text:
        app = self.app
        fleet = app.cfg.fleet
        palette = app.theme_variables
        levels = {v.address: v for v in row.situation.impact.vips}
        text = Text()
        vips = fleet.vips_of(row.host.name)
        if not vips:
            text.append("none", style="dim")
        for v in vips:
            imp = levels.get(v.address)
            var = {ImpactLevel.OUTAGE: "status-down", ImpactLevel.SINGLE_POINT: "status-major"
                   }.get(imp.level if imp else ImpactLevel.REDUNDANT, "status-ok")
            state = f"{imp.level.value} {imp.healthy}/{imp.total}" if imp else "-"
            # padded by cells: a service may be named in CJK, two cells a character
            text.append(v.label + " " * max(1, 35 - cell_len(v.label)), style="bold")
            text.append(f"{state:<18}", style=color(palette, var))
            admins = [fleet.contact(a) for a in v.admins if fleet_has(fleet, a)]
            text.append(" ".join(f"{c.name} {c.phone}".strip() for c in admins) or "-")
            text.append("\n")
        return text

    def _runbook(self, g: Guidance | None, now: float) -> Text:
        app = self.app
        text = guidance_lines(g, app.cfg, now, app.theme_variables)
        names = self.confirmable(g)
        if names:
            text.append("confirm:\n", style="bold underline")
            for n, name in enumerate(names, 1):
                label = g.labels.get(name, name) if g else name
                text.append(f" [{n}] ", style="bold reverse")
                text.append(f" {label} ({name})\n")
        return text

    @staticmethod
    def confirmable(g: Guidance | None) -> tuple[str, ...]:
        return g.confirmable if g else ()

    def _kinds(self, g: Guidance | None) -> list[str]:
        return list(g.kinds) if g and g.kinds else list(text_kinds())

    def shown_kind(self, g: Guidance | None) -> str:
        kinds = self._kinds(g)
        return self.text_kind if self.text_kind in kinds else kinds[0]

    def _texts(self, row: HostRow, g: Guidance | None, now: float) -> None:
        kind = self.shown_kind(g)
        kinds = self._kinds(g)
        tabs = "  ".join(f"[{k}]" if k == kind else k for k in kinds)
        update_in_place(self.query_one("#texts-title", Static),
                        f"texts (n: next, c: copy, v: show)  {tabs}")
        try:
            body = self.app.desk.text(row, kind, now)
        except ValueError as exc:
            body = str(exc)
        update_in_place(self.query_one("#text-preview", Static), Text(body))

    # -- actions -------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next_text(self) -> None:
        g = self.guidance()
        kinds = self._kinds(g)
        kind = self.shown_kind(g)
        self.text_kind = kinds[(kinds.index(kind) + 1) % len(kinds)]
        self.refresh_view()

    def _shown(self) -> tuple[str, str] | None:
        row, view = self.row, self.app.view
        if row is None or view is None:
            return None
        kind = self.shown_kind(self.guidance())
        try:
            return kind, self.app.desk.text(row, kind, view.board.now)
        except ValueError as exc:
            self.app.notify(str(exc), severity="error")
            return None

    def action_copy_notice(self) -> None:
        shown = self._shown()
        row = self.row
        if shown is not None and row is not None:
            app = self.app
            assert app.view is not None
            missing = app.desk.missing(row, shown[0], app.view.board.now)
            app.copy_text(self.host, *shown, missing)

    def action_show_text(self) -> None:
        from lvs_tui.screens.modals import TextScreen

        shown = self._shown()
        if shown is not None:
            self.app.push_screen(TextScreen(f"{shown[0]} text for {self.host}", shown[1]))

    def action_confirm(self, n: int) -> None:
        g = self.guidance()
        names = self.confirmable(g)
        if not 1 <= n <= len(names):
            self.app.notify(f"nothing to confirm under {n}", severity="warning")
            return
        name = names[n - 1]
        label = g.labels.get(name, name) if g else name
        prompt = self.app.desk.note_prompt(name)
        self.app.push_screen(AskScreen(f"{self.host}: {label}", prompt),
                             lambda note: self._confirm(name, label, note))

    def _confirm(self, name: str, label: str, note: str | None) -> None:
        """The operator answered the note question (None: escape, nothing confirmed)."""
        if note is None:
            return
        app = self.app
        host = self.host

        async def work() -> None:
            await app.desk.confirm(host, name, app.clock(), note)
            app.notify(f"{host}: confirmed {label}" + (f" · {note}" if note else ""),
                       timeout=4)
            if self.host == host:
                self.text_kind = None  # the next step's text comes first
                self.refresh_view()

        self.run_worker(work(), group="confirm", exit_on_error=False)

    def action_ssh(self) -> None:
        """Log in through the jump host with the console suspended; the log keeps the exit."""
        from textual.app import SuspendNotSupported

        from lvs_tui import actions

        app = self.app
        row = self.row
        if row is None:
            return
        try:
            argv = actions.login_argv(actions.ssh_options(app.cfg), row.host)
        except actions.ActionError as exc:
            app.notify(f"ssh: {exc}", severity="error")
            return
        try:
            with app.suspend():
                code = subprocess.call(argv)
        except SuspendNotSupported:
            app.notify(f"cannot suspend this terminal; run: {shlex.join(argv)}",
                       severity="warning", timeout=15)
            return
        except OSError as exc:
            app.notify(f"ssh: {exc}", severity="error")
            return
        self.run_worker(app.desk.record_action(
            self.host, "ssh", f"exit {code}", app.clock(), code == 0),
            group="log", exit_on_error=False)
        app.desk.record_login(self.host, code, False, app.clock())
        app.notify(f"ssh {row.host.name}: exit {code}", timeout=4)

    def action_send_text(self) -> None:
        """Send the shown text (webhook / admins' email) after an explicit `y`."""
        from lvs_tui.screens.modals import ConfirmSendScreen

        shown = self._shown()
        row = self.row
        app = self.app
        if shown is None or row is None:
            return
        if not app.cfg.sending.enabled:
            app.notify("sending is off: set [sending] enabled = true", severity="warning")
            return
        kind, text = shown

        def answered(ok: bool | None) -> None:
            if not ok:
                app.notify("not sent", timeout=3)
                return

            async def work() -> None:
                out = await app.desk.send(row, kind, text, app.clock())
                app.notify(f"send {kind}: {out}", timeout=8)

            self.run_worker(work(), group="send", exclusive=True, exit_on_error=False)

        app.push_screen(ConfirmSendScreen(f"send the {kind} text for {self.host}?", text),
                        answered)

    def action_traceroute(self) -> None:
        self._run_action("traceroute", "trace")

    def action_diagnostics(self) -> None:
        self._run_action("diagnostics", "diagnose")

    def _run_action(self, label: str, method: str) -> None:
        """Run a duty action in a worker; its output is shown, and recorded by the desk in
        the incident timeline (and so attached to the network handoff text)."""
        row = self.row
        if row is None:
            return
        app = self.app
        app.notify(f"{label} {row.host.name}: running…", timeout=3)

        async def work() -> None:
            from lvs_tui.screens.modals import TextScreen

            try:
                out = await getattr(app.desk, method)(row, app.clock())
            except Exception as exc:  # an action failing must never take the console down
                out = f"{label} failed: {exc}"
            self.text_kind = None
            self.refresh_view()
            app.push_screen(TextScreen(f"{label} · {row.host.name}", out))

        self.run_worker(work(), group=label, exclusive=True, exit_on_error=False)

    def action_chart_range(self) -> None:
        self.hours = RANGES[(RANGES.index(self.hours) + 1) % len(RANGES)]
        source = self._chart_source()
        if self.hours > 1 and source is not None:
            self.run_worker(self._fetch(source, self.hours), group="charts", exclusive=True,
                            exit_on_error=False)
        self.refresh_view()

    async def _fetch(self, source: ChartSource, hours: int) -> None:
        for _, _, metrics, _ in ZABBIX:
            for m in metrics:
                try:
                    got = await source.chart(self.host, m, hours)
                except Exception as exc:  # Zabbix down: say so, keep the hour we have
                    self.app.notify(f"Zabbix history: {exc}"[:120], severity="warning")
                    return
                self._long[(m, hours)] = tuple(
                    s if isinstance(s, MetricSample) else MetricSample(*s) for s in got)
        self.refresh_view()


def update_in_place(static: Static, content: Text | str) -> None:
    """Static.update with a layout pass only when the wrapped height changes: one costs
    tens of ms on a big screen, and most updates keep the height. The same content again
    is no update at all (an update re-renders the widget)."""
    if unchanged(static, content):
        return
    static.update(content, layout=False)
    width = static.size.width
    if not width or static.get_content_height(static.size, static.app.size,
                                              width) != static.size.height:
        static.refresh(layout=True)


def unchanged(static: Static, content: Text | str) -> bool:
    """Whether `static` shows this very content (rich's Text equality leaves out the base
    style, so that is compared too)."""
    old = static.content
    return (type(old) is type(content) and old == content
            and getattr(old, "style", None) == getattr(content, "style", None))


def fleet_has(fleet: Fleet, contact_id: str) -> bool:
    return any(c.id == contact_id for c in fleet.contacts)
