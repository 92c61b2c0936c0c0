"""The duty texts: golden files for every kind, and the team's notice format.

Golden files live in tests/golden/; regenerate them after a deliberate wording change with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_texts.py` and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lvs_tui.config import load
from lvs_tui.runbook import load_runbook
from lvs_tui.situation import (
    Impact,
    ImpactLevel,
    Scope,
    Severity,
    Situation,
    SituationId,
    VipImpact,
)
from lvs_tui.texts import TextKind, context, redact, render

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
CFG = load(ROOT / "config.toml.example")
RB = load_runbook()
EN = load_runbook(ROOT / "lvs_tui" / "data" / "runbook.en.toml")
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 22, 10, tzinfo=TZ).timestamp()  # a Wednesday night
DAY = datetime(2026, 11, 25, 10, 0, tzinfo=TZ).timestamp()
CERNET = CFG.fleet.host("lvs-cernet-01")

SINGLE = Impact(vips=(
    VipImpact("198.51.100.100", "198.51.100.100:80 (www)", 1, 2, ImpactLevel.SINGLE_POINT),
    VipImpact("198.51.100.101", "198.51.100.101:443 (api)", 1, 2, ImpactLevel.SINGLE_POINT),
), peers_healthy=1, peers_total=1)
REDUNDANT = Impact(vips=tuple(replace(v, healthy=2, level=ImpactLevel.REDUNDANT)
                              for v in SINGLE.vips), peers_healthy=1, peers_total=1)
DOWN = Situation(
    "lvs-cernet-01", SituationId.HOST_DOWN, Severity.CRITICAL,
    evidence=("内网 192.0.2.11: 5/5 不通 from 本地, 电信, 联通",
              "外网 198.51.100.11: 5/5 不通 from 本地, 电信, 联通",
              "监控数据已中断 6 分钟", "通道机登录失败：Connection timed out"),
    since=T0, down_addresses=("192.0.2.11", "198.51.100.11"), impact=SINGLE)
FAILED = (("reboot_requested", T0 + 300), ("reboot_failed", T0 + 1200),
          ("escalated", T0 + 1320))
CARRIER = Situation(
    "lvs-cernet-01", SituationId.VIP_UNREACHABLE, Severity.MAJOR,
    evidence=("VIP 198.51.100.100: 5/5 不通 from 联通; answers from 本地, 电信",),
    since=T0, scope=Scope.PARTIAL, down_addresses=("198.51.100.100",), impact=REDUNDANT)
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


GOLDEN_CASES = {
    "initial": (TextKind.INITIAL, DOWN, FAILED, T0 + 1380, {"cause": "疑似电源故障"}, RB),
    "update": (TextKind.UPDATE, DOWN, (*FAILED, ("notified", T0 + 1400)), T0 + 3200,
               {"progress": "IM 已安排现场人员更换电源模块，预计 1 小时内完成。"}, RB),
    "recovered": (TextKind.RECOVERED, replace(DOWN, id=SituationId.OK, severity=Severity.OK,
                                              impact=REDUNDANT),
                  (*FAILED, ("notified", T0 + 1400), ("replaced", T0 + 5000),
                   ("recovered", T0 + 5100)), T0 + 5200, {}, RB),
    "reboot": (TextKind.REBOOT, DOWN, (), T0 + 240, {}, RB),
    "network": (TextKind.NETWORK, CARRIER, (), T0 + 300,
                {"sources": ("192.0.2.250",), "traceroute": TRACEROUTE,
                 "vantage_lines": ("本地: 5/5 answered, 1.2 ms", "电信: 5/5 answered, 8.0 ms",
                                   "联通: 0/5 answered")}, RB),
    "network_path_broken": (TextKind.NETWORK, replace(
        DOWN, id=SituationId.PATH_BROKEN, severity=Severity.MAJOR,
        evidence=(*DOWN.evidence[:2], "中断后仍可从 电信 到达")), (), T0 + 300, {}, RB),
    "borrow": (TextKind.BORROW, DOWN, (*FAILED, ("fault_confirmed", T0 + 3000)), T0 + 4000,
               {"borrow_duration": "3 个月（至原机修复）", "reason": "电源背板故障，原机型已停产",
                "stock": "亦庄库房 B2-17"}, RB),
    "initial_en": (TextKind.INITIAL, DOWN, FAILED, T0 + 1380,
                   {"cause": "probably the power supply"}, EN),
}


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_golden(name: str) -> None:
    kind, sit, confirms, now, extras, rb = GOLDEN_CASES[name]
    text = render(kind, context(CFG, sit, CERNET, confirms, now, runbook=rb, **extras))
    golden(name, text)


def test_every_kind_has_a_golden_file() -> None:
    kinds = {GOLDEN_CASES[n][0] for n in GOLDEN_CASES}
    assert kinds == set(TextKind)


def initial(now: float = T0 + 1380, sit: Situation = DOWN,
            confirms: tuple[tuple[str, float], ...] = FAILED, **extras: str) -> str:
    return render(TextKind.INITIAL, context(CFG, sit, CERNET, confirms, now, runbook=RB,
                                            **extras))


def test_initial_notice_follows_the_duty_documents_example() -> None:
    text = initial(cause="疑似电源故障")
    assert text.startswith("@朱建平 @noc-萌妹纸 @5666值班 @邱春武 ， "
                           "通报一起事件：赛尔机房一台 LVS")
    assert "且无法重启的情况，经 5666 联系现场人员查看，疑似电源故障。" in text
    assert "目前赛尔所有 VIP 都是 LVS 单机运行风险，请各位管理员密切关注 VIP 可用性。" in text
    assert "@朱兴 ，请帮忙看下是否可协调人员排查下宕机原因，感谢！" in text
    assert "另：我们昨天已申请领用供保 LVS 备机，目前上线流程进行中。" in text
    assert "于 2026-11-25 22:10 UTC+08:00" in text
    assert "下次更新时间：2026-11-25 23:03 UTC+08:00。" in text  # now + update_every_min
    assert "192.0.2.11" in text and "198.51.100.11" in text
    assert "\n" not in text  # one paragraph, like the example


def test_office_hours_ask_the_im_desk() -> None:
    sit = replace(DOWN, since=DAY)
    text = initial(now=DAY + 1800, sit=sit,
                   confirms=(("reboot_requested", DAY + 300), ("reboot_failed", DAY + 900)))
    assert "@IM 组值班 ，请帮忙看下" in text and "@朱兴" not in text


def test_network_trouble_asks_the_network_duty() -> None:
    text = initial(sit=CARRIER, confirms=())
    assert "@网络值班 ，请帮忙排查下网络，感谢！" in text
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
    assert "以下 VIP 已无可用的 LVS，服务中断：2001:db8:51::80:80 (www-v6)。" in text
    assert "目前以下 VIP 是 LVS 单机运行风险：203.0.113.9:80 (x)，" in text
    assert "BGP机房" in text and "出现宕机" in text


def test_recovered_says_duration_and_lingering_risk() -> None:
    sit = replace(DOWN, id=SituationId.OK, severity=Severity.OK)  # the pair is still one
    confirms = (*FAILED, ("borrow_requested", T0 + 3000), ("recovered", T0 + 3900 + 60))
    text = render(TextKind.RECOVERED, context(CFG, sit, CERNET, confirms, T0 + 4000,
                                              runbook=RB))
    assert "已于 2026-11-25 23:16 UTC+08:00 恢复" in text
    assert "持续 1 小时 6 分钟" in text
    assert "仍是 LVS 单机运行风险：198.51.100.100:80 (www)" in text
    borrowed = render(TextKind.RECOVERED, context(
        CFG, replace(sit, impact=REDUNDANT), CERNET, confirms, T0 + 4000, runbook=RB))
    assert "借用/备用服务器" in borrowed


def test_nothing_secret_ever_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVS_TUI_ZABBIX_TOKEN", "tok-5f1d9c0e")
    leak = ("ssh root@x password=hunter2, api_key: AKIA123 Authorization: Bearer abc.def "
            "密码：s3cr3t http://duty:pw0rd@alert.example.com/ping")
    for kind in TextKind:
        text = render(kind, context(CFG, DOWN, CERNET, FAILED, T0 + 2000, runbook=RB,
                                    progress=leak, cause=leak, traceroute=leak, reason=leak))
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
        text = render(kind, context(CFG, sit, CERNET, (), T0, runbook=rb))
        assert text and "{" not in text and "}" not in text


def test_network_handoff_keeps_the_per_address_lines() -> None:
    text = render(TextKind.NETWORK, context(CFG, DOWN, CERNET, (), T0 + 300, runbook=RB))
    assert "- 内网 192.0.2.11: 5/5 不通 from 本地, 电信, 联通" in text
    assert "监控数据已中断" not in text and "通道机登录失败" not in text


def test_context_takes_the_configured_runbook_and_str_kinds() -> None:
    ctx = context(CFG, DOWN, CERNET, FAILED, T0 + 1380, runbook=load_runbook(CFG.runbook))
    assert ctx.runbook.steps == RB.steps
    assert render("reboot", ctx) == render(TextKind.REBOOT, ctx)


def test_times_carry_the_configured_zone(tmp_path: Path) -> None:
    text = (ROOT / "config.toml.example").read_text(encoding="utf-8")
    p = tmp_path / "utc.toml"
    p.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"'),
                 encoding="utf-8")
    cfg = load(p)
    out = render(TextKind.REBOOT, context(cfg, DOWN, CERNET, (), T0 + 60, runbook=RB))
    assert "自 2026-11-25 14:10 UTC+00:00 起" in out


@pytest.mark.parametrize(("signs", "said", "unsaid"), [
    (frozenset(), "宕机（内外网均不通）", ("无法登录", "监控数据中断")),
    (frozenset({"monitoring_stopped"}), "宕机（内外网均不通、监控数据中断）", ("无法登录",)),
    (frozenset({"monitoring_stopped", "login_failed"}),
     "宕机（内外网均不通、无法登录、监控数据中断）", ()),
])
def test_notice_states_only_the_signs_observed(signs: frozenset, said: str,
                                               unsaid: tuple[str, ...]) -> None:
    """A notice never claims a login failed when nobody tried one."""
    text = render(TextKind.INITIAL, context(CFG, replace(DOWN, signs=signs), CERNET, (),
                                            T0 + 120, runbook=RB))
    assert said in text
    for phrase in unsaid:
        assert phrase not in text
