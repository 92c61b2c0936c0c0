"""The duty desk: runbook, texts and incident log behind the screens.

Everything here is optional at run time: a runbook that fails to load leaves the side pane
saying "runbook not loaded" with the reason, an incident log that cannot be opened keeps
confirmations in memory. The screens never import runbook/texts/incidents themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lvs_tui.board import Board, HostRow
from lvs_tui.config import Config
from lvs_tui.state import StateStore

if TYPE_CHECKING:  # imported lazily at run time: either may fail to load and be left out
    from lvs_tui.incidents import IncidentLog
    from lvs_tui.runbook import Plan, Runbook

TEXT_ORDER = ("initial", "update", "recovered", "reboot", "network", "borrow")


@dataclass(frozen=True, slots=True)
class Guidance:
    """What the side pane and the host view show about the runbook for one host."""

    host: str
    plan: Plan | None = None  # when the runbook is loaded
    current_text: str | None = None  # the text kind `c` copies
    note: str = ""  # why there is no plan
    labels: dict[str, str] = field(default_factory=dict)  # confirmation -> label


class DutyDesk:
    def __init__(self, cfg: Config, incidents: IncidentLog | None = None,
                 runbook: Runbook | None = None, live: bool = False) -> None:
        self.cfg = cfg
        self.incidents = incidents
        # Actions send packets only when live (the real dashboard); the demo's and the tests'
        # addresses are simulated, so nothing is ever sent to them.
        self.live = live
        self.store: StateStore | None = None  # set by the app: where login results go
        self.note = ""
        self.runbook = runbook if runbook is not None else self._load_runbook()
        self._confirmed: dict[str, list[tuple[str, float]]] = {}  # without an incident log
        self._retired = False

    def _load_runbook(self) -> Runbook | None:
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
        if not self._retired:  # once: incidents of hosts that left the config close
            self._retired = True
            try:
                self.incidents.retire(frozenset(h.name for h in self.cfg.fleet.hosts), board.now)
            except Exception as exc:
                self.note = f"incident log: {exc}"[:200]
        for row in board.rows:
            try:
                self.incidents.observe(row.situation, board.now)
            except Exception as exc:
                self.note = f"incident log: {exc}"[:200]
                return

    def confirmations(self, host: str) -> tuple[tuple[str, float], ...]:
        if self.incidents is not None:
            try:
                return self.incidents.confirmations(host)
            except Exception:
                pass
        return tuple(self._confirmed.get(host, ()))

    def confirm(self, host: str, name: str, now: float) -> None:
        if self.incidents is not None:
            try:
                self.incidents.confirm(host, name, now)
                if name in {n for n, _ in self.incidents.confirmations(host)}:
                    return
            except Exception:
                pass
        self._confirmed.setdefault(host, []).append((name, now))

    def record_text(self, host: str, kind: str, text: str, how: str, now: float) -> None:
        if self.incidents is None:
            return
        try:
            self.incidents.record_text(host, kind, text, how, now)
        except Exception as exc:
            self.note = f"incident log: {exc}"[:200]

    def record_action(self, host: str, action: str, output: str, now: float,
                      ok: bool | None = None) -> None:
        if self.incidents is None:
            return
        try:
            self.incidents.record_action(host, action, output, now, ok)
        except Exception as exc:
            self.note = f"incident log: {exc}"[:200]

    # -- runbook and texts -------------------------------------------------------------
    def guide(self, row: HostRow, now: float) -> Guidance:
        if self.runbook is None:
            return Guidance(row.host.name, note=self.note or "runbook not loaded")
        from lvs_tui.runbook import plan

        confirmations = self.confirmations(row.host.name)
        try:
            p = plan(self.runbook, row.situation, row.host, self.cfg,
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
                                runbook=self.runbook,
                                traceroute=self.handoff_attachments(row.host.name),
                                sources=texts.handoff_sources(self.cfg, row.situation,
                                                              row.signals))
            return texts.render(kind, ctx)
        except Exception as exc:
            raise ValueError(f"cannot generate the {kind} text: {exc}") from None


    # -- duty actions (run from the host view in a worker; never in a widget) ----------
    def handoff_attachments(self, host: str) -> str:
        """The newest traceroute and diagnostics output, for the network handoff text."""
        if self.incidents is None:
            return ""
        parts = []
        for action, title in (("traceroute", ""), ("diagnostics", "远程诊断：")):
            try:
                event = self.incidents.last_action(host, action)
            except Exception:
                event = None
            if event is not None and event.detail:
                parts.append(title + event.detail)
        return "\n".join(parts)

    async def diagnose(self, row: HostRow, now: float) -> str:
        """`d`: remote diagnostics over ssh through the jump host; recorded in the timeline."""
        if not self.live:
            out = f"演示模式：未对模拟主机 {row.host.name} 执行远程诊断（实际会经通道机 ssh 检查" \
                  "链路、地址、路由、网关、ipvsadm、keepalived）"
            self.record_action(row.host.name, "diagnostics", out, now, None)
            return out
        from lvs_tui import actions

        try:
            result = await actions.diagnostics(actions.ssh_options(self.cfg), row.host,
                                               self.cfg.duty.diagnostics_timeout)
        except actions.ActionError as exc:
            return f"diagnostics: {exc}"
        self.record_action(row.host.name, "diagnostics", result.text, now, result.result.ok)
        self.record_login(row.host.name, result.result.returncode,
                          result.result.outcome is actions.Outcome.TIMEOUT, now)
        return result.summary

    def record_login(self, host: str, returncode: int | None, timed_out: bool,
                     now: float) -> None:
        """An ssh run through the jump host is a login probe: diagnosis reads it (a login
        after an outage is a sign of life; a failed one corroborates host_down)."""
        if self.store is None or not self.live:
            return
        from lvs_tui.actions import login_result

        self.store.set_login(host, login_result(returncode, timed_out, now,
                                                f"ssh exit {returncode}"))

    async def trace(self, row: HostRow, now: float) -> str:
        """`t`: traceroute from here to the unreachable address (and from remote vantages)."""
        target = (row.situation.down_addresses or (row.host.external,))[0]
        if not self.live:
            out = f"演示模式：未对模拟地址 {target} 执行 traceroute"
            self.record_action(row.host.name, "traceroute", out, now, None)
            return out
        from lvs_tui import actions
        from lvs_tui.probes.traceroute import traceroute

        trace = await traceroute(target, timeout=30.0)
        texts = [f"本地 → {target}:\n{trace.text}"]
        try:
            opts = actions.ssh_options(self.cfg)
            for v in actions.remote_vantages(self.cfg):
                r = await actions.remote_traceroute(opts, v, target)
                texts.append(f"{v.name} → {target}:\n{r.text}")
        except actions.ActionError as exc:
            texts.append(f"remote traceroute: {exc}")
        out = "\n".join(texts)
        self.record_action(row.host.name, "traceroute", out, now, trace.complete)
        return out

    def snapshot_age(self, host: str, now: float) -> str:
        """Age of the newest network-config snapshot (reads a directory: call from a worker)."""
        from lvs_tui.snapshots import age_text, newest_snapshot

        try:
            newest = newest_snapshot(host)
        except OSError:
            newest = None
        if newest is None:
            return "config snapshot: none (run: lvs-tui snapshot " + host + ")"
        return f"{age_text(host, now)} · {newest[0]}"

    async def send(self, row: HostRow, kind: str, text: str, now: float) -> str:
        """Send a confirmed text: the group robot, and email to the admins for notices.
        Off unless [sending] enabled; every attempt is recorded in the timeline."""
        settings = self.cfg.sending
        if not settings.enabled:
            return "sending is off: set [sending] enabled = true (see docs/config.md)"
        from lvs_tui import sending

        results = []
        if settings.webhook_url_env or settings.webhook_url_file:
            results.append(await sending.WebhookSender(settings).send(text, confirmed=True))
        emails = sending.admin_emails(self.cfg.fleet, row.host)
        if settings.smtp_host and emails and kind in ("initial", "update", "recovered"):
            subject = f"[LVS] {row.host.name} {row.situation.id.value}"
            results.append(await sending.MailSender(settings).send(emails, subject, text,
                                                                   confirmed=True))
        for r in results:
            if self.incidents is not None:
                try:
                    sending.record_sent(self.incidents, row.host.name, kind, text, r)
                except Exception as exc:
                    self.note = f"incident log: {exc}"[:200]
        return "; ".join(f"{r.channel}: {r.detail}" for r in results) or "nothing to send to"
