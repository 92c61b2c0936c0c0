"""The board: one evaluation of the whole fleet at a moment, what every screen shows.

Pure given a store snapshot: signals -> situations (with impact) -> rows sorted worst first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from lvs_tui.config import Config
from lvs_tui.diagnosis import diagnose_fleet
from lvs_tui.fleet import Host
from lvs_tui.signals import (
    HostSignals,
    SignalMemo,
    VantageHealth,
    host_signals,
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


def evaluate(cfg: Config, store: StateStore, now: float, memo: SignalMemo | None = None
             ) -> Board:
    """The fleet at `now`. A caller evaluating every second passes the same `memo` each
    time, so rings without a new sample are not judged again."""
    health = vantage_health(cfg, store, now)
    signals = {h.name: host_signals(cfg, store, h, now, health, memo)
               for h in cfg.fleet.hosts}
    sits = diagnose_fleet(cfg, signals, now)
    idc_order = {i.id: n for n, i in enumerate(cfg.fleet.idcs)}
    rows = sorted((HostRow(h, signals[h.name], sits[h.name]) for h in cfg.fleet.hosts),
                  key=lambda r: (-r.situation.severity, idc_order.get(r.host.idc, 0),
                                 r.host.name))
    return Board(now, tuple(rows), tuple(health.values()), store.sources())
