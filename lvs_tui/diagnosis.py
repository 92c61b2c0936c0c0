"""Diagnosis: a host's signals -> one Situation with severity, evidence and impact.

Pure. The rules follow the duty runbook:
- both sides silent from every healthy vantage, with no sign of life *after* they went
  silent -> host_down (ask 5666 to reboot); the evidence says what corroborates it
  (monitoring stopped, login failed) and what is still pending;
- both sides silent from here but the host shows life after that moment (a newer Zabbix
  value, another vantage reaching it, a login) -> path_broken: the path, not the host;
- one side down -> one_side_down; a VIP unreachable while the host answers -> vip_unreachable;
- loss / latency / monitoring gap -> degraded; nothing known -> unknown (never down).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any

from lvs_tui.config import Config, Duty
from lvs_tui.fleet import Fleet, Host, Mode, Side, Vip
from lvs_tui.signals import AddressSignal, HostSignals, Reach
from lvs_tui.situation import (
    Impact,
    ImpactLevel,
    Scope,
    Severity,
    Situation,
    SituationId,
    VipImpact,
)
from lvs_tui.state import LoginState, Metric

# A Zabbix value stamped this soon after the outage began is no sign of life: the agent's
# clock may be a few seconds off, or the value was taken as the host died (docs/architecture.md).
CLOCK_MARGIN = 15.0
# Hosts in these situations still carry their VIPs.
SERVING = frozenset({SituationId.OK, SituationId.DEGRADED, SituationId.VIP_UNREACHABLE,
                     SituationId.PATH_BROKEN})


@dataclass(frozen=True, slots=True)
class SideView:
    """One address across vantages."""

    address: str
    side: Side
    down_from: tuple[str, ...]  # vantages that see it down
    up_from: tuple[str, ...]  # vantages that get answers
    lossy_from: tuple[str, ...]  # "联通 25%"
    unknown_from: tuple[str, ...]
    silent_since: float | None  # earliest moment a vantage saw it go silent
    rtt_ms: float | None
    loss_pct: float | None
    last_up: tuple[tuple[str, float], ...] = ()  # vantage name -> newest answer
    # Vantages that still judge it down but got an answer since it went silent: it is
    # coming back (or going) and the hysteresis has not settled yet.
    recovering: tuple[str, ...] = ()

    def up_after(self, t: float | None) -> tuple[str, ...]:
        """Vantages with an answer newer than t: a reply from before it proves nothing."""
        return tuple(n for n, up in self.last_up if t is None or up > t)

    @property
    def known(self) -> bool:
        return bool(self.down_from or self.up_from)

    @property
    def down_everywhere(self) -> bool:
        """Down from every vantage that has fresh news since it went silent."""
        return bool(self.down_from) and not self.up_after(self.silent_since)

    @property
    def answers(self) -> bool:
        return bool(self.up_from)


def side_view(signals: tuple[AddressSignal, ...], names: Mapping[str, str]) -> SideView:
    """One pass over an address's signals (this runs for every address every second)."""
    down, up, lossy, unknown, last_up, recovering = [], [], [], [], [], []
    silent: float | None = None
    rtt = loss = None
    local_rtt = local_loss = None
    local_answers = False
    for s in signals:
        name = names.get(s.vantage, s.vantage)
        reach = s.reach
        if reach is Reach.DOWN:
            down.append(name)
            # still down by the hysteresis, yet its newest probe answered (the ring's
            # silence is measured from the last answer: none after it means this one)
            if s.last_up and (s.silent_since is None or s.last_up > s.silent_since):
                recovering.append(name)
        elif reach is Reach.UNKNOWN:
            unknown.append(name)
        else:
            up.append(name)
            if reach is Reach.LOSS:
                lossy.append(f"{name} {s.loss_pct or 0:.0f}%")
            if s.last_up:
                last_up.append((name, s.last_up))
            if s.vantage == "local":
                local_answers, local_rtt, local_loss = True, s.rtt_ms, s.loss_pct
        if s.silent_since is not None and (silent is None or s.silent_since < silent):
            silent = s.silent_since
        if rtt is None and s.rtt_ms is not None:
            rtt = s.rtt_ms
        if s.loss_pct is not None and (loss is None or s.loss_pct > loss):
            loss = s.loss_pct
    if local_answers:  # the duty terminal's own view is the one shown
        rtt, loss = local_rtt, local_loss
    first = signals[0]
    return SideView(first.address, first.side, tuple(down), tuple(up), tuple(lossy),
                    tuple(unknown), silent, rtt, loss, tuple(last_up), tuple(recovering))


