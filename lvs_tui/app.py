"""The dashboard app: sources feed the store, a worker evaluates the board, screens draw it.

Data flows one way: sources (workers, exit_on_error=False) -> StateStore -> `evaluate` in a
thread when the store changed -> screens. A source that crashes is marked down and restarted;
the evaluation adapts its pace to its own cost so the console stays responsive at any fleet
size. The UI itself never does I/O besides the clipboard and the incident log.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerState

from lvs_tui import heap
from lvs_tui.board import Board, EvalMemo, HostRow, evaluate
from lvs_tui.clipboard import CopyResult, copy_out, osc52_supported
from lvs_tui.config import Config, keymap_errors
from lvs_tui.duty import DutyDesk
from lvs_tui.probes import Source
from lvs_tui.state import SourceState, SourceStatus, StateStore
from lvs_tui.widgets.fleet_table import FleetLine
from lvs_tui.widgets.host_charts import ChartPlan, prepare_charts
from lvs_tui.widgets.keys import (
    DEFAULT_KEY,
    KEY_IDS,
    KEYS,
    Key,
    Where,
    bindings,
    help_rows,
    key_display,
    palette_keys,
)
from lvs_tui.widgets.lines import LineCache, fleet_lines
from lvs_tui.widgets.theming import (
    DEFAULTS,
    THEMES,
    ThemeError,
    load_theme,
    shipped_themes,
    theme_name,
)

if TYPE_CHECKING:
    from lvs_tui.screens.main import MainScreen

BELL_EVERY = 60.0  # seconds: at most one bell a minute, however many hosts turn red
EVAL_PACE = 6.0  # wait this many times the last evaluation's CPU time before the next one
IDLE_EVERY = 2.0  # re-evaluate this often even without new data: staleness is time
# Keyboard first: for this long after a key or a click no evaluation starts, a running one
# waits between its stages, and a finished board waits before it lands, so the operator's
# keys get the whole interpreter and rows do not re-sort under the cursor mid-gesture.
INPUT_QUIET = 0.4
BOARD_HOLD_MAX = 1.0  # but never hold a board (or an evaluation stage) longer than this


def check_keys(keys: dict[str, str]) -> list[str]:
    """One line per binding of the config's [keys] the console cannot use (config's rules)."""
    return keymap_errors(keys, dict(DEFAULT_KEY))


@runtime_checkable
class RefreshableScreen(Protocol):
    """A screen that redraws itself from the app's newest view (a new board landed)."""

    def refresh_view(self) -> None: ...


@dataclass(frozen=True, slots=True)
class View:
    board: Board
    lines: tuple[FleetLine, ...]
    cost: float  # seconds the evaluation took


