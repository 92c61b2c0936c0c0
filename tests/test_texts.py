"""The duty texts, judged as their recipients judge them.

- every kind, in every simulated scenario, at an office-hours and an after-hours clock: no
  English word beyond names and the runbook's terms, no "待定", no "待确认", no "所有 VIP"
  unless all are at risk, no recovered notice for a host that is not ok, no network handoff
  without a source address;
- golden files for the Sunday-03:00 walk (tests/golden/walk_*.txt), reviewed against the
  runbook, and for the example config's cases.

Regenerate golden files after a deliberate wording change with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_texts.py` and review the diff.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import replace
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lvs_tui.board import Board, HostRow, evaluate
from lvs_tui.config import Config, load
from lvs_tui.fleet import Side
from lvs_tui.probes.route import source_address
from lvs_tui.runbook import load_runbook
from lvs_tui.signals import AddressSignal, HostSignals, Reach
from lvs_tui.sim import SCENARIOS, SINGLE_VICTIM, Sim
from lvs_tui.situation import (
    Impact,
    ImpactLevel,
    Scope,
    Severity,
    Situation,
    SituationId,
    VipImpact,
)
from lvs_tui.state import StateStore
from lvs_tui.texts import TextKind, context, missing_fields, redact, refusal, render

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
CFG = load(ROOT / "config.toml.example")
RB = load_runbook()
EN = load_runbook(ROOT / "lvs_tui" / "data" / "runbook.en.toml")
TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


T0 = at("2026-11-25 22:10")  # a Wednesday night
DAY = at("2026-11-25 10:00")
CERNET = CFG.fleet.host("lvs-cernet-01")
TERMINAL = "192.0.2.250"  # this terminal's address toward the fleet, as the route lookup gives

SINGLE = Impact(vips=(
    VipImpact("198.51.100.100", "198.51.100.100:80 (www)", 1, 2, ImpactLevel.SINGLE_POINT),
    VipImpact("198.51.100.101", "198.51.100.101:443 (api)", 1, 2, ImpactLevel.SINGLE_POINT),
), peers_healthy=1, peers_total=1)
REDUNDANT = Impact(vips=tuple(replace(v, healthy=2, level=ImpactLevel.REDUNDANT)
                              for v in SINGLE.vips), peers_healthy=1, peers_total=1)
DOWN = Situation(
    "lvs-cernet-01", SituationId.HOST_DOWN, Severity.CRITICAL,
    evidence=("内网 192.0.2.11: 5/5 不通 from 本地", "待确认：尚未尝试通道机登录"),
    since=T0, down_addresses=("192.0.2.11", "198.51.100.11"), impact=SINGLE,
    signs=frozenset({"monitoring_stopped", "login_failed"}))
FAILED = (("reboot_requested", T0 + 300), ("reboot_failed", T0 + 1200),
          ("escalated", T0 + 1320))
POWER = {"reboot_failed": "疑似电源故障"}
CARRIER = Situation(
    "lvs-cernet-01", SituationId.VIP_UNREACHABLE, Severity.MAJOR,
    evidence=("VIP 198.51.100.100: 5/5 不通 from 联通; answers from 本地, 电信",),
    since=T0, scope=Scope.PARTIAL, down_addresses=("198.51.100.100",), impact=REDUNDANT)
# what each vantage of the example config sees of that VIP: lost from 联通 only
CARRIER_SIGNALS = HostSignals(CERNET, tuple(
    AddressSignal("198.51.100.100", Side.VIP, vantage, reach, rtt, loss, 10, received)
    for vantage, reach, rtt, loss, received in (
        ("local", Reach.UP, 1.2, 0.0, 10), ("zbx-telecom", Reach.UP, 8.0, 0.0, 10),
        ("zbx-unicom", Reach.DOWN, None, 100.0, 0), ("ssh-mobile", Reach.LOSS, 9.5, 30.0, 7))))
OK = replace(DOWN, id=SituationId.OK, severity=Severity.OK, impact=REDUNDANT, signs=frozenset())
TRACEROUTE = """traceroute to 198.51.100.100 (198.51.100.100), 30 hops max
 1  192.0.2.1  0.412 ms
 2  * * *"""


def golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}: run with UPDATE_GOLDEN=1"
    assert text + "\n" == path.read_text(encoding="utf-8")


# -- what a recipient rejects --------------------------------------------------------------------

# The runbook's own terms, besides names from the config (hosts, models, services, contacts…).
TERMS = frozenset({"LVS", "VIP", "IP", "ping", "zabbix", "traceroute", "QQ", "IM", "ha", "ssl"})
_RUN = re.compile(r"[A-Za-z0-9_.:@/%+\-]+")


_NAMES: dict[int, frozenset[str]] = {}


def allowed_names(cfg: Config) -> frozenset[str]:
    """Every token a config value gives: names of hosts, IDCs, VIPs' services, contacts,
    models, OS names, asset tags, the 鸡爪 project."""
    if id(cfg) not in _NAMES:
        _NAMES[id(cfg)] = _names(cfg)
    return _NAMES[id(cfg)]


def _names(cfg: Config) -> frozenset[str]:
    values: list[str] = [cfg.jira.project, cfg.jira.issue_type]
    for h in cfg.fleet.hosts:
        hw = h.hardware
        values += [h.name, h.group, hw.model, hw.os, hw.asset_tag, hw.nic_speed,
                   *(s.value for s in h.services)]
    values += [v.service for v in cfg.fleet.vips]
    values += [x for c in cfg.fleet.contacts for x in (c.name, c.at, c.email)]
    values += [i.name for i in cfg.fleet.idcs] + [v.name for v in cfg.vantages]
    return frozenset(t for v in values for t in _RUN.findall(v or ""))


def _is_address(token: str) -> bool:
    token = token.strip(".:")
    for candidate in (token, token.rsplit(":", 1)[0]):  # address:port
        try:
            ipaddress.ip_address(candidate)
            return True
        except ValueError:
            pass
    return False


def english_words(text: str, cfg: Config, quoted: tuple[str, ...] = ()) -> list[str]:
    """ASCII words outside the runbook's terms, the config's names and what the operator
    wrote (`quoted`: notes are theirs, e.g. a stock location B2-17)."""
    names = allowed_names(cfg) | {t for q in quoted for t in _RUN.findall(q)}
    out = []
    for token in _RUN.findall(text):
        if not re.search(r"[A-Za-z]", token):
            continue
        if token in TERMS or token in names or _is_address(token):
            continue
        out.append(token)
    return out


def source_line_has_address(text: str) -> bool:
    line = next(x for x in text.splitlines() if x.startswith("源 IP："))
    return any(_is_address(t) for t in _RUN.findall(line))


def check_text(kind: TextKind, text: str, row: HostRow, cfg: Config) -> None:
    where = f"{kind} for {row.host.name} ({row.situation.id}):\n{text}"
    assert not english_words(text, cfg), (english_words(text, cfg), where)
    assert "待定" not in text, where
    assert "待确认" not in text, where  # every text goes to someone else
    assert "{" not in text and "}" not in text, where
    if "所有 VIP" in text:
        fleet = cfg.fleet
        idc_vips = {v.address for h in fleet.hosts if h.idc == row.host.idc
                    for v in fleet.vips_of(h.name)}
        impact = row.situation.impact
        risky = {v.address for v in (*impact.outage, *impact.single_point)}
        assert risky == idc_vips, where
    if kind is TextKind.NETWORK:
        assert source_line_has_address(text), where


# -- every kind, every scenario, two clocks ------------------------------------------------------

CLOCKS = {"office": "2026-11-25 10:00", "after_hours": "2026-11-29 03:00"}


@cache
def board(scenario: str, clock: str, seconds: int = 300) -> tuple[Sim, Board]:
    """The scenario `seconds` after its start; faults begin a minute in, so at `clock`."""
    start = at(clock) - 60
    sim = Sim(scenario, seed=1, start=start)
    store = StateStore()
    sim.fill(store, seconds)
    return sim, evaluate(sim.config, store, start + seconds)


def walk_confirmations(row: HostRow, t: float) -> tuple[tuple[str, float], ...]:
    """What an operator has confirmed for this row by then: the reboot path for a dead host,
    the handoff for network trouble, nothing for a healthy host."""
    sid = row.situation.id
    if sid is SituationId.HOST_DOWN:
        return (("reboot_requested", t - 200), ("reboot_failed", t - 100))
    if sid in (SituationId.VIP_UNREACHABLE, SituationId.ONE_SIDE_DOWN, SituationId.PATH_BROKEN):
        return (("network_handoff", t - 60),)
    return ()


@pytest.mark.parametrize("clock", list(CLOCKS))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_kind_in_every_scenario_is_fit_to_send(scenario: str, clock: str) -> None:
    sim, b = board(scenario, CLOCKS[clock])
    cfg = sim.config
    rb = load_runbook(cfg.runbook)
    rows = [r for r in b.rows if r.situation.is_problem][:3] or [b.rows[0]]
    rows.append(next(r for r in b.rows if r.situation.id is SituationId.OK))
    for row in rows:
        for notes in ({}, {"reboot_failed": "电源模块告警", "progress": "IM 已安排现场排查"}):
            ctx = context(cfg, row.situation, row.host, walk_confirmations(row, b.now), b.now,
                          runbook=rb, notes=notes, signals=row.signals,
                          sources=(TERMINAL,), earlier=(b.now - 5 * 86400,))
            for kind in TextKind:
                if kind is TextKind.RECOVERED and row.situation.id is not SituationId.OK:
                    with pytest.raises(ValueError, match="not ok"):
                        render(kind, ctx)
                    continue
                why = refusal(kind, ctx)
                if why:
                    assert kind is TextKind.UPDATE and "进展" in missing_fields(kind, ctx)
                    with pytest.raises(ValueError):
                        render(kind, ctx)
                    continue
                check_text(kind, render(kind, ctx), row, cfg)


def test_the_checks_catch_what_they_are_for() -> None:
    """The judge above is no rubber stamp: each rule fails the text it is meant to fail."""
    _, b = board("single-host-down", CLOCKS["after_hours"])
    row = b.row(SINGLE_VICTIM)
    assert row is not None
    cfg = Sim("calm").config
    for bad in ("不通 from 本地", "UTC+08:00", "host_down", "admins_phoned"):
        assert english_words(bad, cfg), bad
    assert not english_words("@5666值班 lvs-cernet-01 192.0.2.1:80 2001:db8::1 Dell R730 "
                             "ping zabbix traceroute 万兆 × 4", cfg)
    for text in ("借用时间：待定", "待确认：尚未尝试通道机登录", "目前赛尔所有 VIP 都是"):
        with pytest.raises(AssertionError):
            check_text(TextKind.INITIAL, text, row, cfg)
    with pytest.raises(AssertionError):
        check_text(TextKind.NETWORK, "源 IP：（缺：本值班终端的源地址）", row, cfg)


# -- the Sunday-03:00 walk (golden) --------------------------------------------------------------

SUNDAY = "2026-11-29 03:00"
EARLIER = (at("2026-11-20 21:14"),)  # the same host died nine days before: 再次
WALK = (  # (minutes after 03:00, confirmation, note)
    (5, "reboot_requested", ""),
    (25, "reboot_failed", "电源模块告警"),
    (27, "escalated", ""),
    (30, "notified", ""),
    (32, "admins_emailed", ""),
    (33, "admins_phoned", ""),
    (58, "progress", "IM 已联系现场，确认电源模块故障，原机暂无备件"),
    (60, "updated", ""),
    (70, "fault_confirmed", "电源背板故障，机型已停产，IM 无备件"),
    (72, "no_parts", ""),
    (75, "no_spare", ""),
    (90, "borrow_time", "2026-11-29 起三个月（至原机修复）"),
    (92, "borrow_stock", "亦庄库房 B2-17"),
    (100, "borrow_requested", ""),
    (180, "online_requested", ""),
    (270, "initialized", ""),
    (310, "network_config_restored", ""),
    (320, "recovered", "借用服务器上线，已恢复原机网络配置"),
)
# (golden name, kind, minutes after 03:00 when it is copied)
WALK_TEXTS = (
    ("reboot", TextKind.REBOOT, 4), ("reboot_proposal", TextKind.REBOOT_PROPOSAL, 6),
    ("escalation", TextKind.ESCALATION, 26), ("initial", TextKind.INITIAL, 29),
    ("email", TextKind.EMAIL, 31), ("admins_phone", TextKind.ADMINS_PHONE, 32),
    ("update", TextKind.UPDATE, 59), ("borrow", TextKind.BORROW, 95),
    ("network", TextKind.NETWORK, 4), ("recovered", TextKind.RECOVERED, 325),
)


def walk_context(kind: TextKind, minute: float) -> tuple[Config, object]:
    sim, down = board("single-host-down", SUNDAY)
    calm = board("calm", SUNDAY)[1]
    now = at(SUNDAY) + minute * 60
    done = [(n, at(SUNDAY) + m * 60, note) for m, n, note in WALK if m <= minute]
    row = (calm if kind is TextKind.RECOVERED else down).row(SINGLE_VICTIM)
    assert row is not None
    notes = {n: note for n, _, note in done if note}
    ctx = context(sim.config, row.situation, row.host, tuple((n, t) for n, t, _ in done), now,
                  notes=notes, earlier=EARLIER, signals=row.signals,
                  sources=(TERMINAL,), first_seen=at(SUNDAY),
                  recovered_at=at(SUNDAY) + 320 * 60 if kind is TextKind.RECOVERED else None,
                  runbook=RB)
    return sim.config, ctx


@pytest.mark.parametrize(("name", "kind", "minute"), WALK_TEXTS, ids=[w[0] for w in WALK_TEXTS])
def test_sunday_walk_golden(name: str, kind: TextKind, minute: float) -> None:
    cfg, ctx = walk_context(kind, minute)
    text = render(kind, ctx)
    golden(f"walk_{name}", text)
    assert not english_words(text, cfg, tuple(note for _, _, note in WALK))
    assert missing_fields(kind, ctx) == ()  # every field known by then: nothing to fill


def test_sunday_walk_says_what_the_runbook_example_says() -> None:
    _, ctx = walk_context(TextKind.INITIAL, 29)
    text = render(TextKind.INITIAL, ctx)
    assert "通报一起事件：赛尔机房一台 LVS" in text
    assert "再次出现宕机，且无法重启的情况，经 5666 联系现场人员查看，电源模块告警。" in text
    assert "所有 VIP" not in text  # 8 of 赛尔's 26 VIPs
    assert "@朱兴 ，请帮忙看下是否可协调人员排查下宕机原因，感谢！" in text
    _, ctx = walk_context(TextKind.ESCALATION, 26)
    text = render(TextKind.ESCALATION, ctx)
    assert text.startswith("@朱兴 ，") and text.endswith("@晓栋 请知悉。")


def test_borrow_names_what_is_missing_before_the_notes_exist() -> None:
    _, ctx = walk_context(TextKind.BORROW, 80)  # no time, no stock noted yet
    text = render(TextKind.BORROW, ctx)
    assert missing_fields(TextKind.BORROW, ctx) == ("借用时间", "库存位置")
    assert "借用时间：（缺：借用时间）" in text and "库存位置：（缺：库存位置）" in text
    assert "借用原因：电源背板故障，机型已停产，IM 无备件" in text  # the cause, from IM
    assert "网卡：万兆 × 4" in text and "鸡爪项目：DEVICE" in text


def test_recovered_is_refused_while_the_host_is_down() -> None:
    _, ctx = walk_context(TextKind.INITIAL, 325)
    with pytest.raises(ValueError) as exc:
        render(TextKind.RECOVERED, ctx)
    reason = str(exc.value)
    assert "\n" not in reason and not re.search(r"[\u4e00-\u9fff]", reason)


def test_update_needs_news() -> None:
    _, ctx = walk_context(TextKind.UPDATE, 40)  # notified at 30, nothing new since
    assert refusal(TextKind.UPDATE, ctx) and missing_fields(TextKind.UPDATE, ctx) == ("进展",)
    with pytest.raises(ValueError):
        render(TextKind.UPDATE, ctx)


# -- the example config's cases ------------------------------------------------------------------


GOLDEN_CASES = {
    "initial": (TextKind.INITIAL, DOWN, FAILED, T0 + 1380, {"notes": POWER}, RB),
    "update": (TextKind.UPDATE, DOWN, (*FAILED, ("notified", T0 + 1400)), T0 + 3200,
               {"notes": {**POWER,
                          "progress": "IM 已安排现场人员更换电源模块，预计 1 小时内完成。"}}, RB),
    "recovered": (TextKind.RECOVERED, OK,
                  (*FAILED, ("notified", T0 + 1400), ("replaced", T0 + 5000),
                   ("recovered", T0 + 5100)), T0 + 5200, {"notes": POWER}, RB),
    "reboot": (TextKind.REBOOT, DOWN, (), T0 + 240, {}, RB),
    "network": (TextKind.NETWORK, CARRIER, (), T0 + 300,
                {"sources": ("192.0.2.250",), "traceroute": TRACEROUTE,
                 "signals": CARRIER_SIGNALS}, RB),
    "network_path_broken": (TextKind.NETWORK, replace(
        DOWN, id=SituationId.PATH_BROKEN, severity=Severity.MAJOR), (), T0 + 300, {}, RB),
    "borrow": (TextKind.BORROW, DOWN, (*FAILED, ("fault_confirmed", T0 + 3000)), T0 + 4000,
               {"notes": {"borrow_time": "3 个月（至原机修复）",
                          "borrow_reason": "电源背板故障，原机型已停产",
                          "borrow_stock": "亦庄库房 B2-17"}}, RB),
    "initial_en": (TextKind.INITIAL, DOWN, FAILED, T0 + 1380,
                   {"notes": {"reboot_failed": "probably the power supply"}}, EN),
}


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_golden(name: str) -> None:
    kind, sit, confirms, now, extras, rb = GOLDEN_CASES[name]
    text = render(kind, context(CFG, sit, CERNET, confirms, now, runbook=rb, **extras))
    golden(name, text)


def test_every_kind_has_a_golden_file() -> None:
    kinds = {GOLDEN_CASES[n][0] for n in GOLDEN_CASES} | {w[1] for w in WALK_TEXTS}
    assert kinds | {TextKind.IM, TextKind.CO_INVESTIGATION, TextKind.REPAIR} == set(TextKind)


def initial(now: float = T0 + 1380, sit: Situation = DOWN,
            confirms: tuple[tuple[str, float], ...] = FAILED, **extras: object) -> str:
    return render(TextKind.INITIAL, context(CFG, sit, CERNET, confirms, now, runbook=RB,
                                            **extras))


def test_initial_notice_follows_the_duty_documents_example() -> None:
    text = initial(notes=POWER)
    assert text.startswith("@朱建平 @noc-萌妹纸 @5666值班 @邱春武 ， "
                           "通报一起事件：赛尔机房一台 LVS")
    assert "且无法重启的情况，经 5666 联系现场人员查看，疑似电源故障。" in text
    # the example config's 赛尔 has two VIPs, both on this pair: all of them, truly
    assert "目前赛尔所有 VIP 都是 LVS 单机运行风险，请各位管理员密切关注 VIP 可用性。" in text
    assert "@朱兴 ，请帮忙看下是否可协调人员排查下宕机原因，感谢！" in text
    assert "另：我们已于 2026-11-24 申请领用供保 LVS 备机，目前上线流程进行中。" in text
    assert "于 2026-11-25 22:10 出现宕机" in text and "UTC" not in text
    assert "下次更新时间：2026-11-25 23:03。" in text  # now + update_every_min
    assert "\n" not in text  # one paragraph, like the example


def test_no_all_vips_when_some_are_not_at_risk() -> None:
    one = replace(DOWN, impact=replace(SINGLE, vips=SINGLE.vips[:1]))
    text = initial(sit=one)
    assert "所有 VIP" not in text
    assert "目前以下 VIP 是 LVS 单机运行风险：198.51.100.100:80（www）" in text


def test_again_only_within_the_recurrence_window() -> None:
    assert "再次出现宕机" in initial(earlier=(T0 - 3 * 86400,))
    assert "再次" not in initial(earlier=(T0 - 40 * 86400,))  # recurrence_days = 30
    assert "再次" not in initial()


def test_prepared_measures_are_dated_and_expire() -> None:
    assert "2026-11-24 申请领用供保" in initial()
    assert "供保" not in initial(now=at("2027-01-01 00:10"))  # valid_until 2026-12-31
    assert "供保" not in initial(sit=CARRIER, confirms=())  # network trouble: no spare helps
    noted = initial(notes={"prepared": "上周已备好同型号电源模块"})
    assert "另：上周已备好同型号电源模块；我们已于 2026-11-24" in noted


def test_office_hours_ask_the_im_desk() -> None:
    sit = replace(DOWN, since=DAY)
    text = initial(now=DAY + 1800, sit=sit,
                   confirms=(("reboot_requested", DAY + 300), ("reboot_failed", DAY + 900)))
    assert "@IM 组值班 ，请帮忙看下" in text and "@朱兴" not in text


def test_network_trouble_asks_5666_for_the_network_duty() -> None:
    text = initial(sit=CARRIER, confirms=())
    assert "@5666值班 ，请帮忙联系网络组值班排查，感谢！" in text
    assert "198.51.100.100 不通" in text
    assert "同组其余 LVS 运行正常（1/1）" in text


def test_outage_and_partial_single_point_are_listed() -> None:
    bgp = CFG.fleet.host("lvs-bgp-01")
    impact = Impact(vips=(
        VipImpact("2001:db8:51::80", "2001:db8:51::80:80 (www-v6)", 0, 1, ImpactLevel.OUTAGE),
        VipImpact("203.0.113.9", "203.0.113.9:80 (x)", 1, 2, ImpactLevel.SINGLE_POINT),
        VipImpact("203.0.113.8", "203.0.113.8:80 (y)", 2, 3, ImpactLevel.REDUNDANT)))
    sit = replace(DOWN, host=bgp.name, impact=impact)
    text = render(TextKind.INITIAL, context(CFG, sit, bgp, (), T0 + 600, runbook=RB))
    assert "以下 VIP 已无可用的 LVS，服务中断：2001:db8:51::80:80（www-v6）。" in text
    assert "目前以下 VIP 是 LVS 单机运行风险：203.0.113.9:80 (x)，" in text
    assert "BGP机房" in text and "出现宕机" in text


def test_recovered_says_window_duration_fix_and_lingering_risk() -> None:
    sit = replace(OK, impact=SINGLE)  # the pair is still one
    confirms = (*FAILED, ("borrow_requested", T0 + 3000), ("recovered", T0 + 3960))
    text = render(TextKind.RECOVERED, context(
        CFG, sit, CERNET, confirms, T0 + 4000, runbook=RB,
        notes={**POWER, "recovered": "借用服务器上线。"}))
    assert "已于 2026-11-25 23:16 恢复，故障自 2026-11-25 22:10 起持续 1 小时 6 分钟" in text
    assert "经 5666 联系现场人员查看，疑似电源故障。" in text  # the cause is kept
    assert "恢复方式：借用服务器上线。" in text
    assert "仍是 LVS 单机运行风险：198.51.100.100:80（www）" in text
    window = render(TextKind.RECOVERED, context(  # the log's window wins over the clock
        CFG, replace(sit, since=None), CERNET, (), T0 + 9000, runbook=RB,
        first_seen=T0, recovered_at=T0 + 540))
    assert "持续 9 分钟" in window


def test_nothing_secret_ever_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVS_TUI_ZABBIX_TOKEN", "tok-5f1d9c0e")
    leak = ("ssh root@x password=hunter2, api_key: AKIA123 Authorization: Bearer abc.def "
            "密码：s3cr3t http://duty:pw0rd@alert.example.com/ping")
    notes = {n: leak for n in ("reboot_failed", "progress", "recovered", "borrow_time",
                               "borrow_reason", "borrow_stock", "prepared")}
    for kind in TextKind:
        sit = OK if kind is TextKind.RECOVERED else DOWN
        text = render(kind, context(CFG, sit, CERNET, FAILED, T0 + 2000, runbook=RB,
                                    notes=notes, traceroute=leak))
        for secret in ("tok-5f1d9c0e", "hunter2", "AKIA123", "abc.def", "s3cr3t", "pw0rd"):
            assert secret not in text, (kind, text)
    assert redact("token=abc") == "token=***"
    assert redact("请输入密码") == "请输入密码"
    assert redact("password reset of root@host") == "password reset of root@host"


@pytest.mark.parametrize("sid", list(SituationId))
@pytest.mark.parametrize("kind", list(TextKind))
def test_every_kind_renders_for_every_situation(sid: SituationId, kind: TextKind) -> None:
    sit = Situation(CERNET.name, sid, Severity.WARNING)  # no since, no evidence, no impact
    for rb in (RB, EN):
        ctx = context(CFG, sit, CERNET, (), T0, runbook=rb, notes={"progress": "x"})
        if refusal(kind, ctx):
            assert kind is TextKind.RECOVERED and sid is not SituationId.OK
            continue
        text = render(kind, ctx)
        assert text and "{" not in text and "}" not in text


def test_network_handoff_has_real_sources_and_no_instructions() -> None:
    path = replace(DOWN, id=SituationId.PATH_BROKEN, severity=Severity.MAJOR,
                   evidence=("主机仍有存活迹象：是路径问题，不要让 5666 重启",))
    text = render(TextKind.NETWORK, context(CFG, path, CERNET, (), T0 + 300, runbook=RB,
                                            sources=(TERMINAL,)))
    assert "源 IP：192.0.2.250（本值班终端）" in text
    assert "重启" not in text and "待确认" not in text
    assert "traceroute：\n（尚未做 traceroute）" in text
    bare = context(CFG, path, CERNET, (), T0 + 300, runbook=RB)
    assert missing_fields(TextKind.NETWORK, bare) == ("本值班终端的源地址",)


def test_source_address_is_the_kernels_route_lookup() -> None:
    assert source_address("127.0.0.1") == "127.0.0.1"
    assert source_address("127.8.9.10") == "127.0.0.1"  # lo holds 127/8: 127.0.0.1 answers
    assert source_address("not an address") is None


def test_context_takes_the_configured_runbook_and_str_kinds() -> None:
    ctx = context(CFG, DOWN, CERNET, FAILED, T0 + 1380, runbook=load_runbook(CFG.runbook))
    assert ctx.runbook.steps == RB.steps
    assert render("reboot", ctx) == render(TextKind.REBOOT, ctx)


def test_zone_is_said_in_words_where_the_template_asks(tmp_path: Path) -> None:
    text = (ROOT / "config.toml.example").read_text(encoding="utf-8")
    p = tmp_path / "utc.toml"
    p.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"'),
                 encoding="utf-8")
    cfg = load(p)
    out = render(TextKind.REBOOT_PROPOSAL, context(cfg, DOWN, CERNET, (), T0 + 60, runbook=RB))
    assert "故障时间：2026-11-25 14:10（零时区时间）" in out
    out = render(TextKind.REBOOT_PROPOSAL, context(CFG, DOWN, CERNET, (), T0 + 60, runbook=RB))
    assert "故障时间：2026-11-25 22:10（北京时间）" in out


@pytest.mark.parametrize(("signs", "said", "unsaid"), [
    (frozenset(), "宕机（内外网均 ping 不通）", ("无法登录", "监控数据中断")),
    (frozenset({"monitoring_stopped"}), "宕机（内外网均 ping 不通，zabbix 监控数据中断）",
     ("无法登录",)),
    (frozenset({"monitoring_stopped", "login_failed"}),
     "宕机（内外网均 ping 不通，通道机无法登录，zabbix 监控数据中断）", ()),
])
def test_notice_states_only_the_signs_observed(signs: frozenset, said: str,
                                               unsaid: tuple[str, ...]) -> None:
    """A notice never claims a login failed when nobody tried one."""
    text = render(TextKind.INITIAL, context(CFG, replace(DOWN, signs=signs), CERNET, (),
                                            T0 + 120, runbook=RB))
    assert said in text
    for phrase in unsaid:
        assert phrase not in text
