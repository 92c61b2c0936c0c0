"""Signals: raw samples from the store turned into per-address, per-vantage verdicts.

Pure functions of (samples, now, thresholds). The rules that keep the console honest:
- no data, stale data, a probe error or a broken vantage is UNKNOWN, never DOWN;
- a state changes only after `hysteresis` consecutive probes agree, so one lost ping does
  not flap (the verdict is recomputed from the history, no hidden state to drift).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from lvs_tui.config import Config, VantageKind
from lvs_tui.fleet import Host, Side
from lvs_tui.state import (
    METRICS,
    AlertPage,
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

SUMMARY_CHUNK = 512  # addresses summarised under one lock, between two pause points


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
    # Seconds since the newest sample, on unknown signals only (stale, probe error): an
    # answered or down signal is fresh by definition, and carrying no clock lets one judged
    # signal stand until its ring gets a new sample (see fleet_signals).
    age: float | None = None
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
    unknown = reach is Reach.UNKNOWN
    return AddressSignal(address, side, vantage, reach,
                         None if rtt is None else rtt * 1000, loss, sent, received,
                         age if unknown else None, summary.last_up,
                         summary.silent_since if reach is Reach.DOWN else None,
                         "too few samples" if unknown else "")


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


# (vantage, address) -> (what was judged: the ring's summary, or the vantage's ill health;
# the signal): see fleet_signals.
SignalMemo = dict[tuple[str, str], tuple[object, AddressSignal]]


def host_targets(cfg: Config, host: Host) -> tuple[tuple[Side, str], ...]:
    """What is pinged for a host: both sides, then its VIPs."""
    return (*host.addresses, *((Side.VIP, v.address) for v in cfg.fleet.vips_of(host.name)))


def fleet_signals(cfg: Config, store: StateStore, now: float,
                  health: dict[str, VantageHealth], sides: dict[str, Side],
                  memo: SignalMemo | None = None, pause: Callable[[], None] | None = None
                  ) -> tuple[dict[tuple[str, str], AddressSignal], list[tuple[str, str]]]:
    """Every address in `sides` judged once per vantage that probes it (a VIP announced by
    three hosts is judged once, not three times), and which of them were judged anew.

    `memo` (kept by a caller that evaluates every second) reuses a signal while its ring has
    had no new sample and it is still fresh: remote vantages report once a minute, so most
    rings do not change between two evaluations. A reused signal is exactly what judging
    again would give: signals that depend on the clock (unknown ones carry their age) are
    never reused. `pause` is called between chunks of addresses (the caller's yield point).
    """
    memo = {} if memo is None else memo
    out: dict[tuple[str, str], AddressSignal] = {}
    judged: list[tuple[str, str]] = []
    addresses = tuple(sides)
    for v in cfg.vantages:
        th = thresholds_for(cfg, v.id)
        hv = health.get(v.id)
        ill = hv is not None and not hv.healthy
        stale_after = th.stale_after
        summaries: list[RingSummary | None] = []
        for start in range(0, len(addresses), SUMMARY_CHUNK):
            if pause is not None:
                pause()
            summaries += store.ping_summaries(v.id, addresses[start:start + SUMMARY_CHUNK],
                                              th.window, th.hysteresis)
        for addr, summary in zip(addresses, summaries, strict=True):
            if summary is None:
                continue  # this vantage does not probe this address
            key = (v.id, addr)
            hit = memo.get(key)
            if ill and hv is not None:  # (ill implies hv; said again for the type checker)
                if hit is None or hit[0] != hv:
                    hit = (hv, AddressSignal(addr, sides[addr], v.id, Reach.UNKNOWN,
                                             detail=f"vantage unhealthy: {hv.detail}"))
                    memo[key] = hit
                    judged.append(key)
            elif (hit is None or hit[0] is not summary or hit[1].reach is Reach.UNKNOWN
                  or now - summary.newest_t > stale_after):  # judge's own staleness test
                hit = (summary, judge(summary, now, th, addr, sides[addr], v.id))
                memo[key] = hit
                judged.append(key)
            out[key] = hit[1]
    return out, judged


def gather(cfg: Config, store: StateStore, host: Host, now: float,
           pairs: tuple[tuple[str, str], ...], addresses: frozenset[str],
           signals: dict[tuple[str, str], AddressSignal], page: AlertPage | None
           ) -> HostSignals:
    """A host's signals from the fleet's: `pairs` are its (vantage, address) in the order
    shown (vantage by vantage, then its targets), `addresses` its targets."""
    sigs = tuple(filter(None, map(signals.get, pairs)))  # a signal is never falsy
    on_page = page is not None and not page.addresses.isdisjoint(addresses)
    return HostSignals(host, sigs, *_monitoring(cfg, store, host, now),
                       problems=store.problems(host.name), login=store.login(host.name),
                       on_alert_page=on_page)


def _monitoring(cfg: Config, store: StateStore, host: Host, now: float
                ) -> tuple[tuple[tuple[Metric, MetricSample | None], ...], float | None,
                           bool | None, float | None]:
    metrics = tuple(zip(METRICS, store.latest_metrics(host.name), strict=True))
    clocks = [s.clock for _, s in metrics if s is not None]
    if not clocks:
        return metrics, None, None, None
    newest = max(clocks)
    age = max(0.0, now - newest)
    zabbix = store.source("zabbix")
    if zabbix is not None and zabbix.state in (SourceState.DOWN, SourceState.STALE):
        # Zabbix itself is not answering: old values say nothing about the host
        return metrics, newest, None, age
    return metrics, newest, age > cfg.zabbix.stale_after, age
