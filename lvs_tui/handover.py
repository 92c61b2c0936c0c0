"""The shift handover report: incidents and their timelines -> text ready to paste (pure).

Open incidents first (what the next engineer inherits: current situation, the last
confirmation = where the runbook stands, who was contacted and when), then the closed ones
with their duration and cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from lvs_tui.duty_state import DutyState
from lvs_tui.texts import TextKind
from lvs_tui.timeline import Event, EventKind, Incident

SITUATION_ZH: dict[str, str] = {
    "ok": "正常",
    "unknown": "无数据",
    "degraded": "丢包/延迟",
    "vip_unreachable": "VIP 不通",
    "one_side_down": "单侧不通",
    "path_broken": "本地到主机的路径不通",
    "host_down": "宕机",
}

SEVERITY_ZH: dict[int, str] = {0: "正常", 1: "未知", 2: "警告", 3: "严重", 4: "紧急"}

CONFIRMATION_ZH: dict[str, str] = {
    "reboot_requested": "已请 5666 安排重启",
    "reboot_failed": "重启失败",
    "fault_confirmed": "确认服务器故障",
    "repair_requested": "已报修",
    "parts_found": "已找到替换部件",
    "spare_found": "已找到备机",
    "borrow_requested": "已提借用提案",
    "online_requested": "已提上线提案",
    "replaced": "已完成替换",
    "network_restored": "网络配置已恢复",
    "notified": "已在通报群通报",
    "network_handoff": "已交网络组排查",
    "recovered": "确认已恢复",
}

# Who a confirmation means was contacted (names of the shipped runbook).
CONFIRMATION_CONTACT: dict[str, str] = {
    "reboot_requested": "5666 值班室",
    "network_handoff": "网络组值班",
    "escalated": "IM 值班/负责人",
    "co_investigation": "IM 组",
    "repair_requested": "IM 组",
    "notified": "运维故障通报组",
    "updated": "运维故障通报组",
    "recovery_notified": "运维故障通报组",
    "admins_emailed": "业务管理员（邮件）",
    "admins_phoned": "5666 值班室（电话通知管理员）",
    "borrow_requested": "成本中心",
}

TEXT_ZH: dict[str, tuple[str, str]] = {  # kind -> (what, default recipient)
    k.value: (k.zh, k.recipient_zh) for k in TextKind}

# Confirmations whose note says what is wrong with the machine (the shipped runbook's
# [notes] cause), the latest first.
CAUSE_NOTES = ("fault_confirmed", "reboot_failed")

HOW_ZH: dict[str, str] = {"copied": "已复制", "sent": "已发送", "send_failed": "发送失败"}

ACTION_ZH: dict[str, str] = {"ssh": "登录", "diagnostics": "远程诊断",
                             "traceroute": "traceroute", "snapshot": "配置快照"}

IncidentTimeline = tuple[Incident, tuple[Event, ...]]


def handover_report(entries: Sequence[IncidentTimeline], now: float, tz: tzinfo,
                    since: float | None = None, labels: Mapping[str, str] | None = None,
                    duty: DutyState | None = None) -> str:
    """The report text; `entries` are incidents with their timelines, in any order.

    `labels`: confirmation name -> words, from the runbook file (built-in ones otherwise).
    """
    words = {**CONFIRMATION_ZH, **(labels or {})}
    opened = sorted((e for e in entries if e[0].is_open), key=lambda e: e[0].started)
    closed = sorted((e for e in entries if not e[0].is_open), key=lambda e: e[0].started)
    head = f"【LVS 值班交接】截至 {_stamp(now, now, tz, full=True)}"
    if since is not None:
        head += f"，自 {_stamp(since, now, tz, full=True)} 起"
    lines = [head, "", f"一、未结束事件 {len(opened)} 起"]
    for n, (inc, events) in enumerate(opened, 1):
        lines += _open_lines(n, inc, events, now, tz, words)
    if not opened:
        lines.append("（无）")
    lines += ["", f"二、已结束事件 {len(closed)} 起"]
    for n, (inc, events) in enumerate(closed, 1):
        lines += _closed_lines(n, inc, events, now, tz, words)
    if not closed:
        lines.append("（无）")
    if duty is not None:
        lines += duty_sections(duty, opened, now, tz)
    return "\n".join(lines) + "\n"


def duty_sections(duty: DutyState, opened: Sequence[IncidentTimeline], now: float,
                  tz: tzinfo) -> list[str]:
    """三、维护中的主机 (windows in force or to come, silences) and 四、已确认的事件."""
    windows = [w for w in duty.windows if w.ended is None and (w.end is None or w.end > now)]
    lines = ["", f"三、维护中的主机 {len(windows)} 项"]
    for w in windows:
        span = w.span(now, tz)
        state = "进行中" if span else "未开始"
        end = f"至 {_stamp(w.end, now, tz)}" if w.end is not None else "长期"
        routine = f"（{w.weekly.text}）" if w.weekly else ""
        hosts = "、".join(sorted(w.hosts)[:6]) + ("等" if len(w.hosts) > 6 else "")
        lines.append(f"- {w.target}：{hosts}，{state}，{end}{routine}，{w.who}：{w.reason}")
    silences = [x for x in duty.silences if x.active(now)]
    for x in silences:
        lines.append(f"- 已静默 {x.target}，至 {_stamp(x.end, now, tz)}，{x.who}：{x.reason}")
    if not windows and not silences:
        lines.append("（无）")
    acked = [(inc, duty.acks[inc.host]) for inc, _ in opened
             if inc.host in duty.acks and duty.acks[inc.host].incident == inc.id]
    lines += ["", f"四、已确认的事件 {len(acked)} 起"]
    for inc, a in acked:
        note = f"，备注：{a.note}" if a.note else ""
        lines.append(f"- {inc.host}：{a.who} 于 {_stamp(a.t, now, tz)} 确认接手{note}")
    unacked = [inc.host for inc, _ in opened if inc.host not in {i.host for i, _ in acked}]
    if unacked:
        lines.append(f"- 尚无人确认：{'、'.join(unacked)}")
    if not acked and not unacked:
        lines.append("（无）")
    return lines


def _open_lines(n: int, inc: Incident, events: tuple[Event, ...], now: float,
                tz: tzinfo, words: Mapping[str, str]) -> list[str]:
    lines = [f"{n}. {inc.host} · {_situation(inc.situation)}（{_severity(inc.severity)}）· "
             f"开始于 {_stamp(inc.started, now, tz)}，已持续 {duration_zh(inc.duration(now))}"]
    evidence = _current_evidence(events)
    if evidence:
        lines.append(f"   当前情况：{evidence}")
    known = _cause_note(events)
    if known:
        lines.append(f"   已知原因：{known}")
    confirmations = [e for e in events if e.kind is EventKind.CONFIRMED]
    if confirmations:
        lines.append(f"   最近确认：{_confirmation(confirmations[-1], now, tz, words)}")
    else:
        lines.append("   最近确认：（尚无操作确认）")
    return lines + _contact_lines(events, now, tz, words) + _action_lines(events, now, tz)


def _closed_lines(n: int, inc: Incident, events: tuple[Event, ...], now: float,
                  tz: tzinfo, words: Mapping[str, str]) -> list[str]:
    assert inc.closed is not None
    lines = [f"{n}. {inc.host} · {_stamp(inc.started, now, tz)}–{_stamp(inc.closed, now, tz)}，"
             f"持续 {duration_zh(inc.duration(now))}",
             f"   原因：{cause(inc, events)}"]
    return lines + _contact_lines(events, now, tz, words)


def cause(inc: Incident, events: tuple[Event, ...]) -> str:
    """The worst situation seen with its evidence, and what the operator confirmed of it."""
    text = _situation(inc.worst)
    worst = [e for e in events if e.kind in (EventKind.OPENED, EventKind.SITUATION)
             and e.name == inc.worst]
    if worst and worst[0].detail:
        text += f"（{worst[0].detail}）"
    for e in events:
        if e.kind is EventKind.CONFIRMED and e.name == "fault_confirmed":
            text += "；确认服务器故障" + (f"：{e.detail}" if e.detail else "")
        elif e.kind is EventKind.CONFIRMED and e.name == "reboot_failed" and e.detail:
            text += f"；重启失败：{e.detail}"
    return text


def _cause_note(events: tuple[Event, ...]) -> str:
    """The operator's latest word on the cause: IM's finding, else 5666's error information."""
    for name in CAUSE_NOTES:
        notes = [e.detail for e in events
                 if e.kind is EventKind.CONFIRMED and e.name == name and e.detail]
        if notes:
            return notes[-1]
    return ""


