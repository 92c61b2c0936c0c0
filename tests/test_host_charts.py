"""The host view's chart inputs are a function of the board's moment: samples that arrive
after it, and the oldest ones a ring drops meanwhile, change nothing, so charts built ahead
on the evaluation thread are the very charts the view shows."""

from __future__ import annotations

from lvs_tui.sim import demo_config
from lvs_tui.state import Metric, MetricSample, PingSample, StateStore
from lvs_tui.widgets.chart import clear_chart_cache, render_chart
from lvs_tui.widgets.host_charts import (
    ChartPlan,
    first_address,
    ping_charts,
    ping_span,
    prepare_charts,
    zabbix_charts,
)
from lvs_tui.widgets.lines import local_vantage

CFG = demo_config()
HOST = CFG.fleet.hosts[0]
ADDRESS = first_address(CFG, HOST.name)
NOW = 10_000.0


def store_to(newest: int) -> StateStore:
    """A local ring filled one probe a second up to `newest`, every third one lost."""
    store = StateStore(ping_window=20)
    vantage = local_vantage(CFG)
    for t in range(newest - 40, newest + 1):
        lost = t % 3 == 0
        store.add_ping(vantage, ADDRESS, PingSample(float(t), 1, 0 if lost else 1,
                                                    None if lost else 0.001 * (t % 7 + 1)))
    return store


def test_ping_charts_cover_a_window_shorter_than_the_ring_and_nothing_after_now() -> None:
    inputs = ping_charts(CFG, store_to(int(NOW) + 2), ADDRESS, NOW)  # ring: now-17 … now+2
    local, *remote = inputs["loss-chart"][0]  # a series a vantage, local first
    xs = local.xs
    assert local.label == "本地" and not any(r.xs for r in remote)  # only local probed here
    span = ping_span(CFG, StateStore(ping_window=20))
    assert span == 18.0  # 90 % of 20 probes a second apart
    assert max(xs) == 0.0 and min(xs) > -span  # t ≤ now, and inside the window
    assert len(xs) == 18  # now-17 … now
    rtt_xs, rtt_ys, _ = inputs["rtt-chart"][0][0]
    assert len(rtt_xs) == 12 and all(y > 0 for y in rtt_ys)  # lost probes have no RTT
    assert inputs["rtt-chart"][1] == f"{ADDRESS} RTT ms (s ago)"


def test_ping_chart_inputs_survive_new_samples_and_the_ring_dropping_old_ones() -> None:
    at_board = ping_charts(CFG, store_to(int(NOW)), ADDRESS, NOW)
    later = ping_charts(CFG, store_to(int(NOW) + 2), ADDRESS, NOW)  # 2 s on, 2 dropped
    assert later == at_board
    moved = ping_charts(CFG, store_to(int(NOW) + 2), ADDRESS, NOW + 2)
    assert moved != at_board  # the next board's charts are new ones


def test_zabbix_charts_leave_out_samples_after_now() -> None:
    store = StateStore()
    for clock in (NOW - 600, NOW - 60, NOW + 30):
        store.add_metric(HOST.name, Metric.CPU, MetricSample(clock, 50.0))
    inputs = zabbix_charts(lambda m: store.metrics(HOST.name, m), NOW, 1, CFG.duty.tz)
    (xs, ys, label), = inputs["cpu-chart"][0]
    assert label == ""  # one series: no legend
    assert len(xs) == 2 and ys == (50.0, 50.0)
    assert set(inputs) == {"cpu-chart", "bond0-chart", "bond1-chart"}


def test_prepared_charts_are_the_cached_objects_the_view_asks_for() -> None:
    clear_chart_cache()
    store = store_to(int(NOW))
    plan = ChartPlan(HOST.name, ADDRESS, (("rtt-chart", 60, 10), ("loss-chart", 60, 10),
                                          ("cpu-chart", 40, 10)), dark=True)
    built = prepare_charts(plan, CFG, store, NOW)
    assert set(built) == {"rtt-chart", "loss-chart", "cpu-chart"}
    series, title = ping_charts(CFG, store_to(int(NOW) + 1), ADDRESS, NOW)["rtt-chart"]
    assert render_chart(series, title, 60, 10, True) is built["rtt-chart"]
    assert render_chart(series, title, 61, 10, True) is not built["rtt-chart"]  # size counts