def _views(sig: HostSignals, names: Mapping[str, str]) -> dict[str, SideView]:
    by_addr: dict[str, list[AddressSignal]] = {}
    for s in sig.addresses:
        by_addr.setdefault(s.address, []).append(s)
    return {a: side_view(tuple(ss), names) for a, ss in by_addr.items()}


def _fmt_time(t: float | None, tz: tzinfo) -> str:
    if t is None:
        return "?"
    return datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")


def _describe(v: SideView, since: float | None = None) -> str:
    """One address across vantages. Once it went silent (at `since`, by default its own
    silence), a vantage whose last answer is older says nothing about now: it is named
    apart, so "answers from 电信" never stands beside a host that is down."""
    label = v.side.zh if v.side is not Side.VIP else "VIP"
    since = v.silent_since if since is None else since
    fresh = set(v.up_from if since is None else v.up_after(since))
    parts = []
    if v.down_from:
        parts.append("不通 from " + ", ".join(v.down_from))
    if answering := [n for n in v.up_from if n in fresh]:
        parts.append("answers from " + ", ".join(answering))
    if before := [n for n in v.up_from if n not in fresh]:
        parts.append("中断前应答 from " + ", ".join(before) + "（之后尚无新结果，不算存活迹象）")
    if v.unknown_from:
        parts.append("unknown from " + ", ".join(v.unknown_from))
    return f"{label} {v.address}: " + "; ".join(parts)


def diagnose(sig: HostSignals, duty: Duty, names: Mapping[str, str],
             vip_owner: Mapping[str, str], now: float,
             views: Mapping[str, SideView] | None = None) -> Situation:
    """One host's situation, before impact (which needs the whole fleet)."""
    views = _views(sig, names) if views is None else views
    host = sig.host
    inner, outer = views.get(host.internal), views.get(host.external)
    evidence: list[str] = []
    if sig.on_alert_page:
        evidence.append("5666 告警页面列出了该主机的地址")
    base: dict[str, Any] = dict(host=host.name, on_alert_page=sig.on_alert_page)
    if inner and outer and inner.down_from and outer.down_from:
        return _both_dark(sig, duty, inner, outer, evidence, now, base)
    for v in (inner, outer):
        if v and v.down_everywhere and not v.recovering:
            other = outer if v is inner else inner
            if other and other.answers and not other.up_after(v.silent_since):
                # The other side's newest answer predates this side's silence: it may be
                # going down too (its own losses not yet confirmed). Say neither yet: a
                # dying host must not flash "one side down, call the network duty".
                evidence += [_describe(v), _describe(other, v.silent_since),
                             "一侧刚中断，另一侧中断后尚无新应答：正在确认"]
                return Situation(**base, id=SituationId.UNKNOWN, severity=Severity.UNKNOWN,
                                 evidence=tuple(evidence))
            evidence.append(_describe(v))
            if other:
                evidence.append(_describe(other))
            return Situation(**base, id=SituationId.ONE_SIDE_DOWN, severity=Severity.MAJOR,
                             evidence=tuple(evidence), since=v.silent_since,
                             down_addresses=(v.address,))
    vip_sit = _vips(sig, views, vip_owner, evidence, base)
    if vip_sit is not None:
        return vip_sit
    return _health(sig, duty, [v for v in (inner, outer) if v], views, evidence, base)


def _since(*views: SideView) -> float | None:
    """The earliest silence any vantage saw. Safe for the life test: no vantage can see
    silence before the outage began, so a value older than this predates the outage."""
    silent = [v.silent_since for v in views if v.silent_since is not None]
    return min(silent) if silent else None


