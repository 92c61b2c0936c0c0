"""The runbook engine walked through every branch of the duty document.

One table: (host, situation, impact, confirmations, clock) -> current step, contact role,
who is called, phrases of the step text. The union of the steps the table reaches must be
every step of the shipped runbook: a step no scenario reaches is a branch nobody tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvs_tui.config import ConfigError, load
from lvs_tui.fleet import Role
from lvs_tui.runbook import MachineAge, load_runbook, machine_age, plan
from lvs_tui.situation import (
    Impact,
    ImpactLevel,
    Scope,
    Severity,
    Situation,
    SituationId,
    VipImpact,
)

ROOT = Path(__file__).resolve().parent.parent
CFG = load(ROOT / "config.toml.example")
RB = load_runbook()
TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


NIGHT = "2026-11-25 22:10"  # Wednesday, after hours
DAY = "2026-11-25 10:00"  # Wednesday, office hours
HOLIDAY = "2026-10-01 10:00"  # Thursday, national holiday
MAKEUP = "2026-09-27 10:00"  # Sunday, an extra workday (调休)

SEV = {SituationId.OK: Severity.OK, SituationId.UNKNOWN: Severity.UNKNOWN,
       SituationId.DEGRADED: Severity.WARNING, SituationId.VIP_UNREACHABLE: Severity.MAJOR,
       SituationId.ONE_SIDE_DOWN: Severity.MAJOR, SituationId.PATH_BROKEN: Severity.MAJOR,
       SituationId.HOST_DOWN: Severity.CRITICAL}


def impact_of(host: str, unaffected: bool | None) -> Impact:
    """What losing `host` does, the way diagnosis reports it from the example topology."""
    h = CFG.fleet.host(host)
    vips = []
    for v in CFG.fleet.vips_of(host):
        healthy = len(v.hosts) - 1
        level = (ImpactLevel.OUTAGE if healthy == 0 else ImpactLevel.SINGLE_POINT
                 if healthy == 1 else ImpactLevel.REDUNDANT)
        vips.append(VipImpact(v.address, v.label, healthy, len(v.hosts), level))
    peers = len(CFG.fleet.peers(h))
    return Impact(tuple(vips), peers, peers, unaffected)


# The single host's incident as the operator confirms it, minutes after the outage began.
SINGLE_CHAIN = (("reboot_requested", 5), ("reboot_failed", 20), ("escalated", 22),
                ("notified", 25), ("admins_emailed", 26), ("admins_phoned", 27))


@dataclass(frozen=True)
class Case:
    name: str
    situation: SituationId
    step: str | None
    role: Role | None = None
    host: str = "lvs-cernet-01"
    confirms: tuple[tuple[str, float], ...] = ()  # (name, minutes after the outage)
    minutes: float = 30  # the clock: minutes after the outage began
    clock: str = NIGHT  # when the outage began (local time)
    scope: Scope | None = None
    unaffected: bool | None = None
    alert_page: bool = False
    calls: tuple[str, ...] = ()  # contact names that must be among contacts_now
    phrases: tuple[str, ...] = ()  # must appear in the step's title or text
    texts: tuple[str, ...] = ()  # text kinds that must be available
    absent: tuple[str, ...] = field(default=())  # step ids that must not be in the plan


def c(*names: str, start: float = 30) -> tuple[tuple[str, float], ...]:
    return tuple((n, start + i) for i, n in enumerate(names))


CASES = [
    Case("healthy host: nothing to do", SituationId.OK, None),
    Case("5666 page alerts but every vantage reaches it", SituationId.OK, "alert.verify",
         Role.DUTY_ROOM, alert_page=True, calls=("5666 值班室",), phrases=("bench",)),
    Case("no data: never a down verdict", SituationId.UNKNOWN, "unknown.data", None,
         phrases=("未知不等于宕机", "192.0.2.11"), absent=("down.reboot",)),
    Case("loss: ping, jump-host login, zabbix graphs", SituationId.DEGRADED, "check.basic",
         None, phrases=("通道机 jump.example.com", "bond0/bond1", "zabbix")),
    Case("loss after the checks: multi-carrier ping + probe page", SituationId.DEGRADED,
         "ip.multi_vantage", confirms=c("checked"), phrases=("bench", "运营商")),
    Case("one side down: the basic checks first", SituationId.ONE_SIDE_DOWN, "check.basic"),
    Case("one side down: local NIC and gateway checks", SituationId.ONE_SIDE_DOWN,
         "ip.local_checks", confirms=c("checked"), phrases=("网口", "网关")),
    # the runbook: QQ 5666 to ask who is on network duty (5666 is called, not a name)
    Case("one side down: hand src/dst + traceroute to the network duty",
         SituationId.ONE_SIDE_DOWN, "ip.handoff", Role.DUTY_ROOM,
         confirms=c("checked", "local_checked"), calls=("5666 值班室",),
         phrases=("traceroute", "源/目的 IP", "QQ 联系 5666"), texts=("network",)),
    Case("VIP lost from some carriers: straight to the network duty",
         SituationId.VIP_UNREACHABLE, "ip.handoff", Role.DUTY_ROOM, scope=Scope.PARTIAL,
         calls=("5666 值班室",), texts=("network",), absent=("ip.local_checks",)),
    Case("VIP lost from everywhere: check the box's NIC first", SituationId.VIP_UNREACHABLE,
         "ip.local_checks", None, scope=Scope.ALL),
    Case("handed off: follow the network duty", SituationId.VIP_UNREACHABLE, "ip.follow",
         None, scope=Scope.PARTIAL, confirms=c("network_handoff"), phrases=("5666 告知",)),
    Case("handoff skips the pending local checks", SituationId.VIP_UNREACHABLE, "ip.follow",
         None, scope=Scope.ALL, confirms=c("network_handoff"),
         absent=("ip.local_checks",)),
    Case("path broken: do not reboot, it is the path", SituationId.PATH_BROKEN,
         "path.no_reboot", Role.DUTY_ROOM, phrases=("不要让 5666 重启",),
         texts=("network",), absent=("down.reboot",)),
    Case("host down: QQ 5666 for a reboot", SituationId.HOST_DOWN, "down.reboot",
         Role.DUTY_ROOM, minutes=5, calls=("5666 值班室",),
         phrases=("重启提案", "010-62675666", "jump.example.com"),
         texts=("reboot", "reboot_proposal")),
    Case("reboot requested: wait for 5666", SituationId.HOST_DOWN, "down.reboot_wait",
         Role.DUTY_ROOM, confirms=c("reboot_requested"), phrases=("错误信息",)),
    Case("reboot failed in office hours: IM duty", SituationId.HOST_DOWN, "down.im_office",
         Role.IM_DUTY, clock=DAY, confirms=c("reboot_requested", "reboot_failed"),
         calls=("IM 组值班",), texts=("im",)),
    Case("reboot failed at night: escalate to 朱兴, inform 晓栋", SituationId.HOST_DOWN,
         "down.im_after_hours", Role.ESCALATION,
         confirms=c("reboot_requested", "reboot_failed"), calls=("朱兴",),
         phrases=("@朱兴", "晓栋"), texts=("escalation",)),
    Case("reboot failed on a holiday morning: out of office", SituationId.HOST_DOWN,
         "down.im_after_hours", Role.ESCALATION, clock=HOLIDAY,
         confirms=c("reboot_requested", "reboot_failed"), calls=("朱兴",)),
    Case("reboot failed on a makeup workday: office", SituationId.HOST_DOWN,
         "down.im_office", Role.IM_DUTY, clock=MAKEUP,
         confirms=c("reboot_requested", "reboot_failed"), calls=("IM 组值班",)),
    Case("single host, fault confirmed: post in 运维故障通报组", SituationId.HOST_DOWN,
         "notify.group", Role.NOTIFY_GROUP,
         confirms=c("reboot_requested", "reboot_failed", "escalated"),
         calls=("运维故障通报组（限运维内部使用）",), phrases=("预防措施",),
         texts=("initial", "reboot", "reboot_proposal", "escalation")),
    Case("then email the business admins", SituationId.HOST_DOWN, "notify.email",
         Role.ADMIN, confirms=SINGLE_CHAIN[:4],
         calls=("LVS 负责人", "www 业务管理员", "api 业务管理员"), texts=("email",)),
    Case("then 5666 phones every admin", SituationId.HOST_DOWN, "notify.phone",
         Role.DUTY_ROOM, confirms=SINGLE_CHAIN[:5], phrases=("电话通知",),
         texts=("admins_phone",)),
    Case("notified, update not yet due: IM investigates", SituationId.HOST_DOWN,
         "hw.diagnose", Role.IM_DUTY, confirms=SINGLE_CHAIN, minutes=40,
         phrases=("老旧机器", "SN-2019-00311")),
    Case("30 minutes after the notice: send the update", SituationId.HOST_DOWN,
         "notify.update", Role.NOTIFY_GROUP, confirms=SINGLE_CHAIN, minutes=56,
         texts=("update",)),
    Case("update sent: due again 30 minutes later", SituationId.HOST_DOWN, "hw.diagnose",
         Role.IM_DUTY, confirms=(*SINGLE_CHAIN, ("updated", 56)), minutes=80),
    Case("old machine: parts from a faulty spare", SituationId.HOST_DOWN, "hw.parts",
         Role.IM_DUTY, confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40)), minutes=45,
         phrases=("故障备机的部件",), absent=("hw.repair",)),
    Case("parts found: replace them", SituationId.HOST_DOWN, "hw.parts_replace",
         Role.IM_DUTY, confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("parts_found", 44)),
         minutes=45),
    Case("no parts, services hard to migrate: a whole spare, no VIP moving",
         SituationId.HOST_DOWN, "hw.spare_whole", Role.IM_DUTY,
         confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("no_parts", 44)), minutes=45,
         phrases=("不是手动迁移 VIP", "LVS/SNAT"), absent=("hw.spare",)),
    Case("ha host at night, peers carry the load: nobody called, co-investigate by day",
         SituationId.HOST_DOWN, "ha.night", None, host="ha-telecom-01",
         unaffected=True, phrases=("不用紧急处理", "白天提交故障协查"),
         texts=("co_investigation",), absent=("down.reboot", "notify.group")),
    Case("ha host in office hours: IM duty co-investigates", SituationId.HOST_DOWN,
         "ha.no_emergency", Role.IM_DUTY, host="ha-telecom-01", unaffected=True, clock=DAY,
         calls=("IM 组值班",), texts=("co_investigation",)),
    # ssl-unicom has two members: losing one leaves its VIP on one LVS, a single point in
    # fact (runbook: 单点), whatever the load says
    Case("ssl group down to one node: reboot like a single", SituationId.HOST_DOWN,
         "down.reboot", Role.DUTY_ROOM, host="ssl-unicom-01", unaffected=True,
         absent=("ha.no_emergency", "ha.night")),
    Case("ssl group down to one node, reboot failed: the 单点 notice", SituationId.HOST_DOWN,
         "notify.group", Role.NOTIFY_GROUP, host="ssl-unicom-01", unaffected=True,
         confirms=c("reboot_requested", "reboot_failed", "escalated"),
         phrases=("只剩 1 台",), texts=("initial",)),
    Case("ha co-investigation filed: IM finds the cause", SituationId.HOST_DOWN,
         "hw.diagnose", Role.IM_DUTY, host="ha-telecom-01", unaffected=True,
         confirms=c("co_investigation"), phrases=("较新机器",)),
    Case("newer machine: repair ticket", SituationId.HOST_DOWN, "hw.repair", Role.IM_DUTY,
         host="ha-telecom-01", unaffected=True,
         confirms=c("co_investigation", "fault_confirmed"), phrases=("报修",),
         texts=("repair",), absent=("hw.parts", "notify.group")),
    Case("newer machine but no part to be had: a whole spare (LVS+HL)", SituationId.HOST_DOWN,
         "hw.spare_whole", Role.IM_DUTY, host="ha-telecom-01", unaffected=True,
         confirms=c("co_investigation", "fault_confirmed", "no_parts"),
         phrases=("LVS/HL",), absent=("hw.parts",)),
    Case("repair filed: wait for the part", SituationId.HOST_DOWN, "hw.repair_wait",
         Role.IM_DUTY, host="ha-telecom-01", unaffected=True,
         confirms=c("co_investigation", "fault_confirmed", "repair_requested")),
    Case("ha host whose peers are overloaded: reboot like a single",
         SituationId.HOST_DOWN, "down.reboot", Role.DUTY_ROOM, host="ha-telecom-01",
         unaffected=False, absent=("ha.no_emergency",)),
    Case("ha host, load unknown: treated as affected", SituationId.HOST_DOWN,
         "down.reboot", Role.DUTY_ROOM, host="ha-telecom-01", unaffected=None),
    Case("ha host affected, reboot failed: notify as well", SituationId.HOST_DOWN,
         "notify.group", Role.NOTIFY_GROUP, host="ha-telecom-01", unaffected=False,
         confirms=c("reboot_requested", "reboot_failed", "escalated")),
    Case("simple services, no parts: a similar spare", SituationId.HOST_DOWN, "hw.spare",
         Role.IM_DUTY, host="ssl-unicom-01", unaffected=True,
         confirms=c("co_investigation", "notified", "admins_emailed", "admins_phoned",
                    "fault_confirmed", "no_parts"),
         phrases=("类似机型",), absent=("hw.spare_whole", "hw.repair")),
    Case("spare found: try the original disks", SituationId.HOST_DOWN, "hw.swap_disks",
         Role.IM_DUTY, host="ssl-unicom-01", unaffected=True,
         confirms=c("co_investigation", "notified", "admins_emailed", "admins_phoned",
                    "fault_confirmed", "no_parts", "spare_found"),
         phrases=("原始硬盘",)),
    Case("disks do not boot: reinstall and reconfigure", SituationId.HOST_DOWN,
         "hw.reinstall", None, host="ssl-unicom-01", unaffected=True,
         confirms=c("co_investigation", "notified", "admins_emailed", "admins_phoned",
                    "fault_confirmed", "no_parts", "spare_found",
                    "disks_failed"), phrases=("重装",)),
    Case("reinstalled: online proposal", SituationId.HOST_DOWN, "res.online", Role.IM_DUTY,
         host="ssl-unicom-01", unaffected=True,
         confirms=c("co_investigation", "notified", "admins_emailed", "admins_phoned",
                    "fault_confirmed", "no_parts", "spare_found",
                    "disks_failed", "reinstalled"), phrases=("上线提案", "快递备件")),
    Case("reinstalled and online: copy the network config", SituationId.HOST_DOWN,
         "restore.network", None, host="ssl-unicom-01", unaffected=True,
         confirms=c("co_investigation", "notified", "admins_emailed", "admins_phoned",
                    "fault_confirmed", "no_parts", "spare_found",
                    "disks_failed", "reinstalled", "online_requested"),
         phrases=("停掉原故障机的网络", "备份"), absent=("restore.init",)),
    Case("no spare anywhere: borrow from the cost center (JIRA 鸡爪)",
         SituationId.HOST_DOWN, "res.borrow", Role.COST_CENTER,
         confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("no_parts", 41),
                   ("no_spare", 42)), minutes=45, calls=("成本中心",),
         phrases=("鸡爪", "Dell R730", "SN-2019-00311", "万兆 × 4", "CentOS 7.9",
                  "库存位置"), texts=("borrow",)),
    Case("borrowed: online proposal, ship parts", SituationId.HOST_DOWN, "res.online",
         Role.IM_DUTY, confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("no_parts", 41),
                                 ("no_spare", 42), ("borrow_requested", 43)), minutes=45),
    Case("borrowed machine online: initialise it", SituationId.HOST_DOWN, "restore.init",
         None, confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("no_parts", 41),
                         ("no_spare", 42), ("borrow_requested", 43),
                         ("online_requested", 44)), minutes=45, phrases=("初始化",)),
    Case("reinstall impossible too: borrow", SituationId.HOST_DOWN, "res.borrow",
         Role.COST_CENTER, host="ssl-unicom-01", unaffected=True,
         confirms=c("co_investigation", "notified", "admins_emailed", "admins_phoned",
                    "fault_confirmed", "no_parts", "spare_found",
                    "disks_failed", "reinstall_failed")),
    Case("replaced and config restored: verify everything", SituationId.OK, "down.verify",
         None, confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("no_parts", 41),
                         ("no_spare", 42), ("borrow_requested", 43), ("online_requested", 44),
                         ("initialized", 45), ("network_config_restored", 46),
                         ("replaced", 47)), minutes=48, phrases=("VIP",)),
    Case("recovered: notify again", SituationId.OK, "notify.recovered", Role.NOTIFY_GROUP,
         confirms=(*SINGLE_CHAIN, ("fault_confirmed", 40), ("recovered", 50)), minutes=51,
         calls=("运维故障通报组（限运维内部使用）", "www 业务管理员", "5666 值班室"),
         texts=("recovered",), absent=("hw.parts", "notify.update")),
    Case("host answers again but nobody confirmed: still waiting on the reboot",
         SituationId.OK, "down.reboot_wait", Role.DUTY_ROOM, confirms=c("reboot_requested")),
    Case("recovery announced: the incident is finished", SituationId.OK, None,
         confirms=(*SINGLE_CHAIN, ("recovered", 50), ("recovery_notified", 52)), minutes=53),
    Case("reboot brought it back: nothing left", SituationId.OK, None,
         confirms=(("reboot_requested", 5), ("recovered", 12)), minutes=13),
]


def run(case: Case):
    start = at(case.clock)
    host = CFG.fleet.host(case.host)
    sit = Situation(case.host, case.situation, SEV[case.situation], since=start,
                    scope=case.scope, impact=impact_of(case.host, case.unaffected),
                    on_alert_page=case.alert_page)
    confirms = tuple((n, start + m * 60) for n, m in case.confirms)
    return plan(RB, sit, host, CFG, confirms, start + case.minutes * 60)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario(case: Case) -> None:
    p = run(case)
    assert (p.step.id if p.step else None) == case.step
    assert p.role is case.role
    names = [c.name for c in p.contacts_now]
    for who in case.calls:
        assert who in names
    if p.step:
        body = p.step.title + p.step.text
        for phrase in case.phrases:
            assert phrase in body
        assert "{" not in body, "every placeholder of a step is filled"
    for kind in case.texts:
        assert kind in p.texts
    ids = {s.id for s in (*p.done, *p.remaining)} | ({p.step.id} if p.step else set())
    for step_id in case.absent:
        assert step_id not in ids


def test_own_checks_name_who_comes_after_them() -> None:
    """While the step is the operator's own (no role), the plan names the first later step
    that calls someone, and whom: one side down -> the network duty after the checks."""
    p = run(next(c for c in CASES if c.name == "one side down: the basic checks first"))
    assert p.step is not None and p.step.id == "check.basic" and not p.contacts_now
    assert p.then is not None and p.then.id == "ip.handoff" and p.then in p.remaining
    assert [c.name for c in p.contacts_then] == ["5666 值班室"]  # who asks the network duty
    p = run(next(c for c in CASES if c.name == "host down: QQ 5666 for a reboot"))
    assert p.contacts_now and p.then is None and p.contacts_then == ()  # someone is now


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_then_is_the_first_later_step_that_calls_someone(case: Case) -> None:
    p = run(case)
    if p.step is None or p.step.role is not None:
        assert p.then is None
        return
    calling = [s for s in p.remaining if s.role is not None]
    assert p.then == (calling[0] if calling else None)
    assert bool(p.contacts_then) == (p.then is not None)


def test_the_table_reaches_every_step() -> None:
    reached = {p.step.id for p in map(run, CASES) if p.step}
    assert reached == {s.id for s in RB.steps}


def test_at_least_25_scenarios() -> None:
    assert len(CASES) >= 25


def test_checklist_splits_done_current_and_remaining() -> None:
    case = next(c for c in CASES if c.step == "notify.phone")
    p = run(case)
    assert [s.id for s in p.done] == ["check.basic", "down.reboot", "down.reboot_wait",
                                      "down.im_after_hours", "notify.group", "notify.email"]
    assert "down.verify" in [s.id for s in p.remaining]
    assert p.confirmable[0] == "admins_phoned" and "recovered" in p.confirmable
    assert "initial" in p.texts and "reboot" in p.texts


def test_progress_updates_recur() -> None:
    base = next(c for c in CASES if c.step == "notify.update")
    confirms = (*SINGLE_CHAIN, ("updated", 56))
    quiet = run(replace(base, confirms=confirms, minutes=80))
    due = run(replace(base, confirms=confirms, minutes=87))
    assert quiet.step and quiet.step.id == "hw.diagnose"
    assert "notify.update" in [s.id for s in quiet.remaining]
    assert due.step and due.step.id == "notify.update"
    assert due.confirmable[0] == "updated"


def test_office_hours_flip_the_escalation_at_six() -> None:
    host = CFG.fleet.host("lvs-cernet-01")
    sit = Situation(host.name, SituationId.HOST_DOWN, Severity.CRITICAL, since=at(DAY))
    confirms = (("reboot_requested", at(DAY)), ("reboot_failed", at(DAY) + 60))
    before = plan(RB, sit, host, CFG, confirms, at("2026-11-25 17:59"))
    after = plan(RB, sit, host, CFG, confirms, at("2026-11-25 18:00"))
    assert before.step and before.step.id == "down.im_office"
    assert after.step and after.step.id == "down.im_after_hours"
    assert before.contacts_now[0].name == "IM 组值班"
    assert after.contacts_now[0].name == "朱兴"


def test_machine_age() -> None:
    fleet = CFG.fleet
    today = datetime(2026, 11, 25).date()
    assert machine_age(fleet.host("lvs-cernet-01"), today, 4) is MachineAge.OLD  # warranty over
    assert machine_age(fleet.host("ha-telecom-01"), today, 4) is MachineAge.NEW  # 2023
    assert machine_age(fleet.host("lvs-cernet-02"), today, 4) is MachineAge.OLD  # 2019
    assert machine_age(fleet.host("ssl-unicom-01"), today, 4) is MachineAge.UNKNOWN


# -- the file format -----------------------------------------------------------------------------


def test_english_runbook_mirrors_the_chinese_one() -> None:
    en = load_runbook(ROOT / "lvs_tui" / "data" / "runbook.en.toml")
    assert [s.id for s in en.steps] == [s.id for s in RB.steps]
    assert en.confirmations.keys() == RB.confirmations.keys()
    assert en.texts.keys() == RB.texts.keys()
    for a, b in zip(en.steps, RB.steps, strict=True):
        assert (a.role, a.also, a.confirms, a.when, a.done_when, a.due, a.until, a.texts,
                a.actions, a.repeat) == (b.role, b.also, b.confirms, b.when, b.done_when,
                                         b.due, b.until, b.texts, b.actions, b.repeat)


def errors(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "rb.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_runbook(p)
    return exc.value.lines


def test_bad_role_is_one_line_naming_file_step_and_value(tmp_path: Path) -> None:
    lines = errors(tmp_path, '[runbook]\nextends = "default"\n[[steps]]\nid = "x"\n'
                   'title = "t"\nrole = "boss"\n')
    assert lines == [f"{tmp_path / 'rb.toml'}: steps[0].role: 'boss' is not one of "
                     "duty_room, im_duty, network_duty, escalation, inform, admin, "
                     "notify_group, cost_center"]


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    lines = errors(tmp_path, '[runbook]\ntitle = "x"\n\n[[steps]\n')
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'rb.toml'}:4: invalid TOML")


def test_typos_are_caught(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
[runbook]
extends = "default"
[[steps]]
id = "mine"
title = "t {hots}"
confirms = ["rebooted"]
actions = ["copy:poem", "telnet"]
when = { situaton = ["ok"], mode = ["cluster"] }
""")
    text = "\n".join(lines)
    assert "steps[0].actions: 'copy:poem': copy needs a text kind" in text
    assert "steps[0].actions: 'telnet' is not one of" in text
    assert "steps[0].when.situaton: unknown key" in text
    assert "steps[0].when.mode: 'cluster' is not one of single, ha, ssl" in text
    assert "(mine): confirmation 'rebooted' is not declared in [confirmations]" in text
    assert "unknown placeholder {hots}" in text
    assert all("\n" not in line for line in lines)


