"""Notices and requests, generated from the runbook's templates, never typed.

`render(kind, ctx)` is pure: every fact comes from the `TextContext` (host, config,
situation, confirmations, the clock and what the operator added: cause, progress,
traceroute...). The templates and the phrases they are assembled from live in the runbook
file's `[texts]` table, so a team changes wording (or language) without touching code.
Times are absolute and carry the zone's UTC offset; anything that looks like a secret is
masked before a text leaves this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lvs_tui.config import Config, VantageKind
from lvs_tui.fleet import Contact, Host, Role
from lvs_tui.runbook import Runbook, contacts_for, is_office
from lvs_tui.signals import HostSignals, Reach
from lvs_tui.situation import ImpactLevel, Situation, SituationId


class TextKind(StrEnum):
    INITIAL = "initial"  # the incident notice (通报)
    UPDATE = "update"  # progress notice (新进展)
    RECOVERED = "recovered"  # recovery notice (已恢复)
    REBOOT = "reboot"  # reboot request to 5666
    NETWORK = "network"  # handoff to the network duty
    BORROW = "borrow"  # JIRA (鸡爪) borrow proposal


# The sending of notices, and the recovery the recovered notice states itself: never
# listed as "done" in a notice.
_NOT_DONE_ITEMS = frozenset({"notified", "updated", "recovery_notified", "admins_emailed",
                             "recovered"})
_NETWORK = frozenset({SituationId.PATH_BROKEN, SituationId.VIP_UNREACHABLE,
                      SituationId.ONE_SIDE_DOWN, SituationId.DEGRADED})
_SECRET = re.compile(
    r"(?i)(token|password|passwd|pwd|secret|api[_-]?key|authorization|密码|口令)"
    r"(\s*[=:：]\s*)(bearer\s+)?[^\s,;，；]+")
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


@dataclass(frozen=True, slots=True)
class TextContext:
    host: Host
    cfg: Config
    situation: Situation
    runbook: Runbook
    confirmations: tuple[tuple[str, float], ...] = ()
    now: float = 0.0
    first_seen: float | None = None  # default: situation.since
    recovered_at: float | None = None  # default: the `recovered` confirmation, else now
    traceroute: str = ""
    vantage_lines: tuple[str, ...] = ()  # per-vantage results; default: the evidence
    progress: str = ""  # update: what happened since the last notice
    cause: str = ""  # e.g. 5666's error information: 疑似电源故障
    sources: tuple[str, ...] = ()  # network handoff: where it fails from ("": this terminal)
    borrow_duration: str = ""
    reason: str = ""
    stock: str = ""  # stock location of the borrowed model

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
    if "vantage_lines" in extras:
        extras["vantage_lines"] = tuple(extras["vantage_lines"])
    return TextContext(host=host, cfg=cfg, situation=situation, runbook=rb,
                       confirmations=tuple(confirmations), now=now, **extras)


def render(kind: TextKind | str, ctx: TextContext) -> str:
    """The text of `kind` for this context, ready to paste."""
    kind = TextKind(kind)
    values = _common(ctx)
    values.update(_BUILDERS[kind](ctx))
    text = ctx.runbook.texts[kind.value].format_map(values)
    return redact("\n".join(line.rstrip() for line in text.strip().splitlines()))


def redact(text: str) -> str:
    """Mask `token=…`, `password: …`, `密码：…` and URL credentials: texts go to chats."""
    text = _URL_CREDENTIALS.sub("://***@", text)
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def when(ctx: TextContext, t: float) -> str:
    """Absolute time with the duty zone's offset: 2026-11-25 22:10 UTC+08:00."""
    local = datetime.fromtimestamp(t, ctx.cfg.duty.tz)
    off = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} UTC{off[:3]}:{off[3:]}"


# -- pieces ------------------------------------------------------------------------------------


def _p(ctx: TextContext, name: str, **values: str) -> str:
    return ctx.runbook.texts[name].format_map(values)


def _sep(ctx: TextContext) -> str:
    return ctx.runbook.texts["phrase.list_sep"]


def _idc(ctx: TextContext) -> str:
    try:
        return ctx.cfg.fleet.idc(ctx.host.idc).name
    except KeyError:
        return ctx.host.idc


def _down(ctx: TextContext) -> str:
    addrs = ctx.situation.down_addresses or (ctx.host.internal, ctx.host.external)
    return _sep(ctx).join(addrs)


