"""Notices and requests, one per recipient the duty runbook addresses, never typed.

`render(kind, ctx)` is pure: every fact comes from the `TextContext` (host, config,
situation, the per-vantage signals, confirmations and the operator's notes, the incident
log's times, the clock). The templates and the phrases they are assembled from live in the
runbook file's `[texts]` table; which confirmation's note feeds which field is the runbook's
`[notes]` table. Rules the texts keep (they are judged by their recipient):
- only true statements: a VIP list is named, never "所有 VIP" unless every VIP of the IDC is
  at risk; "且无法重启" only once a reboot failed; a recovered notice only for a host that is ok;
- nothing internal (our own instructions, unconfirmed items) in a text for someone else;
- a field not yet known is named as missing (`missing_fields`), never "待定";
- times as 2026-11-29 03:00; the zone in words (北京时间) where a template says `{zone}`.
Anything that looks like a secret is masked before a text leaves this module.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

# A module import, not names: runbook.py imports TextKind from here (one list of kinds).
from lvs_tui import runbook as _rb
from lvs_tui.config import Config, VantageKind
from lvs_tui.fleet import Contact, Host, Mode, Role, Vip
from lvs_tui.signals import HostSignals, Reach
from lvs_tui.situation import ImpactLevel, Situation, SituationId

if TYPE_CHECKING:
    from lvs_tui.runbook import Runbook


class TextKind(StrEnum):
    """Every text the console writes, in display order (the one list of kinds)."""

    REBOOT = "reboot"  # QQ to 5666: have it rebooted on site
    REBOOT_PROPOSAL = "reboot_proposal"  # 重启提案 5666 asks for
    IM = "im"  # office hours: the IM duty, after a failed reboot
    ESCALATION = "escalation"  # after hours: @朱兴, 晓栋 informed
    INITIAL = "initial"  # 运维故障通报组 notice
    EMAIL = "email"  # the business admins' email
    ADMINS_PHONE = "admins_phone"  # to 5666: the admins to phone, with their numbers
    UPDATE = "update"  # progress notice
    RECOVERED = "recovered"  # recovery notice
    NETWORK = "network"  # handoff to the network duty
    CO_INVESTIGATION = "co_investigation"  # 故障协查 (ha/ssl)
    REPAIR = "repair"  # 设备报修
    BORROW = "borrow"  # 鸡爪 borrow proposal

    @property
    def zh(self) -> str:
        return _KIND_ZH[self][0]

    @property
    def recipient_zh(self) -> str:
        return _KIND_ZH[self][1]


_KIND_ZH: dict[str, tuple[str, str]] = {
    "reboot": ("重启请求", "5666 值班室"),
    "reboot_proposal": ("重启提案", "5666 值班室"),
    "im": ("IM 协查请求", "IM 组值班"),
    "escalation": ("非上班时间求助", "IM 负责人"),
    "initial": ("故障通报", "运维故障通报组"),
    "email": ("管理员邮件", "业务管理员"),
    "admins_phone": ("电话通知管理员", "5666 值班室"),
    "update": ("进展通报", "运维故障通报组"),
    "recovered": ("恢复通报", "运维故障通报组"),
    "network": ("网络排查请求", "网络组值班"),
    "co_investigation": ("故障协查", "IM 组"),
    "repair": ("设备报修", "IM 组"),
    "borrow": ("借用提案", "成本中心"),
}

# Note fields: filled from the note of the first confirmation (runbook [notes]) that has one.
NOTE_FIELDS = ("cause", "progress", "fix", "prepared", "borrow_time", "borrow_reason",
               "borrow_stock")

# Placeholders every template may use, and those of each kind besides.
COMMON = ("mentions", "idc", "host", "mode", "internal", "external", "down", "since", "now",
          "zone", "model", "asset_tag", "os", "nics", "services", "warranty", "what", "short",
          "cluster", "impact", "cause", "cause_text", "signs", "risk", "done", "prepared",
          "ask", "next_update")
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "im": ("who",), "escalation": ("who", "inform"), "email": ("to", "vip_lines"),
    "admins_phone": ("admin_lines",), "update": ("progress",),
    "recovered": ("recovered_at", "duration", "fix", "lingering"),
    "network": ("source", "targets", "vantages", "traceroute"),
    "borrow": ("project", "issue_type", "borrow_time", "reason", "stock"),
}
_WHAT = ("host_down", "reboot_failed", "path_broken", "one_side_down", "vip_unreachable",
         "degraded", "other", "recovered")
_PHRASES: dict[str, tuple[str, ...]] = {
    "cause_5666": ("cause",), "cause_im": ("cause",), "risk_all_single": ("idc", "why"),
    "risk_single": ("vips", "why"), "risk_outage": ("vips",), "risk_none": ("peers",),
    "why_group": ("mode", "healthy"), "done": ("items",), "prepared": ("items",),
    "prepared_item": ("date", "text"), "ask_im": ("who",), "ask_network": ("who",),
    "next_update": ("time",), "lingering_single": ("vips",), "lingering_borrowed": (),
    "lingering_none": (), "list_sep": (), "items_sep": (), "no_traceroute": (),
    "no_vantages": (), "missing": ("field",), "again": (), "duration_hm": ("h", "m"),
    "duration_m": ("m",), "done_item": ("label", "time"),
    "sign_dark": ("sides", "vantages", "all"), "all": (), "signs_sep": (),
    "impact_single": ("vips",), "impact_outage": ("vips",), "impact_none": (),
    "cluster_single": (), "cluster_ha": (), "cluster_ssl": (),
    "sign_dark_plain": (), "sign_login": (), "sign_monitoring": ("time",),
    "sign_monitoring_plain": (), "both_sides": (), "inform": ("who",), "fix": ("fix",),
    "progress": ("progress",), "vip_line": ("vip", "level"), "admin_line": (
        "name", "phone", "vips"), "admin_host": (), "sight_line": ("vantage", "source", "seen"),
    "seen_down": ("addr",), "seen_up": ("addr", "rtt"), "seen_loss": ("addr", "loss"),
    "seen_unknown": ("addr",), "source_item": ("addr", "vantage"), "terminal": (),
    "vantage_source": ("vantage",), "level_outage": (), "level_single": (),
}
# Every template a runbook must provide, with the placeholders each may use.
TEXT_KEYS: dict[str, frozenset[str]] = {
    **{k.value: frozenset((*COMMON, *_KIND_FIELDS.get(k.value, ()))) for k in TextKind},
    **{f"what.{k}": frozenset(("since", "down", "signs", "again")) for k in _WHAT},
    **{f"short.{k}": frozenset() for k in _WHAT},
    **{f"phrase.{k}": frozenset(v) for k, v in _PHRASES.items()},
}

# Confirmations that are notices sent, findings or recorded facts, not measures taken:
# never listed under "已处理".
_NOT_MEASURES = frozenset({
    "notified", "updated", "recovery_notified", "admins_emailed", "recovered",
    "reboot_failed", "fault_confirmed", "no_parts", "no_spare", "disks_failed",
    "reinstall_failed", "network_restored"})
# Telling people is no progress to tell them about.
_TELLING = frozenset({"notified", "updated", "recovery_notified", "admins_emailed",
                      "admins_phoned"})
_NETWORK = frozenset({SituationId.PATH_BROKEN, SituationId.VIP_UNREACHABLE,
                      SituationId.ONE_SIDE_DOWN, SituationId.DEGRADED})
_HARDWARE_PATH = frozenset({"reboot_requested", "reboot_failed", "fault_confirmed",
                            "co_investigation"})
_SECRET = re.compile(
    r"(?i)(token|password|passwd|pwd|secret|api[_-]?key|authorization|密码|口令)"
    r"(\s*[=:：]\s*)(bearer\s+)?[^\s,;，；]+")
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
_NIC_WORDS = {"1G": "千兆", "1000M": "千兆", "10G": "万兆"}
_ZH_DIGITS = "零一二三四五六七八九十"


@dataclass(frozen=True, slots=True)
class TextContext:
    """Everything a text may say. `notes`: the operator's one-line notes keyed by
    confirmation name (latest wins), e.g. {"reboot_failed": "电源模块告警"}; the runbook's
    [notes] table says which feeds which field. `earlier`: start times of this host's
    earlier incidents (the log), for "再次". `signals`: the host's per-vantage verdicts (what
    each vantage sees, which fail). `sources`: this terminal's own address toward the down
    addresses (kernel route lookup: probes.route.source_address), for the network handoff."""

    host: Host
    cfg: Config
    situation: Situation
    runbook: Runbook
    confirmations: tuple[tuple[str, float], ...] = ()
    now: float = 0.0
    notes: Mapping[str, str] = field(default_factory=dict)
    earlier: tuple[float, ...] = ()
    first_seen: float | None = None  # the incident's start (log); default: situation.since
    recovered_at: float | None = None  # default: the `recovered` confirmation, else now
    traceroute: str = ""
    sources: tuple[str, ...] = ()
    signals: HostSignals | None = None

    @property
    def confirmed(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.confirmations)

    @property
    def since(self) -> float:
        if self.first_seen is not None:
            return self.first_seen
        if self.situation.since is not None:
            return self.situation.since
        return min((t for _, t in self.confirmations), default=self.now)


def context(cfg: Config, situation: Situation, host: Host,
            confirmations: tuple[tuple[str, float], ...], now: float, *,
            runbook: Runbook, **extras: Any) -> TextContext:
    """A context for `render`; the caller loaded the runbook (texts read no file)."""
    rb = runbook
    for key in ("earlier", "sources"):
        if key in extras:
            extras[key] = tuple(extras[key])
    if "notes" in extras:
        extras["notes"] = dict(extras["notes"])
    return TextContext(host=host, cfg=cfg, situation=situation, runbook=rb,
                       confirmations=tuple(confirmations), now=now, **extras)


def refusal(kind: TextKind | str, ctx: TextContext) -> str:
    """Why `kind` cannot be written now (one line, for the CLI and logs); "" when it can."""
    kind = TextKind(kind)
    if kind is TextKind.RECOVERED and ctx.situation.id is not SituationId.OK:
        return (f"{ctx.host.name} is not ok ({ctx.situation.id.value}): no recovered notice "
                "for a host that has not recovered")
    if kind is TextKind.UPDATE and not _progress(ctx):
        return ("an update needs progress: note it on 'progress' (or confirm a step "
                "since the last notice)")
    return ""


def render(kind: TextKind | str, ctx: TextContext) -> str:
    """The text of `kind` for this context, ready to paste; ValueError (one line, no
    Chinese) when it must not be written now (see `refusal`)."""
    kind = TextKind(kind)
    why = refusal(kind, ctx)
    if why:
        raise ValueError(why)
    values, _ = _values(kind, ctx)
    text = ctx.runbook.texts[kind.value].format_map(values)
    return redact("\n".join(line.rstrip() for line in text.strip().splitlines()))


def missing_fields(kind: TextKind | str, ctx: TextContext) -> tuple[str, ...]:
    """The Chinese names of the fields `kind` says are still unknown (借用时间、库存位置…),
    for the console to say on copy; () when the text is complete."""
    kind = TextKind(kind)
    _, missing = _values(kind, ctx)
    used = _placeholders(ctx.runbook.texts[kind.value])
    out: list[str] = []
    for name in used:
        out.extend(missing.get(name, ()))
    return tuple(dict.fromkeys(out))


def redact(text: str) -> str:
    """Mask `token=…`, `password: …`, `密码：…` and URL credentials: texts go to chats."""
    text = _URL_CREDENTIALS.sub("://***@", text)
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def when(ctx: TextContext, t: float) -> str:
    """As the team writes times: 2026-11-25 20:01 (the zone is said apart: `zone_words`)."""
    return f"{datetime.fromtimestamp(t, ctx.cfg.duty.tz):%Y-%m-%d %H:%M}"


def zone_words(ctx: TextContext, t: float) -> str:
    """The duty zone in words: 北京时间 at UTC+8, else 东五区时间, 零时区时间, 西五区时间."""
    off = datetime.fromtimestamp(t, ctx.cfg.duty.tz).utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    if minutes == 8 * 60:
        return "北京时间"
    if minutes == 0:
        return "零时区时间"
    h, m = divmod(abs(minutes), 60)
    side = "东" if minutes > 0 else "西"
    if m or h > 12:
        return f"{side}{h}时{m}分时区时间"
    return f"{side}{_zh_number(h)}区时间"


def _zh_number(n: int) -> str:
    if n <= 10:
        return _ZH_DIGITS[n]
    return "十" + _ZH_DIGITS[n - 10]


# -- pieces ------------------------------------------------------------------------------------


class _Missing(dict[str, list[str]]):
    """placeholder -> Chinese names of the unknown fields it holds."""

    def need(self, ctx: TextContext, placeholder: str, label: str, value: str) -> str:
        if value.strip():
            return value.strip()
        self.setdefault(placeholder, []).append(label)
        return _p(ctx, "missing", field=label)


def _p(ctx: TextContext, phrase: str, /, **values: str) -> str:
    return ctx.runbook.texts[f"phrase.{phrase}"].format_map(values)


def _sep(ctx: TextContext) -> str:
    return ctx.runbook.texts["phrase.list_sep"]


def _idc(ctx: TextContext) -> str:
    try:
        return ctx.cfg.fleet.idc(ctx.host.idc).name
    except KeyError:
        return ctx.host.idc


def _down(ctx: TextContext) -> tuple[str, ...]:
    return ctx.situation.down_addresses or (ctx.host.internal, ctx.host.external)


def note(ctx: TextContext, name: str) -> tuple[str, str]:
    """(text, confirmation) of note field `name`: the first confirmation of the runbook's
    [notes] list for it that carries a note; ("", "") when none does."""
    spec = ctx.runbook.notes.get(name)
    for conf in spec.sources if spec else ():
        text = (ctx.notes.get(conf) or "").strip()
        if text:
            return text, conf
    return "", ""


def _values(kind: TextKind, ctx: TextContext) -> tuple[dict[str, str], _Missing]:
    missing = _Missing()
    values = _common(ctx, missing)
    values.update(_BUILDERS.get(kind, _nothing)(ctx, missing))
    return values, missing


def _common(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    h, hw = ctx.host, ctx.host.hardware
    cause, source = note(ctx, "cause")
    return {
        "mentions": " ".join(c.at for c in _mentioned(ctx)),
        "idc": _idc(ctx), "host": h.name, "mode": h.mode.value, "internal": h.internal,
        "external": h.external, "down": _sep(ctx).join(_down(ctx)),
        "since": when(ctx, ctx.since), "now": when(ctx, ctx.now),
        "zone": zone_words(ctx, ctx.since),
        "model": missing.need(ctx, "model", "型号", hw.model),
        "asset_tag": missing.need(ctx, "asset_tag", "资产号", hw.asset_tag),
        "os": missing.need(ctx, "os", "操作系统", hw.os),
        "nics": missing.need(ctx, "nics", "网卡", _nics(ctx)),
        "warranty": missing.need(ctx, "warranty", "保修截止日期", hw.warranty_end),
        "services": _sep(ctx).join(s.value for s in h.services),
        "what": _what(ctx), "short": _short(ctx),
        "cluster": _p(ctx, f"cluster_{h.mode.value}"), "impact": _impact(ctx),
        "cause": (_p(ctx, "cause_5666" if source == "reboot_failed" else "cause_im",
                     cause=_clause(cause)) if cause else ""),
        "cause_text": missing.need(ctx, "cause_text", "故障原因", _clause(cause)),
        "signs": _signs(ctx), "risk": _risk(ctx), "done": _done(ctx),
        "prepared": _prepared(ctx), "ask": _ask(ctx),
        "next_update": _p(ctx, "next_update", time=when(
            ctx, ctx.now + ctx.cfg.duty.update_every_min * 60)),
    }


def _clause(text: str) -> str:
    """A note as a clause inside a sentence: no trailing stop of its own."""
    return text.strip().rstrip("。.;；,，!！ ")


def _nics(ctx: TextContext) -> str:
    """As the team writes them: 万兆 × 4, 千兆 × 2 (other speeds as configured: 25G × 2)."""
    hw = ctx.host.hardware
    if not hw.nics:
        return ""
    speed = _NIC_WORDS.get(hw.nic_speed.upper(), hw.nic_speed)
    return f"{speed} × {hw.nics}" if speed else f"{hw.nics} 块"


def _mentioned(ctx: TextContext) -> tuple[Contact, ...]:
    fleet = ctx.cfg.fleet
    return tuple(fleet.contact(i) for i in ctx.cfg.notice.mentions
                 if i in {c.id for c in fleet.contacts})


def _what_key(ctx: TextContext) -> str:
    sid = ctx.situation.id
    if "reboot_failed" in ctx.confirmed:
        return "reboot_failed"
    if sid is SituationId.OK and "recovered" in ctx.confirmed:
        return "recovered"
    if sid in (SituationId.OK, SituationId.UNKNOWN):
        # the text is about an incident the operator opened: the host went down before
        return "host_down" if ctx.confirmed & _HARDWARE_PATH else "other"
    return sid.value


def _what(ctx: TextContext) -> str:
    return ctx.runbook.texts[f"what.{_what_key(ctx)}"].format_map({
        "since": when(ctx, ctx.since), "down": _sep(ctx).join(_down(ctx)),
        "signs": _signs(ctx), "again": _p(ctx, "again") if _again(ctx) else ""})


def _short(ctx: TextContext) -> str:
    return ctx.runbook.texts[f"short.{_what_key(ctx)}"]


def _again(ctx: TextContext) -> bool:
    """An earlier incident of this host within [notice] recurrence_days: 再次."""
    window = ctx.cfg.notice.recurrence_days * 86400
    return any(0 < ctx.since - t <= window for t in ctx.earlier)


def _vantage_names(ctx: TextContext, addresses: tuple[str, ...], reach: Reach) -> list[str]:
    """Vantages (config order) that see every one of `addresses` with `reach`."""
    sig = ctx.signals
    if sig is None:
        return []
    seen: dict[str, set[str]] = {}
    for s in sig.addresses:
        if s.address in addresses and s.reach is reach:
            seen.setdefault(s.vantage, set()).add(s.address)
    return [v.name for v in ctx.cfg.vantages if seen.get(v.id) == set(addresses)]


def _signs(ctx: TextContext) -> str:
    """What was observed of the host, in the team's words: 内外网从本地、电信均 ping 不通、
    zabbix 监控数据自 03:00 起中断. Never a sign nobody saw (a login nobody tried)."""
    sit = ctx.situation
    parts: list[str] = []
    sides = (ctx.host.internal, ctx.host.external)
    dark = _vantage_names(ctx, sides, Reach.DOWN)
    if dark:
        parts.append(_p(ctx, "sign_dark", sides=_p(ctx, "both_sides"),
                        vantages=_sep(ctx).join(dark), all=_all(ctx, dark)))
    elif sit.id is SituationId.HOST_DOWN or _what_key(ctx) in ("host_down", "reboot_failed"):
        parts.append(_p(ctx, "sign_dark_plain"))
    else:
        for addr in sit.down_addresses:
            names = _vantage_names(ctx, (addr,), Reach.DOWN)
            if names:
                parts.append(_p(ctx, "sign_dark", sides=f"{addr} ",
                                vantages=_sep(ctx).join(names), all=_all(ctx, names)))
    if "login_failed" in sit.signs:
        parts.append(_p(ctx, "sign_login"))
    if "monitoring_stopped" in sit.signs:
        clock = ctx.signals.newest_clock if ctx.signals else None
        parts.append(_p(ctx, "sign_monitoring", time=_stamp(ctx, clock)) if clock
                     else _p(ctx, "sign_monitoring_plain"))
    return _p(ctx, "signs_sep").join(parts)


def _all(ctx: TextContext, names: list[str]) -> str:
    return _p(ctx, "all") if len(names) > 1 else ""


def _impact(ctx: TextContext) -> str:
    """The impact in one clause, for requests (no appeal to the admins in it)."""
    impact = ctx.situation.impact
    sep = _sep(ctx)
    parts = []
    if impact.outage:
        parts.append(_p(ctx, "impact_outage", vips=sep.join(
            _vip_label(ctx, v.address, v.label) for v in impact.outage)))
    if impact.single_point:
        parts.append(_p(ctx, "impact_single", vips=sep.join(
            _vip_label(ctx, v.address, v.label) for v in impact.single_point)))
    return _p(ctx, "signs_sep").join(parts) or _p(ctx, "impact_none")


def _vip_label(ctx: TextContext, address: str, fallback: str) -> str:
    vip = next((v for v in ctx.cfg.fleet.vips_of(ctx.host.name) if v.address == address),
               None)
    if vip is None:
        return fallback
    return _vip_words(vip)


def _vip_words(vip: Vip) -> str:
    port = f":{vip.port}" if vip.port else ""
    return f"{vip.address}{port}（{vip.service}）" if vip.service else f"{vip.address}{port}"


def _idc_vips(ctx: TextContext) -> set[str]:
    fleet = ctx.cfg.fleet
    return {v.address for h in fleet.hosts if h.idc == ctx.host.idc
            for v in fleet.vips_of(h.name)}


def _why(ctx: TextContext) -> str:
    """Why a ha/ssl member is a single point: its group is down to one serving node."""
    impact = ctx.situation.impact
    if ctx.host.mode is Mode.SINGLE or not impact.peers_total:
        return ""
    return _p(ctx, "why_group", mode=ctx.host.mode.value, healthy=str(impact.peers_healthy))


def _risk(ctx: TextContext) -> str:
    impact = ctx.situation.impact
    sep = _sep(ctx)
    out = ""
    if impact.outage:
        out += _p(ctx, "risk_outage",
                  vips=sep.join(_vip_label(ctx, v.address, v.label) for v in impact.outage))
    single = impact.single_point
    at_risk = {v.address for v in (*impact.outage, *single)}
    if single and at_risk == _idc_vips(ctx) and not impact.outage:
        out += _p(ctx, "risk_all_single", idc=_idc(ctx), why=_why(ctx))
    elif single:
        out += _p(ctx, "risk_single", why=_why(ctx),
                  vips=sep.join(_vip_label(ctx, v.address, v.label) for v in single))
    if not out and impact.vips and impact.peers_total:
        out = _p(ctx, "risk_none", peers=f"{impact.peers_healthy}/{impact.peers_total}")
    return out


def _stamp(ctx: TextContext, t: float) -> str:
    tz = ctx.cfg.duty.tz
    local, today = datetime.fromtimestamp(t, tz), datetime.fromtimestamp(ctx.now, tz)
    return f"{local:%H:%M}" if local.date() == today.date() else f"{local:%m-%d %H:%M}"


def _records(ctx: TextContext) -> frozenset[str]:
    return frozenset(n for s in ctx.runbook.steps for n in s.records)


def _done(ctx: TextContext) -> str:
    seen: dict[str, float] = {}
    skip = _NOT_MEASURES | _records(ctx)
    for name, t in ctx.confirmations:
        if name not in skip:
            seen.setdefault(name, t)
    if not seen:
        return ""
    items = [_p(ctx, "done_item", label=ctx.runbook.label(n), time=_stamp(ctx, t))
             for n, t in seen.items()]
    return _p(ctx, "done", items=ctx.runbook.texts["phrase.items_sep"].join(items))


def _prepared(ctx: TextContext) -> str:
    """Preventive measures of this incident: the operator's note, and the config's entries
    for this host or IDC dated on or before today and still valid. Only for a fault of the
    machine: a network problem is not helped by a spare."""
    if ctx.situation.id in _NETWORK and not ctx.confirmed & _HARDWARE_PATH:
        return ""
    items: list[str] = []
    text, _ = note(ctx, "prepared")
    if text:
        items.append(_clause(text))
    today = datetime.fromtimestamp(ctx.now, ctx.cfg.duty.tz).date()
    for m in ctx.cfg.notice.prepared:
        if m.on <= today <= m.valid_until and m.applies(ctx.host):
            items.append(_p(ctx, "prepared_item", date=m.on.isoformat(), text=_clause(m.text)))
    if not items:
        return ""
    return _p(ctx, "prepared", items=ctx.runbook.texts["phrase.items_sep"].join(items))


def _ats(contacts: tuple[Contact, ...]) -> str:
    return " ".join(c.at for c in contacts)


def _ask(ctx: TextContext) -> str:
    """Whom the group notice asks, and for what: IM (office) or the escalation contact
    (after hours) once the machine is known broken; 5666 for a network problem (they know
    who is on network duty)."""
    office = _rb.is_office(ctx.cfg, ctx.now)
    if ctx.situation.id in _NETWORK and not ctx.confirmed & _HARDWARE_PATH:
        who = _rb.contacts_for(ctx.cfg, ctx.host, Role.DUTY_ROOM, office)
        return _p(ctx, "ask_network", who=_ats(who)) if who else ""
    if not ctx.confirmed & {"reboot_failed", "fault_confirmed"}:
        return ""
    who = _im_contacts(ctx, office)
    return _p(ctx, "ask_im", who=_ats(who)) if who else ""


def _im_contacts(ctx: TextContext, office: bool) -> tuple[Contact, ...]:
    if office:
        return _rb.contacts_for(ctx.cfg, ctx.host, Role.IM_DUTY, True)
    return (ctx.cfg.fleet.contacts_for(Role.ESCALATION)
            or _rb.contacts_for(ctx.cfg, ctx.host, Role.IM_DUTY, False))


def _duration(ctx: TextContext, seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    h, m = divmod(minutes, 60)
    if h:
        return _p(ctx, "duration_hm", h=str(h), m=str(m))
    return _p(ctx, "duration_m", m=str(m))


def _progress(ctx: TextContext) -> str:
    """The update's news: the `progress` note, else the measures confirmed since the last
    notice or update (with their times). "" when there is nothing new to say."""
    text, _ = note(ctx, "progress")
    if text:
        return _clause(text)
    sent = [t for n, t in ctx.confirmations if n in ("notified", "updated")]
    last = max(sent, default=float("-inf"))
    skip = _NOT_MEASURES | _TELLING | _records(ctx)
    new = [(n, t) for n, t in ctx.confirmations if t > last and n not in skip]
    return ctx.runbook.texts["phrase.items_sep"].join(
        _p(ctx, "done_item", label=ctx.runbook.label(n), time=_stamp(ctx, t)) for n, t in new)


# -- per kind ----------------------------------------------------------------------------------


def _nothing(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    return {}


def _im(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    who = _rb.contacts_for(ctx.cfg, ctx.host, Role.IM_DUTY, True)
    return {"who": missing.need(ctx, "who", "IM 组值班联系人", _ats(who))}


def _escalation(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    who = ctx.cfg.fleet.contacts_for(Role.ESCALATION)
    inform = ctx.cfg.fleet.contacts_for(Role.INFORM)
    return {"who": missing.need(ctx, "who", "非上班时间联系人", _ats(who)),
            "inform": _p(ctx, "inform", who=_ats(inform)) if inform else ""}


def _at_risk_lines(ctx: TextContext) -> list[str]:
    impact = ctx.situation.impact
    out = []
    for v in impact.vips:
        if v.level is ImpactLevel.REDUNDANT:
            continue
        level = "level_outage" if v.level is ImpactLevel.OUTAGE else "level_single"
        out.append(_p(ctx, "vip_line", vip=_vip_label(ctx, v.address, v.label),
                      level=_p(ctx, level)))
    return out


def _email(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    admins = _rb.contacts_for(ctx.cfg, ctx.host, Role.ADMIN, True)
    to = _sep(ctx).join(c.email for c in admins if c.email)
    lines = _at_risk_lines(ctx) or [f"- {_p(ctx, 'impact_none')}"]
    return {"to": missing.need(ctx, "to", "管理员邮箱", to), "vip_lines": "\n".join(lines)}


def _admins_phone(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    """Each admin to phone, with the VIPs at risk that are theirs."""
    fleet = ctx.cfg.fleet
    risky = {v.address for v in ctx.situation.impact.vips
             if v.level is not ImpactLevel.REDUNDANT}
    lines = []
    for c in _rb.contacts_for(ctx.cfg, ctx.host, Role.ADMIN, True):
        theirs = [_vip_words(v) for v in fleet.vips_of(ctx.host.name)
                  if c.id in v.admins and v.address in risky]
        if c.id in ctx.host.admins:
            theirs.insert(0, _p(ctx, "admin_host"))
        if not theirs:
            continue
        phone = missing.need(ctx, "admin_lines", f"{c.name}的电话", c.phone)
        lines.append(_p(ctx, "admin_line", name=c.name, phone=phone,
                        vips=_sep(ctx).join(theirs)))
    return {"admin_lines": "\n".join(lines) or missing.need(
        ctx, "admin_lines", "需通知的管理员", "")}


def _update(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    progress = _progress(ctx)
    return {"progress": _p(ctx, "progress", progress=progress) if progress
            else missing.need(ctx, "progress", "进展", "")}


def _recovered(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    at = ctx.recovered_at
    if at is None:
        at = next((t for n, t in reversed(ctx.confirmations) if n == "recovered"), ctx.now)
    single = tuple(v for v in ctx.situation.impact.vips if v.level is not ImpactLevel.REDUNDANT)
    if single:
        lingering = _p(ctx, "lingering_single", vips=_sep(ctx).join(
            _vip_label(ctx, v.address, v.label) for v in single))
    elif ctx.confirmed & {"borrow_requested", "spare_found"}:
        lingering = _p(ctx, "lingering_borrowed")
    else:
        lingering = _p(ctx, "lingering_none")
    return {"recovered_at": when(ctx, at), "duration": _duration(ctx, at - ctx.since),
            "fix": _fix(ctx), "lingering": lingering}


_FIXES = ("replaced", "network_config_restored", "reinstalled", "initialized",
          "online_requested", "network_restored")


def _fix(ctx: TextContext) -> str:
    """What fixed it: the operator's note, else the last fixing step confirmed."""
    text, _ = note(ctx, "fix")
    if not text:
        done = [n for n, _ in ctx.confirmations if n in _FIXES]
        text = ctx.runbook.label(done[-1]) if done else ""
    return _p(ctx, "fix", fix=_clause(text)) if text else ""


