"""The simulated fleet: realistic size, deterministic, each scenario's fault where it says."""

from __future__ import annotations

import asyncio

from lvs_tui.board import EvalMemo, evaluate
from lvs_tui.fleet import Mode
from lvs_tui.sim import (
    HA_VICTIM,
    PATH_VICTIM,
    SCENARIOS,
    SIDE_VICTIM,
    SINGLE_VICTIM,
    Sim,
    demo_config,
)
from lvs_tui.situation import Scope, SituationId
from lvs_tui.state import Metric, SourceState, SourceStatus, StateStore

T0 = 1_795_003_200.0


def board(scenario: str, at: int, seed: int = 1):
    sim = Sim(scenario, seed=seed, start=T0)
    store = StateStore()
    sim.fill(store, at)
    return evaluate(sim.config, store, T0 + at), store


def sits(scenario: str, at: int) -> dict:
    b, _ = board(scenario, at)
    return {r.host.name: r.situation for r in b.rows}


def test_fleet_is_realistic() -> None:
    cfg = demo_config()
    f = cfg.fleet
    assert len(f.idcs) >= 5 and len(f.hosts) >= 40 and len(f.vips) >= 150
    assert {h.mode for h in f.hosts} == set(Mode)
    assert {"赛尔", "电信", "联通", "移动"} <= {i.name for i in f.idcs}
    assert len(cfg.vantages) >= 4


def test_same_seed_same_samples_other_seed_differs() -> None:
    def samples(seed: int) -> tuple:
        sim = Sim("shift", seed=seed, start=T0)
        store = StateStore()
        sim.fill(store, 200)
        addr = sim.config.fleet.hosts[3].external
        return (store.pings("local", addr), store.pings("zbx-unicom", addr),
                store.metrics(sim.config.fleet.hosts[3].name, Metric.BOND1_IN))

    assert samples(7) == samples(7)
    assert samples(7) != samples(8)


def test_calm_is_all_ok() -> None:
    assert {s.id for s in sits("calm", 300).values()} == {SituationId.OK}


def test_single_host_down_starts_at_60s() -> None:
    assert sits("single-host-down", 55)[SINGLE_VICTIM].id is SituationId.OK
    s = sits("single-host-down", 300)[SINGLE_VICTIM]
    assert s.id is SituationId.HOST_DOWN
    assert s.impact.single_point  # its VIPs now rest on one machine


def test_single_host_down_turns_red_within_the_hysteresis() -> None:
    assert sits("single-host-down", 64)[SINGLE_VICTIM].id is SituationId.HOST_DOWN


def test_single_host_down_zabbix_stops_for_the_victim_only() -> None:
    _, store = board("single-host-down", 300)
    last = store.latest_metric(SINGLE_VICTIM, Metric.CPU)
    assert last is not None and last.clock < T0 + 60
    other = store.latest_metric(HA_VICTIM, Metric.CPU)
    assert other is not None and other.clock > T0 + 240


def test_ha_node_down_peers_carry() -> None:
    s = sits("ha-node-down", 300)[HA_VICTIM]
    assert s.id is SituationId.HOST_DOWN and s.impact.service_unaffected is True


def test_side_down() -> None:
    s = sits("side-down", 300)[SIDE_VICTIM]
    assert s.id is SituationId.ONE_SIDE_DOWN


def test_path_broken_is_never_host_down_once_life_is_seen() -> None:
    for at in (150, 300, 600):
        assert sits("path-broken", at)[PATH_VICTIM].id is SituationId.PATH_BROKEN, at


def test_vip_down_and_carrier_loss() -> None:
    down = [s for s in sits("vip-down", 300).values() if s.id is not SituationId.OK]
    assert len(down) == 1 and down[0].id is SituationId.VIP_UNREACHABLE
    assert down[0].scope is Scope.ALL
    partial = [s for s in sits("vip-carrier-loss", 300).values() if s.id is not SituationId.OK]
    assert len(partial) == 1 and partial[0].scope is Scope.PARTIAL


def test_recovery_comes_back_at_600s() -> None:
    assert sits("recovery", 590)[SINGLE_VICTIM].id is SituationId.HOST_DOWN
    assert sits("recovery", 700)[SINGLE_VICTIM].id is SituationId.OK


def test_shift_goes_through_faults_then_calm() -> None:
    seen = set()
    for at in range(45, 1000, 50):
        seen |= {s.id for s in sits("shift", at).values()}
    assert {SituationId.HOST_DOWN, SituationId.ONE_SIDE_DOWN, SituationId.PATH_BROKEN,
            SituationId.VIP_UNREACHABLE} <= seen
    assert {s.id for s in sits("shift", 1100).values()} == {SituationId.OK}


def test_every_scenario_name_runs() -> None:
    for name in SCENARIOS:
        b, _ = board(name, 120)
        assert len(b.rows) == 42


class _QuietProxy(Sim):
    """The simulator with one proxy vantage silent from `quiet_from` (its data goes stale)."""

    quiet_from = 10**9

    def _remote(self, store: StateStore, vid: str, k: int, t: float, faults: tuple) -> None:
        if vid != "zbx-unicom" or k < self.quiet_from:
            super()._remote(store, vid, k, t, faults)


def test_memoised_evaluation_is_exactly_a_fresh_one() -> None:
    """The app's memo (signals of unchanged rings, situations of unchanged hosts, VIP
    impacts) must never change the board: step through a fault and its recovery, a proxy
    falling silent and going stale, its source marked down and back, then time passing
    without any data, comparing every board with a memo-free evaluation."""
    sim = _QuietProxy("recovery", start=T0)
    store = StateStore()
    sim.fill(store, 40)
    memo = EvalMemo()
    reused = 0
    previous = None

    def same(now: float) -> None:
        nonlocal reused, previous
        with_memo = evaluate(sim.config, store, now, memo)
        assert with_memo == evaluate(sim.config, store, now), now - T0
        if previous is not None:
            reused += sum(a.situation is b.situation
                          for a, b in zip(with_memo.rows, previous.rows, strict=True))
        previous = with_memo

    sim.quiet_from = 750
    for k in range(41, 1100, 3):
        for kk in range(k - 2, k + 1):
            sim.tick(store, kk)
        if k == 950:  # the proxy's source is down: its signals are unknown, not stale
            store.set_source(SourceStatus("vantage:zbx-unicom", SourceState.DOWN, T0 + k,
                                          "proxy unreachable"))
        same(T0 + k + 0.5)
    for gap in range(1, 400, 4):  # nothing arrives: local, remote, monitoring go stale
        same(T0 + 1099 + gap)
    assert reused > 1000  # unchanged hosts kept their Situation object


async def test_run_starts_with_the_last_hour_of_metrics() -> None:
    """Like the Zabbix source's first cycle: the window is full (and memory flat) at once."""
    sim = Sim("calm", start=T0, wall=lambda: 1000.0)  # the clock stands: second 0 only
    store = StateStore()
    task = asyncio.create_task(sim.run(store))
    await asyncio.sleep(0.05)
    task.cancel()
    cpu = store.metrics(sim.config.fleet.hosts[0].name, Metric.CPU)
    assert len(cpu) >= 60  # one a minute over the hour
    assert T0 - 3600 <= cpu[0].clock < T0 - 3540 and cpu[-1].clock <= T0
    assert store.pings("local", sim.config.fleet.hosts[0].external)  # second 0 was fed