def test_a_replacement_runbook_must_have_every_text(tmp_path: Path) -> None:
    lines = errors(tmp_path, '[runbook]\ntitle = "mine"\n[confirmations]\nok = "ok"\n'
                   '[[steps]]\nid = "a"\ntitle = "A"\nconfirms = ["ok"]\n'
                   '[texts]\ninitial = "{nonsense}"\n')
    assert any("texts.initial: unknown placeholder {nonsense}" in x for x in lines)
    assert any(x.endswith("texts.reboot: is required") for x in lines)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such runbook file"):
        load_runbook(tmp_path / "nope.toml")


def test_a_team_extends_the_default(tmp_path: Path) -> None:
    p = tmp_path / "team.toml"
    p.write_text("""
[runbook]
extends = "default"
remove = ["alert.verify"]

[confirmations]
dc_called = "给机房现场打电话"

[[steps]]
id = "down.call_dc"
after = "down.reboot"
title = "直接打机房现场电话"
role = "duty_room"
confirms = ["dc_called"]
when = { situation = ["host_down"] }

[[steps]]
id = "down.reboot"
title = "宕机：先打 5666 电话"
role = "duty_room"
texts = ["reboot"]
confirms = ["reboot_requested"]
when = { situation = ["host_down"] }

[texts.phrase]
next_update = "预计 {time} 更新。"
""", encoding="utf-8")
    rb = load_runbook(p)
    ids = [s.id for s in rb.steps]
    assert "alert.verify" not in ids
    assert ids.index("down.call_dc") == ids.index("down.reboot") + 1
    assert rb.step("down.reboot").title == "宕机：先打 5666 电话"
    assert rb.texts["phrase.next_update"] == "预计 {time} 更新。"
    moved = tmp_path / "moved.toml"
    moved.write_text('[runbook]\nextends = "team.toml"\n[[steps]]\nid = "down.call_dc"\n'
                     'before = "down.reboot"\ntitle = "先打现场"\nrole = "duty_room"\n'
                     'confirms = ["dc_called"]\n', encoding="utf-8")
    order = [s.id for s in load_runbook(moved).steps]
    assert order.index("down.call_dc") == order.index("down.reboot") - 1
    assert order.count("down.call_dc") == 1
    assert rb.texts["initial"] == RB.texts["initial"]
    host = CFG.fleet.host("lvs-cernet-01")
    sit = Situation(host.name, SituationId.HOST_DOWN, Severity.CRITICAL)
    p1 = plan(rb, sit, host, CFG, (("reboot_requested", 1.0),), at(NIGHT))
    assert p1.step and p1.step.id == "down.call_dc"


