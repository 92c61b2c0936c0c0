"""The Zabbix source: CPU and bond traffic per host, problems, proxies as remote vantages.

The API client (login, deadlines, re-login, redaction) is `probes/zabbix_api.py`; this
module plans what to read, checks every field it uses, and writes the store.

pyzabbix is blocking, so every cycle runs in a daemon thread; the UI never waits on
Zabbix, and a command that ends (`check`) never waits for a cycle stuck on a request.
Polls are self-scheduled (sleep after a cycle ends), so two cycles never overlap, and one
lock serialises the cycle and on-demand chart reads.

A cycle costs a constant number of API calls whatever the fleet size:
  1. item.get     all fleet hosts × candidate keys, plus the probe hosts' ICMP items
  2. history.get  once per value type in use (float, unsigned): only values newer than
                  the newest clock seen, bounded by time (the last hour) and count
  3. problem.get  active problems of the fleet's hosts
  4. trigger.get  only for triggers not seen before (trigger → host is cached)
  5. proxy.get    only when proxy vantages are configured (their `lastaccess`)
Every value keeps the clock Zabbix gave it, so "monitoring stopped" (the newest clock is
older than `zabbix.stale_after`) is computed downstream from the store alone
(`signals.gather`).

Bad data never becomes evidence: an answer of the wrong shape fails the cycle; an item,
value, problem or proxy with a field of the wrong type or out of range is skipped and
counted (the source is `degraded` and says what it skipped); a clock more than
`CLOCK_SKEW` ahead of ours or before `CLOCK_FLOOR` is skipped the same way, so a value
stamped in the future can never pass for a sign of life.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from lvs_tui.config import Config, Vantage, VantageKind
from lvs_tui.fleet import normalize_ip
from lvs_tui.probes import Source
from lvs_tui.probes.zabbix_api import (
    LOGOUT_TIMEOUT,
    V7_0,
    AuthKind,
    ZabbixClient,
    ZabbixError,
)
from lvs_tui.probes.zabbix_items import (
    ItemRow,
    ProblemRow,
    ProxyRow,
    Skipped,
    as_list,
    bad,
    checked_clock,
    ident,
    item_row,
    key_spellings,
    last_clock,
    normalize_key,
    number,
    parse_key,
    problem_row,
    proxy_row,
    shown,
    traffic_scale,
    trigger_hosts,
)
from lvs_tui.state import (
    Metric,
    MetricSample,
    PingSample,
    Problem,
    SourceState,
    SourceStatus,
    StateStore,
)

log = logging.getLogger(__name__)

HISTORY_LIMIT = 100_000  # values per history.get: bounds memory and server time
CHART_LIMIT = 20_000
# Re-read this many seconds before the newest clock: history syncers write out of order and
# proxies deliver a few seconds late. Cheap: ~1 200 extra rows per cycle at 500 hosts.
LATE_SLACK = 30.0
HORIZON = 3600.0  # history kept for sparklines
ICMP_KEYS = ("icmpping", "icmppingloss", "icmppingsec")
DEFAULT_PACKETS = 3  # icmpping's default packet count
VALUE_FLOAT, VALUE_UNSIGNED = 0, 3
NUMERIC_TYPES = (VALUE_FLOAT, VALUE_UNSIGNED)

T = TypeVar("T")

# -- what one cycle reads --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricItem:
    itemid: str
    host: str  # fleet host name
    metric: Metric
    value_type: int
    scale: float
    invert: bool  # system.cpu.util[,idle]: busy = 100 - idle

    def value(self, row: Any, name: str, method: str) -> float:
        """The checked value of a row in the metric's unit (CPU %, bits/s)."""
        raw = number(row, name, method)
        v = raw * self.scale
        v = 100.0 - v if self.invert else v
        if self.metric is Metric.CPU:
            if not -0.5 <= v <= 100.5:  # rounding in Zabbix's own computation
                raise bad(method, name, row[name])
            return min(100.0, max(0.0, v))
        if v < 0 or not math.isfinite(v):
            raise bad(method, name, row[name])
        return v


