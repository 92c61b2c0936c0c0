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
    PingSample,
    Problem,
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
        return self in (Reach.UP, Reach.LOSS)


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
             side: Side = Side.VIP, vantage: str = "local",
             marks: tuple[float | None, float | None] | None = None) -> AddressSignal:
    """One address seen from one vantage: up / loss / down / unknown.

    `marks` (last answered, silent since) from the store cover more history than `samples`.
    """
    base = dict(address=address, side=side, vantage=vantage)
    if not samples:
        return AddressSignal(**base, reach=Reach.UNKNOWN, detail="no data")
    newest = samples[-1]
    age = max(0.0, now - newest.t)
    if age > th.stale_after:
        return AddressSignal(**base, reach=Reach.UNKNOWN, age=age, detail=f"stale {age:.0f}s")
    if newest.error is not None:
        return AddressSignal(**base, reach=Reach.UNKNOWN, age=age, detail=newest.error)
    valid = [s for s in samples if s.error is None and s.sent > 0]
    recent = _window(valid, th.window)
    sent = sum(s.sent for s in recent)
    received = sum(s.received for s in recent)
    answered = [s for s in recent if s.received and s.rtt is not None]
    rtt = (sum(s.rtt * s.received for s in answered) / sum(s.received for s in answered)
           if answered else None)
    loss = 100.0 * (sent - received) / sent if sent else None
    if marks is not None:
        last_up, silent = marks
    else:
        last_up = next((s.t for s in reversed(valid) if s.received), None)
        silent = next((s.t for s in valid if last_up is None or s.t > last_up), None)
    reach = _hysteresis(valid, th.hysteresis)
    if reach is Reach.UP and loss is not None and loss >= th.loss_threshold:
        reach = Reach.LOSS
    return AddressSignal(**base, reach=reach, rtt_ms=None if rtt is None else rtt * 1000,
                         loss_pct=loss, sent=sent, received=received, age=age, last_up=last_up,
                         silent_since=silent if reach is Reach.DOWN else None,
                         detail="" if reach is not Reach.UNKNOWN else "too few samples")


def _window(valid: Sequence[PingSample], probes: int) -> Sequence[PingSample]:
    """The newest samples holding `probes` probes: an aggregated check of 3 counts 3."""
    total = 0
    for i in range(len(valid) - 1, -1, -1):
        total += max(1, valid[i].sent)
        if total >= probes:
            return valid[i:]
    return valid


def _hysteresis(valid: Sequence[PingSample], need: int) -> Reach:
    """The state of the newest run of >= `need` consecutive agreeing probes.

    Runs are walked from the newest; a run shorter than `need` does not change the state,
    so it is judged by the run before it. An aggregated sample (sent=3) counts 3 probes.
    """
    run_up: bool | None = None
    run_len = 0
    for s in reversed(valid):
        up = s.received > 0
        if up != run_up:
            if run_up is not None and run_len >= need:
                return Reach.UP if run_up else Reach.DOWN
            run_up, run_len = up, 0
        run_len += s.sent if not up else max(1, s.received)
    if run_up is not None and run_len >= need:
        return Reach.UP if run_up else Reach.DOWN
    # No run long enough: flapping or just started. Anything that answers is alive
    # (the loss check then makes it LOSS); silence too short to judge is unknown.
    return Reach.UP if any(s.received for s in valid) else Reach.UNKNOWN


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
            sig = classify(store.pings(v.id, v.control), now, thresholds_for(cfg, v.id),
                           v.control, vantage=v.id)
            if not sig.reach.answers:
                why = sig.detail or sig.reach.value
                out[v.id] = VantageHealth(v.id, v.name, False,
                                          f"control {v.control} {sig.reach.value} ({why})")
                continue
        out[v.id] = VantageHealth(v.id, v.name, True)
    return out


def host_signals(cfg: Config, store: StateStore, host: Host, now: float,
                 health: dict[str, VantageHealth]) -> HostSignals:
    """Everything known about one host at `now`."""
    targets = [(side, addr) for side, addr in host.addresses]
    targets += [(Side.VIP, v.address) for v in cfg.fleet.vips_of(host.name)]
    sigs = []
    for v in cfg.vantages:
        th = thresholds_for(cfg, v.id)
        hv = health.get(v.id)
        for side, addr in targets:
            samples = store.pings(v.id, addr, last=max(th.window, th.hysteresis) * 4)
            if not samples:
                continue  # this vantage does not probe this address
            if hv is not None and not hv.healthy:
                sigs.append(AddressSignal(addr, side, v.id, Reach.UNKNOWN,
                                          detail=f"vantage unhealthy: {hv.detail}"))
                continue
            sigs.append(classify(samples, now, th, addr, side, v.id,
                                 store.ping_marks(v.id, addr)))
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
