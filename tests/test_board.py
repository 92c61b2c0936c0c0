"""The evaluation memo: whatever the probes say, a memoised board is exactly a fresh one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lvs_tui.board import EvalMemo, evaluate
from lvs_tui.sim import CONTROL, demo_config
from lvs_tui.state import Metric, MetricSample, Problem, StateStore

CFG = demo_config()
T0 = 1_795_003_200.0
HOSTS = CFG.fleet.hosts[:4]  # the addresses the steps play with; the rest answer calmly
WATCHED = [a for h in HOSTS for _, a in h.addresses] + [
    v.address for h in HOSTS for v in CFG.fleet.vips_of(h.name)[:2]]

# per watched address and second: lost, slow (over the RTT limit), fast, or no sample
_probe = st.sampled_from(["lost", "slow", "fast", "fast", "fast", "none"])
_step = st.tuples(st.lists(_probe, min_size=len(WATCHED), max_size=len(WATCHED)),
                  st.booleans(),  # the proxy checks in these seconds
                  st.booleans(),  # a Zabbix problem on the first host
                  st.sampled_from([1, 4, 30, 400]))  # then seconds without data


@settings(max_examples=15, deadline=None)
@given(st.lists(_step, min_size=2, max_size=8))
def test_memoised_board_is_exactly_a_fresh_one(steps: list) -> None:
    store = StateStore()
    memo = EvalMemo()
    t = T0
    # the control target answers: the local vantage is healthy, its signals are judged
    others = [a for a in CFG.fleet.addresses() if a not in WATCHED] + [CONTROL]
    for h in CFG.fleet.hosts:
        store.add_metric(h.name, Metric.CPU, MetricSample(t - 30, 20.0))
    for probes, proxy, problem, gap in steps:
        for _ in range(3):
            t += 1
            batch = [(a, t, 1, 1, 0.002) for a in others]
            for a, p in zip(WATCHED, probes, strict=True):
                if p != "none":
                    batch.append((a, t, 1, 0 if p == "lost" else 1,
                                  None if p == "lost" else 2.5 if p == "slow" else 0.002))
            store.add_pings("local", batch)
            if proxy:
                store.add_pings("zbx-unicom", [(a, t, 3, 3 * (p != "lost"), 0.01)
                                               for a, p in zip(WATCHED, probes, strict=True)])
            store.set_problems(HOSTS[0].name, (Problem("bond1 down", 4, t),) if problem else ())
            assert evaluate(CFG, store, t + 0.5, memo) == evaluate(CFG, store, t + 0.5)
        t += gap  # time passing without data
        assert evaluate(CFG, store, t, memo) == evaluate(CFG, store, t)


def test_evaluation_calls_its_pause_point_every_few_hosts_and_the_board_is_the_same() -> None:
    """The app's evaluation thread sleeps at these points while the operator types."""
    from lvs_tui.board import PAUSE_EVERY
    from lvs_tui.sim import Sim
    from lvs_tui.widgets.lines import fleet_lines

    cfg = demo_config(3)  # ~126 hosts
    sim = Sim("single-host-down", config=cfg, start=T0)
    store = StateStore()
    sim.fill(store, 120)
    calls: list[int] = []
    memo = EvalMemo()
    memo.pause = lambda: calls.append(1)
    board = evaluate(cfg, store, T0 + 120, memo)
    hosts = len(cfg.fleet.hosts)
    assert len(calls) >= hosts // PAUSE_EVERY + len(cfg.vantages)
    assert board == evaluate(cfg, store, T0 + 120)
    calls.clear()
    lines = fleet_lines(cfg, board, store, {}, pause=lambda: calls.append(1))
    assert len(lines) == hosts and len(calls) == -(-hosts // PAUSE_EVERY)