def _common(ctx: TextContext) -> dict[str, str]:
    h, hw = ctx.host, ctx.host.hardware
    unknown = ctx.runbook.texts["phrase.unknown_value"]
    return {
        "mentions": " ".join(c.at for c in _mentioned(ctx)),
        "idc": _idc(ctx), "host": h.name, "mode": h.mode.value, "internal": h.internal,
        "external": h.external, "down": _down(ctx), "since": when(ctx, ctx.since),
        "now": when(ctx, ctx.now), "model": hw.model or unknown,
        "asset_tag": hw.asset_tag or unknown, "os": hw.os or unknown,
        "nics": _p(ctx, "phrase.nics", count=str(hw.nics), speed=hw.nic_speed).strip()
        if hw.nics else unknown,
        "services": "/".join(s.value for s in h.services),
        "what": _what(ctx), "cause": _p(ctx, "phrase.cause", cause=ctx.cause) if ctx.cause
        else "", "risk": _risk(ctx), "done": _done(ctx), "prepared": _prepared(ctx),
        "ask": _ask(ctx),
        "next_update": _p(ctx, "phrase.next_update", time=when(
            ctx, ctx.now + ctx.cfg.duty.update_every_min * 60)),
        "progress": ctx.progress.strip(),
        "evidence": "\n".join(f"- {e}" for e in ctx.situation.evidence) or f"- {_down(ctx)}",
    }


def _mentioned(ctx: TextContext) -> tuple[Contact, ...]:
    fleet = ctx.cfg.fleet
    return tuple(fleet.contact(i) for i in ctx.cfg.notice.mentions
                 if i in {c.id for c in fleet.contacts})


def _what(ctx: TextContext) -> str:
    sid = ctx.situation.id
    if "reboot_failed" in ctx.confirmed:
        key = "what.reboot_failed"
    elif sid is SituationId.OK and "recovered" in ctx.confirmed:
        key = "what.recovered"
    elif sid is SituationId.OK or sid is SituationId.UNKNOWN:
        # the notice is about an incident the operator opened: the host went down before
        key = "what.host_down" if "reboot_requested" in ctx.confirmed else "what.other"
    else:
        key = f"what.{sid.value}"
    if key not in ctx.runbook.texts:
        key = "what.other"
    return _p(ctx, key, since=when(ctx, ctx.since), down=_down(ctx), signs=_signs(ctx))


def _signs(ctx: TextContext) -> str:
    """The signs of a dead host actually observed: a notice never claims a login failed
    when nobody tried one."""
    seen = ctx.situation.signs
    signs = [_p(ctx, "phrase.sign_dark")]
    if "login_failed" in seen:
        signs.append(_p(ctx, "phrase.sign_login"))
    if "monitoring_stopped" in seen:
        signs.append(_p(ctx, "phrase.sign_monitoring"))
    return _p(ctx, "phrase.list_sep").join(signs)


def _risk(ctx: TextContext) -> str:
    impact = ctx.situation.impact
    sep = _sep(ctx)
    out = ""
    if impact.outage:
        out += _p(ctx, "phrase.risk_outage", vips=sep.join(v.label for v in impact.outage))
    single = impact.single_point
    if single and len(single) == len(impact.vips):
        out += _p(ctx, "phrase.risk_all_single", idc=_idc(ctx))
    elif single:
        out += _p(ctx, "phrase.risk_single", vips=sep.join(v.label for v in single))
    if not out and impact.vips and impact.peers_total:
        out = _p(ctx, "phrase.risk_none",
                 peers=f"{impact.peers_healthy}/{impact.peers_total}")
    return out


def _done(ctx: TextContext) -> str:
    seen: dict[str, float] = {}
    for name, t in ctx.confirmations:
        if name not in _NOT_DONE_ITEMS:
            seen.setdefault(name, t)
    if not seen:
        return ""
    tz = ctx.cfg.duty.tz
    items = [_p(ctx, "phrase.done_item", label=ctx.runbook.label(n),
                time=f"{datetime.fromtimestamp(t, tz):%H:%M}") for n, t in seen.items()]
    return _p(ctx, "phrase.done", items=ctx.runbook.texts["phrase.items_sep"].join(items))


def _prepared(ctx: TextContext) -> str:
    items = [p.rstrip("。.") for p in ctx.cfg.notice.prepared if p.strip()]
    if not items:
        return ""
    return _p(ctx, "phrase.prepared", items=ctx.runbook.texts["phrase.items_sep"].join(items))


