"""Signals: per address and vantage, with hysteresis; unknown is never down."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lvs_tui.signals import Reach, Thresholds, classify
from lvs_tui.state import PingRing, PingSample, StateStore

TH = Thresholds(window=10, hysteresis=3, loss_threshold=20.0, stale_after=5.0)


def seq(pattern: str, t0: float = 1000.0) -> list[PingSample]:
    """'u' answered, 'x' lost, 'e' probe error — one per second."""
    out = []
    for i, ch in enumerate(pattern):
        t = t0 + i
        if ch == "e":
            out.append(PingSample(t, 0, 0, error="socket error"))
        else:
            out.append(PingSample(t, 1, int(ch == "u"), 0.002 if ch == "u" else None))
    return out


def reach(pattern: str, now_offset: float = 0.0) -> Reach:
    s = seq(pattern)
    return classify(s, s[-1].t + now_offset, TH).reach


def test_all_up() -> None:
    sig = classify(seq("uuuuuuuuuu"), 1009.0, TH)
    assert sig.reach is Reach.UP and sig.loss_pct == 0 and round(sig.rtt_ms, 6) == 2.0


def test_down_needs_hysteresis_consecutive_losses() -> None:
    assert reach("uuuuuuuuuuux") is Reach.UP
    assert reach("uuuuuuuuuuxx") is Reach.LOSS  # 2 of 10 lost: lossy, not down
    assert reach("uuuuuuuuuxxx") is Reach.DOWN


def test_recovery_needs_hysteresis_consecutive_answers() -> None:
    assert reach("uuuxxxxxu") is Reach.DOWN
    assert reach("uuuxxxxxuu") is Reach.DOWN
    assert reach("uuuxxxxxuuu").answers  # up again (still lossy over the window)
    assert reach("uuuxxxxxuuuuuuuuuu") is Reach.UP


def test_single_losses_do_not_flap_but_count_as_loss() -> None:
    sig = classify(seq("uxuuxuuxuu"), 1009.0, TH)
    assert sig.reach is Reach.LOSS and round(sig.loss_pct) == 30


def test_no_data_stale_error_are_unknown_never_down() -> None:
    assert classify([], 1000.0, TH).reach is Reach.UNKNOWN
    assert reach("xxxxxx", now_offset=30) is Reach.UNKNOWN  # stale
    assert reach("xxxxxe") is Reach.UNKNOWN  # the probe itself failed
    assert reach("xx") is Reach.UNKNOWN  # too few to say


def test_silent_since_is_first_unanswered_after_last_answer() -> None:
    s = seq("uuuuxxxx")
    sig = classify(s, s[-1].t, TH)
    assert sig.reach is Reach.DOWN
    assert sig.last_up == s[3].t and sig.silent_since == s[4].t


def test_aggregated_check_counts_its_probes() -> None:
    """A Zabbix icmpping check of 3 probes, all lost, is as good as 3 lost pings."""
    s = [PingSample(1000, 3, 3, 0.01), PingSample(1060, 3, 0, None)]
    assert classify(s, 1060, Thresholds(stale_after=300)).reach is Reach.DOWN


def test_ring_keeps_the_newest_in_order() -> None:
    ring = PingRing(4)
    for s in seq("uuxuxu"):
        ring.add(s)
    got = ring.samples()
    assert [x.t for x in got] == [1002, 1003, 1004, 1005]
    assert [x.received for x in got] == [0, 1, 0, 1]
    assert ring.samples(2)[0].t == 1004


def test_store_rejects_out_of_order_metric_and_bounds_history() -> None:
    from lvs_tui.state import Metric, MetricSample

    store = StateStore(metric_horizon=100)
    for c in (0, 50, 40, 120, 200):
        store.add_metric("h", Metric.CPU, MetricSample(c, float(c)))
    assert [m.clock for m in store.metrics("h", Metric.CPU)] == [120, 200]


@given(st.lists(st.sampled_from("uxe"), min_size=0, max_size=40),
       st.floats(min_value=0, max_value=100))
def test_classify_is_total_and_unknown_input_is_never_down(pattern: list[str],
                                                            late: float) -> None:
    s = seq("".join(pattern))
    now = (s[-1].t if s else 1000.0) + late
    sig = classify(s, now, TH)
    assert sig.reach in set(Reach)
    if not s or late > TH.stale_after or s[-1].error is not None:
        assert sig.reach is Reach.UNKNOWN
    if sig.reach is Reach.DOWN:  # only after a run of `hysteresis` unanswered probes
        runs = "".join("u" if x.received else "x" for x in s if x.error is None)
        assert "x" * TH.hysteresis in runs


def test_loss_is_judged_on_a_full_window_only() -> None:
    """One lost ping among the first four after start is not a lossy address."""
    assert reach("uuxu") is Reach.UP
    assert reach("uuxuuuuxuu") is Reach.LOSS  # 2 of a full window of 10
