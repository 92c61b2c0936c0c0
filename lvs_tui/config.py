"""TOML config -> typed, validated model.

Every user mistake becomes a `ConfigError` whose lines each name the file, the key path
(and the TOML line where the parser gives one) and the bad value, e.g.
``config.toml: hosts[3].mode: 'singel' is not one of single, ha, ssl``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lvs_tui.fleet import (
    Contact,
    Fleet,
    Hardware,
    Host,
    Hours,
    Idc,
    Mode,
    Role,
    Service,
    Vip,
)
from lvs_tui.state import Metric

E = TypeVar("E", bound=StrEnum)

SHIPPED_RUNBOOK = Path(__file__).parent / "data" / "runbook.zh.toml"

DEFAULT_KEYS: dict[Metric, tuple[str, ...]] = {
    Metric.CPU: ("system.cpu.util", "system.cpu.util[,idle]"),
    Metric.BOND0_IN: ("net.if.in[bond0]",),
    Metric.BOND0_OUT: ("net.if.out[bond0]",),
    Metric.BOND1_IN: ("net.if.in[bond1]",),
    Metric.BOND1_OUT: ("net.if.out[bond1]",),
}

# Names passed to ssh as argv: letters, digits, dot, dash, underscore, colon (IPv6), @ for
# user@host. A leading dash would turn a host name into an ssh option.
_SSH_TARGET = re.compile(r"^[A-Za-z0-9_.:@\[\]][A-Za-z0-9_.:@\[\]-]*$")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


class ConfigError(Exception):
    """One or more one-line messages, each naming file, key and value."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class VantageKind(StrEnum):
    LOCAL = "local"  # this terminal's own ICMP
    ZABBIX_PROXY = "zabbix_proxy"  # icmpping items on a probe host behind an IDC's proxy
    SSH_FPING = "ssh_fping"  # fping run over ssh on a host in another IDC


@dataclass(frozen=True, slots=True)
class OfficeHours:
    start: time = time(9, 0)
    end: time = time(18, 0)
    workdays: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()  # 调休: weekend days that are workdays

    def is_office(self, local: datetime) -> bool:
        day = local.date()
        if day in self.holidays:
            return False
        workday = day in self.extra_workdays or local.isoweekday() in self.workdays
        return workday and self.start <= local.time() < self.end


@dataclass(frozen=True, slots=True)
class Duty:
    interval: float = 1.0  # seconds between pings of one address
    ping_timeout: float = 1.0
    window: int = 10  # samples over which loss and RTT are computed
    hysteresis: int = 3  # consecutive samples before a state changes
    loss_threshold: float = 20.0  # percent over the window that makes an address lossy
    rtt_threshold_ms: float = 200.0
    stale_after: float = 5.0  # ping data older than this is unknown
    peer_cpu_limit: float = 70.0  # ha/ssl: peers above this mean the service is affected
    peer_traffic_limit_mbps: float = 8000.0
    timezone: str = "Asia/Shanghai"
    office: OfficeHours = field(default_factory=OfficeHours)
    jump_host: str = ""
    ssh_user: str = "root"
    alert_page: str = ""  # the 5666 ping page
    alert_interval: float = 30.0
    alert_timeout: float = 10.0
    ssh_config: str = ""  # passed to ssh as -F
    ssh_connect_timeout: int = 5
    diagnostics_timeout: float = 30.0
    probe_page: str = ""  # the multi-IDC probe ("bench") page
    bell: bool = True
    theme: str = "dark"
    update_every_min: int = 30  # promised time of the next update notice
    operator: str = ""  # who acknowledges from this terminal; "" = the login name
    ack_timeout: float = 300.0  # an unacknowledged critical incident alerts again after this
    flap_changes: int = 4  # more ok <-> trouble changes than this in flap_window: flapping
    flap_window: float = 600.0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Vantage:
    id: str
    kind: VantageKind
    name: str  # shown in the matrix: 本地, 联通 …
    idc: str = ""
    control: str = ""  # a known-good address: when it fails the vantage is unhealthy
    proxy: str = ""  # zabbix_proxy: the proxy's name
    probe_host: str = ""  # zabbix_proxy: the Zabbix host carrying icmpping items
    ssh_host: str = ""  # ssh_fping: where fping runs
    ssh_user: str = ""
    ssh_port: int = 22
    source: str = ""  # the address it pings from, for the network handoff's 源 IP