def _ask(ctx: TextContext) -> str:
    office = is_office(ctx.cfg, ctx.now)
    if ctx.situation.id in _NETWORK and "reboot_requested" not in ctx.confirmed:
        who = contacts_for(ctx.cfg, ctx.host, Role.NETWORK_DUTY, office)
        key = "phrase.ask_network"
    else:
        who = contacts_for(ctx.cfg, ctx.host, Role.IM_DUTY, True) if office else \
            (ctx.cfg.fleet.contacts_for(Role.ESCALATION)
             or contacts_for(ctx.cfg, ctx.host, Role.IM_DUTY, False))
        key = "phrase.ask_im"
    if not who:
        return ""
    return _p(ctx, key, who=" ".join(c.at for c in who))


def _duration(ctx: TextContext, seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    h, m = divmod(minutes, 60)
    if h:
        return _p(ctx, "phrase.duration_hm", h=str(h), m=str(m))
    return _p(ctx, "phrase.duration_m", m=str(m))


# -- per kind ----------------------------------------------------------------------------------


def _initial(ctx: TextContext) -> dict[str, str]:
    return {}


def _recovered(ctx: TextContext) -> dict[str, str]:
    at = ctx.recovered_at
    if at is None:
        at = next((t for n, t in reversed(ctx.confirmations) if n == "recovered"), ctx.now)
    single = tuple(v for v in ctx.situation.impact.vips if v.level is not ImpactLevel.REDUNDANT)
    if single:
        lingering = _p(ctx, "phrase.lingering_single",
                       vips=_sep(ctx).join(v.label for v in single))
    elif ctx.confirmed & {"borrow_requested", "spare_found"}:
        lingering = _p(ctx, "phrase.lingering_borrowed")
    else:
        lingering = _p(ctx, "phrase.lingering_none")
    return {"recovered_at": when(ctx, at), "duration": _duration(ctx, at - ctx.since),
            "lingering": lingering}


def handoff_sources(cfg: Config, situation: Situation, signals: HostSignals
                    ) -> tuple[str, ...]:
    """Where the down addresses fail from, for the network duty's "源 IP": each vantage
    that sees one of them down, by name and the machine it pings from (a VIP lost from
    联通 only is 联通's probe host, not this terminal); "" is this terminal."""
    down = set(situation.down_addresses)
    failing = {s.vantage for s in signals.addresses
               if s.address in down and s.reach is Reach.DOWN}
    out = []
    for v in cfg.vantages:
        if v.id not in failing:
            continue
        machine = {VantageKind.ZABBIX_PROXY: v.probe_host,
                   VantageKind.SSH_FPING: v.ssh_host}.get(v.kind, "")
        local = v.kind is VantageKind.LOCAL
        out.append("" if local else f"{v.name} ({machine})" if machine else v.name)
    return tuple(out)


def _network(ctx: TextContext) -> dict[str, str]:
    texts = ctx.runbook.texts
    lines = ctx.vantage_lines or _address_lines(ctx)
    return {
        "source": _sep(ctx).join(x or texts["phrase.source_default"]
                                 for x in ctx.sources or ("",)),
        "targets": _down(ctx),
        "vantages": "\n".join(f"- {line}" for line in lines) or texts["phrase.no_vantages"],
        "traceroute": ctx.traceroute.strip() or texts["phrase.no_traceroute"],
    }


def _address_lines(ctx: TextContext) -> tuple[str, ...]:
    """The evidence sentences about the unreachable addresses (the per-vantage results);
    for a broken path all of it: the signs of life are what the network duty needs."""
    if ctx.situation.id is SituationId.PATH_BROKEN:
        return ctx.situation.evidence
    addrs = ctx.situation.down_addresses or (ctx.host.internal, ctx.host.external)
    about = tuple(e for e in ctx.situation.evidence if any(a in e for a in addrs))
    return about or ctx.situation.evidence


def _borrow(ctx: TextContext) -> dict[str, str]:
    unknown = ctx.runbook.texts["phrase.unknown_value"]
    return {"borrow_duration": ctx.borrow_duration or unknown,
            "reason": ctx.reason or ctx.cause or unknown, "stock": ctx.stock or unknown}


_BUILDERS = {
    TextKind.INITIAL: _initial,
    TextKind.UPDATE: _initial,
    TextKind.RECOVERED: _recovered,
    TextKind.REBOOT: _initial,
    TextKind.NETWORK: _network,
    TextKind.BORROW: _borrow,
}
