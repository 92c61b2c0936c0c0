"""A simulated fleet behind the same interface as the real collectors.

It writes exactly what the real sources write: one PingSample per address per second from
the local vantage, an aggregated icmpping check per minute from each Zabbix proxy vantage,
Zabbix metrics with their own clocks, the sources' health and the 5666 alert page.
Deterministic from a seed; `speed` runs simulated time faster than the wall clock.

Scenarios (names are an interface):
calm, vip-carrier-loss, vip-down, side-down, single-host-down, ha-node-down, path-broken,
recovery, shift.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import tomli_w

from lvs_tui.config import Config, parse
from lvs_tui.fleet import Mode
from lvs_tui.state import (
    AlertPage,
    Metric,
    MetricSample,
    SourceState,
    SourceStatus,
    StateStore,
)

SCENARIOS = ("calm", "vip-carrier-loss", "vip-down", "side-down", "single-host-down",
             "ha-node-down", "path-broken", "recovery", "shift")

# name, display, carrier, base RTT (ms) from the duty terminal
IDCS = (("cernet", "赛尔", "CERNET", 0.6), ("telecom", "电信", "电信", 2.1),
        ("unicom", "联通", "联通", 3.4), ("mobile", "移动", "移动", 4.2),
        ("bgp", "BGP", "BGP", 1.5), ("tjbgp", "天津BGP", "BGP", 6.8))
REMOTES = (("zbx-telecom", "电信", "telecom"), ("zbx-unicom", "联通", "unicom"),
           ("zbx-mobile", "移动", "mobile"))
CONTROL = "192.0.2.254"
# Where each remote vantage pings from (documentation addresses, never probed).
REMOTE_SOURCES = ("198.51.100.251", "203.0.113.252", "203.0.113.253")
REMOTE_EVERY = 30  # seconds between a proxy's icmpping checks of one address
METRIC_EVERY = 60  # Zabbix item interval


class FaultKind(StrEnum):
    HOST_DEAD = "host_dead"  # both sides and Zabbix silent; VIPs fail over to peers
    SIDE_DOWN = "side_down"
    VIP_DOWN = "vip_down"  # from every vantage
    CARRIER_LOSS = "carrier_loss"  # one address unreachable from one vantage only
    PATH_LOCAL = "path_local"  # the local vantage cannot reach the host; all else fine


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    target: str  # host name or address
    start: float  # simulated seconds since start
    end: float = math.inf
    vantage: str = ""  # CARRIER_LOSS
    side: str = ""  # SIDE_DOWN: internal | external

    def active(self, k: float) -> bool:
        return self.start <= k < self.end


# The hosts and addresses each scenario hits (stable: tests and docs name them).
SINGLE_VICTIM = "lvs-cernet-01"
HA_VICTIM = "ha-telecom-02"
SIDE_VICTIM = "lvs-unicom-02"
PATH_VICTIM = "lvs-bgp-01"


def _fault_plan(cfg: Config) -> dict[str, tuple[Fault, ...]]:
    fleet = cfg.fleet
    mobile_vip = fleet.vips_of("lvs-mobile-01")[0].address
    unicom_vip = fleet.vips_of("ssl-telecom-01")[0].address
    single = {
        "calm": (),
        "vip-carrier-loss": (Fault(FaultKind.CARRIER_LOSS, unicom_vip, 60,
                                   vantage="zbx-unicom"),),
        "vip-down": (Fault(FaultKind.VIP_DOWN, mobile_vip, 60),),
        "side-down": (Fault(FaultKind.SIDE_DOWN, SIDE_VICTIM, 60, side="external"),),
        "single-host-down": (Fault(FaultKind.HOST_DEAD, SINGLE_VICTIM, 60),),
        "ha-node-down": (Fault(FaultKind.HOST_DEAD, HA_VICTIM, 60),),
        "path-broken": (Fault(FaultKind.PATH_LOCAL, PATH_VICTIM, 60),),
        "recovery": (Fault(FaultKind.HOST_DEAD, SINGLE_VICTIM, 60, 600),),
    }
    # shift: a duty evening in 15 minutes, each fault in turn, then calm
    order = ("single-host-down", "vip-carrier-loss", "side-down", "path-broken", "vip-down",
             "ha-node-down")
    shift = []
    for i, name in enumerate(order):
        f = single[name][0]
        start = 20 + i * 150
        shift.append(Fault(f.kind, f.target, start, start + 130, f.vantage, f.side))
    single["shift"] = tuple(shift)
    return single


def demo_document(scale: int = 1, vips_per_group: int = 0) -> dict:
    """The simulated fleet as a config document (so it is validated like a user's).

    scale=1: 6 IDCs, 42 hosts, 156 VIPs. Larger scales add IDC copies for load tests.
    """
    idcs, hosts, vips = [], [], []
    h_i = v_i = 0
    for rep in range(scale):
        for idc, name, carrier, _ in IDCS:
            iid = idc if rep == 0 else f"{idc}{rep}"
            idcs.append({"id": iid, "name": name if rep == 0 else f"{name}{rep}",
                         "carrier": carrier})
            groups = (("lvs", Mode.SINGLE, 2, vips_per_group or 8, ["LVS", "SNAT"]),
                      ("ha", Mode.HA, 3, vips_per_group or 10, ["LVS", "HL"]),
                      ("ssl", Mode.SSL, 2, vips_per_group or 8, ["LVS"]))
            for kind, mode, n, nv, services in groups:
                group = f"{iid}-{kind}"
                members = []
                for j in range(n):
                    h_i += 1
                    hname = f"{kind}-{iid}-{j + 1:02d}"
                    members.append(hname)
                    hosts.append({
                        "name": hname, "idc": iid, "mode": mode.value, "group": group,
                        "internal": _addr(10, h_i), "external": _addr(20, h_i),
                        "services": services,
                        "hardware": {"model": "Dell R730" if kind == "lvs" else "Inspur NF5280M6",
                                     "nics": 4 if kind == "lvs" else 2,
                                     "nic_speed": "10G" if kind == "lvs" else "25G",
                                     "os": "CentOS 7.9" if kind == "lvs" else "Rocky 8.8",
                                     "asset_tag": f"SN-{2018 + h_i % 6}-{h_i:05d}",
                                     "purchase_year": 2018 + h_i % 6}})
                for _ in range(nv):
                    v_i += 1
                    vips.append({"address": _addr(30, v_i), "service": f"svc{v_i:04d}",
                                 "port": (80, 443, 8080, 25)[v_i % 4], "hosts": members,
                                 "admins": [("admin-www", "admin-api", "admin-video")[v_i % 3]]})
    doc = {
        "duty": {"interval": 1.0, "hysteresis": 3, "window": 10, "timezone": "Asia/Shanghai",
                 "jump_host": "jump.example.com", "probe_page": "http://bench.example.com/probe/"},
        "zabbix": {"stale_after": 180.0},
        "idcs": idcs, "hosts": hosts, "vips": vips, "contacts": _contacts(),
        "notice": {"mentions": ["zhujianping", "noc", "duty5666", "qiuchunwu"],
                   "recurrence_days": 30},
        "vantages": [{"id": "local", "kind": "local", "name": "本地", "control": CONTROL}]
        + [{"id": vid, "kind": "zabbix_proxy", "name": name, "idc": idc,
            "proxy": f"proxy-{idc}", "probe_host": f"probe-{idc}", "source": source}
           for (vid, name, idc), source in zip(REMOTES, REMOTE_SOURCES, strict=True)],
    }
    return doc


_DOC_NETS = {10: "192.0.2", 20: "198.51.100", 30: "203.0.113"}


def _addr(block: int, i: int) -> str:
    """Simulated addresses from the documentation ranges (never probed by anything):
    IPv4 while they fit, then 2001:db8::/32 for the large load-test fleets."""
    if i <= 250:
        return f"{_DOC_NETS[block]}.{i}"
    return f"2001:db8:{block}::{i:x}"


def _contacts() -> list[dict]:
    def c(id_: str, role: str, name: str, **kw: str) -> dict:
        return {"id": id_, "role": role, "name": name, **kw}

    return [
        c("duty5666", "duty_room", "5666 值班室", phone="010-62675666", qq="5666",
          mention="@5666值班"),
        c("im-duty", "im_duty", "IM 组值班", phone="010-00000001", qq="10001", hours="office"),
        c("zhuxing-esc", "escalation", "朱兴", phone="138-0000-0002", wechat="zhuxing",
          mention="@朱兴"),
        c("xiaodong", "inform", "晓栋", phone="138-0000-0003", wechat="xiaodong",
          mention="@晓栋"),
        c("net-duty", "network_duty", "网络组值班", phone="010-00000004", qq="10004",
          mention="@网络值班"),
        c("notify-group", "notify_group", "运维故障通报组（限运维内部使用）",
          wechat="运维故障通报组"),
        c("zhujianping", "notify_group", "朱建平", wechat="zhujianping", mention="@朱建平"),
        c("noc", "notify_group", "noc-萌妹纸", wechat="noc", mention="@noc-萌妹纸"),
        c("qiuchunwu", "notify_group", "邱春武", wechat="qiuchunwu", mention="@邱春武"),
        c("cost-center", "cost_center", "成本中心", email="cost-center@example.com"),
        c("admin-www", "admin", "www 业务管理员", phone="138-0000-0011",
          email="www-admin@example.com"),
        c("admin-api", "admin", "api 业务管理员", phone="138-0000-0012",
          email="api-admin@example.com"),
        c("admin-video", "admin", "视频业务管理员", phone="138-0000-0013",
          email="video-admin@example.com"),
    ]


def demo_config(scale: int = 1, vips_per_group: int = 0) -> Config:
    return parse(tomli_w.dumps(demo_document(scale, vips_per_group)), "<demo>")


class Sim:
    """The simulated fleet: `run(store)` feeds a store in (scaled) real time; `fill(store, k)`
    feeds it up to simulated second k at once (for `check --demo --at`)."""

    name = "icmp"  # the source id its health is under: it stands in for the local prober
    mode = "simulated"

    def __init__(self, scenario: str = "shift", seed: int = 1, speed: float = 1.0,
                 start: float | None = None, config: Config | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}: one of {', '.join(SCENARIOS)}")
        self.scenario = scenario
        self.seed = seed
        self.speed = speed
        self.config = config or demo_config()
        self._wall = wall
        self.t0 = wall() if start is None else start
        self._started = wall()
        self.faults = _fault_plan(self.config).get(scenario, ())
        self._base_rtt = self._rtts()
        self._addresses = self.config.fleet.addresses()
        self._targets = self._remote_targets()
        self._draws = random.Random()  # reseeded per remote check: same draws, no new object
        self._done = -1  # last simulated second written

    # -- time ------------------------------------------------------------------------
    def elapsed(self) -> float:
        return (self._wall() - self._started) * self.speed

    def now(self) -> float:
        """The simulated clock (epoch seconds): what the console should call 'now'."""
        return self.t0 + self.elapsed()

    def active(self, k: float) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if f.active(k))

    # -- feeding ---------------------------------------------------------------------
    async def run(self, store: StateStore) -> None:
        """Feed the store in (scaled) real time. Like the real Zabbix source's first cycle,
        it starts with the last hour of metrics, so the store is full (and its memory flat)
        from the start rather than after an hour."""
        self._mark_sources(store, 0)
        self._backfill(store, -int(store.metric_horizon), 0)
        while True:
            target = int(self.elapsed())
            first = max(self._done + 1, target - store.ping_window)
            for k in range(first, target + 1):
                self.tick(store, k)
            self._done = target
            await asyncio.sleep(max(0.05, 1.0 / max(self.speed, 1.0)))

    def fill(self, store: StateStore, until: int) -> None:
        """Everything the console would hold at simulated second `until`."""
        self._mark_sources(store, 0)
        self._backfill(store, max(0, until - int(store.metric_horizon)), until)
        first = max(0, until - store.ping_window)
        # Start before any fault still running, so outages keep their true start.
        started = [int(f.start) - 5 for f in self.faults if f.start <= until < f.end]
        for k in range(max(0, min([first, *started])), until + 1):
            self.tick(store, k, metrics=False)
        self._done = until

    def _backfill(self, store: StateStore, start: int, until: int) -> None:
        """The metrics of simulated seconds start..until, as a first Zabbix cycle reads them."""
        for k in range(start, until + 1, METRIC_EVERY // 2):
            self._metrics(store, k, only_due=False)

    def tick(self, store: StateStore, k: int, metrics: bool = True) -> None:
        """Write what the collectors would have written during simulated second k."""
        t = self.t0 + k
        faults = self.active(k)
        draw = random.Random(self.seed * 1_000_003 + k).random
        local_dead = self._unreachable(faults, "local")
        base = self._base_rtt
        batch: list[tuple[str, float, int, int, float | None]] = []
        for addr in self._addresses:  # the same draws, in the same order, as ever
            up = addr not in local_dead and draw() > 0.002
            rtt = base[addr] * (0.8 + 0.4 * draw()) / 1000
            batch.append((addr, t, 1, 1, rtt) if up else (addr, t, 1, 0, None))
        batch.append((CONTROL, t, 1, 1, 0.0004))
        store.add_pings("local", batch)
        for vid, _, _ in REMOTES:
            self._remote(store, vid, k, t, faults)
        if metrics:
            self._metrics(store, k, only_due=True)
        self._alert_page(store, k, t, faults)
        self._mark_sources(store, k)

    def _remote(self, store: StateStore, vid: str, k: int, t: float,
                faults: tuple[Fault, ...]) -> None:
        dead = self._unreachable(faults, vid)
        rng = self._draws
        batch: list[tuple[str, float, int, int, float | None]] = []
        targets = self._targets
        for i in range((-k) % REMOTE_EVERY, len(targets), REMOTE_EVERY):  # (k + i) % 30 == 0
            addr = targets[i]
            rng.seed(f"{self.seed}:{vid}:{addr}:{k}")
            got = 0 if addr in dead else 3
            rtt = self._base_rtt[addr] * (3 + rng.random()) / 1000 if got else None
            batch.append((addr, t, 3, got, rtt))
        if batch:
            store.add_pings(vid, batch)

    def _remote_targets(self) -> tuple[str, ...]:
        """Proxies probe the external sides and the VIPs (internal nets are not routed)."""
        fleet = self.config.fleet
        return tuple([h.external for h in fleet.hosts] + [v.address for v in fleet.vips])

    def _unreachable(self, faults: tuple[Fault, ...], vantage: str) -> set[str]:
        fleet = self.config.fleet
        out: set[str] = set()
        for f in faults:
            if f.kind is FaultKind.HOST_DEAD:
                h = fleet.host(f.target)
                out |= {h.internal, h.external}
            elif f.kind is FaultKind.SIDE_DOWN:
                h = fleet.host(f.target)
                out.add(h.external if f.side == "external" else h.internal)
            elif f.kind is FaultKind.VIP_DOWN or (
                    f.kind is FaultKind.CARRIER_LOSS and f.vantage == vantage):
                out.add(f.target)
            elif f.kind is FaultKind.PATH_LOCAL and vantage == "local":
                h = fleet.host(f.target)
                out |= {h.internal, h.external}
        return out

    def _metrics(self, store: StateStore, k: int, only_due: bool) -> None:
        dead = {f.target for f in self.active(k) if f.kind is FaultKind.HOST_DEAD}
        fleet = self.config.fleet
        carrying = {p.name for d in dead for p in fleet.peers(fleet.host(d))}
        for i, h in enumerate(fleet.hosts):
            phase = (i * 7) % METRIC_EVERY
            if only_due and (k - phase) % METRIC_EVERY:
                continue
            clock = self.t0 + k - ((k - phase) % METRIC_EVERY if not only_due else 0)
            if h.name in dead or clock < self.t0 - store.metric_horizon:
                continue
            rng = random.Random(f"{self.seed}:{h.name}:{int(clock)}")
            load = 1.5 if h.name in carrying else 1.0
            day = 0.75 + 0.25 * math.sin(clock / 3600.0 + i)
            cpu = min(99.0, (12 + 3 * (i % 5) + 4 * rng.random()) * day * load)
            base = (1.2e9 + 1e8 * (i % 7)) * day * load
            values = {Metric.CPU: cpu, Metric.BOND0_IN: base * 0.4 * (0.9 + 0.2 * rng.random()),
                      Metric.BOND0_OUT: base * 0.5 * (0.9 + 0.2 * rng.random()),
                      Metric.BOND1_IN: base * (0.9 + 0.2 * rng.random()),
                      Metric.BOND1_OUT: base * 1.3 * (0.9 + 0.2 * rng.random())}
            for m, v in values.items():
                store.add_metric(h.name, m, MetricSample(clock, v))

    def _alert_page(self, store: StateStore, k: int, t: float,
                    faults: tuple[Fault, ...]) -> None:
        """5666's page lists an address after it has been failing there for 30 s."""
        if k % 10:
            return
        listed: set[str] = set()
        for f in faults:
            if k - f.start >= 30 and f.kind is not FaultKind.PATH_LOCAL:
                listed |= self._unreachable((f,), f.vantage or "local")
        store.set_alert_page(AlertPage(t, frozenset(listed)))

    def _mark_sources(self, store: StateStore, k: int) -> None:
        if k % 10:
            return
        t = self.t0 + k
        store.set_source(SourceStatus(self.name, SourceState.OK, t, "simulated", t))
        store.set_source(SourceStatus("zabbix", SourceState.OK, t, "simulated 6.0", t))
        for vid, _, _ in REMOTES:
            store.set_source(SourceStatus(f"vantage:{vid}", SourceState.OK, t, "simulated", t))
        store.set_source(SourceStatus("alert_page", SourceState.OK, t, "simulated", t))

    def _rtts(self) -> dict[str, float]:
        fleet = self.config.fleet
        base = {i[0]: i[3] for i in IDCS}
        out: dict[str, float] = {}
        for h in fleet.hosts:
            ms = base.get(h.idc.rstrip("0123456789"), 2.0)
            out[h.internal] = ms * 0.6
            out[h.external] = ms
        for v in fleet.vips:
            out[v.address] = out[fleet.host(v.hosts[0]).external]
        return out