def _both_dark(sig: HostSignals, duty: Duty, inner: SideView, outer: SideView,
               evidence: list[str], now: float, base: dict) -> Situation:
    """Both sides silent. Dead host, or a broken path from here?"""
    host = sig.host
    outage = _since(inner, outer)
    evidence += [_describe(inner, outage), _describe(outer, outage)]
    life = _life_after(sig, outage, duty)
    reaching = sorted(set(inner.up_after(outage)) | set(outer.up_after(outage)))
    if reaching:
        life.append("中断后仍可从 " + ", ".join(reaching) + " 到达")
    if life and (inner.recovering or outer.recovering):
        # This terminal gets answers again too: a host coming back, not a broken path
        # (a remote check landing before our own hysteresis settles must not flash
        # "path broken, do not reboot").
        evidence += life
        evidence.append("本地已重新收到应答：主机正在恢复")
        severity = Severity.CRITICAL if host.mode is Mode.SINGLE else Severity.MAJOR
        return Situation(**base, id=SituationId.HOST_DOWN, severity=severity,
                         evidence=tuple(evidence), since=outage,
                         down_addresses=(host.internal, host.external))
    if life:
        evidence += life
        evidence.append("主机仍有存活迹象：是路径问题，不要让 5666 重启")
        return Situation(**base, id=SituationId.PATH_BROKEN, severity=Severity.MAJOR,
                         evidence=tuple(evidence), since=outage,
                         down_addresses=(host.internal, host.external))
    evidence += _corroboration(sig, outage, duty)
    severity = Severity.CRITICAL if host.mode is Mode.SINGLE else Severity.MAJOR
    signs = {"monitoring_stopped"} if sig.monitoring_stopped else set()
    if sig.login is not None and sig.login.state is LoginState.FAILED:
        signs.add("login_failed")
    return Situation(**base, id=SituationId.HOST_DOWN, severity=severity,
                     evidence=tuple(evidence), since=outage,
                     down_addresses=(host.internal, host.external), signs=frozenset(signs))


def _life_after(sig: HostSignals, outage: float | None, duty: Duty) -> list[str]:
    """Signs of life that postdate the outage. A value from before it is no sign at all."""
    out = []
    tz = duty.tz
    if outage is not None and sig.newest_clock is not None and \
            sig.newest_clock > outage + CLOCK_MARGIN:
        out.append(f"Zabbix 数据在中断后仍在更新（最新 {_fmt_time(sig.newest_clock, tz)}，"
                   f"中断始于 {_fmt_time(outage, tz)}）")
    login = sig.login
    if login and login.state is LoginState.OK and outage is not None and login.t > outage:
        out.append(f"通道机登录成功（{_fmt_time(login.t, tz)}）")
    return out


def _corroboration(sig: HostSignals, outage: float | None, duty: Duty) -> list[str]:
    out = []
    if sig.monitoring_stopped:
        out.append(f"监控数据已中断 {sig.monitoring_age / 60:.0f} 分钟"
                   if sig.monitoring_age is not None else "监控数据已中断")
    elif sig.monitoring_stopped is None:
        out.append("待确认：无 Zabbix 数据")
    else:
        age = f"{sig.monitoring_age:.0f}s" if sig.monitoring_age is not None else "?"
        out.append(f"待确认：监控数据尚未超时（最新值 {age} 前，早于中断，不算存活迹象）")
    login = sig.login
    if login is None or login.state is LoginState.UNKNOWN:
        out.append("待确认：尚未尝试通道机登录")
    elif login.state is LoginState.FAILED:
        out.append("通道机登录失败" + (f"：{login.detail}" if login.detail else ""))
    return out


def _vips(sig: HostSignals, views: Mapping[str, SideView], vip_owner: Mapping[str, str],
          evidence: list[str], base: dict) -> Situation | None:
    """VIPs of this host that do not answer, while the host itself does."""
    bad = [v for a, v in views.items() if v.side is Side.VIP and v.down_from
           and vip_owner.get(a) == sig.host.name]
    if not bad:
        return None
    everywhere = [v for v in bad if v.down_everywhere]
    scope = Scope.ALL if everywhere else Scope.PARTIAL
    evidence += [_describe(v) for v in bad]
    if scope is Scope.PARTIAL:
        evidence.append("仅部分运营商不可达：多机房 ping / 拨测页面确认后交网络组")
    return Situation(**base, id=SituationId.VIP_UNREACHABLE,
                     severity=Severity.CRITICAL if everywhere else Severity.MAJOR,
                     evidence=tuple(evidence), scope=scope, since=_since(*bad),
                     down_addresses=tuple(v.address for v in bad))