@dataclass(frozen=True, slots=True)
class IcmpItem:
    key: str  # icmpping | icmppingloss | icmppingsec
    address: str
    packets: int
    clock: float
    value: float | None
    error: str | None  # unsupported item


@dataclass(frozen=True, slots=True)
class IcmpMeta:
    """An ICMP item of a probe host as item.get describes it; values come from history."""

    itemid: str
    probe: str
    key: str
    address: str
    packets: int
    value_type: int
    error: str | None

    def check(self, row: Any, name: str, method: str) -> float:
        """icmpping is 0 or 1, icmppingloss a percentage, icmppingsec seconds."""
        v = number(row, name, method)
        ok = {"icmpping": v in (0.0, 1.0), "icmppingloss": 0 <= v <= 100}.get(self.key, v >= 0)
        if not ok:
            raise bad(method, name, row[name])
        return v


@dataclass(frozen=True, slots=True)
class CycleStats:
    calls: int
    seconds: float
    values: int


@dataclass
class _Plan:
    """item.get's answer sorted out: which item is which metric of which host."""

    metrics: list[MetricItem] = field(default_factory=list)
    last: list[tuple[MetricItem, MetricSample]] = field(default_factory=list)  # item.get's
    hostids: dict[str, list[str]] = field(default_factory=dict)  # zabbix hostid → fleet hosts
    icmp: list[IcmpMeta] = field(default_factory=list)
    probes: dict[str, dict[str, dict[str, IcmpItem]]] = field(default_factory=dict)
    probe_proxy: dict[str, str] = field(default_factory=dict)  # probe host → proxyid
    unsupported: list[str] = field(default_factory=list)
    rows: list[tuple[MetricItem, MetricSample]] = field(default_factory=list)  # history
    problems: list[ProblemRow] = field(default_factory=list)
    proxies: list[ProxyRow] = field(default_factory=list)
    skipped: Skipped = field(default_factory=Skipped)


