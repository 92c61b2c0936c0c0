"""Signals: raw samples from the store turned into per-address, per-vantage verdicts.

Pure functions of (samples, now, thresholds). The rules that keep the console honest:
- no data, stale data, a probe error or a broken vantage is UNKNOWN, never DOWN;
- a state changes only after `hysteresis` consecutive probes agree, so one lost ping does
  not flap (the verdict is recomputed from the history, no hidden state to drift).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lvs_tui.config import Config, VantageKind
from lvs_tui.fleet import Host, Side
from lvs_tui.state import (
    Login,
    Metric,
    MetricSample,
    PingRing,
    PingSample,
    Problem,
    RingSummary,
    SourceState,
    StateStore,
)


class Reach(StrEnum):
    UP = "up"
    LOSS = "loss"  # answering, but losing more than the threshold
    DOWN = "down"  # probes sent, none answered, data fresh
    UNKNOWN = "unknown"  # no data, stale, probe error, vantage unhealthy

    @property
    def glyph(self) -> str:
        return {"up": "●", "loss": "◐", "down": "✖", "unknown": "?"}[self.value]

    @property
    def answers(self) -> bool:
        return self in _ANSWERS


_ANSWERS = frozenset({Reach.UP, Reach.LOSS})


@dataclass(frozen=True, slots=True)
class Thresholds:
    window: int = 10
    hysteresis: int = 3
    loss_threshold: float = 20.0
    stale_after: float = 5.0


@dataclass(frozen=True, slots=True)
class AddressSignal:
    address: str
    side: Side
    vantage: str
    reach: Reach
    rtt_ms: float | None = None  # mean over the window's answers
    loss_pct: float | None = None  # over the window
    sent: int = 0
    received: int = 0
    age: float | None = None  # seconds since the newest sample
    last_up: float | None = None  # newest answered probe
    silent_since: float | None = None  # first unanswered probe after last_up
    detail: str = ""  # why unknown


@dataclass(frozen=True, slots=True)
class VantageHealth:
    vantage: str
    name: str
    healthy: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HostSignals:
    host: Host
    addresses: tuple[AddressSignal, ...]  # both sides and its VIPs × every vantage
    metrics: tuple[tuple[Metric, MetricSample | None], ...] = ()
    newest_clock: float | None = None  # newest Zabbix value of any metric
    monitoring_stopped: bool | None = None  # None: no Zabbix configured / never seen
    monitoring_age: float | None = None
    problems: tuple[Problem, ...] = ()
    login: Login | None = None
    on_alert_page: bool = False

    def metric(self, m: Metric) -> MetricSample | None:
        return dict(self.metrics).get(m)

    def side(self, side: Side, address: str | None = None) -> tuple[AddressSignal, ...]:
        return tuple(s for s in self.addresses
                     if s.side is side and (address is None or s.address == address))


def classify(samples: Sequence[PingSample], now: float, th: Thresholds, address: str = "",
             side: Side = Side.VIP, vantage: str = "local") -> AddressSignal:
    """One address seen from one vantage, from a list of samples (oldest first)."""
    ring = PingRing(max(1, len(samples)))
    for sample in samples:
        ring.add(sample)
    return judge(ring.summary(th.window, th.hysteresis), now, th, address, side, vantage)


def judge(summary: RingSummary | None, now: float, th: Thresholds, address: str = "",
          side: Side = Side.VIP, vantage: str = "local") -> AddressSignal:
    """up / loss / down / unknown from a ring's summary.

    No data, stale data, a failed probe or too little to go on is UNKNOWN, never DOWN.
    """
    if summary is None:
        return AddressSignal(address, side, vantage, Reach.UNKNOWN, detail="no data")
    age = max(0.0, now - summary.newest_t)
    if age > th.stale_after:
        return AddressSignal(address, side, vantage, Reach.UNKNOWN, age=age,
                             detail=f"stale {age:.0f}s")
    if summary.newest_error is not None:
        return AddressSignal(address, side, vantage, Reach.UNKNOWN, age=age,
                             detail=summary.newest_error)
    sent, received = summary.sent, summary.received
    loss = 100.0 * (sent - received) / sent if sent else None
    if summary.state is None:
        reach = Reach.UNKNOWN
    elif not summary.state:
        reach = Reach.DOWN
    elif loss is not None and sent >= th.window and loss >= th.loss_threshold:
        reach = Reach.LOSS  # judged on a full window only: 1 lost of the first 4 is no trend
    else:
        reach = Reach.UP
    rtt = summary.rtt
    return AddressSignal(address, side, vantage, reach,
                         rtt_ms=None if rtt is None else rtt * 1000, loss_pct=loss, sent=sent,
                         received=received, age=age, last_up=summary.last_up,
                         silent_since=summary.silent_since if reach is Reach.DOWN else None,
                         detail="too few samples" if reach is Reach.UNKNOWN else "")


def thresholds_for(cfg: Config, vantage_id: str) -> Thresholds:
    """Remote vantages report every minute or so: their data goes stale on their own scale."""
    d = cfg.duty
    stale = d.stale_after
    kind = cfg.vantage(vantage_id).kind
    if kind is VantageKind.ZABBIX_PROXY:
        stale = max(stale, cfg.zabbix.stale_after)
    elif kind is VantageKind.SSH_FPING:
        stale = max(stale, 3 * d.interval + 10 * d.ping_timeout + 10)
    return Thresholds(d.window, d.hysteresis, d.loss_threshold, stale)


def vantage_health(cfg: Config, store: StateStore, now: float) -> dict[str, VantageHealth]:
    """A vantage whose control target fails, or whose source is down, is unhealthy."""
    out = {}
    for v in cfg.vantages:
        status = store.source(f"vantage:{v.id}")
        if status is not None and status.state is SourceState.DOWN:
            out[v.id] = VantageHealth(v.id, v.name, False, status.detail or "source down")
            continue
        if v.control:
            th = thresholds_for(cfg, v.id)
            sig = judge(store.ping_summary(v.id, v.control, th.window, th.hysteresis), now, th,
                        v.control, vantage=v.id)
            if not sig.reach.answers:
                why = sig.detail or sig.reach.value
                out[v.id] = VantageHealth(v.id, v.name, False,
                                          f"control {v.control} {sig.reach.value} ({why})")
                continue
        out[v.id] = VantageHealth(v.id, v.name, True)
    return out


# (vantage, address) -> (the ring summary judged, its signal): see host_signals.
SignalMemo = dict[tuple[str, str], tuple[RingSummary, AddressSignal]]


def host_signals(cfg: Config, store: StateStore, host: Host, now: float,
                 health: dict[str, VantageHealth], memo: SignalMemo | None = None
                 ) -> HostSignals:
    """Everything known about one host at `now`.

    `memo` (kept by a caller that evaluates every second) reuses a signal while its ring
    has had no new sample and it is still fresh: remote vantages report once a minute, so
    most rings do not change between two evaluations. A reused signal's `age` is the age
    when it was judged; ages are shown only for unknown signals, which are never reused.
    """
    targets = [(side, addr) for side, addr in host.addresses]
    targets += [(Side.VIP, v.address) for v in cfg.fleet.vips_of(host.name)]
    sigs = []
    for v in cfg.vantages:
        th = thresholds_for(cfg, v.id)
        hv = health.get(v.id)
        for side, addr in targets:
            summary = store.ping_summary(v.id, addr, th.window, th.hysteresis)
            if summary is None:
                continue  # this vantage does not probe this address
            if hv is not None and not hv.healthy:
                sigs.append(AddressSignal(addr, side, v.id, Reach.UNKNOWN,
                                          detail=f"vantage unhealthy: {hv.detail}"))
                continue
            hit = memo.get((v.id, addr)) if memo is not None else None
            if (hit is not None and hit[0] is summary and hit[1].reach is not Reach.UNKNOWN
                    and now - summary.newest_t <= th.stale_after):
                sigs.append(hit[1])
                continue
            sig = judge(summary, now, th, addr, side, v.id)
            if memo is not None:
                memo[(v.id, addr)] = (summary, sig)
            sigs.append(sig)
    return HostSignals(host, tuple(sigs), *_monitoring(cfg, store, host, now),
                       problems=store.problems(host.name), login=store.login(host.name),
                       on_alert_page=_on_alert_page(store, host, targets))


def _monitoring(cfg: Config, store: StateStore, host: Host, now: float
                ) -> tuple[tuple[tuple[Metric, MetricSample | None], ...], float | None,
                           bool | None, float | None]:
    metrics = tuple((m, store.latest_metric(host.name, m)) for m in Metric)
    clocks = [s.clock for _, s in metrics if s is not None]
    if not clocks:
        return metrics, None, None, None
    newest = max(clocks)
    age = max(0.0, now - newest)
    return metrics, newest, age > cfg.zabbix.stale_after, age


def _on_alert_page(store: StateStore, host: Host, targets: list[tuple[Side, str]]) -> bool:
    page = store.alert_page()
    return page is not None and any(addr in page.addresses for _, addr in targets)
