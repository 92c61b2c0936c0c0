"""The Zabbix source: CPU and bond traffic per host, problems, proxies as remote vantages.

pyzabbix is blocking, so every API call runs in a worker thread (`asyncio.to_thread`);
the UI never waits on Zabbix. Polls are self-scheduled (sleep after a cycle ends), so two
cycles never overlap, and one lock serialises the cycle and on-demand chart reads.

A cycle costs a constant number of API calls whatever the fleet size:
  1. item.get     all fleet hosts × candidate keys, plus the probe hosts' ICMP items
  2. history.get  once per value type in use (float, unsigned): only values newer than
                  the newest clock seen, bounded by time (the last hour) and count
  3. problem.get  active problems of the fleet's hosts
  4. trigger.get  only for triggers not seen before (trigger → host is cached)
  5. proxy.get    only when proxy vantages are configured (their `lastaccess`)
Every value keeps the clock Zabbix gave it, so "monitoring stopped" (the newest clock is
older than `zabbix.stale_after`) is computed downstream from the store alone.

Secrets (API token, password, session id) never reach the screen, a log or an exception
text shown to users: details are built from error classes, and pyzabbix's debug log
(which prints whole request bodies) passes through a redacting filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

import requests
from packaging.version import Version
from pyzabbix import ZabbixAPI, ZabbixAPIException

from lvs_tui.config import Config, Vantage, VantageKind
from lvs_tui.fleet import normalize_ip
from lvs_tui.probes import Source
from lvs_tui.secret import SecretError, read_secret
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

CONNECT_TIMEOUT = 3.0  # seconds to open the TCP connection, within the cycle's deadline
LOGOUT_TIMEOUT = 2.0
HISTORY_LIMIT = 100_000  # values per history.get: bounds memory and server time
CHART_LIMIT = 20_000
# Re-read this many seconds before the newest clock: history syncers write out of order and
# proxies deliver a few seconds late. Cheap: ~1 200 extra rows per cycle at 500 hosts.
LATE_SLACK = 30.0
HORIZON = 3600.0  # history kept for sparklines
ICMP_KEYS = ("icmpping", "icmppingloss", "icmppingsec")
DEFAULT_PACKETS = 3  # icmpping's default packet count
LOGIN_BACKOFF = 300.0  # seconds before a refused password is tried again
REFUSED = "login refused: incorrect user name or password (or user blocked)"
V7_0 = Version("7.0")
VALUE_FLOAT, VALUE_UNSIGNED = 0, 3
NUMERIC_TYPES = (VALUE_FLOAT, VALUE_UNSIGNED)

# Units Zabbix items carry for traffic → factor to bits per second. Official templates
# store bps; hand-made items often store bytes per second.
_TRAFFIC_SCALE = {"": 1.0, "bps": 1.0, "b/s": 1.0, "bit/s": 1.0, "Bps": 8.0, "B/s": 8.0,
                  "B": 8.0, "Kbps": 1e3, "Mbps": 1e6, "Gbps": 1e9, "KBps": 8e3,
                  "MBps": 8e6, "GBps": 8e9}


class ZabbixError(Exception):
    """A one-line, secret-free reason shown as the source's detail."""


class AuthKind(StrEnum):
    TOKEN = "token"
    PASSWORD = "password"


@dataclass(frozen=True, slots=True)
class Credentials:
    kind: AuthKind
    user: str
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials({self.kind.value}, user={self.user!r}, secret=***)"


def read_credentials(cfg: Config) -> Credentials:
    """The token (preferred) or user + password, read fresh at every login."""
    z = cfg.zabbix
    try:
        token = read_secret(z.token_env, z.token_file, "zabbix.token")
        if token:
            return Credentials(AuthKind.TOKEN, "", token)
        password = read_secret(z.password_env, z.password_file, "zabbix.password")
    except SecretError as exc:
        raise ZabbixError(str(exc)) from None
    if z.user and password:
        return Credentials(AuthKind.PASSWORD, z.user, password)
    raise ZabbixError("zabbix: no API token and no user/password configured")


