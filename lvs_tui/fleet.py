"""The fleet as the duty runbook speaks of it: IDCs, hosts, VIPs and contacts.

Values only; `Fleet` adds the O(1) lookups the console needs when 5666 reads an
alerting IP over the phone (IP -> owner, VIP -> announcing hosts, host -> peers).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    """集群模式: single = LVS master/backup pair, ha/ssl = N-node clusters."""

    SINGLE = "single"
    HA = "ha"
    SSL = "ssl"

    @property
    def badge(self) -> str:
        return {"single": "SINGLE", "ha": "HA", "ssl": "SSL"}[self.value]


class Service(StrEnum):
    LVS = "LVS"
    HL = "HL"
    SNAT = "SNAT"


class Side(StrEnum):
    """Which address of a host, or a VIP."""

    INTERNAL = "internal"
    EXTERNAL = "external"
    VIP = "vip"

    @property
    def zh(self) -> str:
        return {"internal": "内网", "external": "外网", "vip": "VIP"}[self.value]


class Role(StrEnum):
    """Contact roles named by the duty runbook."""

    DUTY_ROOM = "duty_room"  # 5666 值班室
    IM_DUTY = "im_duty"  # IM 组值班
    NETWORK_DUTY = "network_duty"  # 网络组值班
    ESCALATION = "escalation"  # 非上班时间联系 (IM @朱兴)
    INFORM = "inform"  # 需及时通知的相关人员 (晓栋等)
    ADMIN = "admin"  # 业务管理员
    NOTIFY_GROUP = "notify_group"  # 运维故障通报组
    COST_CENTER = "cost_center"  # 成本中心 (借用服务器)


class Hours(StrEnum):
    """When a contact entry applies."""

    ALWAYS = "always"
    OFFICE = "office"
    AFTER_HOURS = "after_hours"


@dataclass(frozen=True, slots=True)
class Idc:
    id: str
    name: str  # display name, e.g. 赛尔
    carrier: str  # e.g. CERNET, 电信


@dataclass(frozen=True, slots=True)
class Hardware:
    model: str = ""
    nics: int = 0
    nic_speed: str = ""  # "1G" | "10G" | "25G"
    os: str = ""
    asset_tag: str = ""
    purchase_year: int | None = None
    warranty_end: str = ""  # ISO date


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    idc: str
    mode: Mode
    internal: str
    external: str
    group: str = ""  # peer group: hosts that share the VIPs
    services: tuple[Service, ...] = (Service.LVS,)
    zabbix_name: str = ""
    hardware: Hardware = field(default_factory=Hardware)
    admins: tuple[str, ...] = ()  # contact ids
    notes: str = ""

    @property
    def addresses(self) -> tuple[tuple[Side, str], ...]:
        return ((Side.INTERNAL, self.internal), (Side.EXTERNAL, self.external))

    @property
    def zabbix_host(self) -> str:
        return self.zabbix_name or self.name


@dataclass(frozen=True, slots=True)
class Vip:
    address: str
    hosts: tuple[str, ...]  # host names announcing it
    service: str = ""
    port: int | None = None
    admins: tuple[str, ...] = ()  # contact ids

    @property
    def label(self) -> str:
        port = f":{self.port}" if self.port else ""
        name = f" ({self.service})" if self.service else ""
        return f"{self.address}{port}{name}"


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    role: Role
    name: str
    phone: str = ""
    qq: str = ""
    wechat: str = ""
    email: str = ""
    hours: Hours = Hours.ALWAYS
    mention: str = ""  # how the notice @-mentions them; defaults to @name

    @property
    def at(self) -> str:
        return self.mention or f"@{self.name}"

    @property
    def channel(self) -> str:
        """The channels to reach them on, most direct first."""
        parts = [f"电话 {self.phone}" if self.phone else "", f"QQ {self.qq}" if self.qq else "",
                 f"微信 {self.wechat}" if self.wechat else "", self.email]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Owner:
    """What an address belongs to: a host side, or a VIP."""

    address: str
    side: Side
    host: Host | None = None  # for internal/external
    vip: Vip | None = None  # for VIPs

    @property
    def hosts(self) -> tuple[str, ...]:
        if self.host is not None:
            return (self.host.name,)
        return self.vip.hosts if self.vip else ()


def normalize_ip(text: str) -> str:
    """Canonical text of an IPv4/IPv6 address; raises ValueError when it is none."""
    return str(ipaddress.ip_address(text.strip()))


class Fleet:
    """The fleet with its lookups, built once from the config."""

    def __init__(self, idcs: tuple[Idc, ...], hosts: tuple[Host, ...], vips: tuple[Vip, ...],
                 contacts: tuple[Contact, ...]) -> None:
        self.idcs = idcs
        self.hosts = hosts
        self.vips = vips
        self.contacts = contacts
        self._idc = {i.id: i for i in idcs}
        self._host = {h.name: h for h in hosts}
        self._contact = {c.id: c for c in contacts}
        self._owner: dict[str, Owner] = {}
        for h in hosts:
            for side, addr in h.addresses:
                self._owner[addr] = Owner(addr, side, host=h)
        for v in vips:
            self._owner[v.address] = Owner(v.address, Side.VIP, vip=v)
        self._vips_of: dict[str, list[Vip]] = {h.name: [] for h in hosts}
        for v in vips:
            for name in v.hosts:
                self._vips_of.setdefault(name, []).append(v)
        self._group: dict[str, list[Host]] = {}
        for h in hosts:
            if h.group:
                self._group.setdefault(h.group, []).append(h)

    def idc(self, idc_id: str) -> Idc:
        return self._idc[idc_id]

    def host(self, name: str) -> Host:
        return self._host[name]

    def has_host(self, name: str) -> bool:
        return name in self._host

    def contact(self, contact_id: str) -> Contact:
        return self._contact[contact_id]

    def owner(self, address: str) -> Owner | None:
        """IP -> owner, tolerant of spacing and IPv6 spelling; None when not ours."""
        try:
            return self._owner.get(normalize_ip(address))
        except ValueError:
            return None

    def vips_of(self, host: str) -> tuple[Vip, ...]:
        return tuple(self._vips_of.get(host, ()))

    def hosts_of(self, vip: Vip) -> tuple[Host, ...]:
        return tuple(self._host[n] for n in vip.hosts if n in self._host)

    def peers(self, host: Host) -> tuple[Host, ...]:
        """Other hosts of its peer group (or, without a group, those sharing a VIP)."""
        if host.group:
            return tuple(h for h in self._group.get(host.group, ()) if h.name != host.name)
        names = {n for v in self.vips_of(host.name) for n in v.hosts} - {host.name}
        return tuple(self._host[n] for n in sorted(names) if n in self._host)

    def contacts_for(self, role: Role) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if c.role is role)

    def admins_of(self, host: Host) -> tuple[Contact, ...]:
        """Business admins of the host and of every VIP it announces, in order, once each."""
        ids: list[str] = list(host.admins)
        for v in self.vips_of(host.name):
            ids.extend(v.admins)
        seen: dict[str, Contact] = {}
        for i in ids:
            if i in self._contact and i not in seen:
                seen[i] = self._contact[i]
        return tuple(seen.values())

    def addresses(self) -> tuple[str, ...]:
        """Every address the console pings: both sides of each host, then the VIPs."""
        return tuple(self._owner)