@dataclass(frozen=True, slots=True)
class Zabbix:
    url: str = ""
    token_env: str = ""
    token_file: str = ""
    user: str = ""
    password_env: str = ""
    password_file: str = ""
    keys: dict[Metric, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    stale_after: float = 300.0  # newest value older than this: monitoring stopped
    interval: float = 30.0
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A preventive measure already taken (runbook: 切记一并补充进去), said in the notices of
    hardware faults from `on` to `valid_until`, for the listed hosts/IDCs (none: all)."""

    text: str
    on: date
    valid_until: date
    hosts: tuple[str, ...] = ()
    idcs: tuple[str, ...] = ()

    def applies(self, host: Host) -> bool:
        if not self.hosts and not self.idcs:
            return True
        return host.name in self.hosts or host.idc in self.idcs


@dataclass(frozen=True, slots=True)
class Notice:
    mentions: tuple[str, ...] = ()  # contact ids @-mentioned at the top of a notice
    prepared: tuple[Prepared, ...] = ()
    recurrence_days: int = 30  # an earlier incident of the host this recent: 再次


@dataclass(frozen=True, slots=True)
class Jira:
    """The borrow proposal's form in 鸡爪 (JIRA)."""

    project: str = "DEVICE"
    issue_type: str = "借用"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"  # a relay on the local network that speaks plain SMTP


@dataclass(frozen=True, slots=True)
class SendSettings:
    """[sending]: off by default; secrets only from environment variables or files."""

    enabled: bool = False
    webhook_url_env: str = ""  # env var holding the robot URL (it carries the robot's key)
    webhook_url_file: str = ""
    rate_per_minute: int = 20
    timeout: float = 10.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_user: str = ""
    smtp_password_env: str = ""
    smtp_password_file: str = ""
    mail_from: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    duty: Duty
    fleet: Fleet
    vantages: tuple[Vantage, ...]
    zabbix: Zabbix
    notice: Notice
    runbook: Path
    keys: dict[str, str]  # action id -> key, overrides of the default bindings
    sending: SendSettings = field(default_factory=SendSettings)
    jira: Jira = field(default_factory=Jira)

    def vantage(self, vantage_id: str) -> Vantage:
        return next(v for v in self.vantages if v.id == vantage_id)


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lvs-tui" / "config.toml"


# -- reading -------------------------------------------------------------------------------


class TableReader:
    """Walks one table, records errors with their key path, never raises for user input."""

    def __init__(self, file: str, errors: list[str], table: dict[str, Any], path: str) -> None:
        self.file, self.errors, self.table, self.path = file, errors, table, path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, msg: str) -> None:
        self.errors.append(f"{self.file}: {self.key(name)}: {msg}")

    def raw(self, name: str) -> Any:
        self.used.add(name)
        return self.table.get(name)

    def _typed(self, name: str, types: tuple[type, ...], label: str, default: Any,
               required: bool) -> Any:
        value = self.raw(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return default
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            self.error(name, f"{value!r} is not {label}")
            return default
        return value

    def str_(self, name: str, default: str = "", required: bool = False) -> str:
        return self._typed(name, (str,), "a string", default, required)

    def bool_(self, name: str, default: bool) -> bool:
        return self._typed(name, (bool,), "true or false", default, False)

    def num(self, name: str, default: float | None, low: float = 0.0, high: float = float("inf"),
            integer: bool = False) -> Any:
        types: tuple[type, ...] = (int,) if integer else (int, float)
        value = self._typed(name, types, "an integer" if integer else "a number", None, False)
        if value is None:
            return default
        if not low <= value <= high:
            bounds = f"from {low:g} to {high:g}" if high != float("inf") else f">= {low:g}"
            self.error(name, f"{value!r} is out of range ({bounds})")
            return default
        return value

    def enum(self, name: str, kind: type[E], default: E | None = None) -> E | None:
        value = self.raw(name)
        if value is None:
            if default is None:
                self.error(name, "is required")
            return default
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(m.value for m in kind)
            self.error(name, f"{value!r} is not one of {choices}")
            return default

    def strs(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(name, f"{value!r} is not a list of strings")
            return ()
        return tuple(value)

    def ip(self, name: str, required: bool = True) -> str:
        value = self.str_(name, required=required)
        if not value:
            return ""
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            self.error(name, f"{value!r} is not an IPv4 or IPv6 address")
            return ""

    def table_(self, name: str) -> TableReader:
        value = self.raw(name)
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            self.error(name, f"{value!r} is not a table")
            value = {}
        return TableReader(self.file, self.errors, value, self.key(name))

    def tables(self, name: str) -> Iterator[TableReader]:
        value = self.raw(name)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(name, "must be an array of tables ([[" + name + "]])")
            return
        for i, item in enumerate(value):
            yield TableReader(self.file, self.errors, item, f"{self.key(name)}[{i}]")

    def done(self) -> None:
        """Unknown keys are errors: a typo must not silently become a default."""
        for name in self.table:
            if name not in self.used:
                self.errors.append(f"{self.file}: {self.key(name)}: unknown key")


def _clock(r: TableReader, name: str, default: time) -> time:
    value = r.str_(name)
    if not value:
        return default
    try:
        return time.fromisoformat(value)
    except ValueError:
        r.error(name, f"{value!r} is not a time like 09:00")
        return default


def _dates(r: TableReader, name: str) -> frozenset[date]:
    out = set()
    for value in r.strs(name):
        try:
            out.add(date.fromisoformat(value))
        except ValueError:
            r.error(name, f"{value!r} is not a date like 2026-10-01")
    return frozenset(out)


def _office(r: TableReader) -> OfficeHours:
    days = r.raw("workdays")
    workdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    if days is not None:
        if isinstance(days, list) and all(isinstance(d, int) and 1 <= d <= 7 for d in days):
            workdays = tuple(days)
        else:
            r.error("workdays", f"{days!r} is not a list of ISO weekdays 1-7")
    office = OfficeHours(_clock(r, "office_start", time(9)), _clock(r, "office_end", time(18)),
                         workdays, _dates(r, "holidays"), _dates(r, "extra_workdays"))
    if office.start >= office.end:
        r.error("office_end", f"'{office.end:%H:%M}' is not after office_start")
    return office


def _ssh_target(r: TableReader, name: str) -> str:
    value = r.str_(name)
    if value and not _SSH_TARGET.match(value):
        r.error(name, f"{value!r} is not a host name or address")
        return ""
    return value


def _operator(r: TableReader) -> str:
    value = r.str_("operator").strip()
    if value and (len(value) > 40 or any(not c.isprintable() for c in value)):
        r.error("operator", f"{value!r}: a name of at most 40 printable characters")
        return ""
    return value


def _url(r: TableReader, name: str) -> str:
    value = r.str_(name)
    if value and not re.match(r"^https?://[^\s]+$", value):
        r.error(name, f"{value!r} is not an http(s) URL")
        return ""
    return value


def _duty(r: TableReader) -> Duty:
    d = Duty()
    timezone = r.str_("timezone", d.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.error("timezone", f"{timezone!r} is not a known time zone")
        timezone = d.timezone
    duty = Duty(
        interval=r.num("interval", d.interval, 0.05, 3600),
        ping_timeout=r.num("ping_timeout", d.ping_timeout, 0.05, 60),
        window=r.num("window", d.window, 1, 3600, integer=True),
        hysteresis=r.num("hysteresis", d.hysteresis, 1, 100, integer=True),
        loss_threshold=r.num("loss_threshold", d.loss_threshold, 0, 100),
        rtt_threshold_ms=r.num("rtt_threshold_ms", d.rtt_threshold_ms, 0),
        stale_after=r.num("stale_after", d.stale_after, 0.1),
        peer_cpu_limit=r.num("peer_cpu_limit", d.peer_cpu_limit, 0, 100),
        peer_traffic_limit_mbps=r.num("peer_traffic_limit_mbps", d.peer_traffic_limit_mbps, 0),
        timezone=timezone,
        office=_office(r),
        jump_host=_ssh_target(r, "jump_host"),
        ssh_user=_ssh_target(r, "ssh_user") or d.ssh_user,
        alert_page=_url(r, "alert_page"),
        alert_interval=r.num("alert_interval", d.alert_interval, 1),
        alert_timeout=r.num("alert_timeout", d.alert_timeout, 0.1, 600),
        ssh_config=_existing_file(r, "ssh_config"),
        ssh_connect_timeout=r.num("ssh_connect_timeout", d.ssh_connect_timeout, 1, 300,
                                  integer=True),
        diagnostics_timeout=r.num("diagnostics_timeout", d.diagnostics_timeout, 1, 3600),
        probe_page=_url(r, "probe_page"),
        bell=r.bool_("bell", d.bell),
        theme=r.str_("theme", d.theme),
        update_every_min=r.num("update_every_min", d.update_every_min, 1, 1440, integer=True),
        operator=_operator(r),
        ack_timeout=r.num("ack_timeout", d.ack_timeout, 10, 86400),
        flap_changes=r.num("flap_changes", d.flap_changes, 1, 1000, integer=True),
        flap_window=r.num("flap_window", d.flap_window, 10, 86400),
    )
    r.done()
    return duty


def _existing_file(r: TableReader, name: str) -> str:
    value = r.str_(name)
    if value and not Path(value).expanduser().is_file():
        r.error(name, f"{value!r} does not exist")
        return ""
    return value


def _sending(r: TableReader) -> SendSettings:
    d = SendSettings()
    if "webhook_url" in r.table or "smtp_password" in r.table:
        name = "webhook_url" if "webhook_url" in r.table else "smtp_password"
        r.used.add(name)
        r.error(name, f"secrets are never written in the config: use {name}_env or "
                f"{name}_file")
    out = SendSettings(
        enabled=r.bool_("enabled", d.enabled), webhook_url_env=r.str_("webhook_url_env"),
        webhook_url_file=_existing_file(r, "webhook_url_file"),
        rate_per_minute=r.num("rate_per_minute", d.rate_per_minute, 1, 600, integer=True),
        timeout=r.num("timeout", d.timeout, 0.1, 300), smtp_host=r.str_("smtp_host"),
        smtp_port=r.num("smtp_port", d.smtp_port, 1, 65535, integer=True),
        smtp_security=r.enum("smtp_security", SmtpSecurity, d.smtp_security)
        or d.smtp_security,
        smtp_user=r.str_("smtp_user"), smtp_password_env=r.str_("smtp_password_env"),
        smtp_password_file=_existing_file(r, "smtp_password_file"),
        mail_from=r.str_("mail_from"))
    r.done()
    if out.enabled and not (out.webhook_url_env or out.webhook_url_file or out.smtp_host):
        r.error("enabled", "true but neither a webhook (webhook_url_env/_file) nor "
                "smtp_host is set")
    return out


def _ident(r: TableReader, name: str) -> str:
    value = r.str_(name, required=True)
    if value and not _ID.match(value):
        r.error(name, f"{value!r} may only hold letters, digits, '.', '_' and '-'")
    return value


def _idcs(root: TableReader) -> tuple[Idc, ...]:
    out = []
    for r in root.tables("idcs"):
        out.append(Idc(_ident(r, "id"), r.str_("name", required=True), r.str_("carrier")))
        r.done()
    return tuple(out)


def _hardware(r: TableReader) -> Hardware:
    hw = Hardware(
        model=r.str_("model"), nics=r.num("nics", 0, 0, 64, integer=True),
        nic_speed=r.str_("nic_speed"), os=r.str_("os"), asset_tag=r.str_("asset_tag"),
        purchase_year=r.num("purchase_year", None, 1990, 2100, integer=True),
        warranty_end=r.str_("warranty_end"))
    if hw.warranty_end:
        try:
            date.fromisoformat(hw.warranty_end)
        except ValueError:
            r.error("warranty_end", f"{hw.warranty_end!r} is not a date like 2027-06-30")
    r.done()
    return hw


def _services(r: TableReader) -> tuple[Service, ...]:
    out = []
    for value in r.strs("services") or ("LVS",):
        try:
            out.append(Service(value.upper()))
        except ValueError:
            r.error("services", f"{value!r} is not one of LVS, HL, SNAT")
    return tuple(out)


def _hosts(root: TableReader) -> tuple[Host, ...]:
    out = []
    for r in root.tables("hosts"):
        host = Host(
            name=_ident(r, "name"), idc=r.str_("idc", required=True),
            mode=r.enum("mode", Mode) or Mode.SINGLE,
            internal=r.ip("internal"), external=r.ip("external"), group=r.str_("group"),
            services=_services(r), zabbix_name=r.str_("zabbix_name"),
            hardware=_hardware(r.table_("hardware")), admins=r.strs("admins"),
            notes=r.str_("notes"))
        r.done()
        out.append(host)
    return tuple(out)


def _vips(root: TableReader) -> tuple[Vip, ...]:
    out = []
    for r in root.tables("vips"):
        vip = Vip(address=r.ip("address"), hosts=r.strs("hosts"), service=r.str_("service"),
                  port=r.num("port", None, 1, 65535, integer=True), admins=r.strs("admins"))
        if not vip.hosts:
            r.error("hosts", "names no host: a VIP must be announced by at least one host")
        r.done()
        out.append(vip)
    return tuple(out)


def _contacts(root: TableReader) -> tuple[Contact, ...]:
    out = []
    for r in root.tables("contacts"):
        out.append(Contact(
            id=_ident(r, "id"), role=r.enum("role", Role) or Role.ADMIN,
            name=r.str_("name", required=True), phone=r.str_("phone"), qq=r.str_("qq"),
            wechat=r.str_("wechat"), email=r.str_("email"),
            hours=r.enum("hours", Hours, Hours.ALWAYS) or Hours.ALWAYS,
            mention=r.str_("mention")))
        r.done()
    return tuple(out)


def _vantages(root: TableReader) -> tuple[Vantage, ...]:
    out = []
    for r in root.tables("vantages"):
        kind = r.enum("kind", VantageKind) or VantageKind.LOCAL
        v = Vantage(
            id=_ident(r, "id"), kind=kind, name=r.str_("name", required=True),
            idc=r.str_("idc"), control=r.ip("control", required=False), proxy=r.str_("proxy"),
            probe_host=r.str_("probe_host"), ssh_host=_ssh_target(r, "ssh_host"),
            ssh_user=_ssh_target(r, "ssh_user"),
            ssh_port=r.num("ssh_port", 22, 1, 65535, integer=True),
            source=r.ip("source", required=False))
        if kind is VantageKind.ZABBIX_PROXY and not v.probe_host:
            r.error("probe_host", "is required for a zabbix_proxy vantage")
        if kind is VantageKind.SSH_FPING and not v.ssh_host:
            r.error("ssh_host", "is required for an ssh_fping vantage")
        r.done()
        out.append(v)
    if not any(v.kind is VantageKind.LOCAL for v in out):
        out.insert(0, Vantage("local", VantageKind.LOCAL, "本地"))
    return tuple(out)


def _zabbix(r: TableReader) -> Zabbix:
    z = Zabbix()
    keys = dict(DEFAULT_KEYS)
    kr = r.table_("keys")
    for metric in Metric:
        value = kr.raw(metric.value)
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            kr.error(metric.value, f"{value!r} is not a key or a list of candidate keys")
            continue
        keys[metric] = tuple(value)
    kr.done()
    if "token" in r.table or "password" in r.table:
        name = "token" if "token" in r.table else "password"
        r.used.add(name)
        r.error(name, "secrets are never written in the config: use "
                f"{name}_env or {name}_file")
    zbx = Zabbix(
        url=_url(r, "url"), token_env=r.str_("token_env"), token_file=r.str_("token_file"),
        user=r.str_("user"), password_env=r.str_("password_env"),
        password_file=r.str_("password_file"), keys=keys,
        stale_after=r.num("stale_after", z.stale_after, 1),
        interval=r.num("interval", z.interval, 1), timeout=r.num("timeout", z.timeout, 0.1))
    r.done()
    if zbx.url and not (zbx.token_env or zbx.token_file or zbx.user):
        r.error("url", f"{zbx.url!r} has no token source: set token_env, token_file, "
                "or user with password_env/password_file")
    if zbx.user and not (zbx.password_env or zbx.password_file):
        r.error("user", f"{zbx.user!r} has no password source: set password_env or "
                "password_file")
    for name in ("token_file", "password_file"):
        value = getattr(zbx, name)
        if value and not Path(value).expanduser().is_file():
            r.error(name, f"{value!r} does not exist")
    return zbx


def _keys(r: TableReader) -> dict[str, str]:
    out = {}
    for name, value in r.table.items():
        r.used.add(name)
        if not isinstance(value, str) or not value:
            r.error(name, f"{value!r} is not a key name such as 'c' or 'f5'")
            continue
        out[name] = value
    return out


def _date(r: TableReader, name: str, required: bool = True) -> date | None:
    value = r.str_(name, required=required)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        r.error(name, f"{value!r} is not a date like 2026-11-24")
        return None


def _notice(r: TableReader) -> Notice:
    prepared = []
    raw = r.table.get("prepared")
    if isinstance(raw, list) and any(isinstance(x, str) for x in raw):
        r.used.add("prepared")
        r.error("prepared", "a measure needs its date: write [[notice.prepared]] with text, "
                "date and valid_until (it stops being said after valid_until)")
    else:
        for pr in r.tables("prepared"):
            text = pr.str_("text", required=True)
            on, until = _date(pr, "date"), _date(pr, "valid_until")
            hosts, idcs = pr.strs("hosts"), pr.strs("idcs")
            pr.done()
            if on and until and until < on:
                pr.error("valid_until", f"'{until}' is before date '{on}'")
            elif text and on and until:
                prepared.append(Prepared(text, on, until, hosts, idcs))
    notice = Notice(r.strs("mentions"), tuple(prepared),
                    r.num("recurrence_days", Notice().recurrence_days, 0, 3650, integer=True))
    r.done()
    return notice


def warnings(cfg: Config, today: date) -> list[str]:
    """Not errors, but worth a line from `validate`: facts that will go stale."""
    out = []
    holidays = cfg.duty.office.holidays
    if not holidays or max(holidays).year < today.year:
        last = f"ends in {max(holidays).year}" if holidays else "is empty"
        out.append(f"{cfg.path}: duty.holidays: {last}, not into {today.year}: holidays of "
                   f"{today.year} would count as office hours (add this year's)")
    return out


def _cross_check(file: str, errors: list[str], cfg: Config) -> None:
    fleet = cfg.fleet

    def err(key: str, msg: str) -> None:
        errors.append(f"{file}: {key}: {msg}")

    idc_ids = {i.id for i in fleet.idcs}
    contact_ids = {c.id for c in fleet.contacts}
    _dupes(err, "idcs", [i.id for i in fleet.idcs], "id")
    _dupes(err, "hosts", [h.name for h in fleet.hosts], "name")
    _dupes(err, "contacts", [c.id for c in fleet.contacts], "id")
    _dupes(err, "vantages", [v.id for v in cfg.vantages], "id")
    seen: dict[str, str] = {}
    for i, h in enumerate(fleet.hosts):
        if h.idc and h.idc not in idc_ids:
            err(f"hosts[{i}].idc", f"{h.idc!r} is not a known IDC ({', '.join(sorted(idc_ids))})")
        for side, addr in (("internal", h.internal), ("external", h.external)):
            _claim(err, seen, addr, f"hosts[{i}].{side}")
        _known(err, f"hosts[{i}].admins", h.admins, contact_ids)
    host_names = {h.name for h in fleet.hosts}
    for i, v in enumerate(fleet.vips):
        _claim(err, seen, v.address, f"vips[{i}].address")
        for name in v.hosts:
            if name not in host_names:
                err(f"vips[{i}].hosts", f"{name!r} is not a known host")
        _known(err, f"vips[{i}].admins", v.admins, contact_ids)
    groups: dict[str, list[Host]] = {}
    for h in fleet.hosts:
        if h.group:
            groups.setdefault(h.group, []).append(h)
    for i, h in enumerate(fleet.hosts):
        members = groups.get(h.group, [])
        if h.mode in (Mode.HA, Mode.SSL) and h.group and len(members) == 1:
            err(f"hosts[{i}].group", f"{h.group!r} has one member but mode {h.mode.value} "
                "needs at least two")
    for i, vantage in enumerate(cfg.vantages):
        if vantage.idc and vantage.idc not in idc_ids:
            err(f"vantages[{i}].idc", f"{vantage.idc!r} is not a known IDC")
    _known(err, "notice.mentions", cfg.notice.mentions, contact_ids)
    host_names_ = {h.name for h in fleet.hosts}
    for i, m in enumerate(cfg.notice.prepared):
        for name in m.hosts:
            if name not in host_names_:
                err(f"notice.prepared[{i}].hosts", f"{name!r} is not a known host")
        for idc in m.idcs:
            if idc not in idc_ids:
                err(f"notice.prepared[{i}].idcs", f"{idc!r} is not a known IDC")
    if not fleet.contacts_for(Role.DUTY_ROOM):
        err("contacts", "no contact has role 'duty_room' (the 5666 duty room)")


def _dupes(err: Callable[[str, str], None], table: str, values: list[str], key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value and value in seen:
            err(f"{table}[{i}].{key}", f"{value!r} is a duplicate")
        seen.add(value)


def _claim(err: Callable[[str, str], None], seen: dict[str, str], addr: str, key: str) -> None:
    if not addr:
        return
    if addr in seen:
        err(key, f"{addr!r} is already used by {seen[addr]}")
    else:
        seen[addr] = key


def _known(err: Callable[[str, str], None], key: str, ids: tuple[str, ...],
           known: set[str]) -> None:
    for value in ids:
        if value not in known:
            err(key, f"{value!r} is not a known contact id")


def parse(text: str, file: str = "config.toml") -> Config:
    """Parse and validate config text; raises ConfigError listing every mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_error(file, exc)]) from None
    errors: list[str] = []
    root = TableReader(file, errors, data, "")
    duty = _duty(root.table_("duty"))
    fleet = Fleet(_idcs(root), _hosts(root), _vips(root), _contacts(root))
    vantages = _vantages(root)
    zabbix = _zabbix(root.table_("zabbix"))
    notice = _notice(root.table_("notice"))
    jr = root.table_("jira")
    d = Jira()
    jira = Jira(jr.str_("project", d.project) or d.project,
                jr.str_("issue_type", d.issue_type) or d.issue_type)
    jr.done()
    rr = root.table_("runbook")
    runbook = rr.str_("path")
    rr.done()
    keys = _keys(root.table_("keys"))
    sending = _sending(root.table_("sending"))
    root.done()
    runbook_path = SHIPPED_RUNBOOK
    if runbook:
        runbook_path = (Path(file).parent / Path(runbook).expanduser())
        if not runbook_path.is_file():
            errors.append(f"{file}: runbook.path: {runbook!r} does not exist")
    if not fleet.hosts and not errors:
        errors.append(f"{file}: hosts: the fleet has no host")
    cfg = Config(file, duty, fleet, vantages, zabbix, notice, runbook_path, keys, sending,
                 jira)
    _cross_check(file, errors, cfg)
    if errors:
        raise ConfigError(errors)
    return cfg


def toml_error(file: str, exc: tomllib.TOMLDecodeError) -> str:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column \d+\)", msg)
    if m:
        return f"{file}:{m.group(1)}: invalid TOML: {msg[: m.start()].strip()}"
    return f"{file}: invalid TOML: {msg}"


def load(path: str | Path) -> Config:
    """Read and validate a config file; a missing or unreadable file is a ConfigError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file (create one with 'lvs-tui init')"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    return parse(text, str(path))