def _current_evidence(events: tuple[Event, ...]) -> str:
    for e in reversed(events):
        if e.kind in (EventKind.OPENED, EventKind.SITUATION):
            return e.detail
    return ""


def _contact_lines(events: tuple[Event, ...], now: float, tz: tzinfo,
                   words: Mapping[str, str]) -> list[str]:
    contacts = [c for c in (_contact(e, now, tz, words) for e in events) if c]
    return [f"   已联系：{'；'.join(contacts)}"] if contacts else ["   已联系：（无记录）"]


def _contact(e: Event, now: float, tz: tzinfo, words: Mapping[str, str]) -> str:
    at = _stamp(e.t, now, tz)
    if e.kind is EventKind.CONFIRMED and e.name in CONFIRMATION_CONTACT:
        return f"{at} {CONFIRMATION_CONTACT[e.name]}（{words.get(e.name, e.name)}）"
    if e.kind is EventKind.TEXT:
        what, whom = TEXT_ZH.get(e.name, (e.name, ""))
        data = e.data or {}
        whom = str(data.get("to") or whom or "（未注明）")
        how = str(data.get("how", ""))
        return f"{at} {whom}（{what}，{HOW_ZH.get(how, how)}）"
    return ""


def _action_lines(events: tuple[Event, ...], now: float, tz: tzinfo) -> list[str]:
    done = []
    for e in events:
        if e.kind is EventKind.ACTION:
            mark = "（失败）" if (e.data or {}).get("ok") is False else ""
            done.append(f"{_stamp(e.t, now, tz)} {ACTION_ZH.get(e.name, e.name)}{mark}")
    return [f"   已执行：{'；'.join(done)}"] if done else []


def _confirmation(e: Event, now: float, tz: tzinfo, words: Mapping[str, str]) -> str:
    text = f"{_stamp(e.t, now, tz)} {words.get(e.name, e.name)}"
    return text + (f"：{e.detail}" if e.detail else "")


def _situation(sid: str) -> str:
    return SITUATION_ZH.get(sid, sid)


def _severity(level: int) -> str:
    return SEVERITY_ZH.get(level, str(level))


def _stamp(t: float, now: float, tz: tzinfo, full: bool = False) -> str:
    """HH:MM today, MM-DD HH:MM on other days, the full date in the header."""
    local = datetime.fromtimestamp(t, tz)
    if full:
        return f"{local:%Y-%m-%d %H:%M}"
    if local.date() == datetime.fromtimestamp(now, tz).date():
        return f"{local:%H:%M}"
    return f"{local:%m-%d %H:%M}"


def duration_zh(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时"
    if hours:
        return f"{hours} 小时 {mins} 分"
    return f"{mins} 分钟"
