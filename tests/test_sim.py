"""The simulated fleet: realistic size, deterministic, each scenario's fault where it says."""

from __future__ import annotations

from lvs_tui.board import evaluate
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
from lvs_tui.state import Metric, StateStore

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


def test_memoised_evaluation_gives_the_same_verdicts_as_a_fresh_one() -> None:
    """The app's signal memo (reuse of unchanged rings' signals) must never change a
    verdict: step through a fault and its recovery, comparing with a memo-free evaluation."""
    sim = Sim("recovery", start=T0)
    store = StateStore()
    sim.fill(store, 40)
    memo: dict = {}
    reused = 0
    for k in range(41, 700, 7):
        for kk in range(k - 6, k + 1):
            sim.tick(store, kk)
        now = T0 + k
        before = len(memo)
        with_memo = evaluate(sim.config, store, now, memo)
        fresh = evaluate(sim.config, store, now)
        reused += before == len(memo)
        for a, b in zip(with_memo.rows, fresh.rows, strict=True):
            assert a.host.name == b.host.name
            assert (a.situation.id, a.situation.severity, a.situation.since) == (
                b.situation.id, b.situation.severity, b.situation.since), (k, a.host.name)
            assert [s.reach for s in a.signals.addresses] == [
                s.reach for s in b.signals.addresses]
    assert memo and reused