class FleetCommands(Provider):
    """The command palette: jump to a host or VIP, and every action."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        assert isinstance(app, LvsApp)
        return app.palette_entries()

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            if not title.startswith(("host ", "VIP ")):
                yield DiscoveryHit(title, callback, help=help_text)


class LvsApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "lvs-tui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {FleetCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings(Where.APP)

    def __init__(self, config: Config, sources: Sequence[Source] = (),
                 store: StateStore | None = None, clock: Callable[[], float] = time.time,
                 desk: DutyDesk | None = None, theme: str | None = None,
                 bell: bool | None = None, state_dir: Path | None = None,
                 eval_every: float = 1.0) -> None:
        super().__init__()
        self.cfg = config
        self.sources = tuple(sources)
        self.store = store if store is not None else StateStore()
        self._eval_memo = EvalMemo()  # what did not change since the last evaluation
        self.clock = clock
        self.desk = desk if desk is not None else DutyDesk(config)
        # Login results of ssh actions are diagnosis signals; the log's health is a source.
        self.desk.store = self.store
        self.theme_choice = theme or config.duty.theme
        # The config's remapped keys, set at mount: the keymap Textual applies, and the one
        # the help screen, the side pane and the palette show.
        self.keymap: dict[str, str] = {}
        self.bell_on = config.duty.bell if bell is None else bell
        self.state_dir = state_dir
        self.eval_every = eval_every
        self.view: View | None = None
        self._line_cache = LineCache()  # fleet-table cells reused between boards
        self.paused = False
        self.eval_error = ""
        self.last_copy: CopyResult | None = None
        self._evaluating = False
        self._version = -1
        self._evaluated_at = 0.0
        self._next_eval = 0.0
        # A settled change (store.confirmed moved: a host confirmed down or up again) is
        # evaluated at the next tick, not after eval_every; EVAL_PACE still bounds the CPU.
        self._paced_until = 0.0
        self._confirmed = 0
        self._last_input = -INPUT_QUIET  # monotonic time of the last key or click
        self._red: frozenset[str] = frozenset()
        self._rung_at: dict[str, float] = {}  # host -> board time of its last bell
        self._alerted: dict[str, float] = {}  # red host -> board time of its last alert
        self._overdue: set[str] = set()  # red past ack_timeout, not acknowledged
        self.unacked: tuple[str, ...] = ()  # shown in the header as a line of its own
        self._last_bell = -BELL_EVERY
        self._source_workers: dict[Worker, Source] = {}
        self._boards = asyncio.Event()
        self._charts_due: float | None = None  # monotonic time to build the cursor's charts
        self._charts_wanted: tuple[ChartPlan, float] | None = None  # (plan, board time)
        self._charts_ready: tuple[ChartPlan, float] | None = None
        self._charts_queued = False
        # One long-lived evaluation thread: a pool of short-lived ones gives each its own
        # malloc arena and the resident size creeps up over days.
        self._eval_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvs-eval")
        self.bells = 0  # rung so far (tests and the benchmark read it)
        self._heap_saved: heap.Saved | None = None
        self.heap_rounds = 0  # scheduled garbage collections so far

    # -- life cycle ------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULTS)

    def on_mount(self) -> None:
        from lvs_tui.screens.main import MainScreen

        for t in shipped_themes():
            self.register_theme(t)
        self.apply_theme(self.theme_choice)
        self.keymap = {k: v for k, v in self.cfg.keys.items() if k in KEY_IDS}
        self.set_keymap(self.keymap)
        for source in self.sources:
            self._start_source(source)
        self.push_screen(MainScreen())
        # Other consoles' (and the CLI's) writes to the same log: a new board at once.
        self.desk.follow(self.refresh_marks)
        self.set_interval(0.25, self._tick)
        self._heap_saved = heap.take_over()
        self.set_interval(heap.COLLECT_EVERY, self._collect_heap)

    def on_unmount(self) -> None:
        self._eval_pool.shutdown(wait=False, cancel_futures=True)
        self.desk.close()  # the log writes still queued were confirmed on screen
        if self._heap_saved is not None:
            heap.give_back(self._heap_saved)

    def _collect_heap(self) -> None:
        if self._typing():  # a collection pauses everything: not under the operator's keys
            self.set_timer(INPUT_QUIET, self._collect_heap)
            return
        heap.collect(self.heap_rounds)
        self.heap_rounds += 1

    def apply_theme(self, choice: str) -> None:
        try:
            t = load_theme(choice)
        except ThemeError as exc:
            self.notify(str(exc), severity="error")
            return
        self.register_theme(t)
        self.theme = t.name
        self.theme_choice = choice
        self._version = -1  # the cells carry colours: redraw them

    def _start_source(self, source: Source) -> None:
        worker = self.run_worker(source.run(self.store), name=f"source:{source.name}",
                                 group="sources", exit_on_error=False)
        self._source_workers[worker] = source

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        source = self._source_workers.get(event.worker)
        if source is None or event.state not in (WorkerState.ERROR, WorkerState.SUCCESS):
            return
        del self._source_workers[event.worker]
        why = event.worker.error or "stopped"
        self.store.set_source(SourceStatus(source.name, SourceState.DOWN, self.clock(),
                                           f"crashed: {why}"[:120]))
        self.set_timer(10.0, lambda: self._start_source(source))  # try again, calmly

    # -- evaluation ------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def _typing(self) -> bool:
        return time.monotonic() - self._last_input < INPUT_QUIET

    def _quiet_keys(self) -> Callable[[], None]:
        """The evaluation's pause point: sleep (the GIL released) while the operator is at
        the keys, at most BOARD_HOLD_MAX in all for one board."""
        budget = [BOARD_HOLD_MAX]

        def pause() -> None:
            while budget[0] > 0 and self._typing():
                time.sleep(0.01)
                budget[0] -= 0.01

        return pause

    def _tick(self) -> None:
        due = self._charts_due
        if due is not None and time.monotonic() >= due and not self._typing():
            self._charts_due = None
            self.prepare_host_charts()
        mono, confirmed = time.monotonic(), self.store.confirmed
        urgent = confirmed != self._confirmed and mono >= self._paced_until
        if self._evaluating or (mono < self._next_eval and not urgent) or self._typing():
            return
        self._confirmed = confirmed
        now = self.clock()
        version = self.store.version
        if version == self._version and now - self._evaluated_at < IDLE_EVERY:
            return
        self._evaluating = True
        self.run_worker(self._evaluate(version, now, self._chart_plan()), group="eval",
                        exit_on_error=False)

    def _chart_plan(self) -> ChartPlan | None:
        """The host view's charts the next board will want: those of the view on screen,
        or of the host under the fleet cursor, which `enter` would open."""
        from lvs_tui.screens.host import INSTALLED, HostScreen

        if not self.is_screen_installed(INSTALLED):
            return None  # never opened: no sizes to build at yet
        view = self.get_screen(INSTALLED, HostScreen)
        if self.screen is view:
            return view.chart_plan()
        main = self.main_screen()
        host = main.table.host_under_cursor() if main is self.screen else None
        return view.chart_plan(host) if host else None

    async def _evaluate(self, version: int, now: float, plan: ChartPlan | None) -> None:
        palette = dict(self.theme_variables)
        started = time.perf_counter()
        cpu = None
        try:
            loop = asyncio.get_running_loop()
            board, lines, cpu = await loop.run_in_executor(self._eval_pool, self._build, now,
                                                           palette, plan)
        except Exception as exc:  # never take the console down: say so in the header
            self.eval_error = f"evaluation failed: {type(exc).__name__}: {exc}"[:160]
            return
        finally:
            self._evaluating = False
            cost = time.perf_counter() - started
            # Never spend more than about a sixth of a core evaluating: a big fleet is
            # evaluated less often rather than making the keyboard sluggish. Paced by the
            # thread's own CPU time: the wall time also counts its waits for the GIL while
            # the UI draws, which paced a big fleet to one board every 3-4 s.
            spent = cost if cpu is None else cpu
            self._next_eval = time.monotonic() + max(self.eval_every, EVAL_PACE * spent)
            self._paced_until = time.monotonic() + EVAL_PACE * spent
        self.eval_error = ""
        self._version, self._evaluated_at = version, now
        held = time.monotonic() + BOARD_HOLD_MAX
        while self._typing() and time.monotonic() < held:
            await asyncio.sleep(0.05)
        self.apply_view(View(board, lines, cost))

    def _build(self, now: float, palette: dict[str, str], plan: ChartPlan | None = None
               ) -> tuple[Board, tuple[FleetLine, ...], float]:
        """The board and its fleet lines, and the CPU time this thread spent on them (and on
        the plan's charts, built into the cache for the host view)."""
        started = time.thread_time()
        pause = self._eval_memo.pause = self._quiet_keys()
        silenced, page_silenced = self.desk.silenced(now)
        board = evaluate(self.cfg, self.store, now, self._eval_memo, silenced, page_silenced)
        pause()
        self.desk.observe(board)
        board = self.desk.mark(board)
        pause()
        lines = fleet_lines(self.cfg, board, self.store, palette, self._line_cache, pause)
        if plan is not None:
            pause()
            self._build_charts(plan, now)
        return board, lines, time.thread_time() - started

    # -- the host view's charts, built ahead on the evaluation thread ------------------------
    def want_host_charts(self, delay: float = INPUT_QUIET) -> None:
        """Build the charts `enter` would show once the keys have rested a moment (the
        cursor moved: building them under the operator's keys would slow the keys)."""
        self._charts_due = time.monotonic() + delay

    def prepare_host_charts(self) -> None:
        """Build the charts of the host view on screen, or of the host under the fleet
        cursor, for the board on screen, unless the evaluation already did."""
        view, plan = self.view, self._chart_plan()
        if view is None or plan is None or (plan, view.board.now) == self._charts_ready:
            return
        self._charts_wanted = (plan, view.board.now)
        if not self._charts_queued:
            self._charts_queued = True
            self._eval_pool.submit(self._prepare_wanted)

    def _prepare_wanted(self) -> None:
        """Evaluation thread: the newest wish only (the cursor may have moved on)."""
        self._charts_queued = False
        if self._charts_wanted is not None:
            self._build_charts(*self._charts_wanted)

    def _build_charts(self, plan: ChartPlan, now: float) -> None:
        # A warm-up only: should it fail, the view builds its own charts (and fails there).
        with contextlib.suppress(Exception):
            prepare_charts(plan, self.cfg, self.store, now)
        self._charts_ready = (plan, now)

    def apply_view(self, view: View) -> None:
        self.view = view
        self._alert(view.board)
        for screen in self.screen_stack:
            if screen is self.screen and isinstance(screen, RefreshableScreen):
                screen.refresh_view()
        self.prepare_host_charts()  # when the cursor's host is not the one built with it
        self._boards.set()

    async def next_board(self, timeout: float = 10.0) -> Board:
        """Wait for the next evaluation to land on screen (tests, benchmark)."""
        self._boards.clear()
        self._next_eval = 0.0
        self._version = -1
        await asyncio.wait_for(self._boards.wait(), timeout)
        assert self.view is not None
        return self.view.board

    def _alert(self, board: Board) -> None:
        """Bell and title for hosts newly red, and again every `ack_timeout` for critical
        ones nobody acknowledged. Quiet: acknowledged, in maintenance, a flapping host
        after its first bell."""
        marks = board.marks
        red = frozenset(r.host.name for r in board.red
                        if not ((m := marks.get(r.host.name)) and m.quiet))
        # A host back in red within flap_window of its last bell rings no more: a bouncing
        # (flapping) host rings once, not once per bounce.
        quiet_for = self.cfg.duty.flap_window
        new = {h for h in red - self._red
               if board.now - self._rung_at.get(h, float("-inf")) > quiet_for}
        self._red = red
        for h in new:
            self._rung_at[h] = board.now
        for host in [h for h in self._alerted if h not in red]:
            del self._alerted[host]
        for h in red:
            self._alerted.setdefault(h, board.now)
        timeout = self.cfg.duty.ack_timeout
        due = {h for h in red if board.now - self._alerted[h] >= timeout}
        for h in due:
            self._alerted[h] = board.now
        self._overdue = (self._overdue & red) | due
        self.unacked = tuple(sorted(self._overdue))
        self.title = (f"lvs-tui · {len(red)} red" + (f" · {len(self.unacked)} 未确认"
                                                     if self.unacked else "")
                      if red else "lvs-tui · all calm")
        if (new or due) and self.bell_on and time.monotonic() - self._last_bell >= BELL_EVERY:
            self._last_bell = time.monotonic()
            self.bells += 1
            self.bell()

    def refresh_marks(self) -> None:
        """The duty's state changed here (acknowledged, a window): evaluate at once."""
        self._next_eval = 0.0

    # -- what screens ask ---------------------------------------------------------------
    def row(self, host: str) -> HostRow | None:
        return self.view.board.row(host) if self.view else None

    def open_host(self, host: str) -> None:
        from lvs_tui.screens.host import HostScreen

        if self.row(host) is None:
            self.notify(f"{host}: not evaluated yet", severity="warning")
            return
        while isinstance(self.screen, HostScreen):
            self.pop_screen()
        HostScreen.open(self, host)

    def goto_ip(self, text: str) -> str | None:
        """Open the host owning the address; returns an error line when none does."""
        owner = self.cfg.fleet.owner(text)
        if owner is None:
            return f"{text.strip()}: not an address of this fleet"
        hosts = owner.hosts
        if not hosts:
            return f"{text.strip()}: VIP announced by no host"
        board = self.view.board if self.view else None
        # A VIP: open the worst of its hosts (the board is sorted worst first).
        ranked = sorted(hosts, key=lambda h: _rank(board, h))
        main = self.main_screen()
        if main is not None:
            main.reveal(ranked[0])
        self.open_host(ranked[0])
        return None

    def main_screen(self) -> MainScreen | None:
        from lvs_tui.screens.main import MainScreen

        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Toasts carry what people typed and what sources said (a note, a reason, an ssh
        error): never read as Textual markup, or "[@click=app.quit]" in a note would be an
        action and "[/b]" would vanish."""
        super().notify(message, title=title, severity=severity, timeout=timeout,
                       markup=markup)

    def copy_text(self, host: str, kind: str, text: str, missing: Sequence[str] = ()) -> None:
        """Copy by every road, log it, toast where it went (and what the text still names as
        missing); modal when OSC 52 is unlikely. OSC 52 goes out at once; tmux and the file
        are written off the UI thread."""
        self.copy_to_clipboard(text)
        self.run_worker(self._copy_roads(host, kind, text, tuple(missing)), group="copy",
                        exit_on_error=False)

    async def _copy_roads(self, host: str, kind: str, text: str,
                          missing: tuple[str, ...]) -> None:
        label = f"{kind} text for {host}"
        result = await asyncio.to_thread(copy_out, text, f"{host}-{kind}", label,
                                         osc52_supported(), self.state_dir)
        self.last_copy = result
        lines = [f"copied {label}", f"→ {result.where}"]
        if missing:
            lines.append("缺：" + "、".join(missing) + "（补一条备注后再复制）")
        if result.file_error:
            lines.append(result.file_error)
        self.notify("\n".join(lines), title="copied", timeout=8 if missing else 6,
                    severity="warning" if missing else "information")
        if not result.osc52:
            from lvs_tui.screens.modals import TextScreen

            self.push_screen(TextScreen(label, text, result.where))
        await self.desk.record_text(host, kind, text, "copied", self.clock())

    def palette_entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        fleet = self.cfg.fleet
        out: list[tuple[str, str, Callable[[], object]]] = []
        for h in fleet.hosts:
            idc = fleet.idc(h.idc)
            out.append((f"host {h.name}", f"{idc.name} · {h.mode.badge} · {h.internal} · "
                        f"{h.external}", _bind(self.goto_ip, h.internal)))
        for v in fleet.vips:
            out.append((f"VIP {v.label}", "announced by " + ", ".join(v.hosts),
                        _bind(self.goto_ip, v.address)))
        main = self.main_screen()
        if main is not None:
            out += [self._palette_key(k, main) for k in palette_keys(Where.MAIN)]
        out += [(f"theme: {t}", "switch the colour theme", _bind(self.apply_theme, t))
                for t in THEMES]
        out += [self._palette_key(k, self) for k in palette_keys(Where.APP)]
        return out

    def get_key_display(self, binding: Binding) -> str:
        """`enter` as the word the runbook and the side pane's key line use (Textual: ⏎)."""
        if binding.key == "enter" and not binding.key_display:
            return "enter"
        return super().get_key_display(binding)

    def _palette_key(self, key: Key, target: object
                     ) -> tuple[str, str, Callable[[], object]]:
        """A key's palette entry: its title, the key that does the same, its action."""
        return (key.palette, key_display(self, key.id),
                getattr(target, f"action_{key.action}"))

    # -- app-wide actions -------------------------------------------------------------
    def action_help(self) -> None:
        from lvs_tui.screens.modals import HelpScreen

        self.push_screen(HelpScreen(help_rows(self)))

    def action_next_theme(self) -> None:
        name = self.theme_choice if self.theme_choice in THEMES else THEMES[0]
        self.apply_theme(THEMES[(THEMES.index(name) + 1) % len(THEMES)])
        self.notify(f"theme: {self.theme_choice}", timeout=2)


def _rank(board: Board | None, host: str) -> int:
    if board is None:
        return 0
    return next((i for i, r in enumerate(board.rows) if r.host.name == host), len(board.rows))


def _bind(func: Callable[[str], object], arg: str) -> Callable[[], object]:
    return lambda: func(arg)


def make_app(config: Config, sources: Iterable[Source] = (), store: StateStore | None = None,
             clock: Callable[[], float] = time.time, **kw: Any) -> LvsApp:
    """The app, wired: tests pass the Sim or fakes, commands pass the real sources."""
    return LvsApp(config, tuple(sources), store, clock, **kw)


__all__ = ["KEYS", "KEY_IDS", "LvsApp", "check_keys", "make_app", "theme_name"]