def test_config_runbook_path_is_the_shipped_one() -> None:
    assert load_runbook(CFG.runbook).steps == RB.steps


# -- totality ------------------------------------------------------------------------------------

CONFIRMS = sorted(RB.confirmations)


@settings(max_examples=300, deadline=None)
@given(sid=st.sampled_from(list(SituationId)), host=st.sampled_from(
           [h.name for h in CFG.fleet.hosts]),
       scope=st.sampled_from([None, *Scope]), unaffected=st.sampled_from([None, True, False]),
       alert=st.booleans(), names=st.lists(st.sampled_from(CONFIRMS), max_size=8),
       now=st.floats(min_value=1.7e9, max_value=1.9e9))
def test_plan_is_total(sid, host, scope, unaffected, alert, names, now) -> None:
    h = CFG.fleet.host(host)
    sit = Situation(host, sid, SEV[sid], since=now - 600, scope=scope,
                    impact=impact_of(host, unaffected), on_alert_page=alert)
    confirms = tuple((n, now - 500 + i) for i, n in enumerate(names))
    p = plan(RB, sit, h, CFG, confirms, now)
    done = {s.id for s in p.done}
    rest = {s.id for s in p.remaining}
    assert not done & rest
    if p.step:
        assert p.step.id not in done | rest
        assert p.step.role is None or p.contacts_now
    # unknown data never sends anyone to reboot a host
    if sid is SituationId.UNKNOWN and not names:
        assert p.step and p.step.id == "unknown.data"


