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
import getpass
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from lvs_tui.board import Board, HostRow
from lvs_tui.config import Config
from lvs_tui.duty_state import (
    DutyEvent,
    DutyInputError,
    DutyState,
    HostMark,
    Silence,
    Weekly,
    Window,
    check_reason,
    check_span,
    flapping,
    fold,
    overlapping,
    resolve_hosts,
    silence_target,
)
from lvs_tui.guidance import Confirmation, Guidance
from lvs_tui.state import SourceState, SourceStatus, StateStore
from lvs_tui.timeline import DUTY_KINDS, EventKind

if TYPE_CHECKING:  # imported lazily at run time: either may fail to load and be left out
    from lvs_tui.feed import ChangeFeed
    from lvs_tui.incidents import Claim, DutyLog, Event
    from lvs_tui.runbook import Runbook
    from lvs_tui.sending import SendResult
    from lvs_tui.texts import TextContext

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
    def __init__(self, cfg: Config, incidents: DutyLog | None = None,
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
        # The duty's own state, folded from the log's events (caught up every board, so a
        # window added from the CLI or another console shows within a second or two).
        self._duty = DutyState()
        self._duty_seen = 0  # id of the last duty event folded
        self._in_maintenance: dict[str, Window] = {}
        self._changes: dict[str, deque[float]] = {}  # host -> times it went ok <-> trouble
        self._troubled: dict[str, bool] = {}
        self._flapping: set[str] = set()
        self._started: dict[str, float] = {}  # host -> start of its open incident
        self._earlier: dict[str, list[float]] = {}  # host -> starts of closed incidents
        self._routes: dict[str, str] = {}  # address -> this terminal's source toward it
        self._degraded = False
        self._feed: ChangeFeed | None = None
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
            recent = max(1, self.cfg.notice.recurrence_days) * 86400.0
            for inc in self.incidents.incidents(since=time.time() - recent):
                if inc.is_open:
                    self._started[inc.host] = inc.started
                else:
                    self._earlier.setdefault(inc.host, []).append(inc.started)
            self.catch_up()
        except Exception as exc:
            self._trouble(exc, None)

    def close(self) -> None:
        """Wait for the writes still queued (they were confirmed on screen), then stop."""
        if self._feed is not None:
            self._feed.stop()
        self._writer.shutdown(wait=True)

    def follow(self, wake: Callable[[], None]) -> None:
        """Follow what other consoles (and the CLI) write, on a thread of its own: woken by
        the shared log's NOTIFY (a local file is polled every second). Their confirmations
        and notes, acknowledgements, windows and action outputs reach this console's memory;
        `wake` asks for a new board at once."""
        if self.incidents is None or self._feed is not None:
            return
        from lvs_tui.feed import ChangeFeed

        def on_events(events: tuple[Event, ...]) -> None:
            self._on_changes(events)
            wake()

        self._feed = ChangeFeed(self.incidents, on_events, poll=1.0)
        self._feed.start()

    def _on_changes(self, events: tuple[Event, ...]) -> None:
        if any(e.kind in DUTY_KINDS for e in events):
            self.catch_up()
        with self._lock:
            for e in events:
                if e.kind is EventKind.CONFIRMED and e.incident is not None \
                        and e.incident == self.incident_of(e.host):
                    mine = self._confirmed.get(e.host, ())
                    if not any(c.name == e.name and c.t == e.t for c in mine):
                        self._confirmed[e.host] = (*mine, _confirmation(e))
                elif e.kind is EventKind.ACTION and any(e.name == a for a, _ in ATTACHED):
                    self._actions[(e.host, e.name)] = e.detail

    # -- the log's health ------------------------------------------------------------------
    def _trouble(self, exc: BaseException, now: float | None) -> None:
        self.log_trouble = f"incident log: {exc}".splitlines()[0][:200]
        if self.store is not None and now is not None:
            self.store.set_source(SourceStatus(LOG_SOURCE, SourceState.DOWN, now,
                                               self.log_trouble[:80]))

    def _fine(self, now: float, back: bool = False) -> None:
        """A write went through: the log is fine again if it was not (`back`: the shared
        log's server is back and the journal replayed)."""
        if self.log_trouble or back:
            self.log_trouble = ""
            if self.store is not None:
                self.store.set_source(SourceStatus(LOG_SOURCE, SourceState.OK, now,
                                                   last_ok=now))

    async def _write(self, now: float, write: Callable[[DutyLog], T]) -> T | None:
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
        """Feed the incident log (called in the evaluation thread, never the UI's).

        A host in a maintenance window opens no incident and changes none; when the window
        ends and the host is still in trouble, the incident opens at once, saying so. A
        flapping host keeps its one incident open across its bounces."""
        log = self.incidents
        now = board.now
        tz = self.cfg.duty.tz
        try:
            if log is not None:
                self.catch_up()
                if not self._retired:  # once: incidents of hosts that left the config close
                    self._retired = True
                    for e in log.retire(frozenset(h.name for h in self.cfg.fleet.hosts), now):
                        self._follow(e)
            wrote = False
            for row in board.rows:
                s = row.situation
                host = s.host
                self._track_flapping(host, s.is_problem, now)
                note: dict[str, object] | None = None
                window = self._duty.maintenance(host, now, tz)
                if window is not None:
                    self._in_maintenance[host] = window
                    if s.is_problem:
                        continue
                elif host in self._in_maintenance:
                    ended = self._in_maintenance.pop(host)
                    note = {"after_maintenance": ended.id, "maintenance_reason": ended.reason}
                if s.is_problem:
                    self.prepare(row)
                if host in self._flapping and not s.is_problem:
                    continue
                if log is None:
                    continue
                event = log.observe(s, now, note)
                if event is not None:
                    wrote = True
                    self._follow(event)
        except Exception as exc:
            self._trouble(exc, now)
            return
        if getattr(log, "degraded", False):  # the shared log's server away: journaling
            why = getattr(log, "trouble", "") or "journaling locally"
            self._degraded = True
            if self.store is not None:
                self.store.set_source(SourceStatus(LOG_SOURCE, SourceState.DEGRADED, now,
                                                   f"shared log offline, journaling: {why}"[:80]))
            return
        if wrote or self._degraded:  # a board that changed nothing proves nothing
            self._fine(now, back=self._degraded)
            self._degraded = False

    def prepare(self, row: HostRow) -> None:
        """Look up what `context` needs from the system for this host (blocking: the CLI,
        or the evaluation thread): this terminal's source toward its addresses."""
        self._route(row.situation.down_addresses or (row.host.internal, row.host.external))

    def _route(self, addresses: tuple[str, ...]) -> None:
        """This terminal's source address toward each (a kernel route lookup: no packet is
        sent), for the network handoff; looked up here, off the UI thread, once each."""
        from lvs_tui.probes.route import source_address

        for a in addresses:
            if a not in self._routes:
                self._routes[a] = source_address(a) or ""

    def _track_flapping(self, host: str, trouble: bool, now: float) -> None:
        duty = self.cfg.duty
        was = self._troubled.get(host)
        self._troubled[host] = trouble
        changes = self._changes.get(host)
        if was is not None and was != trouble:
            changes = self._changes.setdefault(host, deque(maxlen=duty.flap_changes * 4))
            changes.append(now)
        if changes is None:
            return
        flaps = flapping(changes, now, duty.flap_window, duty.flap_changes,
                         host in self._flapping)
        if flaps != (host in self._flapping):
            (self._flapping.add if flaps else self._flapping.discard)(host)
            if self.incidents is not None:
                self.incidents.record(host, now, EventKind.FLAPPING,
                                      "start" if flaps else "stop")
        if not flaps and not changes:
            del self._changes[host]

    def catch_up(self) -> None:
        """Fold the duty events written since the last call (by anyone: this console, the
        CLI, another console on the same log). Not on the UI thread: it reads the log."""
        if self.incidents is None:
            return
        events = self.incidents.duty_events(self._duty_seen)
        if events:
            self._apply(events)

    def _apply(self, events: tuple[Event, ...]) -> None:
        with self._lock:
            self._duty = fold((duty_event(e) for e in events), self._duty)
            self._duty_seen = max(self._duty_seen, *(e.id for e in events))

    @property
    def duty_state(self) -> DutyState:
        return self._duty

    def flapping(self, host: str) -> bool:
        return host in self._flapping

    def mark(self, board: Board) -> Board:
        """The board with each host's acknowledgement, maintenance and flapping (evaluation
        thread: the fleet table's lines are drawn from it there)."""
        tz = self.cfg.duty.tz
        state = self._duty
        marks: dict[str, HostMark] = {}
        for row in board.rows:
            host = row.host.name
            window = state.maintenance(host, board.now, tz)
            incident = self.incident_of(host)
            ack = stale = None
            given = state.acks.get(host)
            if given is not None and row.situation.is_problem and given.incident == incident:
                ack = state.ack(host, incident, int(row.situation.severity))
                stale = given if ack is None else None
            flaps = host in self._flapping
            if window or ack or stale or flaps:
                span = window.span(board.now, tz) if window else None
                marks[host] = HostMark(ack, stale, window, span[1] if span else None, flaps)
        return replace(board, marks=marks)

    def silenced(self, now: float) -> tuple[dict[str, str], bool]:
        """(vantage id -> reason, whether the 5666 page is silenced) at `now`."""
        state = self._duty
        return state.silenced_vantages(now), state.alert_page_silenced(now) is not None

    def incident_of(self, host: str) -> int | None:
        """The host's open incident (memory: safe on the UI thread)."""
        if self.incidents is not None:
            return self.incidents.open_incident_id(host)
        return self._incident_of.get(host)

    @property
    def operator(self) -> str:
        if self.cfg.duty.operator:
            return self.cfg.duty.operator
        try:
            return getpass.getuser()
        except Exception:  # no login name in this environment
            return "值班"

    # -- acknowledgements, maintenance, silences -------------------------------------------
    async def acknowledge(self, row: HostRow, now: float, note: str = "") -> str:
        """`a`: the operator is on the host's incident. Returns what to tell the operator."""
        host = row.host.name
        if not row.situation.is_problem or (self.incident_of(host) is None and \
                self.incidents is not None):
            return f"{host}: no open incident to acknowledge"
        s = row.situation
        data: dict[str, object] = {"who": self.operator, "severity": int(s.severity)}
        await self._duty_write(host, now, "ack", s.id.value, " ".join(note.split()), data)
        return f"{host}: acknowledged by {self.operator}"

    async def unacknowledge(self, host: str, now: float) -> str:
        if host not in self._duty.acks:
            return f"{host}: not acknowledged"
        await self._duty_write(host, now, "unack", "", "", {"who": self.operator})
        return f"{host}: acknowledgement taken back"

    def add_window(self, target: str, now: float, *, seconds: float | None = None,
                   until: float | None = None, weekly: str = "", reason: str = ""
                   ) -> Window:
        """Check and write a maintenance window (blocking: the CLI, or a worker's thread).
        Raises DutyInputError with one line; nothing is written then."""
        hosts = resolve_hosts(target, self.cfg.fleet)
        why = check_reason(reason)
        routine = Weekly.parse(weekly) if weekly else None
        if routine is None and seconds is None and until is None:
            raise DutyInputError("an end is required: --for 2h or --until '2026-12-07 06:00'")
        end = until if until is not None else (now + seconds if seconds is not None else None)
        if end is not None:
            check_span(now, end, now, "--until" if until is not None else "--for",
                       self.cfg.duty.tz)
        if routine is not None and routine.length > 7 * 86400:
            raise DutyInputError(f"--weekly {weekly!r}: at most 7 days")
        self.catch_up()
        clash = overlapping(self._duty.windows, hosts, now, end, routine, now,
                            self.cfg.duty.tz)
        if clash is not None:
            raise DutyInputError(f"{target}: overlaps maintenance window {clash.id} on "
                                 f"{clash.target} ({clash.reason})")
        wid = "m" + uuid.uuid4().hex[:6]
        data: dict[str, object] = {"target": target, "hosts": sorted(hosts), "start": now,
                                   "end": end, "weekly": weekly, "who": self.operator}
        self._duty_write_now(self._host_key(hosts), now, "maintenance", wid, why, data)
        return next(w for w in self._duty.windows if w.id == wid)

    def end_window(self, wid: str, now: float) -> Window:
        self.catch_up()
        w = next((w for w in self._duty.windows if w.id == wid), None)
        if w is None or w.ended is not None or (w.end is not None and w.end <= now):
            raise DutyInputError(f"maintenance window {wid!r}: no such window in force")
        self._duty_write_now(self._host_key(w.hosts), now, "maintenance_end", wid, "",
                             {"who": self.operator})
        return w

    def add_silence(self, target: str, now: float, *, seconds: float | None = None,
                    until: float | None = None, reason: str = "") -> Silence:
        fleet = self.cfg.fleet
        vantages = [(v.id, v.name, fleet.idc(v.idc).carrier if v.idc else "")
                    for v in self.cfg.vantages]
        ids, page = silence_target(target, vantages)
        why = check_reason(reason)
        end = until if until is not None else (now + seconds if seconds is not None else None)
        if end is None:
            raise DutyInputError("an end is required: --for 2h or --until '2026-12-07 06:00'")
        check_span(now, end, now, "--until" if until is not None else "--for",
                       self.cfg.duty.tz)
        sid = "s" + uuid.uuid4().hex[:6]
        data: dict[str, object] = {"target": target, "vantages": sorted(ids),
                                   "alert_page": page, "start": now, "end": end,
                                   "who": self.operator}
        self._duty_write_now("", now, "silence", sid, why, data)
        return next(s for s in self._duty.silences if s.id == sid)

    def end_silence(self, sid: str, now: float) -> Silence:
        self.catch_up()
        s = next((s for s in self._duty.silences if s.id == sid), None)
        if s is None or not s.active(now):
            raise DutyInputError(f"silence {sid!r}: no such silence in force")
        self._duty_write_now("", now, "silence_end", sid, "", {"who": self.operator})
        return s

    async def add_window_async(self, target: str, now: float, *,
                               seconds: float | None = None, until: float | None = None,
                               reason: str = "") -> Window:
        """`m` in the dashboard: the same checks and write, on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, lambda: self.add_window(
            target, now, seconds=seconds, until=until, reason=reason))

    @staticmethod
    def _host_key(hosts: frozenset[str]) -> str:
        """A window on one host is that host's event (its timeline shows it); others are
        the fleet's."""
        return next(iter(hosts)) if len(hosts) == 1 else ""

    async def _duty_write(self, host: str, now: float, kind: str, name: str, detail: str,
                          data: dict[str, object]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer, self._duty_write_now, host, now, kind,
                                       name, detail, data)
        except Exception as exc:
            self._trouble(exc, now)

    def _duty_write_now(self, host: str, now: float, kind: str, name: str, detail: str,
                        data: dict[str, object]) -> None:
        """Write one duty event and fold it at once (without a log: memory only)."""
        if self.incidents is None:
            fake = DutyEvent(kind, host, self._incident_of.get(host), now, name, detail, data)
            with self._lock:
                self._duty = fold((fake,), self._duty)
            return
        event = self.incidents.record(host, now, EventKind(kind), name, detail, data)
        with self._lock:  # folded at once; catch_up reads it again (folding is idempotent)
            self._duty = fold((duty_event(event),), self._duty)

    def _follow(self, event: Event) -> None:
        """An incident opened, was joined or closed: its confirmations are the new ones."""
        host = event.host
        if event.kind in (EventKind.RECOVERED, EventKind.RETIRED):
            with self._lock:
                self._incident_of[host] = None
                self._confirmed[host] = ()
                if host in self._started:
                    self._earlier.setdefault(host, []).append(self._started.pop(host))
            return
        if event.kind is EventKind.OPENED or host not in self._started:
            inc = self.incidents.open_incident(host) if self.incidents else None
            if inc is not None:
                self._started[host] = inc.started
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
        asked = self.runbook.note_prompt(confirmation) if self.runbook else ""
        return f"{asked}（一行，可空；回车跳过）" if asked else NOTE_PROMPT

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
        labels = dict(self.runbook.confirmations)
        window = self._duty.maintenance(row.host.name, now, self.cfg.duty.tz)
        if window is not None:  # planned work: no step to walk, nobody to call, no notice
            return Guidance(row.host.name, note=f"in maintenance ({window.id}): no runbook "
                            "step, no notice until the window ends", labels=labels)
        offered = self._offered(row, now, kinds)
        current = next((k for k in p.texts if k in offered), None)
        if current is None and row.situation.is_problem and "initial" in offered:
            current = "initial"
        first = [current] if current else []
        return Guidance(row.host.name, p, current, labels=labels,
                        kinds=tuple(dict.fromkeys([*first, *offered])))

    def _offered(self, row: HostRow, now: float, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """The kinds that may be written now: not a recovered notice for a host still down,
        not an update with no progress to tell."""
        from lvs_tui import texts

        try:
            ctx = self.context(row, now)
        except ValueError:
            return kinds
        return tuple(k for k in kinds if not texts.refusal(k, ctx))

    def context(self, row: HostRow, now: float) -> TextContext:
        """Every fact a text may say of this host now, from memory (safe on the UI thread):
        the operator's notes, the incident's start, earlier incidents, attachments, routes."""
        from lvs_tui import texts

        if self.runbook is None:
            raise ValueError(self.note or "runbook not loaded")
        host = row.host.name
        down = row.situation.down_addresses or (row.host.internal, row.host.external)
        return texts.context(
            self.cfg, row.situation, row.host, self.confirmations(host), now,
            runbook=self.runbook, notes=self.notes(host),
            earlier=tuple(self._earlier.get(host, ())), first_seen=self._started.get(host),
            traceroute=self.handoff_attachments(host), signals=row.signals,
            sources=tuple(dict.fromkeys(r for a in down if (r := self._routes.get(a)))))

    def text(self, row: HostRow, kind: str, now: float) -> str:
        """A generated text; raises ValueError with a one-line reason when it cannot be made
        (or must not be: a recovered notice for a host still down)."""
        try:
            from lvs_tui import texts

            return texts.render(kind, self.context(row, now))
        except Exception as exc:
            raise ValueError(f"cannot generate the {kind} text: {exc}") from None

    def missing(self, row: HostRow, kind: str, now: float) -> tuple[str, ...]:
        """The fields `kind` still names as missing (借用时间、库存位置…): said on copy."""
        try:
            from lvs_tui import texts

            return texts.missing_fields(kind, self.context(row, now))
        except Exception:
            return ()

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
        """Send a confirmed text: the admins' email by mail (its own subject line), every
        other text to the group robot. Off unless [sending] enabled; one console sends a
        notice (claimed in the log first); every attempt is recorded in the timeline."""
        settings = self.cfg.sending
        if not settings.enabled:
            return "sending is off: set [sending] enabled = true (see docs/config.md)"
        from lvs_tui import sending

        claimed = await self._claim(row.host.name, kind, now)
        if claimed:
            return claimed
        results = []
        if kind == "email":
            emails = sending.admin_emails(self.cfg.fleet, row.host)
            subject, body = email_parts(text, row)
            if settings.smtp_host and emails:
                results.append(await sending.MailSender(settings).send(emails, subject, body,
                                                                       confirmed=True))
        elif settings.webhook_url_env or settings.webhook_url_file:
            results.append(await sending.WebhookSender(settings).send(text, confirmed=True))
        for r in results:
            await self._write(now, _sent(row.host.name, kind, text, r))
        return "; ".join(f"{r.channel}: {r.detail}" for r in results) or "nothing to send to"

    async def _claim(self, host: str, kind: str, now: float) -> str:
        """Claim (incident, kind, n-th send) in the log: "" when this console sends it, else
        who already did. A log that cannot answer does not stop the send (said)."""
        log = self.incidents
        incident = self.incident_of(host)
        if log is None or incident is None:
            return ""

        def claim() -> Claim | None:
            assert log is not None and incident is not None
            sent = sum(1 for e in log.timeline(incident) if e.kind is EventKind.TEXT
                       and e.name == kind and (e.data or {}).get("how") == "sent")
            return log.claim_send(incident, kind, sent + 1, self.console, self.operator, now)

        loop = asyncio.get_running_loop()
        try:
            got = await loop.run_in_executor(self._writer, claim)
        except Exception as exc:  # offline: better sent twice than not at all
            self._trouble(exc, now)
            return ""
        if got is None:
            return ""
        at = datetime.fromtimestamp(got.t, self.cfg.duty.tz).strftime("%H:%M")
        return f"not sent: {got.who} ({got.console}) already sent this {kind} text at {at}"

    @property
    def console(self) -> str:
        return str(getattr(self.incidents, "console", "") or socket.gethostname())

def email_parts(text: str, row: HostRow) -> tuple[str, str]:
    """The email text's first line `主题：…` is its subject; the rest its body."""
    first, _, rest = text.partition("\n")
    for mark in ("主题：", "主题:", "Subject:"):
        if first.startswith(mark):
            return first[len(mark):].strip(), rest.lstrip("\n")
    return f"【LVS】{row.host.name}", text


def _sent(host: str, kind: str, text: str, result: SendResult
          ) -> Callable[[DutyLog], Event | None]:
    from lvs_tui.sending import record_sent

    return lambda log: record_sent(log, host, kind, text, result)


def duty_event(e: Event) -> DutyEvent:
    return DutyEvent(e.kind.value, e.host, e.incident, e.t, e.name, e.detail, e.data or {})


def _confirmation(e: Event) -> Confirmation:
    return Confirmation(e.name, e.t, e.detail)
