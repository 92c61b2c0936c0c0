"""Diagnosis from samples: the runbook's distinctions, evidence of life after the outage,
impact from topology, and 'unknown is never down'."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lvs_tui.board import evaluate
from lvs_tui.config import parse
from lvs_tui.situation import ImpactLevel, Scope, Severity, SituationId
from lvs_tui.state import (
    Login,
    LoginState,
    Metric,
    MetricSample,
    PingSample,
    SourceState,
    SourceStatus,
    StateStore,
)

CFG = parse("""
[zabbix]
stale_after = 120.0
[[idcs]]
id = "cernet"
name = "赛尔"
carrier = "CERNET"
[[hosts]]
name = "s1"
idc = "cernet"
mode = "single"
group = "s"
internal = "192.0.2.1"
external = "198.51.100.1"
[[hosts]]
name = "s2"
idc = "cernet"
mode = "single"
group = "s"
internal = "192.0.2.2"
external = "198.51.100.2"
[[hosts]]
name = "h1"
idc = "cernet"
mode = "ha"
group = "h"
internal = "192.0.2.11"
external = "198.51.100.11"
[[hosts]]
name = "h2"
idc = "cernet"
mode = "ha"
group = "h"
internal = "192.0.2.12"
external = "198.51.100.12"
[[hosts]]
name = "h3"
idc = "cernet"
mode = "ha"
group = "h"
internal = "192.0.2.13"
external = "198.51.100.13"
[[vips]]
address = "203.0.113.1"
hosts = ["s1", "s2"]
[[vips]]
address = "203.0.113.11"
hosts = ["h1", "h2", "h3"]
[[contacts]]
id = "duty5666"
role = "duty_room"
name = "5666 值班室"
[[vantages]]
id = "local"
kind = "local"
name = "本地"
control = "127.0.0.1"
[[vantages]]
id = "unicom"
kind = "zabbix_proxy"
name = "联通"
probe_host = "probe-unicom"
""", "test.toml")

NOW = 10_000.0
HOSTS = {h.name: h for h in CFG.fleet.hosts}


class Lab:
    """A store filled by hand: every address answers unless told otherwise."""

    def __init__(self) -> None:
        self.store = StateStore()
        self.dark: dict[tuple[str, str], float] = {}  # (vantage, address) -> silent from
        self.zabbix_last: dict[str, float] = {}
        self.held: dict[str, float] = {}
        self.again: dict[str, float] = {}

    def silence(self, address: str, at: float, vantages: tuple[str, ...] = ("local", "unicom")
                ) -> Lab:
        for v in vantages:
            self.dark[(v, address)] = at
        return self

    def kill(self, host: str, at: float, zabbix_stops: bool = True) -> Lab:
        h = HOSTS[host]
        self.silence(h.internal, at).silence(h.external, at)
        if zabbix_stops:
            self.zabbix_last[host] = at - 20  # the last value came before the crash
        return self

    def hold(self, address: str, at: float) -> Lab:
        """No local result at or after `at` yet (probes in flight)."""
        self.held[address] = at
        return self

    def back(self, address: str, at: float) -> Lab:
        """Local answers again from `at` (after a silence)."""
        self.again[address] = at
        return self

    def build(self, now: float = NOW) -> StateStore:
        addrs = list(CFG.fleet.addresses())
        for k in range(60, -1, -1):
            t = now - k
            for a in [*addrs, "127.0.0.1"]:
                if t >= self.held.get(a, 1e18):
                    continue
                up = t < self.dark.get(("local", a), 1e18) or t >= self.again.get(a, 1e18)
                self.store.add_ping("local", a, PingSample(t, 1, int(up), 0.001 if up else None))
        for k in range(0, 600, 30):  # the remote vantage checks every 30 s
            t = now - 600 + k + 15
            for a in addrs:
                up = t < self.dark.get(("unicom", a), 1e18)
                self.store.add_ping("unicom", a, PingSample(t, 3, 3 if up else 0,
                                                            0.01 if up else None))
        for h in CFG.fleet.hosts:
            last = self.zabbix_last.get(h.name, now - 5)
            for c in range(int(now - 900), int(last) + 1, 60):
                self.store.add_metric(h.name, Metric.CPU, MetricSample(float(c), 20.0))
            self.store.add_metric(h.name, Metric.CPU, MetricSample(last, 20.0))
        return self.store


def situations(store: StateStore, now: float = NOW) -> dict:
    return {r.host.name: r.situation for r in evaluate(CFG, store, now).rows}


def test_calm_fleet_is_ok() -> None:
    sits = situations(Lab().build())
    assert {s.id for s in sits.values()} == {SituationId.OK}


def test_dead_single_host_is_host_down_critical_with_single_point_vips() -> None:
    lab = Lab().kill("s1", NOW - 200)
    s = situations(lab.build())["s1"]
    assert s.id is SituationId.HOST_DOWN and s.severity is Severity.CRITICAL
    assert any("监控数据已中断" in e for e in s.evidence)
    assert [v.level for v in s.impact.vips] == [ImpactLevel.SINGLE_POINT]
    assert s.since == NOW - 195  # the first unanswered remote check after the outage


def test_fresh_death_is_red_at_once_with_pending_evidence() -> None:
    """Within the hysteresis, before Zabbix goes stale: already host_down, saying what is
    still pending — the last Zabbix value is young but older than the outage."""
    lab = Lab().kill("s1", NOW - 10)
    lab.zabbix_last["s1"] = NOW - 40
    s = situations(lab.build())["s1"]
    assert s.id is SituationId.HOST_DOWN
    assert any("待确认：监控数据尚未超时" in e for e in s.evidence)
    assert any("待确认：尚未尝试通道机登录" in e for e in s.evidence)
    # 联通's last check (NOW - 15) answered before the outage: said so, never "answers from"
    assert any("中断前应答 from 联通" in e for e in s.evidence)
    assert not any("answers from" in e for e in s.evidence)


def test_zabbix_value_after_the_outage_means_path_broken() -> None:
    lab = Lab().kill("s1", NOW - 200, zabbix_stops=False)
    s = situations(lab.build())["s1"]
    assert s.id is SituationId.PATH_BROKEN
    assert any("不要让 5666 重启" in e for e in s.evidence)


def test_other_vantage_reaching_it_after_the_outage_means_path_broken() -> None:
    lab = Lab()
    h = HOSTS["s2"]
    lab.silence(h.internal, NOW - 200, ("local",)).silence(h.external, NOW - 200, ("local",))
    lab.zabbix_last["s2"] = NOW - 300  # even with monitoring stopped
    s = situations(lab.build())["s2"]
    assert s.id is SituationId.PATH_BROKEN
    assert any("answers from 联通" in e for e in s.evidence)
    assert not any("中断前应答" in e for e in s.evidence)


def test_successful_login_after_the_outage_means_path_broken() -> None:
    lab = Lab().kill("s1", NOW - 200)
    store = lab.build()
    store.set_login("s1", Login(LoginState.OK, NOW - 5))
    assert situations(store)["s1"].id is SituationId.PATH_BROKEN


def test_login_failed_corroborates_host_down() -> None:
    lab = Lab().kill("s1", NOW - 200)
    store = lab.build()
    store.set_login("s1", Login(LoginState.FAILED, NOW - 5, "connection timed out"))
    s = situations(store)["s1"]
    assert s.id is SituationId.HOST_DOWN
    assert any("通道机登录失败" in e for e in s.evidence)


def test_ha_node_down_with_peers_carrying_is_not_critical() -> None:
    lab = Lab().kill("h2", NOW - 200)
    s = situations(lab.build())["h2"]
    assert s.id is SituationId.HOST_DOWN and s.severity is Severity.MAJOR
    assert s.impact.service_unaffected is True
    assert s.impact.peers_healthy == 2
    assert [v.level for v in s.impact.vips] == [ImpactLevel.REDUNDANT]


def test_ha_node_down_with_overloaded_peers_is_critical() -> None:
    lab = Lab().kill("h2", NOW - 200)
    store = lab.build()
    store.add_metric("h1", Metric.CPU, MetricSample(NOW - 1, 95.0))
    s = situations(store)["h2"]
    assert s.impact.service_unaffected is False and s.severity is Severity.CRITICAL


def test_one_side_down() -> None:
    lab = Lab().silence(HOSTS["s2"].external, NOW - 100)
    s = situations(lab.build())["s2"]
    assert s.id is SituationId.ONE_SIDE_DOWN and s.down_addresses == ("198.51.100.2",)


def test_vip_down_everywhere_is_charged_to_the_master_only() -> None:
    lab = Lab().silence("203.0.113.1", NOW - 100)
    sits = situations(lab.build())
    assert sits["s1"].id is SituationId.VIP_UNREACHABLE and sits["s1"].scope is Scope.ALL
    assert sits["s2"].id is SituationId.OK


def test_vip_unreachable_from_one_carrier_only() -> None:
    lab = Lab().silence("203.0.113.11", NOW - 300, ("unicom",))
    s = situations(lab.build())["h1"]
    assert s.id is SituationId.VIP_UNREACHABLE and s.scope is Scope.PARTIAL
    assert any("联通" in e for e in s.evidence)


def test_broken_vantage_makes_its_results_unknown_not_down() -> None:
    lab = Lab()
    for a in [*list(CFG.fleet.addresses()), "127.0.0.1"]:
        lab.silence(a, NOW - 100, ("local",))
    store = lab.build()
    sits = situations(store)
    assert all(s.id is not SituationId.HOST_DOWN for s in sits.values())
    assert all(s.id is SituationId.OK for s in sits.values())  # the remote still reaches all


def test_proxy_source_down_makes_remote_unknown() -> None:
    lab = Lab().silence("203.0.113.11", NOW - 300, ("unicom",))
    store = lab.build()
    store.set_source(SourceStatus("vantage:unicom", SourceState.DOWN, NOW - 60, "proxy stale"))
    assert situations(store)["h1"].id is SituationId.OK


def test_no_data_is_unknown() -> None:
    sits = situations(StateStore())
    assert {s.id for s in sits.values()} == {SituationId.UNKNOWN}


def test_stale_data_is_unknown_never_down() -> None:
    lab = Lab().kill("s1", NOW - 200)
    store = lab.build()
    later = situations(store, NOW + 3600)  # an hour without any news
    assert later["s1"].id is SituationId.UNKNOWN


def test_monitoring_gap_with_pings_fine_is_degraded() -> None:
    lab = Lab()
    lab.zabbix_last["s2"] = NOW - 600
    s = situations(lab.build())["s2"]
    assert s.id is SituationId.DEGRADED and any("监控数据中断" in e for e in s.evidence)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(CFG.fleet.addresses())),
                       st.lists(st.sampled_from("uxe"), min_size=0, max_size=12), max_size=8),
       st.booleans())
def test_diagnosis_is_total_and_unknown_never_becomes_down(patterns: dict, zabbix: bool
                                                          ) -> None:
    """Whatever the samples, every host gets a situation; a host whose addresses have no
    valid fresh data is never host_down."""
    store = StateStore()
    for addr, pattern in patterns.items():
        for i, ch in enumerate(pattern):
            t = NOW - len(pattern) + 1 + i
            s = (PingSample(t, 0, 0, error="e") if ch == "e"
                 else PingSample(t, 1, int(ch == "u"), 0.001 if ch == "u" else None))
            store.add_ping("local", addr, s)
    store.add_ping("local", "127.0.0.1", PingSample(NOW, 1, 1, 0.001))
    if zabbix:
        store.add_metric("s1", Metric.CPU, MetricSample(NOW - 10, 5.0))
    sits = situations(store)
    assert set(sits) == set(HOSTS)
    for name, s in sits.items():
        h = HOSTS[name]
        for side in (h.internal, h.external):
            p = patterns.get(side, [])
            if not p or p[-1] == "e":  # nothing valid and fresh for this side
                assert s.id not in (SituationId.HOST_DOWN, SituationId.PATH_BROKEN), (name, s)


# -- honest transitions (issue 15 item 7) -------------------------------------------------------


def test_a_dying_host_does_not_flash_one_side_down() -> None:
    """Both sides die together; the external side's losses are confirmed first while the
    internal side's probes are still in flight: not 'one side down' (the other side has no
    answer since), but 'confirming'; once the internal side answers after, it is."""
    h = HOSTS["s2"]
    lab = Lab().silence(h.external, NOW - 4).hold(h.internal, NOW - 4)
    s = situations(lab.build())["s2"]
    assert s.id is SituationId.UNKNOWN and any("正在确认" in e for e in s.evidence)
    lab = Lab().silence(h.external, NOW - 4)  # the internal side keeps answering
    assert situations(lab.build())["s2"].id is SituationId.ONE_SIDE_DOWN


def test_a_recovering_host_does_not_flash_path_broken() -> None:
    """Dead since NOW-200; this terminal gets answers again from NOW-1 (not yet the
    hysteresis' 3) while 联通's check at NOW-15... reaches it: recovering, not path_broken."""
    h = HOSTS["s1"]
    lab = Lab().kill("s1", NOW - 200).back(h.internal, NOW - 1).back(h.external, NOW - 1)
    lab.dark[("unicom", h.external)] = NOW - 200
    store = lab.build()
    store.add_ping("unicom", h.external, PingSample(NOW - 0.5, 3, 3, 0.01))
    s = situations(store)["s1"]
    assert s.id is SituationId.HOST_DOWN and any("正在恢复" in e for e in s.evidence)
    assert not any("不要让 5666 重启" in e for e in s.evidence)


def test_a_zabbix_value_stamped_at_the_outage_is_no_sign_of_life() -> None:
    lab = Lab().kill("s1", NOW - 200)
    lab.zabbix_last["s1"] = NOW - 195  # within CLOCK_MARGIN of the outage (skew, or the last)
    assert situations(lab.build())["s1"].id is SituationId.HOST_DOWN
    lab.zabbix_last["s1"] = NOW - 100  # well after: the host is alive
    assert situations(lab.build())["s1"].id is SituationId.PATH_BROKEN


def test_evidence_does_not_weaken_with_age() -> None:
    """Monitoring stopped 50 minutes ago is still said after the metric window rolled."""
    lab = Lab().kill("s1", NOW - 3100)
    lab.zabbix_last["s1"] = NOW - 3000
    s = situations(lab.build(), NOW)["s1"]
    assert s.id is SituationId.HOST_DOWN
    assert any("监控数据已中断 50 分钟" in e for e in s.evidence)


def test_zabbix_down_says_nothing_about_the_hosts_monitoring() -> None:
    """Zabbix itself not answering: the hosts' old values are not 'monitoring stopped'."""
    from lvs_tui.state import SourceState, SourceStatus

    lab = Lab()
    for h in CFG.fleet.hosts:
        lab.zabbix_last[h.name] = NOW - 1000
    store = lab.build()
    assert situations(store)["s1"].id is SituationId.DEGRADED  # stopped, pings fine
    store.set_source(SourceStatus("zabbix", SourceState.DOWN, NOW - 900, "HTTP 502"))
    assert situations(store)["s1"].id is SituationId.OK
