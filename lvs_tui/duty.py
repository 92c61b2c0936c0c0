"""The duty service: runbook, texts, incident log and duty actions behind the screens.

No Textual here. The screens ask it for guidance and texts, and hand it what the operator
did (confirmations with their notes, texts copied or sent, actions run); it keeps what the
runbook and the texts need in memory and writes it through to the incident log on a thread
of its own, so the UI thread never waits on SQLite, a subprocess or the network.

Everything is optional at run time: a runbook that fails to load leaves the side pane saying
"runbook not loaded" with the reason; an incident log that cannot be opened or written keeps
what was done in memory, and a failed write shows in the header as the log in trouble.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from lvs_tui.board import Board, HostRow
from lvs_tui.config import Config
from lvs_tui.guidance import Confirmation, Guidance
from lvs_tui.state import SourceState, SourceStatus, StateStore

if TYPE_CHECKING:  # imported lazily at run time: either may fail to load and be left out
    from lvs_tui.incidents import Event, IncidentLog
    from lvs_tui.runbook import Runbook
    from lvs_tui.sending import SendResult

T = TypeVar("T")
NOTE_PROMPT = "备注（一行，写进事件记录和之后的通报；可空，回车跳过）"
LOG_SOURCE = "log"  # the incident log's name among the header's sources
# Actions whose newest output the network handoff attaches, with its heading.
ATTACHED = (("traceroute", ""), ("diagnostics", "远程诊断："))


def text_kinds() -> tuple[str, ...]:
    """Every text kind, in the order the host view offers them."""
    from lvs_tui.texts import TextKind

    return tuple(k.value for k in TextKind)


class DutyDesk:
    def __init__(self, cfg: Config, incidents: IncidentLog | None = None,
                 runbook: Runbook | None = None, live: bool = False,
                 store: StateStore | None = None) -> None:
        self.cfg = cfg
        self.incidents = incidents
        # Actions send packets only when live (the real dashboard); the demo's and the tests'
        # addresses are simulated, so nothing is ever sent to them.
        self.live = live
        self.store = store  # where login results go, and the log's health for the header
        self.note = ""
        self.log_trouble = ""  # the last failed write to the log, until one succeeds
        self.runbook = runbook if runbook is not None else self._load_runbook()
        self._lock = threading.Lock()
        # What the runbook and the texts read, kept here so the UI never queries the log:
        self._confirmed: dict[str, tuple[Confirmation, ...]] = {}
        self._incident_of: dict[str, int | None] = {}
        self._actions: dict[tuple[str, str], str] = {}  # (host, action) -> newest output
        # One writer thread: the log's writes stay in the order the operator made them.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvs-log")
        self._retired = False
        self._load()

    def _load_runbook(self) -> Runbook | None:
        try:
            from lvs_tui.runbook import load_runbook

            return load_runbook(self.cfg.runbook)
        except Exception as exc:  # a broken runbook file must not stop the console
            self.note = f"runbook not loaded: {exc}".splitlines()[0][:200]
            return None

    def _load(self) -> None:
        """What the log already holds: the open incidents' confirmations (the console resumes
        at the step it was on) and the newest traceroute and diagnostics of each host."""
        if self.incidents is None:
            return
        try:
            confirmed: dict[str, list[Confirmation]] = {}
            for e in self.incidents.confirmation_events():
                confirmed.setdefault(e.host, []).append(_confirmation(e))
                self._incident_of[e.host] = e.incident
            self._confirmed = {h: tuple(cs) for h, cs in confirmed.items()}
            found = self.incidents.last_actions(tuple(a for a, _ in ATTACHED))
            self._actions = {k: e.detail for k, e in found.items()}
        except Exception as exc:
            self._trouble(exc, None)

    def close(self) -> None:
        """Wait for the writes still queued (they were confirmed on screen), then stop."""
        self._writer.shutdown(wait=True)

    # -- the log's health ------------------------------------------------------------------
    def _trouble(self, exc: BaseException, now: float | None) -> None:
        self.log_trouble = f"incident log: {exc}".splitlines()[0][:200]
        if self.store is not None and now is not None:
            self.store.set_source(SourceStatus(LOG_SOURCE, SourceState.DOWN, now,
                                               self.log_trouble[:80]))

    def _fine(self, now: float) -> None:
        if self.log_trouble:
            self.log_trouble = ""
            if self.store is not None:
                self.store.set_source(SourceStatus(LOG_SOURCE, SourceState.OK, now,
                                                   last_ok=now))

    async def _write(self, now: float, write: Callable[[IncidentLog], T]) -> T | None:
        """Run one write on the writer thread; a failure is shown, never raised to the UI."""
        log = self.incidents
        if log is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._writer, write, log)
        except Exception as exc:
            self._trouble(exc, now)
            return None
        self._fine(now)
        return result

    # -- incident log ----------------------------------------------------------------------
    def observe(self, board: Board) -> None:
        """Feed the incident log (called in the evaluation thread, never the UI's)."""
        log = self.incidents
        if log is None:
            return
        try:
            if not self._retired:  # once: incidents of hosts that left the config close
                self._retired = True
                for e in log.retire(frozenset(h.name for h in self.cfg.fleet.hosts),
                                    board.now):
                    self._follow(e)
            wrote = False
            for row in board.rows:
                event = log.observe(row.situation, board.now)
                if event is not None:
                    wrote = True
                    self._follow(event)
        except Exception as exc:
            self._trouble(exc, board.now)
            return
        if wrote:  # a board that changed nothing proves nothing about the log
            self._fine(board.now)

    def _follow(self, event: Event) -> None:
        """An incident opened, was joined or closed: its confirmations are the new ones."""
        from lvs_tui.incidents import EventKind

        host = event.host
        if event.kind in (EventKind.RECOVERED, EventKind.RETIRED):
            with self._lock:
                self._incident_of[host] = None
                self._confirmed[host] = ()
            return
        if self._incident_of.get(host) == event.incident:
            return
        assert self.incidents is not None
        fresh = tuple(_confirmation(e) for e in self.incidents.confirmation_events(host))
        with self._lock:
            self._incident_of[host] = event.incident
            self._confirmed[host] = fresh

    def confirmations(self, host: str) -> tuple[tuple[str, float], ...]:
        """(name, time) of what the operator confirmed on the host's incident: the runbook's
        input. From memory: safe on the UI thread."""
        return tuple((c.name, c.t) for c in self._confirmed.get(host, ()))

    def notes(self, host: str) -> dict[str, str]:
        """Confirmation -> the operator's newest note on it (what people said)."""
        return {c.name: c.note for c in self._confirmed.get(host, ()) if c.note}

    def confirmation_notes(self, host: str) -> tuple[Confirmation, ...]:
        return self._confirmed.get(host, ())

    async def confirm(self, host: str, name: str, now: float, note: str = "") -> None:
        """Record a confirmation (and its note); returns once it is durable in the log, or
        kept in memory when the log cannot take it (the header then says so)."""
        note = " ".join(note.split())
        event = await self._write(now, lambda log: log.confirm(host, name, now, note))
        with self._lock:
            if event is not None and event.incident != self._incident_of.get(host):
                self._incident_of[host] = event.incident
                self._confirmed[host] = ()
            self._confirmed[host] = (*self._confirmed.get(host, ()),
                                     Confirmation(name, now, note))

    async def record_text(self, host: str, kind: str, text: str, how: str,
                          now: float) -> None:
        await self._write(now, lambda log: log.record_text(host, kind, text, how, now))

    async def record_action(self, host: str, action: str, output: str, now: float,
                            ok: bool | None = None) -> None:
        if any(action == a for a, _ in ATTACHED):
            self._actions[(host, action)] = output
        await self._write(now, lambda log: log.record_action(host, action, output, now, ok))

    # -- runbook and texts -----------------------------------------------------------------
    def note_prompt(self, confirmation: str) -> str:
        """What the note asked with a confirmation is for (the runbook's own question)."""
        return NOTE_PROMPT

    def guide(self, row: HostRow, now: float) -> Guidance:
        kinds = text_kinds()
        if self.runbook is None:
            return Guidance(row.host.name, note=self.note or "runbook not loaded", kinds=kinds)
        from lvs_tui.runbook import plan

        try:
            p = plan(self.runbook, row.situation, row.host, self.cfg,
                     self.confirmations(row.host.name), now)
        except Exception as exc:
            return Guidance(row.host.name, note=f"runbook error: {exc}"[:200], kinds=kinds)
        current = p.texts[0] if p.texts else ("initial" if row.situation.is_problem else None)
        first = [current] if current else []
        return Guidance(row.host.name, p, current, labels=dict(self.runbook.confirmations),
                        kinds=tuple(dict.fromkeys([*first, *kinds])))

    def text(self, row: HostRow, kind: str, now: float) -> str:
        """A generated text; raises ValueError with a one-line reason when it cannot be made."""
        if self.runbook is None:
            raise ValueError(f"cannot generate the {kind} text: {self.note or 'no runbook'}")
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

    def handoff_attachments(self, host: str) -> str:
        """The newest traceroute and diagnostics output, for the network handoff text."""
        return "\n".join(title + out for action, title in ATTACHED
                         if (out := self._actions.get((host, action))))

    # -- duty actions (run from the host view in a worker; never in a widget) -------------
    async def diagnose(self, row: HostRow, now: float) -> str:
        """`d`: remote diagnostics over ssh through the jump host; recorded in the timeline."""
        if not self.live:
            out = f"演示模式：未对模拟主机 {row.host.name} 执行远程诊断（实际会经通道机 ssh 检查" \
                  "链路、地址、路由、网关、ipvsadm、keepalived）"
            await self.record_action(row.host.name, "diagnostics", out, now, None)
            return out
        from lvs_tui import actions

        try:
            result = await actions.diagnostics(actions.ssh_options(self.cfg), row.host,
                                               self.cfg.duty.diagnostics_timeout)
        except actions.ActionError as exc:
            return f"diagnostics: {exc}"
        await self.record_action(row.host.name, "diagnostics", result.text, now,
                                 result.result.ok)
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
            await self.record_action(row.host.name, "traceroute", out, now, None)
            return out
        from lvs_tui import actions
        from lvs_tui.probes.traceroute import traceroute

        trace = await traceroute(target, timeout=30.0)
        outputs = [f"本地 → {target}:\n{trace.text}"]
        try:
            opts = actions.ssh_options(self.cfg)
            for v in actions.remote_vantages(self.cfg):
                r = await actions.remote_traceroute(opts, v, target)
                outputs.append(f"{v.name} → {target}:\n{r.text}")
        except actions.ActionError as exc:
            outputs.append(f"remote traceroute: {exc}")
        out = "\n".join(outputs)
        await self.record_action(row.host.name, "traceroute", out, now, trace.complete)
        return out

    def snapshot_age(self, host: str, now: float) -> str:
        """Age of the newest network-config snapshot (reads a directory: call from a thread)."""
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
            await self._write(now, _sent(row.host.name, kind, text, r))
        return "; ".join(f"{r.channel}: {r.detail}" for r in results) or "nothing to send to"


def _sent(host: str, kind: str, text: str, result: SendResult
          ) -> Callable[[IncidentLog], Event | None]:
    from lvs_tui.sending import record_sent

    return lambda log: record_sent(log, host, kind, text, result)


def _confirmation(e: Event) -> Confirmation:
    return Confirmation(e.name, e.t, e.detail)
