"""Building the dashboard on the simulated fleet with a frozen clock, for pilot and snapshot
tests: the Sim fills the store up to a simulated second, the app's clock stays there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lvs_tui.app import LvsApp, make_app
from lvs_tui.duty import DutyDesk
from lvs_tui.incidents import IncidentLog
from lvs_tui.sim import Sim
from lvs_tui.state import StateStore

T0 = 1_790_000_000.0  # 2026-09-21 22:13:20 in Asia/Shanghai: after hours, a Monday
VICTIM = "lvs-cernet-01"


@dataclass
class Clock:
    t: float

    def __call__(self) -> float:
        return self.t


@dataclass
class Rig:
    app: LvsApp
    sim: Sim
    store: StateStore
    clock: Clock
    k: int  # simulated second the store is filled to

    def advance(self, until: int) -> None:
        """Feed what the collectors write up to simulated second `until` and move the clock."""
        for k in range(self.k + 1, until + 1):
            self.sim.tick(self.store, k)
        self.k = until
        self.clock.t = T0 + until


def rig(tmp: Path, scenario: str = "single-host-down", at: int = 90, **kw: object) -> Rig:
    sim = Sim(scenario, start=T0)
    store = StateStore()
    sim.fill(store, at)
    clock = Clock(T0 + at)
    desk = DutyDesk(sim.config, incidents=IncidentLog(tmp / "incidents.db"))
    kw.setdefault("bell", False)
    app = make_app(kw.pop("config", sim.config), [], store, clock=clock, desk=desk,
                   state_dir=tmp / "state", **kw)
    return Rig(app, sim, store, clock, at)
