"""What Zabbix's answers mean, checked: item keys and units, and every field the source
uses, by type and range. A whole answer of the wrong shape fails the cycle
(`ZabbixError`); one row with a bad field raises `BadField` and is skipped and counted
(`Skipped`), so the cycle goes on with the rest. A clock ahead of ours by more than
`CLOCK_SKEW`, or before `CLOCK_FLOOR`, is a bad field too: a value stamped in the future
must never pass for a sign of life.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lvs_tui.probes.zabbix_api import ZabbixError

CLOCK_SKEW = 60.0  # a clock this far ahead of ours is still believed (NTP'd machines)
CLOCK_FLOOR = 946684800.0  # 2000-01-01: an older clock is junk, not an old value
SEVERITIES = range(6)  # not classified … disaster

T = TypeVar("T")

# Units Zabbix items carry for traffic → factor to bits per second. Official templates
# store bps; hand-made items often store bytes per second.
_TRAFFIC_SCALE = {"": 1.0, "bps": 1.0, "b/s": 1.0, "bit/s": 1.0, "Bps": 8.0, "B/s": 8.0,
                  "B": 8.0, "Kbps": 1e3, "Mbps": 1e6, "Gbps": 1e9, "KBps": 8e3,
                  "MBps": 8e6, "GBps": 8e9}


# -- item keys -----------------------------------------------------------------------------


def parse_key(key: str) -> tuple[str, tuple[str, ...]]:
    """`net.if.in["bond0"]` → ("net.if.in", ("bond0",)); quotes removed, commas in quotes kept."""
    if "[" not in key or not key.endswith("]"):
        return key, ()
    name, _, rest = key.partition("[")
    params: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    for ch in rest[:-1]:
        if quoted:
            if escaped:
                cur.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            params.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    params.append("".join(cur).strip())
    return name, tuple(params)


def normalize_key(key: str) -> str:
    """One spelling per key: unquoted parameters, trailing empty ones dropped."""
    name, params = parse_key(key)
    while params and params[-1] == "":
        params = params[:-1]
    return f"{name}[{','.join(params)}]" if params else name


def key_spellings(key: str) -> set[str]:
    """The spellings an exact `key_` filter must list: each non-empty parameter plain or quoted."""
    name, params = parse_key(key)
    if not params:
        return {name}
    out = [""]
    for i, p in enumerate(params):
        forms = {p, f'"{p}"'} if p and i < 4 else {p}
        out = [f"{o},{f}" if i else f for o in out for f in forms]
    return {f"{name}[{o}]" for o in out} | {key}


def traffic_scale(units: str) -> float | None:
    """Factor from an item's units to bits/s; None when the units are not a rate we know."""
    return _TRAFFIC_SCALE.get(units.strip())


# -- checking Zabbix's answers ---------------------------------------------------------------


class BadField(ValueError):
    """A field of an answer that cannot be used: '<method> <field> <value>'."""


def as_list(answer: Any, method: str) -> list[Any]:
    """An answer that must be a list, or the cycle fails: its shape is wrong as a whole."""
    if not isinstance(answer, list):
        raise ZabbixError(f"malformed answer to {method}: {type(answer).__name__}, not a list")
    return answer


def field_of(row: Any, name: str, method: str) -> Any:
    if not isinstance(row, dict):
        raise BadField(f"{method} {type(row).__name__} instead of an object")
    if name not in row:
        raise BadField(f"{method} {name} missing")
    return row[name]


def bad(method: str, name: str, value: Any) -> BadField:
    return BadField(f"{method} {name} {shown(value)}")