def _failing(ctx: TextContext) -> list[str]:
    """Vantage ids (config order) that see one of the down addresses down."""
    down = set(_down(ctx))
    sig = ctx.signals
    if sig is None:
        return ["local"] if any(v.kind is VantageKind.LOCAL for v in ctx.cfg.vantages) else []
    bad = {s.vantage for s in sig.addresses if s.address in down and s.reach is Reach.DOWN}
    return [v.id for v in ctx.cfg.vantages if v.id in bad]


def _network(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    texts = ctx.runbook.texts
    sep = _sep(ctx)
    sources: list[str] = []
    for vid in _failing(ctx) or ["local"]:
        v = next((x for x in ctx.cfg.vantages if x.id == vid), None)
        if v is None:
            continue
        if v.kind is VantageKind.LOCAL:
            where = _p(ctx, "terminal")
            addrs = list(dict.fromkeys(a for a in ctx.sources if a))
        else:
            where = _p(ctx, "vantage_source", vantage=v.name)
            addrs = [v.source] if v.source else []
        if not addrs:
            missing.need(ctx, "source", f"{where}的源地址", "")
            sources.append(_p(ctx, "missing", field=f"{where}的源地址"))
        sources.extend(_p(ctx, "source_item", addr=a, vantage=where) for a in addrs)
    lines = _sight_lines(ctx)
    return {
        "source": sep.join(sources),
        "targets": sep.join(_down(ctx)),
        "vantages": "\n".join(lines) or texts["phrase.no_vantages"],
        "traceroute": ctx.traceroute.strip() or texts["phrase.no_traceroute"],
    }


def _sight_lines(ctx: TextContext) -> list[str]:
    """What each vantage sees of the down addresses (and of the host's other side, which
    tells the network duty where the path breaks)."""
    sig = ctx.signals
    if sig is None:
        return []
    targets = list(dict.fromkeys((*_down(ctx), ctx.host.internal, ctx.host.external)))
    by: dict[tuple[str, str], Any] = {(s.vantage, s.address): s for s in sig.addresses}
    lines = []
    for v in ctx.cfg.vantages:
        seen = []
        for addr in targets:
            s = by.get((v.id, addr))
            if s is not None:
                seen.append(_seen(ctx, s))
        if not seen:
            continue
        src = v.source if v.kind is not VantageKind.LOCAL else _sep(ctx).join(
            dict.fromkeys(a for a in ctx.sources if a))
        lines.append(_p(ctx, "sight_line", vantage=v.name,
                        source=src or _p(ctx, "missing", field="源地址"),
                        seen=_sep(ctx).join(seen)))
    return lines


def _seen(ctx: TextContext, s: Any) -> str:
    if s.reach is Reach.DOWN:
        return _p(ctx, "seen_down", addr=s.address)
    if s.reach is Reach.UP:
        rtt = f"{s.rtt_ms:.1f}" if s.rtt_ms is not None else "?"
        return _p(ctx, "seen_up", addr=s.address, rtt=rtt)
    if s.reach is Reach.LOSS:
        return _p(ctx, "seen_loss", addr=s.address, loss=f"{s.loss_pct or 0:.0f}")
    return _p(ctx, "seen_unknown", addr=s.address)


def _borrow(ctx: TextContext, missing: _Missing) -> dict[str, str]:
    jira = ctx.cfg.jira
    return {
        "project": jira.project, "issue_type": jira.issue_type,
        "borrow_time": missing.need(ctx, "borrow_time", "借用时间",
                                    note(ctx, "borrow_time")[0]),
        "reason": missing.need(ctx, "reason", "借用原因", _clause(note(ctx, "borrow_reason")[0])),
        "stock": missing.need(ctx, "stock", "库存位置", note(ctx, "borrow_stock")[0]),
    }


_BUILDERS = {
    TextKind.IM: _im,
    TextKind.ESCALATION: _escalation,
    TextKind.EMAIL: _email,
    TextKind.ADMINS_PHONE: _admins_phone,
    TextKind.UPDATE: _update,
    TextKind.RECOVERED: _recovered,
    TextKind.NETWORK: _network,
    TextKind.BORROW: _borrow,
}


def _placeholders(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]