# -- item keys -----------------------------------------------------------------------------


def parse_key(key: str) -> tuple[str, tuple[str, ...]]:
    """`net.if.in["bond0"]` → ("net.if.in", ("bond0",)); quotes removed, commas in quotes kept."""
    if "[" not in key or not key.endswith("]"):
        return key, ()
    name, _, rest = key.partition("[")
    params: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    for ch in rest[:-1]:
        if quoted:
            if escaped:
                cur.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            params.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    params.append("".join(cur).strip())
    return name, tuple(params)


def normalize_key(key: str) -> str:
    """One spelling per key: unquoted parameters, trailing empty ones dropped."""
    name, params = parse_key(key)
    while params and params[-1] == "":
        params = params[:-1]
    return f"{name}[{','.join(params)}]" if params else name


def key_spellings(key: str) -> set[str]:
    """The spellings an exact `key_` filter must list: each non-empty parameter plain or quoted."""
    name, params = parse_key(key)
    if not params:
        return {name}
    out = [""]
    for i, p in enumerate(params):
        forms = {p, f'"{p}"'} if p and i < 4 else {p}
        out = [f"{o},{f}" if i else f for o in out for f in forms]
    return {f"{name}[{o}]" for o in out} | {key}


def traffic_scale(units: str) -> float | None:
    """Factor from an item's units to bits/s; None when the units are not a rate we know."""
    return _TRAFFIC_SCALE.get(units.strip())


# -- what one cycle reads --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricItem:
    itemid: str
    host: str  # fleet host name
    metric: Metric
    value_type: int
    scale: float
    invert: bool  # system.cpu.util[,idle]: busy = 100 - idle

    def value(self, raw: str | float) -> float:
        v = float(raw) * self.scale
        return 100.0 - v if self.invert else v


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


@dataclass(frozen=True, slots=True)
class CycleStats:
    calls: int
    seconds: float
    values: int


@dataclass
class _Plan:
    """item.get's answer sorted out: which item is which metric of which host."""

    metrics: list[MetricItem] = field(default_factory=list)
    last: list[tuple[MetricItem, float, str]] = field(default_factory=list)  # lastclock/value
    hostids: dict[str, list[str]] = field(default_factory=dict)  # zabbix hostid → fleet hosts
    icmp: list[IcmpMeta] = field(default_factory=list)
    probes: dict[str, dict[str, dict[str, IcmpItem]]] = field(default_factory=dict)
    probe_proxy: dict[str, str] = field(default_factory=dict)  # probe host → proxyid
    unsupported: list[str] = field(default_factory=list)
    rows: list[tuple[MetricItem, float, str]] = field(default_factory=list)  # history
    problems: list[dict[str, Any]] = field(default_factory=list)
    proxies: list[dict[str, Any]] = field(default_factory=list)