def test_more_mistakes_each_on_one_line(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
[runbook]
extends = "default"
remove = ["no.such.step"]
colour = "red"
[confirmations]
Bad-Name = "x"
[[steps]]
id = "down.reboot"
title = "t"
when = "always"
also = ["mayor"]
texts = ["poem"]
after = "nowhere"
""")
    text = "\n".join(lines)
    assert "runbook.colour: unknown key" in text
    assert "runbook.remove: 'no.such.step' is not a step id" in text
    assert "confirmations.Bad-Name: a confirmation name is lower-case" in text
    assert "steps[0].when: 'always' is not a table or an array of tables" in text
    assert "steps[0].also: 'mayor' is not one of duty_room" in text
    assert "steps[0].texts: 'poem' is not one of reboot, reboot_proposal" in text
    assert "steps[0].after: 'nowhere' is not a step id" in text
    assert all(line.startswith(str(tmp_path / "rb.toml")) for line in lines)


def test_extending_a_missing_base(tmp_path: Path) -> None:
    lines = errors(tmp_path, '[runbook]\nextends = "base.toml"\n')
    assert lines == [f"{tmp_path / 'base.toml'}: no such runbook file"]


def test_english_steps_fill_english_words() -> None:
    en = load_runbook(ROOT / "lvs_tui" / "data" / "runbook.en.toml")
    host = CFG.fleet.host("lvs-cernet-01")
    sit = Situation(host.name, SituationId.HOST_DOWN, Severity.CRITICAL,
                    down_addresses=("192.0.2.11", "198.51.100.11"))
    confirms = (*((n, at(NIGHT) + m * 60) for n, m in SINGLE_CHAIN),
                ("fault_confirmed", at(NIGHT) + 2400))
    p = plan(en, sit, host, CFG, confirms, at(NIGHT) + 2700)
    assert p.step and p.step.id == "hw.parts"
    assert "is an old machine that cannot be repaired" in p.step.text
    p = plan(en, replace(sit, id=SituationId.PATH_BROKEN), host, CFG, (), at(NIGHT))
    assert p.step and "(192.0.2.11, 198.51.100.11)" in p.step.text


# -- notes and records ---------------------------------------------------------------------------


def test_notes_table_says_which_note_feeds_which_field() -> None:
    assert RB.notes["cause"].sources == ("fault_confirmed", "reboot_failed")
    assert "电源模块告警" in RB.note_prompt("reboot_failed")
    assert "库存位置" in RB.note_prompt("borrow_stock")
    assert RB.note_prompt("checked") == ""  # its note feeds no text


def test_records_are_offered_again_and_never_complete_the_step() -> None:
    chain = (*SINGLE_CHAIN, ("fault_confirmed", 40), ("no_parts", 41), ("no_spare", 42))
    case = next(c for c in CASES if c.step == "res.borrow" and c.host == "lvs-cernet-01")
    p = run(replace(case, confirms=(*chain, ("borrow_time", 43))))
    assert p.step is not None and p.step.id == "res.borrow"  # a record completes nothing
    assert {"borrow_time", "borrow_reason", "borrow_stock", "borrow_requested"} <= set(
        p.confirmable)  # borrow_time again: the latest note wins


def test_bad_notes_are_one_line_each(tmp_path: Path) -> None:
    text = ('[runbook]\nextends = "default"\n[notes.colour]\nfrom = ["checked"]\nprompt = "x"\n'
            '[notes.cause]\nfrom = ["reboot_faild"]\nprompt = "原因"\n')
    lines = errors(tmp_path, text)
    assert any(line.endswith("notes.colour: unknown note field (known: cause, progress, fix, "
                             "prepared, borrow_time, borrow_reason, borrow_stock)")
               for line in lines), lines
    assert any(line.endswith("notes.cause.from: confirmation 'reboot_faild' is not declared "
                             "in [confirmations]") for line in lines), lines