def _health(sig: HostSignals, duty: Duty, sides: list[SideView],
            views: Mapping[str, SideView], evidence: list[str], base: dict) -> Situation:
    if not sides or not any(v.known for v in sides):
        evidence.append("暂无有效探测数据（无数据、过期或探测点异常）")
        return Situation(**base, id=SituationId.UNKNOWN, severity=Severity.UNKNOWN,
                         evidence=tuple(evidence))
    for v in views.values():
        if v.lossy_from:
            evidence.append(f"{v.side.zh} {v.address}: 丢包 " + ", ".join(v.lossy_from))
        elif v.rtt_ms is not None and v.rtt_ms > duty.rtt_threshold_ms:
            evidence.append(f"{v.side.zh} {v.address}: 延迟 {v.rtt_ms:.0f} ms")
    if sig.monitoring_stopped:
        evidence.append(f"监控数据中断 {(sig.monitoring_age or 0) / 60:.0f} 分钟，但 ping 正常")
    for p in sig.problems:
        evidence.append(f"Zabbix 问题：{p.name}")
    degraded = len(evidence) - (1 if sig.on_alert_page else 0) - len(sig.problems) > 0
    if degraded:
        return Situation(**base, id=SituationId.DEGRADED, severity=Severity.WARNING,
                         evidence=tuple(evidence))
    return Situation(**base, id=SituationId.OK, severity=Severity.OK, evidence=tuple(evidence))


# -- impact -------------------------------------------------------------------------------


def vip_owners(fleet: Fleet, verdicts: Mapping[str, SituationId] | None = None
               ) -> dict[str, str]:
    """Which host a VIP's trouble is charged to: the first announcing host (the master by
    config order) that is still serving, so a dead master's VIP problem is not double-counted."""
    out = {}
    for v in fleet.vips:
        serving = [h for h in v.hosts
                   if verdicts is None or verdicts.get(h, SituationId.OK) in SERVING]
        out[v.address] = (serving or list(v.hosts))[0]
    return out


def _recharged(fleet: Fleet, owners: dict[str, str], verdicts: Mapping[str, SituationId]
               ) -> dict[str, str]:
    """`vip_owners(fleet, verdicts)` from the config-order owners: only the VIPs of hosts
    that stopped serving can move."""
    out = owners
    for name, verdict in verdicts.items():
        if verdict in SERVING:
            continue
        for v in fleet.vips_of(name):
            serving = [h for h in v.hosts if verdicts.get(h, SituationId.OK) in SERVING]
            owner = (serving or list(v.hosts))[0]
            if owner != out[v.address]:
                out = dict(out) if out is owners else out
                out[v.address] = owner
    return out


def impact(fleet: Fleet, host: Host, verdicts: Mapping[str, SituationId],
           metrics: Mapping[str, Mapping[Metric, float | None]], duty: Duty) -> Impact:
    """What this host's VIPs still have, and whether ha/ssl peers carry the load."""
    vips = tuple(_vip_impact(v, verdicts) for v in fleet.vips_of(host.name))
    return _impact(host, vips, fleet.peers(host), verdicts, metrics.get, duty)


def _impact(host: Host, vips: tuple[VipImpact, ...], peers: tuple[Host, ...],
            verdicts: Mapping[str, SituationId],
            load: Callable[[str], Mapping[Metric, float | None] | None], duty: Duty) -> Impact:
    healthy = [p for p in peers if verdicts.get(p.name) in SERVING]
    unaffected, note = None, ""
    if host.mode in (Mode.HA, Mode.SSL):
        unaffected, note = _peers_carry(healthy, load, duty)
    return Impact(vips, len(healthy), len(peers), unaffected, note)