class _Redactor(logging.Filter):
    """Replaces every live secret in pyzabbix's log records with ***."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.logging_in = False  # user.login's answer is the session id, not known yet

    def filter(self, record: logging.LogRecord) -> bool:
        if self.logging_in and str(record.msg).startswith("Response Body"):
            record.msg, record.args = "Response Body: *** (login)", ()
            return True
        live = [s for s in self.secrets if s]
        if live:
            msg = record.getMessage()
            for s in live:
                msg = msg.replace(s, "***")
            record.msg, record.args = msg, ()
        return True


_REDACTOR = _Redactor()
logging.getLogger("pyzabbix.api").addFilter(_REDACTOR)


def _api_error(exc: ZabbixAPIException) -> tuple[str, str]:
    """(kind, one-line detail) of a pyzabbix exception; kind drives re-login."""
    err = exc.error if isinstance(exc.error, dict) else None
    if err is None:
        text = str(exc.args[0]) if exc.args else ""
        if text.startswith("Unable to parse json"):
            return "transport", "malformed JSON from the Zabbix API"
        return "transport", "empty response from the Zabbix API"
    data = str(err.get("data", ""))
    if "Session terminated" in data or "re-login" in data:
        return "session", "session expired"
    if "API token expired" in data:
        return "auth", "API token expired"
    if "Not authorized" in data or "Not authorised" in data:
        return "auth", "not authorised (API token or session rejected)"
    if "Incorrect user name or password" in data:
        return "auth", REFUSED
    return "api", f"API error {err.get('code')}: {data[:160] or err.get('message', '')}"


def _transport_error(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} from the Zabbix API"
    if isinstance(exc, requests.Timeout):
        return f"Zabbix API timed out (limit {timeout:g} s)"
    if isinstance(exc, requests.ConnectionError):
        return "Zabbix API unreachable (connection failed)"
    return f"Zabbix API request failed ({type(exc).__name__})"


class ZabbixSource:
    """Feeds the store from one Zabbix server. See the module docstring for the cycle."""

    name = "zabbix"

    def __init__(self, cfg: Config, session: requests.Session | None = None) -> None:
        self.cfg = cfg
        self.session = session or requests.Session()
        self.api: ZabbixAPI | None = None
        self.version: Version | None = None
        self.last_cycle: CycleStats | None = None
        self.last_ok: float | None = None  # when a cycle last succeeded: how stale data is
        self._auth: AuthKind | None = None
        self._lock = threading.Lock()
        self._calls = 0
        self._deadline = 0.0
        self._newest: dict[int, float] = {}  # value type → newest history clock read
        self._itemsets: dict[int, frozenset[str]] = {}  # value type → itemids last read
        self._trigger_hosts: dict[str, tuple[str, ...]] = {}  # triggerid → zabbix hostids
        self._ping_clock: dict[tuple[str, str], float] = {}
        self._refs: dict[tuple[str, Metric], MetricItem] = {}
        self._icmp_last: dict[str, tuple[float, float]] = {}  # itemid → newest clock, value
        self._with_last = True  # item.get's lastclock/lastvalue: costly, first cycle only
        self._refused: tuple[str, float] | None = None  # refused password's digest, when
        self._vantages = tuple(v for v in cfg.vantages if v.kind is VantageKind.ZABBIX_PROXY)
        self._fleet_of: dict[str, list[str]] = {}
        for h in cfg.fleet.hosts:
            self._fleet_of.setdefault(h.zabbix_host, []).append(h.name)
        self._keys = {m: tuple(normalize_key(k) for k in ks) for m, ks in cfg.zabbix.keys.items()}

    def __repr__(self) -> str:
        return f"ZabbixSource(url={self.cfg.zabbix.url!r}, auth={self._auth})"

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
                await asyncio.to_thread(self.refresh, store)
                spent = time.monotonic() - started
                await asyncio.sleep(max(0.5, self.cfg.zabbix.interval - spent))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.logout)

    async def chart(self, host: str, metric: Metric, hours: int) -> tuple[MetricSample, ...]:
        """1 h / 6 h / 24 h from history, longer from trends (hourly averages)."""
        return await asyncio.to_thread(self.read_chart, host, metric, hours)

    # -- one cycle (worker thread) -------------------------------------------------------
    def refresh(self, store: StateStore) -> CycleStats | None:
        """One cycle; never raises: failures become the source's state."""
        with self._lock:
            try:
                if self.api is None:  # login is not part of the cycle's call budget
                    self._deadline = time.monotonic() + self.cfg.zabbix.timeout
                    self._login()
                started = time.monotonic()
                self._calls = 0
                self._deadline = started + self.cfg.zabbix.timeout
                plan = self._read()
            except ZabbixError as exc:
                self._fail(store, str(exc))
                return None
            except Exception as exc:  # a bug must not kill the console: show it, log it
                log.exception("zabbix cycle failed")
                self._fail(store, f"internal error ({type(exc).__name__})")
                return None
            stats = CycleStats(self._calls, time.monotonic() - started, len(plan.rows))
            self._with_last = False  # got them once: history carries every newer value
        self._write(store, plan, stats)
        self.last_cycle = stats
        return stats

    def _read(self) -> _Plan:
        plan = self._plan(self._call("item.get", self._item_query()))
        self._refs = {(m.host, m.metric): m for m in plan.metrics}
        plan.rows = self._read_history(plan)
        plan.probes = self._icmp_items(plan)
        plan.problems = self._read_problems(plan)
        if self._vantages:
            plan.proxies = self._call("proxy.get", self._proxy_query())
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
        proxy_field = "proxyid" if self._at_least(V7_0) else "proxy_hostid"
        # lastclock/lastvalue make Zabbix look up each item's history (0.4 s at 2500
        # items): asked once, so that values older than the history window still count.
        last = ["lastclock", "lastvalue"] if self._with_last else []
        return {"output": ["itemid", "hostid", "key_", "value_type", "units", "state",
                           "error", *last],
                "selectHosts": ["hostid", "host", proxy_field],
                "filter": {"host": sorted(hosts | probes), "key_": sorted(keys)},
                "monitored": True}

    def _plan(self, items: list[dict[str, Any]]) -> _Plan:
        plan = _Plan()
        probe_hosts = {v.probe_host for v in self._vantages}
        found: dict[tuple[str, Metric], tuple[int, dict[str, Any]]] = {}
        for it in items:
            host = it["hosts"][0] if it.get("hosts") else {}
            zname = host.get("host", "")
            key = normalize_key(it["key_"])
            if zname in probe_hosts:
                self._plan_icmp(plan, zname, host, it, key)
            for fleet_name in self._fleet_of.get(zname, ()):
                plan.hostids.setdefault(it["hostid"], []).append(fleet_name)
                for metric, cands in self._keys.items():
                    if key in cands:
                        rank = cands.index(key)
                        if (fleet_name, metric) not in found or rank < found[(fleet_name,
                                                                              metric)][0]:
                            found[(fleet_name, metric)] = (rank, it)
        for (fleet_name, metric), (_, it) in found.items():
            ref = self._metric_item(fleet_name, metric, it)
            if ref is None:
                plan.unsupported.append(f"{fleet_name} {it['key_']} ({it.get('units', '')})")
                continue
            plan.metrics.append(ref)
            if str(it.get("state")) == "1":
                plan.unsupported.append(f"{fleet_name} {it['key_']}")
            if int(it.get("lastclock") or 0) > 0:
                plan.last.append((ref, float(it["lastclock"]), str(it["lastvalue"])))
        for k in plan.hostids:
            plan.hostids[k] = sorted(set(plan.hostids[k]))
        return plan

    def _metric_item(self, host: str, metric: Metric, it: dict[str, Any]) -> MetricItem | None:
        vt = int(it["value_type"])
        if vt not in NUMERIC_TYPES:
            return None
        units = str(it.get("units", ""))
        if metric is Metric.CPU:
            _, params = parse_key(it["key_"])
            return MetricItem(it["itemid"], host, metric, vt, 1.0,
                              len(params) > 1 and params[1] == "idle")
        scale = traffic_scale(units)
        if scale is None:
            return None
        return MetricItem(it["itemid"], host, metric, vt, scale, False)

    def _plan_icmp(self, plan: _Plan, probe: str, host: dict[str, Any], it: dict[str, Any],
                   key: str) -> None:
        name, params = parse_key(key)
        if name not in ICMP_KEYS or not params:
            return
        try:
            addr = normalize_ip(params[0])
        except ValueError:
            return
        packets = DEFAULT_PACKETS
        if len(params) > 1 and params[1].isdigit():
            packets = max(1, int(params[1]))
        unsupported = str(it.get("state")) == "1"
        error = f"{name} unsupported: {str(it.get('error', ''))[:80]}" if unsupported else None
        plan.icmp.append(IcmpMeta(it["itemid"], probe, name, addr, packets,
                                  int(it["value_type"]), error))
        if int(it.get("lastclock") or 0) > 0:
            self._icmp_last[it["itemid"]] = (float(it["lastclock"]), float(it["lastvalue"]))
        proxyid = str(host.get("proxyid") or host.get("proxy_hostid") or "0")
        plan.probe_proxy[probe] = proxyid

    def _icmp_items(self, plan: _Plan) -> dict[str, dict[str, dict[str, IcmpItem]]]:
        out: dict[str, dict[str, dict[str, IcmpItem]]] = {}
        for m in plan.icmp:
            clock, value = self._icmp_last.get(m.itemid, (0.0, None))
            out.setdefault(m.probe, {}).setdefault(m.address, {})[m.key] = IcmpItem(
                m.key, m.address, m.packets, clock, None if m.error else value, m.error)
        return out

    def _read_history(self, plan: _Plan) -> list[tuple[MetricItem, float, str]]:
        """One history.get per value type, only newer values, newest first when truncated.

        Metric rows are returned for the store; ICMP rows only update each item's newest.
        """
        by_type: dict[int, dict[str, MetricItem | IcmpMeta]] = {}
        items: list[MetricItem | IcmpMeta] = [*plan.metrics, *plan.icmp]
        for m in items:
            if m.value_type in NUMERIC_TYPES:
                by_type.setdefault(m.value_type, {})[m.itemid] = m
        now = time.time()
        out: list[tuple[MetricItem, float, str]] = []
        for vt, refs in sorted(by_type.items()):
            ids = frozenset(refs)
            time_from = now - HORIZON
            if self._itemsets.get(vt) == ids and vt in self._newest:
                # an agent whose clock runs ahead must not hide everybody else's values
                time_from = max(time_from, min(self._newest[vt], now) - LATE_SLACK)
            rows = self._call("history.get", {
                "history": vt, "itemids": sorted(ids), "time_from": int(time_from),
                "output": ["itemid", "clock", "value"], "sortfield": "clock",
                "sortorder": "DESC", "limit": HISTORY_LIMIT})
            self._itemsets[vt] = ids
            if rows:
                self._newest[vt] = max(self._newest.get(vt, 0.0),
                                       max(float(r["clock"]) for r in rows))
            for r in rows:
                ref = refs.get(r["itemid"])
                if isinstance(ref, MetricItem):
                    out.append((ref, float(r["clock"]), r["value"]))
                elif ref is not None:
                    self._icmp_seen(ref.itemid, float(r["clock"]), float(r["value"]))
        return out

    def _icmp_seen(self, itemid: str, clock: float, value: float) -> None:
        if clock > self._icmp_last.get(itemid, (0.0, 0.0))[0]:
            self._icmp_last[itemid] = (clock, value)

    def _read_problems(self, plan: _Plan) -> list[dict[str, Any]]:
        if not plan.hostids:
            return []
        problems = self._call("problem.get", {
            "hostids": sorted(plan.hostids), "source": 0, "object": 0,
            "output": ["eventid", "objectid", "name", "severity", "clock"]})
        unknown = sorted({p["objectid"] for p in problems} - set(self._trigger_hosts))
        if unknown:
            for t in self._call("trigger.get", {"triggerids": unknown, "output": ["triggerid"],
                                                "selectHosts": ["hostid"]}):
                self._trigger_hosts[t["triggerid"]] = tuple(h["hostid"] for h in t["hosts"])
        return problems

    def _proxy_query(self) -> dict[str, Any]:
        name = "name" if self._at_least(V7_0) else "host"
        return {"output": ["proxyid", name, "lastaccess"]}

    # -- writing into the store ----------------------------------------------------------
    def _write(self, store: StateStore, plan: _Plan, stats: CycleStats) -> None:
        for ref, clock, raw in sorted(plan.rows, key=lambda r: r[1]):
            store.add_metric(ref.host, ref.metric, MetricSample(clock, ref.value(raw)))
        for ref, clock, raw in plan.last:  # item.get's last value: newer than any history
            store.add_metric(ref.host, ref.metric, MetricSample(clock, ref.value(raw)))
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
                    "slow cycle" if stats.seconds > self.cfg.zabbix.timeout / 2 else ""]
        said = [p for p in problems if p]
        state = SourceState.DEGRADED if said else SourceState.OK
        detail = "; ".join([*said, summary])
        self.last_ok = now
        store.set_source(SourceStatus(self.name, state, now, detail, last_ok=now))

    def _write_problems(self, store: StateStore, plan: _Plan) -> None:
        per_host: dict[str, list[Problem]] = {n: [] for ns in plan.hostids.values() for n in ns}
        for p in plan.problems:
            for hostid in self._trigger_hosts.get(p["objectid"], ()):
                for name in plan.hostids.get(hostid, ()):
                    per_host[name].append(Problem(p["name"], int(p["severity"]),
                                                  float(p["clock"])))
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
        named = [p for p in plan.proxies if (p.get("name") or p.get("host")) == v.proxy]
        proxy = named[0] if v.proxy and named else next(
            (p for p in plan.proxies if p["proxyid"] == proxyid), None)
        if proxy is None:
            if v.proxy or proxyid != "0":
                return f"proxy {v.proxy or proxyid!r} not found in Zabbix"
            return ""  # the probe host is polled by the server itself
        label = proxy.get("name") or proxy.get("host") or v.proxy
        last = float(proxy.get("lastaccess") or 0)
        if last <= 0:
            return f"proxy {label!r} has never reported"
        age = now - last
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

    # -- API plumbing --------------------------------------------------------------------
    def _at_least(self, version: Version) -> bool:
        return self.version is not None and self.version >= version

    def _login(self) -> None:
        """Version check, then token or user.login; on failure no half-made session stays."""
        try:
            self._login_once()
        except BaseException:
            self.api = None
            raise

    def _login_once(self) -> None:
        creds = read_credentials(self.cfg)
        api = ZabbixAPI(self.cfg.zabbix.url, session=self.session, detect_version=False)
        self.api = api
        _REDACTOR.secrets.add(creds.secret)
        self.version = Version(self._call("apiinfo.version", {}))
        api.version = self.version
        if creds.kind is AuthKind.TOKEN:
            api.use_api_token = True
            api.auth = creds.secret
        else:
            api.auth = self._user_login(creds)
            _REDACTOR.secrets.add(api.auth)
        self._auth = creds.kind

    def _user_login(self, creds: Credentials) -> str:
        """user.login, except with a password Zabbix refused lately: retrying it every cycle
        would keep the account blocked (Zabbix blocks after a few failures)."""
        digest = hashlib.sha256(f"{creds.user}\0{creds.secret}".encode()).hexdigest()
        if self._refused and self._refused[0] == digest and (
                time.monotonic() - self._refused[1] < LOGIN_BACKOFF):
            raise ZabbixError(f"{REFUSED}; not retried for {LOGIN_BACKOFF / 60:g} min "
                              "unless the password changes")
        assert self.version is not None and self.api is not None
        field_ = "username" if self.version >= Version("5.4") else "user"
        self.api.auth = ""
        _REDACTOR.logging_in = True
        try:
            return str(self._call("user.login", {field_: creds.user,
                                                 "password": creds.secret}))
        except ZabbixError as exc:
            if str(exc) == REFUSED:
                self._refused = (digest, time.monotonic())
            raise
        finally:
            _REDACTOR.logging_in = False

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        """One API request inside the cycle's deadline; a dead session is renewed once."""
        try:
            return self._request(method, params)
        except ZabbixAPIException as exc:
            kind, detail = _api_error(exc)
            if kind == "session" and self._auth is AuthKind.PASSWORD:
                log.info("zabbix: session expired, logging in again")
                self._login()
                return self._request_or_fail(method, params)
            if kind == "auth":
                self.api = None  # next cycle reads the secret again (it may be rotated)
            raise ZabbixError(detail) from None

    def _request_or_fail(self, method: str, params: dict[str, Any]) -> Any:
        try:
            return self._request(method, params)
        except ZabbixAPIException as exc:
            self.api = None
            raise ZabbixError(_api_error(exc)[1]) from None

    def _request(self, method: str, params: dict[str, Any]) -> Any:
        assert self.api is not None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ZabbixError(f"cycle deadline of {self.cfg.zabbix.timeout:g} s exceeded "
                              f"before {method}")
        # (connect, read) in float seconds, as requests takes them; pyzabbix declares ints
        cast(Any, self.api).timeout = (min(CONNECT_TIMEOUT, remaining), remaining)
        self._calls += 1
        try:
            return self.api.do_request(method, params)["result"]
        except requests.RequestException as exc:
            raise ZabbixError(_transport_error(exc, self.cfg.zabbix.timeout)) from None
        except (ValueError, KeyError, TypeError):
            raise ZabbixError("malformed JSON from the Zabbix API") from None

    def logout(self) -> None:
        """End a password session (tokens have none). Quitting never waits on a stuck
        cycle for longer than LOGOUT_TIMEOUT: the session then simply expires."""
        if not self._lock.acquire(timeout=LOGOUT_TIMEOUT):
            return
        try:
            if self.api is None or self._auth is not AuthKind.PASSWORD:
                return
            self._deadline = time.monotonic() + LOGOUT_TIMEOUT
            with contextlib.suppress(ZabbixError, ZabbixAPIException):
                self._request("user.logout", {})
            self.api = None
        finally:
            self._lock.release()

    # -- charts --------------------------------------------------------------------------
    def read_chart(self, host: str, metric: Metric, hours: int) -> tuple[MetricSample, ...]:
        ref = self._refs.get((host, metric))
        if ref is None:
            return ()
        with self._lock:
            self._deadline = time.monotonic() + self.cfg.zabbix.timeout
            since = int(time.time() - hours * 3600)
            try:
                if self.api is None:
                    self._login()
                if hours <= 24:
                    rows = self._call("history.get", {
                        "history": ref.value_type, "itemids": [ref.itemid],
                        "time_from": since, "output": ["clock", "value"],
                        "sortfield": "clock", "sortorder": "ASC", "limit": CHART_LIMIT})
                    return tuple(MetricSample(float(r["clock"]), ref.value(r["value"]))
                                 for r in rows)
                rows = self._call("trend.get", {
                    "itemids": [ref.itemid], "time_from": since,
                    "output": ["clock", "value_avg"], "limit": CHART_LIMIT})
            except ZabbixError as exc:
                log.warning("zabbix chart %s %s: %s", host, metric.value, exc)
                return ()
        return tuple(sorted((MetricSample(float(r["clock"]), ref.value(r["value_avg"]))
                             for r in rows), key=lambda s: s.clock))


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


def _few(names: list[str], shown: int = 3) -> str:
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def newest_clock(store: StateStore, host: str) -> float | None:
    """The clock of the host's newest Zabbix value of any metric."""
    clocks = [s.clock for m in Metric if (s := store.latest_metric(host, m)) is not None]
    return max(clocks) if clocks else None


def monitoring_stopped(store: StateStore, host: str, now: float, stale_after: float) -> bool:
    """No value at all, or the newest one is older than `stale_after`."""
    newest = newest_clock(store, host)
    return newest is None or now - newest > stale_after


def zabbix_sources(cfg: Config) -> list[Source]:
    """The Zabbix source when configured, else none."""
    return [ZabbixSource(cfg)] if cfg.zabbix.enabled else []
