"""The board: one evaluation of the whole fleet at a moment, what every screen shows.

Pure given a store snapshot: signals -> situations (with impact) -> rows sorted worst first.
A caller evaluating every second keeps an `EvalMemo` between calls; the board it gives is
exactly the one a fresh evaluation gives (tests/test_sim.py), only cheaper.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import repeat

from lvs_tui.config import Config
from lvs_tui.diagnosis import DiagnosisMemo, diagnose_fleet, signal_state, state_key
from lvs_tui.duty_state import HostMark
from lvs_tui.fleet import Host, Side
from lvs_tui.signals import (
    HostSignals,
    SignalMemo,
    VantageHealth,
    fleet_signals,
    gather,
    host_targets,
    vantage_health,
)
from lvs_tui.situation import Severity, Situation, SituationId
from lvs_tui.state import SourceStatus, StateStore


@dataclass(frozen=True, slots=True)
class HostRow:
    host: Host
    signals: HostSignals
    situation: Situation


@dataclass(frozen=True, slots=True)
class Board:
    now: float
    rows: tuple[HostRow, ...]  # worst first, then by IDC and name
    vantages: tuple[VantageHealth, ...]
    sources: tuple[SourceStatus, ...]
    # The duty's state per host (acknowledged, in maintenance, flapping), set by the duty
    # service after the evaluation; hosts with nothing to say are absent.
    marks: Mapping[str, HostMark] = field(default_factory=dict)

    def mark(self, host: str) -> HostMark | None:
        return self.marks.get(host)

    def row(self, host: str) -> HostRow | None:
        return next((r for r in self.rows if r.host.name == host), None)

    @property
    def counts(self) -> dict[str, int]:
        """Hosts down (critical), problem (other trouble), ok, unknown."""
        c: Counter[str] = Counter()
        for r in self.rows:
            s = r.situation
            if s.id is SituationId.UNKNOWN:
                c["unknown"] += 1
            elif s.id is SituationId.OK:
                c["ok"] += 1
            elif s.severity >= Severity.CRITICAL or s.id is SituationId.HOST_DOWN:
                c["down"] += 1
            else:
                c["problem"] += 1
        return {k: c.get(k, 0) for k in ("down", "problem", "ok", "unknown")}

    @property
    def red(self) -> tuple[HostRow, ...]:
        return tuple(r for r in self.rows if r.situation.severity >= Severity.CRITICAL)


SILENCED = "已静默"  # the detail of a silenced vantage's unknown results
NOT_PROBED = ""  # the state of a (vantage, address) the vantage does not probe
PAUSE_EVERY = 32  # hosts between two of the caller's pause points


def no_pause() -> None:
    """The default pause point: carry on."""


@dataclass(frozen=True, slots=True)
class Layout:
    """What a config fixes for every evaluation: who pings what, in which order rows sort."""

    sides: dict[str, Side]  # every fleet address -> its side
    pairs: dict[str, tuple[tuple[str, str], ...]]  # host -> its (vantage, address), shown order
    targets: dict[str, frozenset[str]]  # host -> the addresses pinged for it
    rank: dict[str, tuple[int, str]]  # host -> (IDC order, name): the rows' tie-break

    @classmethod
    def of(cls, cfg: Config) -> Layout:
        sides: dict[str, Side] = {}
        pairs, targets = {}, {}
        for h in cfg.fleet.hosts:
            mine = host_targets(cfg, h)
            for side, addr in mine:
                sides.setdefault(addr, side)
            pairs[h.name] = tuple((v.id, a) for v in cfg.vantages for _, a in mine)
            targets[h.name] = frozenset(a for _, a in mine)
        idc_order = {i.id: n for n, i in enumerate(cfg.fleet.idcs)}
        rank = {h.name: (idc_order.get(h.idc, 0), h.name) for h in cfg.fleet.hosts}
        return cls(sides, pairs, targets, rank)


@dataclass(slots=True)
class EvalMemo:
    """Kept by a caller that evaluates every second (the app), passed to each `evaluate`."""

    cfg: Config | None = None  # everything below belongs to this config
    layout: Layout | None = None
    signals: SignalMemo = field(default_factory=dict)
    # (vantage, address) -> what diagnosis reads of its signal (diagnosis.signal_state)
    states: dict[tuple[str, str], tuple | None] = field(default_factory=dict)
    diagnosis: DiagnosisMemo = field(default_factory=DiagnosisMemo)
    # Called every few milliseconds of work: the app's evaluation thread sleeps there while
    # the operator types, so a keypress never shares the interpreter with an evaluation.
    pause: Callable[[], None] = no_pause

    def layout_for(self, cfg: Config) -> Layout:
        if self.cfg is not cfg or self.layout is None:
            self.cfg, self.layout = cfg, Layout.of(cfg)
            self.signals.clear()
            self.states.clear()
            self.diagnosis = DiagnosisMemo()
        return self.layout


def evaluate(cfg: Config, store: StateStore, now: float, memo: EvalMemo | None = None,
             silenced: Mapping[str, str] | None = None, page_silenced: bool = False
             ) -> Board:
    """The fleet at `now`. A caller evaluating every second passes the same `memo` each
    time, so what did not change is not judged or diagnosed again. A silenced vantage
    (`silenced`: id -> reason) counts as unhealthy, so its results are unknown, never
    down; a silenced 5666 page flags nothing."""
    memo = EvalMemo() if memo is None else memo
    layout = memo.layout_for(cfg)
    health = vantage_health(cfg, store, now)
    for vid, reason in (silenced or {}).items():
        if vid in health:
            health[vid] = VantageHealth(vid, health[vid].name, False, f"{SILENCED}：{reason}")
    sigs, judged = fleet_signals(cfg, store, now, health, layout.sides, memo.signals,
                                 memo.pause)
    states = memo.states
    for pair in judged:
        states[pair] = signal_state(sigs[pair], cfg.duty)
    page = None if page_silenced else store.alert_page()
    signals, keys = {}, {}
    for n, h in enumerate(cfg.fleet.hosts):
        if n % PAUSE_EVERY == 0:
            memo.pause()
        pairs = layout.pairs[h.name]
        sig = signals[h.name] = gather(cfg, store, h, now, pairs, layout.targets[h.name], sigs,
                                       page)
        keys[h.name] = state_key(sig, tuple(map(states.get, pairs, repeat(NOT_PROBED))))
    memo.pause()
    sits = diagnose_fleet(cfg, signals, now, memo.diagnosis, keys)
    rank = layout.rank
    rows = sorted((HostRow(h, signals[h.name], sits[h.name]) for h in cfg.fleet.hosts),
                  key=lambda r: (-r.situation.severity, rank[r.host.name]))
    return Board(now, tuple(rows), tuple(health.values()), store.sources())