def _vip_impact(v: Vip, verdicts: Mapping[str, SituationId]) -> VipImpact:
    n = sum(1 for h in v.hosts if verdicts.get(h) in SERVING)
    level = (ImpactLevel.OUTAGE if n == 0 else ImpactLevel.SINGLE_POINT if n == 1
             else ImpactLevel.REDUNDANT)
    return VipImpact(v.address, v.label, n, len(v.hosts), level)


def _peers_carry(healthy: list[Host],
                 load: Callable[[str], Mapping[Metric, float | None] | None],
                 duty: Duty) -> tuple[bool | None, str]:
    if not healthy:
        return False, "没有健康的同组节点"
    loads = [load(p.name) or {} for p in healthy]
    cpus = [m.get(Metric.CPU) for m in loads]
    traffic = [max((m.get(k) or 0.0)
                   for k in (Metric.BOND0_IN, Metric.BOND0_OUT, Metric.BOND1_IN,
                             Metric.BOND1_OUT)) for m in loads]
    if any(c is None for c in cpus):
        return None, f"{len(healthy)} 个同组节点健康，负载未知（无 Zabbix 数据）"
    cpu_max = max(c for c in cpus if c is not None)
    mbps = max(traffic) / 1e6
    note = f"同组 {len(healthy)} 台健康，CPU 最高 {cpu_max:.0f}%，流量最高 {mbps:.0f} Mbps"
    ok = cpu_max < duty.peer_cpu_limit and mbps < duty.peer_traffic_limit_mbps
    return ok, note


# -- the fleet, every second ---------------------------------------------------------------


@dataclass(slots=True)
class DiagnosisMemo:
    """What one fleet diagnosis keeps for the next. The caller owns it (diagnose_fleet stays
    a function of its arguments); a fresh memo gives a fresh diagnosis, and a kept one must
    give exactly the same result, only cheaper.

    A host's situation before impact is a function of its *state key*: per signal the
    vantage, address, reach, whether the RTT is over the limit (and its rounded value when
    it is) and the rounded loss; the alert page, whether monitoring stopped (and for how
    many minutes), the problems' names. Raw RTTs, ages and answer times are not in it, so an
    unchanged host keeps its Situation while its rings tick. A host with an address down
    from some vantage has no key: there the outage's times decide, so it is diagnosed
    afresh (those are few).
    """

    fleet: Fleet | None = None  # the memo belongs to this fleet; another one clears it
    owners: dict[str, str] = field(default_factory=dict)  # VIP -> host, config order
    peers: dict[str, tuple[Host, ...]] = field(default_factory=dict)
    situations: dict[str, tuple[tuple, Situation]] = field(default_factory=dict)
    serving: frozenset[str] | None = None  # hosts serving at the last diagnosis
    vips: dict[str, VipImpact] = field(default_factory=dict)
    impacts: dict[str, Impact] = field(default_factory=dict)
    finals: dict[str, tuple[Situation, Impact, Situation]] = field(default_factory=dict)

    def adopt(self, fleet: Fleet) -> None:
        if self.fleet is fleet:
            return
        for name in ("situations", "vips", "impacts", "finals"):
            getattr(self, name).clear()
        self.fleet, self.serving = fleet, None
        self.owners = vip_owners(fleet)
        self.peers = {h.name: fleet.peers(h) for h in fleet.hosts}


def signal_state(s: AddressSignal, duty: Duty) -> tuple | None:
    """What diagnosis reads of one signal while its address is down nowhere (see
    DiagnosisMemo); None for a down signal."""
    reach = s.reach
    if reach is Reach.DOWN:
        return None
    rtt = s.rtt_ms
    return (s.vantage, s.address, reach,
            None if rtt is None else f"{rtt:.0f}" if rtt > duty.rtt_threshold_ms else False,
            f"{s.loss_pct or 0:.0f}" if reach is Reach.LOSS else None)


def state_key(sig: HostSignals, states: tuple) -> tuple | None:
    """A host's state key from its signals' states (in a fixed order); None when one of
    them is down."""
    if None in states:
        return None
    stopped = sig.monitoring_stopped
    minutes = f"{(sig.monitoring_age or 0) / 60:.0f}" if stopped else None
    return (states, sig.on_alert_page, stopped, minutes, tuple(p.name for p in sig.problems))


