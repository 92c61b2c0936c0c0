"""`lvs-tui find IP`: what owns an address (host side or VIP), with IDC, mode, peers, admins."""

from __future__ import annotations

import argparse
import sys

from lvs_tui.commands.common import add_config_option, load_config
from lvs_tui.config import Config
from lvs_tui.fleet import Contact, Fleet, Host, Owner


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("find", help="what owns an IP address",
                       description="Print what owns an IP: host (internal/external side) or VIP, "
                                   "with IDC, mode, peers and admins. Exit 1 if nothing does.")
    p.add_argument("ip", help="the address, e.g. from 5666's phone call")
    add_config_option(p)
    p.add_argument("--demo", action="store_true", help="look it up in the simulated fleet")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if cfg is None:
        return 2
    owner = cfg.fleet.owner(args.ip)
    if owner is None:
        print(f"{args.ip.strip()}: not an address of this fleet "
              f"({len(cfg.fleet.hosts)} hosts, {len(cfg.fleet.vips)} VIPs)", file=sys.stderr)
        return 1
    print("\n".join(describe(cfg.fleet, owner)))
    return 0


def _config(args: argparse.Namespace) -> Config | None:
    if getattr(args, "demo", False):
        from lvs_tui.sim import demo_config

        return demo_config()
    return load_config(args)


def describe(fleet: Fleet, owner: Owner) -> list[str]:
    """Human lines about an owner: the first says what it is."""
    if owner.host is not None:
        lines = [f"{owner.address}: {owner.side.zh} ({owner.side.value}) of host {owner.host.name}"]
        lines += _host_lines(fleet, owner.host)
        return lines
    assert owner.vip is not None
    v = owner.vip
    lines = [f"{owner.address}: VIP {v.label}"]
    for h in fleet.hosts_of(v):
        lines.append(f"  announced by {h.name}: {fleet.idc(h.idc).name} · {h.mode.badge} · "
                     f"内网 {h.internal} · 外网 {h.external}")
    lines.append("  admins: " + (", ".join(_person(fleet.contact(a)) for a in v.admins
                                           if _known(fleet, a)) or "-"))
    return lines


def _host_lines(fleet: Fleet, h: Host) -> list[str]:
    idc = fleet.idc(h.idc)
    peers = fleet.peers(h)
    vips = fleet.vips_of(h.name)
    return [
        f"  IDC: {idc.name} ({idc.carrier})   mode: {h.mode.badge}   group: {h.group or '-'}",
        f"  内网 {h.internal}   外网 {h.external}   services: "
        + ",".join(s.value for s in h.services),
        "  peers: " + (", ".join(p.name for p in peers) or "- (none)"),
        f"  VIPs ({len(vips)}): " + (", ".join(v.label for v in vips[:8])
                                    + (" …" if len(vips) > 8 else "") or "-"),
        "  admins: " + (", ".join(_person(c) for c in fleet.admins_of(h)) or "-"),
    ]


def _known(fleet: Fleet, contact_id: str) -> bool:
    return any(c.id == contact_id for c in fleet.contacts)


def _person(c: Contact) -> str:
    return f"{c.name} {c.phone}".strip()