class ZabbixSource:
    """Feeds the store from one Zabbix server. See the module docstring for the cycle."""

    name = "zabbix"

    def __init__(self, cfg: Config, session: requests.Session | None = None) -> None:
        self.cfg = cfg
        self.client = ZabbixClient(cfg.zabbix, session)
        self.last_cycle: CycleStats | None = None
        self.last_ok: float | None = None  # when a cycle last succeeded: how stale data is
        self._lock = threading.Lock()
        self._newest: dict[int, float] = {}  # value type → newest history clock read
        self._itemsets: dict[int, frozenset[str]] = {}  # value type → itemids last read
        self._trigger_hosts: dict[str, tuple[str, ...]] = {}  # triggerid → zabbix hostids
        self._ping_clock: dict[tuple[str, str], float] = {}
        self._refs: dict[tuple[str, Metric], MetricItem] = {}
        self._icmp_last: dict[str, tuple[float, float]] = {}  # itemid → newest clock, value
        self._with_last = True  # item.get's lastclock/lastvalue: costly, first cycle only
        self._vantages = tuple(v for v in cfg.vantages if v.kind is VantageKind.ZABBIX_PROXY)
        self._fleet_of: dict[str, list[str]] = {}
        for h in cfg.fleet.hosts:
            self._fleet_of.setdefault(h.zabbix_host, []).append(h.name)
        self._keys = {m: tuple(normalize_key(k) for k in ks) for m, ks in cfg.zabbix.keys.items()}

    def __repr__(self) -> str:
        return f"ZabbixSource(url={self.cfg.zabbix.url!r}, auth={self.client.auth_kind})"

    # -- the asyncio side ----------------------------------------------------------------
    async def run(self, store: StateStore) -> None:
        now = time.time()
        store.set_source(SourceStatus(self.name, SourceState.STARTING, now, "connecting"))
        for v in self._vantages:
            store.set_source(SourceStatus(f"vantage:{v.id}", SourceState.STARTING, now,
                                          "waiting for Zabbix"))
        try:
            while True:
                started = time.monotonic()
                await in_thread(self.refresh, store)
                spent = time.monotonic() - started
                await asyncio.sleep(max(0.5, self.cfg.zabbix.interval - spent))
        finally:
            with contextlib.suppress(Exception):
                await in_thread(self.logout)

    async def chart(self, host: str, metric: Metric, hours: int) -> tuple[MetricSample, ...]:
        """1 h / 6 h / 24 h from history, longer from trends (hourly averages)."""
        return await in_thread(self.read_chart, host, metric, hours)

    # -- one cycle (worker thread) -------------------------------------------------------
    def refresh(self, store: StateStore) -> CycleStats | None:
        """One cycle; never raises: failures become the source's state."""
        with self._lock:
            try:
                if self.client.api is None:  # login is not part of the cycle's call budget
                    self.client.begin(self.cfg.zabbix.timeout)
                    self.client.login()
                started = time.monotonic()
                self.client.begin(self.cfg.zabbix.timeout)
                plan = self._read()
                stats = CycleStats(self.client.calls, time.monotonic() - started,
                                   len(plan.rows))
                self._write(store, plan, stats)
            except ZabbixError as exc:
                self._fail(store, str(exc))
                return None
            except Exception as exc:  # a bug must not kill the console: show it, log it
                log.warning("zabbix cycle failed: %s: %s", type(exc).__name__, shown(exc))
                log.debug("zabbix cycle failed", exc_info=True)  # never on a terminal
                self._fail(store, f"internal error ({type(exc).__name__})")
                return None
            self._with_last = False  # got them once: history carries every newer value
        self.last_cycle = stats
        return stats

    def _read(self) -> _Plan:
        plan = self._plan(as_list(self.client.call("item.get", self._item_query()), "item.get"))
        self._refs = {(m.host, m.metric): m for m in plan.metrics}
        plan.rows = self._read_history(plan)
        plan.probes = self._icmp_items(plan)
        plan.problems = self._read_problems(plan)
        if self._vantages:
            now = time.time()
            answer = as_list(self.client.call("proxy.get", self._proxy_query()), "proxy.get")
            plan.proxies = [p for a in answer if (p := plan.skipped.keep(
                "proxy", proxy_row, a, plan.skipped, now)) is not None]
        if plan.skipped:
            log.warning("zabbix: %s", plan.skipped.said())
        return plan

    def _item_query(self) -> dict[str, Any]:
        keys: set[str] = set()
        for cands in self.cfg.zabbix.keys.values():
            for k in cands:
                keys |= key_spellings(k)
        hosts = set(self._fleet_of)
        probes = {v.probe_host for v in self._vantages}
        if probes:
            for addr in self.cfg.fleet.addresses():
                for k in ICMP_KEYS:
                    keys |= {f"{k}[{addr}]", f'{k}["{addr}"]'}
        proxy_field = "proxyid" if self.client.at_least(V7_0) else "proxy_hostid"
        # lastclock/lastvalue make Zabbix look up each item's history (0.4 s at 2500
        # items): asked once, so that values older than the history window still count.
        last = ["lastclock", "lastvalue"] if self._with_last else []
        return {"output": ["itemid", "hostid", "key_", "value_type", "units", "state",
                           "error", *last],
                "selectHosts": ["hostid", "host", proxy_field],
                "filter": {"host": sorted(hosts | probes), "key_": sorted(keys)},
                "monitored": True}

    def _plan(self, items: list[Any]) -> _Plan:
        plan = _Plan()
        probe_hosts = {v.probe_host for v in self._vantages}
        found: dict[tuple[str, Metric], tuple[int, ItemRow]] = {}
        for raw in items:
            it = plan.skipped.keep("item", item_row, raw)
            if it is None:
                continue
            key = normalize_key(it.key)
            if it.host in probe_hosts:
                self._plan_icmp(plan, it, key)
            for fleet_name in self._fleet_of.get(it.host, ()):
                plan.hostids.setdefault(it.hostid, []).append(fleet_name)
                for metric, cands in self._keys.items():
                    if key in cands:
                        rank = cands.index(key)
                        best = found.get((fleet_name, metric))
                        if best is None or rank < best[0]:
                            found[(fleet_name, metric)] = (rank, it)
        now = time.time()
        for (fleet_name, metric), (_, it) in found.items():
            ref = self._metric_item(fleet_name, metric, it)
            if ref is None:
                plan.unsupported.append(f"{fleet_name} {it.key} ({it.units})")
                continue
            plan.metrics.append(ref)
            if it.unsupported:
                plan.unsupported.append(f"{fleet_name} {it.key}")
            last = plan.skipped.keep("value", self._last_metric, it, ref, now)
            if last is not None:
                plan.last.append(last)
        for k in plan.hostids:
            plan.hostids[k] = sorted(set(plan.hostids[k]))
        return plan

    @staticmethod
    def _last_metric(it: ItemRow, ref: MetricItem, now: float
                     ) -> tuple[MetricItem, MetricSample] | None:
        clock = last_clock(it, now)
        if clock is None:
            return None
        return ref, MetricSample(clock, ref.value(it.row, "lastvalue", "item.get"))

    def _metric_item(self, host: str, metric: Metric, it: ItemRow) -> MetricItem | None:
        if it.value_type not in NUMERIC_TYPES:
            return None
        if metric is Metric.CPU:
            _, params = parse_key(it.key)
            return MetricItem(it.itemid, host, metric, it.value_type, 1.0,
                              len(params) > 1 and params[1] == "idle")
        scale = traffic_scale(it.units)
        if scale is None:
            return None
        return MetricItem(it.itemid, host, metric, it.value_type, scale, False)

    def _plan_icmp(self, plan: _Plan, it: ItemRow, key: str) -> None:
        name, params = parse_key(key)
        if name not in ICMP_KEYS or not params:
            return
        try:
            addr = normalize_ip(params[0])
        except ValueError:
            return
        packets = DEFAULT_PACKETS
        if len(params) > 1 and params[1].isdigit():
            packets = max(1, min(int(params[1]), 10_000))
        error = f"{name} unsupported: {it.error[:80]}" if it.unsupported else None
        meta = IcmpMeta(it.itemid, it.host, name, addr, packets, it.value_type, error)
        plan.icmp.append(meta)
        now = time.time()
        plan.skipped.keep("value", self._icmp_last_value, meta, it, now)
        plan.probe_proxy[it.host] = it.proxyid

    def _icmp_last_value(self, meta: IcmpMeta, it: ItemRow, now: float) -> None:
        clock = last_clock(it, now)
        if clock is not None:
            self._icmp_seen(meta.itemid, clock, meta.check(it.row, "lastvalue", "item.get"))

    def _icmp_items(self, plan: _Plan) -> dict[str, dict[str, dict[str, IcmpItem]]]:
        out: dict[str, dict[str, dict[str, IcmpItem]]] = {}
        for m in plan.icmp:
            clock, value = self._icmp_last.get(m.itemid, (0.0, None))
            out.setdefault(m.probe, {}).setdefault(m.address, {})[m.key] = IcmpItem(
                m.key, m.address, m.packets, clock, None if m.error else value, m.error)
        return out

    def _read_history(self, plan: _Plan) -> list[tuple[MetricItem, MetricSample]]:
        """One history.get per value type, only newer values, newest first when truncated.

        Metric rows are returned for the store; ICMP rows only update each item's newest.
        """
        by_type: dict[int, dict[str, MetricItem | IcmpMeta]] = {}
        items: list[MetricItem | IcmpMeta] = [*plan.metrics, *plan.icmp]
        for m in items:
            if m.value_type in NUMERIC_TYPES:
                by_type.setdefault(m.value_type, {})[m.itemid] = m
        now = time.time()
        out: list[tuple[MetricItem, MetricSample]] = []
        for vt, refs in sorted(by_type.items()):
            ids = frozenset(refs)
            time_from = now - HORIZON
            if self._itemsets.get(vt) == ids and vt in self._newest:
                # an agent whose clock runs ahead must not hide everybody else's values
                time_from = max(time_from, min(self._newest[vt], now) - LATE_SLACK)
            rows = as_list(self.client.call("history.get", {
                "history": vt, "itemids": sorted(ids), "time_from": int(time_from),
                "output": ["itemid", "clock", "value"], "sortfield": "clock",
                "sortorder": "DESC", "limit": HISTORY_LIMIT}), "history.get")
            self._itemsets[vt] = ids
            for r in rows:
                clock = plan.skipped.keep("value", self._history_row, r, refs, now, out)
                if clock is not None:
                    self._newest[vt] = max(self._newest.get(vt, 0.0), clock)
        return out

    def _history_row(self, r: Any, refs: dict[str, MetricItem | IcmpMeta], now: float,
                     out: list[tuple[MetricItem, MetricSample]]) -> float | None:
        """One checked row: a metric sample for the store, or an ICMP item's newest."""
        m = "history.get"
        ref = refs.get(ident(r, "itemid", m))
        if ref is None:
            return None  # not asked for: nothing to say about it
        clock = checked_clock(r, "clock", m, now)
        if isinstance(ref, MetricItem):
            out.append((ref, MetricSample(clock, ref.value(r, "value", m))))
        else:
            self._icmp_seen(ref.itemid, clock, ref.check(r, "value", m))
        return clock

    def _icmp_seen(self, itemid: str, clock: float, value: float) -> None:
        if clock > self._icmp_last.get(itemid, (0.0, 0.0))[0]:
            self._icmp_last[itemid] = (clock, value)

    def _read_problems(self, plan: _Plan) -> list[ProblemRow]:
        if not plan.hostids:
            return []
        answer = as_list(self.client.call("problem.get", {
            "hostids": sorted(plan.hostids), "source": 0, "object": 0,
            "output": ["eventid", "objectid", "name", "severity", "clock"]}), "problem.get")
        now = time.time()
        problems = [p for a in answer if (p := plan.skipped.keep("problem", problem_row, a, now))]
        unknown = sorted({p.objectid for p in problems} - set(self._trigger_hosts))
        if unknown:
            for t in as_list(self.client.call("trigger.get", {
                    "triggerids": unknown, "output": ["triggerid"],
                    "selectHosts": ["hostid"]}), "trigger.get"):
                got = plan.skipped.keep("trigger", trigger_hosts, t)
                if got is not None:
                    self._trigger_hosts[got[0]] = got[1]
        return problems

    def _proxy_query(self) -> dict[str, Any]:
        name = "name" if self.client.at_least(V7_0) else "host"
        return {"output": ["proxyid", name, "lastaccess"]}

    # -- writing into the store ----------------------------------------------------------
    def _write(self, store: StateStore, plan: _Plan, stats: CycleStats) -> None:
        for ref, sample in sorted(plan.rows, key=lambda r: r[1].clock):
            store.add_metric(ref.host, ref.metric, sample)
        for ref, sample in plan.last:  # item.get's last value: newer than any history
            store.add_metric(ref.host, ref.metric, sample)
        self._write_problems(store, plan)
        now = time.time()
        for v in self._vantages:
            self._write_vantage(store, v, plan, now)
        seen = {n for names in plan.hostids.values() for n in names}
        missing = sorted(h.name for h in self.cfg.fleet.hosts if h.name not in seen)
        summary = (f"{len(plan.hostids)} hosts, {len(plan.metrics)} items, {stats.calls} calls,"
                   f" {stats.seconds:.2f} s")
        problems = [f"not in Zabbix: {_few(missing)}" if missing else "",
                    f"unusable items: {_few(plan.unsupported)}" if plan.unsupported else "",
                    plan.skipped.said() if plan.skipped else "",
                    "slow cycle" if stats.seconds > self.cfg.zabbix.timeout / 2 else ""]
        said = [p for p in problems if p]
        state = SourceState.DEGRADED if said else SourceState.OK
        detail = "; ".join([*said, summary])
        self.last_ok = now
        store.set_source(SourceStatus(self.name, state, now, detail, last_ok=now))

    def _write_problems(self, store: StateStore, plan: _Plan) -> None:
        per_host: dict[str, list[Problem]] = {n: [] for ns in plan.hostids.values() for n in ns}
        for p in plan.problems:
            for hostid in self._trigger_hosts.get(p.objectid, ()):
                for name in plan.hostids.get(hostid, ()):
                    per_host[name].append(Problem(p.name, p.severity, p.clock))
        for name, found in per_host.items():
            store.set_problems(name, tuple(sorted(found, key=lambda p: (-p.severity,
                                                                        -p.clock))))

    def _write_vantage(self, store: StateStore, v: Vantage, plan: _Plan, now: float) -> None:
        source = f"vantage:{v.id}"
        items = plan.probes.get(v.probe_host)
        if items is None:
            self._vantage_down(store, v, f"probe host {v.probe_host!r} has no ICMP items",
                               now)
            return
        stale = self._proxy_problem(v, plan, now)
        if stale:
            self._vantage_down(store, v, stale, now)
            return
        bad = missing = 0
        for addr in self.cfg.fleet.addresses():
            sample = icmp_sample(items.get(addr, {}), now)
            if sample is None:
                missing += 1
                continue
            bad += sample.error is not None
            last = self._ping_clock.get((v.id, addr))
            if sample.error is None and last is not None and sample.t <= last:
                continue  # the same Zabbix check again: not a new probe
            self._ping_clock[(v.id, addr)] = sample.t
            store.add_ping(v.id, addr, sample)
        said = [f"{bad} addresses unknown (items unsupported or without data)" if bad else "",
                f"{missing} addresses without ICMP items" if missing else ""]
        said = [x for x in said if x]
        state = SourceState.DEGRADED if said else SourceState.OK
        detail = "; ".join(said) or f"{len(items)} addresses via {v.proxy or v.probe_host}"
        store.set_source(SourceStatus(source, state, now, detail, last_ok=now))

    def _proxy_problem(self, v: Vantage, plan: _Plan, now: float) -> str:
        """Why the vantage's proxy cannot be trusted now, or '' when it is fresh."""
        proxyid = plan.probe_proxy.get(v.probe_host, "0")
        named = [p for p in plan.proxies if p.name == v.proxy]
        proxy = named[0] if v.proxy and named else next(
            (p for p in plan.proxies if p.proxyid == proxyid), None)
        if proxy is None:
            if v.proxy or proxyid != "0":
                return f"proxy {v.proxy or proxyid!r} not found in Zabbix"
            return ""  # the probe host is polled by the server itself
        label = proxy.name or v.proxy
        if math.isnan(proxy.lastaccess):
            return f"proxy {label!r} reports an unusable lastaccess"
        if proxy.lastaccess <= 0:
            return f"proxy {label!r} has never reported"
        age = now - proxy.lastaccess
        if age > self.cfg.zabbix.stale_after:
            return f"proxy {label!r} silent for {age / 60:.0f} min"
        return ""

    def _vantage_down(self, store: StateStore, v: Vantage, why: str, now: float) -> None:
        for addr in self.cfg.fleet.addresses():
            store.add_ping(v.id, addr, PingSample(now, 0, 0, None, why))
        store.set_source(SourceStatus(f"vantage:{v.id}", SourceState.DOWN, now, why))

    def _fail(self, store: StateStore, detail: str) -> None:
        now = time.time()
        log.warning("zabbix: %s", detail)
        store.set_source(SourceStatus(self.name, SourceState.DOWN, now, detail, self.last_ok))
        for v in self._vantages:  # unknown, never down: their data is not coming
            self._vantage_down(store, v, f"Zabbix: {detail}", now)

    def logout(self) -> None:
        """End a password session. Quitting never waits on a stuck cycle for longer than
        LOGOUT_TIMEOUT: the session then simply expires. Tokens have no session."""
        if self.client.auth_kind is not AuthKind.PASSWORD:
            return
        if not self._lock.acquire(timeout=LOGOUT_TIMEOUT):
            return
        try:
            self.client.logout()
        finally:
            self._lock.release()

    # -- charts --------------------------------------------------------------------------
    def read_chart(self, host: str, metric: Metric, hours: int) -> tuple[MetricSample, ...]:
        ref = self._refs.get((host, metric))
        if ref is None:
            return ()
        skipped = Skipped()
        with self._lock:
            self.client.begin(self.cfg.zabbix.timeout)
            now = time.time()
            since = int(now - hours * 3600)
            try:
                self.client.ensure_login()
                if hours <= 24:
                    rows = as_list(self.client.call("history.get", {
                        "history": ref.value_type, "itemids": [ref.itemid],
                        "time_from": since, "output": ["clock", "value"],
                        "sortfield": "clock", "sortorder": "ASC", "limit": CHART_LIMIT}),
                        "history.get")
                    name = "value"
                else:
                    rows = as_list(self.client.call("trend.get", {
                        "itemids": [ref.itemid], "time_from": since,
                        "output": ["clock", "value_avg"], "limit": CHART_LIMIT}), "trend.get")
                    name = "value_avg"
            except ZabbixError as exc:
                log.warning("zabbix chart %s %s: %s", host, metric.value, exc)
                return ()
        samples = [s for r in rows
                   if (s := skipped.keep("value", chart_sample, r, ref, name, now))]
        if skipped:
            log.warning("zabbix chart %s %s: %s", host, metric.value, skipped.said())
        return tuple(sorted(samples, key=lambda s: s.clock))