def diagnose_fleet(cfg: Config, signals: Mapping[str, HostSignals],
                   now: float | None = None, memo: DiagnosisMemo | None = None,
                   keys: Mapping[str, tuple | None] | None = None) -> dict[str, Situation]:
    """Every host's situation with its impact, from every host's signals. `memo`, kept by
    a caller that diagnoses every second, skips the hosts whose `state_key` did not change
    (`keys`, when the caller has them; computed here otherwise)."""
    now = _time.time() if now is None else now
    memo = DiagnosisMemo() if memo is None else memo
    fleet = cfg.fleet
    memo.adopt(fleet)
    names = {v.id: v.name for v in cfg.vantages}
    owners = memo.owners
    views: dict[str, dict[str, SideView]] = {}
    first = {}
    for n, s in signals.items():
        key = (keys[n] if keys is not None
               else state_key(s, tuple(signal_state(a, cfg.duty) for a in s.addresses)))
        hit = memo.situations.get(n)
        if key is not None and hit is not None and hit[0] == key:
            first[n] = hit[1]
            continue
        views[n] = _views(s, names)
        first[n] = diagnose(s, cfg.duty, names, owners, now, views[n])
        if key is None:
            memo.situations.pop(n, None)
        else:
            memo.situations[n] = (key, first[n])
    verdicts = {n: s.id for n, s in first.items()}
    second = _recharged(fleet, owners, verdicts)  # VIPs of dead masters go to the backups
    moved = set()
    if second is not owners:
        moved = {h for a, h in second.items() if owners[a] != h}
        moved |= {owners[a] for a, h in second.items() if owners[a] != h}
    sits = dict(first)
    for n in moved & signals.keys():
        s = signals[n]
        sits[n] = diagnose(s, cfg.duty, names, second, now,
                           views[n] if n in views else _views(s, names))
    return _with_impact(cfg, signals, sits, memo)


def _with_impact(cfg: Config, signals: Mapping[str, HostSignals],
                 sits: dict[str, Situation], memo: DiagnosisMemo) -> dict[str, Situation]:
    fleet = cfg.fleet
    verdicts = {n: s.id for n, s in sits.items()}
    serving = frozenset(n for n, v in verdicts.items() if v in SERVING)
    changed = (serving ^ memo.serving) if memo.serving is not None else None
    memo.serving = serving
    vip_imp = memo.vips
    todo = (fleet.vips if changed is None
            else {v.address: v for n in changed for v in fleet.vips_of(n)}.values())
    for v in todo:
        vip_imp[v.address] = _vip_impact(v, verdicts)
    loads: dict[str, dict[Metric, float | None] | None] = {}

    def load(host: str) -> Mapping[Metric, float | None] | None:
        if host not in loads:
            sig = signals.get(host)
            loads[host] = ({m: (v.value if v else None) for m, v in sig.metrics}
                           if sig is not None else None)
        return loads[host]

    out = {}
    for name, sit in sits.items():
        host = fleet.host(name)
        vips = tuple(vip_imp[v.address] for v in fleet.vips_of(name))
        imp = _impact(host, vips, memo.peers[name], verdicts, load, cfg.duty)
        old = memo.impacts.get(name)
        if old is not None and old == imp:
            imp = old
        memo.impacts[name] = imp
        done = memo.finals.get(name)
        if done is None or done[0] is not sit or done[1] is not imp:
            done = (sit, imp, replace(sit, impact=imp, severity=_weigh(sit, imp, host)))
            memo.finals[name] = done
        out[name] = done[2]
    return out


def _weigh(sit: Situation, imp: Impact, host: Host) -> Severity:
    """Topology adjusts urgency: a VIP outage is critical; a dead ha/ssl node whose peers
    carry the load is not an emergency (the runbook: no urgent handling needed)."""
    if sit.id is SituationId.HOST_DOWN and imp.outage:
        return Severity.CRITICAL
    if sit.id is SituationId.HOST_DOWN and host.mode is not Mode.SINGLE:
        return Severity.MAJOR if imp.service_unaffected else Severity.CRITICAL
    return sit.severity
