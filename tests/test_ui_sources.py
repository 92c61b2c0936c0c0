"""A source that crashes shows down in the header under its own name, and is retried."""

from __future__ import annotations

from pathlib import Path

from lvs_tui.app import make_app
from lvs_tui.duty import DutyDesk
from lvs_tui.sim import Sim
from lvs_tui.state import SourceState, StateStore

T0 = 1_790_000_000.0


class CrashingSim(Sim):
    async def run(self, store: StateStore) -> None:
        raise RuntimeError("simulated crash")


async def test_a_crashed_simulator_shows_its_prober_down(tmp_path: Path) -> None:
    sim = CrashingSim("single-host-down", start=T0)
    store = StateStore()
    sim.fill(store, 30)
    before = store.source("icmp")
    assert before is not None and before.state is SourceState.OK
    app = make_app(sim.config, [sim], store, clock=lambda: T0 + 30,
                   desk=DutyDesk(sim.config), bell=False, state_dir=tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(20):
            await pilot.pause(0.05)
            status = store.source("icmp")
            if status is not None and status.state is SourceState.DOWN:
                break
        status = store.source("icmp")
        assert status is not None and status.state is SourceState.DOWN
        assert status.detail == "crashed: simulated crash"
        assert store.source("sim") is None  # one name: the one the header shows
