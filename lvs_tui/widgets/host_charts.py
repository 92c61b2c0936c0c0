"""What the host view's five charts show, from the store at a board's moment, and their
preparation ahead of `enter`.

The inputs of a chart (series and title) are a function of the store, the address, the range
and the board's `now` only: samples newer than `now` are left out, and the ping charts cover
a window a little shorter than a ring, so the samples that a ring drops as new ones arrive
are outside it. The evaluation thread can then build the charts of the host under the fleet
cursor (or of the host view on screen) right after a board, and the view drawing that board
finds the very same charts in the cache: `enter` costs a look-up, not ~30 ms of plotext.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text

from lvs_tui.config import Config
from lvs_tui.state import Metric, MetricSample, StateStore
from lvs_tui.widgets.chart import (
    DEFAULT_COLOURS,
    AnsiLines,
    Series,
    minute_origin,
    render_chart,
)
from lvs_tui.widgets.lines import local_vantage

PING_SHARE = 0.9  # of a ring's time span: the oldest samples drop off while a view is open
ZABBIX = (("cpu-chart", "CPU %", (Metric.CPU,), 1.0),
          ("bond0-chart", "bond0 in/out Mbit/s", (Metric.BOND0_IN, Metric.BOND0_OUT), 1e-6),
          ("bond1-chart", "bond1 in/out Mbit/s", (Metric.BOND1_IN, Metric.BOND1_OUT), 1e-6))
PING_CHARTS = ("rtt-chart", "loss-chart")
CHART_IDS = (*PING_CHARTS, *(key for key, _, _, _ in ZABBIX))

ChartInputs = dict[str, tuple[list[Series], str]]  # chart id -> (series, title)


def first_address(cfg: Config, host: str, down: Collection[str] = ()) -> str:
    """The address the host view charts first, where its matrix cursor starts: the first
    one in matrix order that is down (a drill-down is for why it is red: a VIP lost from
    one carrier is the VIP's history, not the internal side's), else the top row."""
    h = cfg.fleet.host(host)
    order = [a for _, a in h.addresses] + [v.address for v in cfg.fleet.vips_of(host)]
    return next((a for a in order if a in down), order[0] if order else h.external)


def ping_span(cfg: Config, store: StateStore) -> float:
    return PING_SHARE * store.ping_window * cfg.duty.interval


def ping_charts(cfg: Config, store: StateStore, address: str, now: float) -> ChartInputs:
    """RTT and loss of `address` from every vantage, x in seconds before `now`."""
    start = now - ping_span(cfg, store)
    rtt: list[Series] = []
    loss: list[Series] = []
    names = {v.id: v.name for v in cfg.vantages}
    for vid in dict.fromkeys([local_vantage(cfg), *(v.id for v in cfg.vantages)]):
        good = [s for s in store.pings(vid, address)
                if s.error is None and s.sent and start < s.t <= now]
        points = [(s.t - now, s.rtt * 1000) for s in good if s.rtt is not None]
        name = names.get(vid, vid)
        # every vantage a series, empty or not: its colour is its place
        rtt.append(Series(tuple(x for x, _ in points), tuple(y for _, y in points), name))
        loss.append(Series(tuple(s.t - now for s in good),
                           tuple(100.0 * s.lost / s.sent for s in good), name))
    return {"rtt-chart": (rtt, f"{address} RTT ms (s ago)"),
            "loss-chart": (loss, f"{address} loss %")}


def zabbix_charts(samples: Callable[[Metric], Sequence[MetricSample]], now: float,
                  hours: int, tz: tzinfo) -> ChartInputs:
    """CPU and bonds over the range. x is minutes before the next whole minute, not before
    `now`: the charts (and their window) stay the same, and cached, for the whole minute;
    the title names that minute."""
    origin = minute_origin(now)
    start = origin - hours * 3600
    at = datetime.fromtimestamp(origin, tz).strftime("%H:%M")
    out: ChartInputs = {}
    for key, title, metrics, scale in ZABBIX:
        series: list[Series] = []
        for m in metrics:
            shown = [s for s in samples(m) if start <= s.clock <= now]
            series.append(Series(tuple((s.clock - origin) / 60 for s in shown),
                                 tuple(s.value * scale for s in shown),
                                 m.value.split("_")[-1] if len(metrics) > 1 else ""))
        out[key] = (series, f"{title} (min before {at})")
    return out


@dataclass(frozen=True, slots=True)
class ChartPlan:
    """The charts to build after a board: whose, and at the sizes the view shows them."""

    host: str
    address: str
    sizes: tuple[tuple[str, int, int], ...]  # (chart id, width, height)
    dark: bool
    colours: tuple[str, ...] = DEFAULT_COLOURS  # the theme's series colours


def prepare_charts(plan: ChartPlan, cfg: Config, store: StateStore, now: float
                   ) -> dict[str, AnsiLines | Text]:
    """Build the plan's charts into the chart cache (the hour range, as a view opens on it)
    and return them by chart id. Runs on the evaluation thread: cache and plotext are locked."""
    inputs = {**ping_charts(cfg, store, plan.address, now),
              **zabbix_charts(lambda m: store.metrics(plan.host, m), now, 1, cfg.duty.tz)}
    return {chart_id: render_chart(*inputs[chart_id], width, height, plan.dark, plan.colours)
            for chart_id, width, height in plan.sizes if chart_id in inputs}