def printable(text: str, limit: int = 200) -> str:
    """One line of printable characters: a string from Zabbix may hold anything."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def shown(value: Any) -> str:
    """A value quoted for a one-line detail: short, no control characters."""
    return printable(repr(value), 40)


def ident(row: Any, name: str, method: str) -> str:
    """Zabbix ids are digit strings (some versions send numbers)."""
    v = field_of(row, name, method)
    if isinstance(v, bool) or not isinstance(v, str | int) or not str(v).isdigit():
        raise bad(method, name, v)
    return str(v)


def text(row: Any, name: str, method: str, empty: bool = False) -> str:
    v = field_of(row, name, method)
    if not isinstance(v, str) or (not v and not empty):
        raise bad(method, name, v)
    return v


def integer(row: Any, name: str, method: str, allowed: range) -> int:
    v = field_of(row, name, method)
    n = int(v) if isinstance(v, int) and not isinstance(v, bool) else (
        int(v) if isinstance(v, str) and v.isdigit() else None)
    if n is None or n not in allowed:
        raise bad(method, name, v)
    return n


def number(row: Any, name: str, method: str) -> float:
    v = field_of(row, name, method)
    try:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise ValueError
        x = float(v)
    except (ValueError, OverflowError):
        raise bad(method, name, v) from None
    if not math.isfinite(x):
        raise bad(method, name, v)
    return x


def checked_clock(row: Any, name: str, method: str, now: float) -> float:
    """A clock we can believe: a number, not before 2000, not ahead of ours beyond
    CLOCK_SKEW. 'future' / 'past' in the reason let the detail count them apart."""
    c = number(row, name, method)
    if c > now + CLOCK_SKEW:
        raise BadField(f"future clock: {method} {name} {c:.0f} ({c - now:.0f} s ahead)")
    if c < CLOCK_FLOOR:
        raise BadField(f"past clock: {method} {name} {shown(row[name])}")
    return c


@dataclass
class Skipped:
    """What a cycle left out, counted by kind, with the first reason of each kind."""

    counts: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, why: BadField) -> None:
        text = str(why)
        if text.startswith(("future clock", "past clock")):
            kind = text.split(":", 1)[0]
        self.counts[kind] += 1
        self.first.setdefault(kind, text)

    def keep(self, kind: str, fn: Callable[..., T], *args: Any) -> T | None:
        """fn(*args), or None (counted) when a field it checks is bad."""
        try:
            return fn(*args)
        except BadField as why:
            self.add(kind, why)
            return None

    def __bool__(self) -> bool:
        return bool(self.counts)

    def said(self) -> str:
        """'skipped 2 values, 1 future clock (first: history.get value 'N/A')'"""
        parts = [f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(self.counts.items())]
        first = self.first[min(self.counts, key=lambda k: (-self.counts[k], k))]
        return f"skipped {', '.join(parts)} ({first})"


@dataclass(frozen=True, slots=True)
class ProblemRow:
    objectid: str  # the trigger
    name: str
    severity: int
    clock: float


@dataclass(frozen=True, slots=True)
class ProxyRow:
    proxyid: str
    name: str
    lastaccess: float  # 0: never


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One checked row of item.get."""

    itemid: str
    hostid: str
    host: str  # Zabbix's technical host name
    key: str  # as Zabbix spells it
    value_type: int
    units: str
    unsupported: bool
    error: str
    proxyid: str  # "0": polled by the server itself
    row: dict[str, Any]  # for lastclock/lastvalue, checked apart (a bad one skips the value)


def item_row(it: Any) -> ItemRow:
    m = "item.get"
    hosts = field_of(it, "hosts", m)
    if not isinstance(hosts, list) or not hosts:
        raise bad(m, "hosts", hosts)
    host = hosts[0]
    proxy = host.get("proxyid", host.get("proxy_hostid", "0")) if isinstance(host, dict) else 0
    if isinstance(proxy, bool) or not isinstance(proxy, str | int) or not str(proxy).isdigit():
        raise bad(m, "proxyid", proxy)
    error = it.get("error", "")
    return ItemRow(ident(it, "itemid", m), ident(it, "hostid", m), text(host, "host", m),
                   text(it, "key_", m), integer(it, "value_type", m, range(6)),
                   text(it, "units", m, empty=True) if "units" in it else "",
                   integer(it, "state", m, range(2)) == 1 if "state" in it else False,
                   printable(error) if isinstance(error, str) else "", str(proxy), it)


def last_clock(item: ItemRow, now: float) -> float | None:
    """item.get's lastclock when it has one ("0": none in the last 24 h)."""
    if item.row.get("lastclock") in (None, "", "0", 0):
        return None
    return checked_clock(item.row, "lastclock", "item.get", now)


def problem_row(p: Any, now: float) -> ProblemRow:
    m = "problem.get"
    return ProblemRow(ident(p, "objectid", m), printable(text(p, "name", m)),
                      integer(p, "severity", m, SEVERITIES), checked_clock(p, "clock", m, now))


def trigger_hosts(t: Any) -> tuple[str, tuple[str, ...]]:
    m = "trigger.get"
    hosts = field_of(t, "hosts", m)
    if not isinstance(hosts, list):
        raise bad(m, "hosts", hosts)
    return ident(t, "triggerid", m), tuple(ident(h, "hostid", m) for h in hosts)


def proxy_row(p: Any, skipped: Skipped, now: float) -> ProxyRow:
    """A proxy; an unbelievable `lastaccess` is counted and kept as NaN (never fresh)."""
    m = "proxy.get"
    proxyid = ident(p, "proxyid", m)
    name = p.get("name", p.get("host", ""))
    if not isinstance(name, str):
        raise bad(m, "name", name)
    last = field_of(p, "lastaccess", m)
    if last in ("0", 0):
        return ProxyRow(proxyid, name, 0.0)
    try:
        return ProxyRow(proxyid, name, checked_clock(p, "lastaccess", m, now))
    except BadField as why:
        skipped.add("proxy", why)
        return ProxyRow(proxyid, name, math.nan)