def icmp_sample(items: dict[str, IcmpItem], now: float) -> PingSample | None:
    """A vantage's view of one address from its icmpping/icmppingloss/icmppingsec items.

    Unsupported or missing items give an unknown sample; an unreachable target's
    icmppingsec of 0 is no RTT at all, never a fast one. None: nothing to say yet.
    """
    ping = items.get("icmpping")
    if ping is None:
        return PingSample(now, 0, 0, None, "no icmpping item") if items else None
    errors = [i.error for i in items.values() if i.error]
    if errors:
        return PingSample(now, 0, 0, None, errors[0])
    if ping.value is None:
        return PingSample(now, 0, 0, None, "no data from the probe")
    sent = ping.packets
    loss_item = items.get("icmppingloss")
    if ping.value <= 0:
        received = 0
    elif loss_item is not None and loss_item.value is not None:
        received = max(1, min(sent, round(sent * (1 - loss_item.value / 100))))
    else:
        received = sent
    sec = items.get("icmppingsec")
    rtt = sec.value if sec and sec.value and received and sec.value > 0 else None
    if rtt is not None and not math.isfinite(rtt):
        rtt = None
    return PingSample(ping.clock, sent, received, rtt)


def chart_sample(row: Any, ref: MetricItem, name: str, now: float) -> MetricSample:
    """One checked row of history.get or trend.get for a chart."""
    return MetricSample(checked_clock(row, "clock", "chart", now), ref.value(row, name, "chart"))


def _few(names: list[str], shown: int = 3) -> str:
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a daemon thread. Unlike `asyncio.to_thread`, the loop's executor is not
    used: `asyncio.run` joins that one when it ends, so `check` would wait for a cycle still
    stuck on Zabbix; a daemon thread is left to finish (or die with the process)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def failed(exc: BaseException) -> None:
        if not done.cancelled():
            done.set_exception(exc)

    def settled(result: T) -> None:
        if not done.cancelled():
            done.set_result(result)

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting task
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(failed, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settled, result)

    threading.Thread(target=work, name=f"zabbix-{getattr(fn, '__name__', 'call')}",
                     daemon=True).start()
    return await done


def zabbix_sources(cfg: Config) -> list[Source]:
    """The Zabbix source when configured, else none."""
    return [ZabbixSource(cfg)] if cfg.zabbix.enabled else []
