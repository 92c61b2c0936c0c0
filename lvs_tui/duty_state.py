"""The duty's own state: acknowledgements, maintenance windows, silences, flapping (pure).

Everything here is folded from events of the incident log (`fold`), so every console that
reads the same log sees the same state, a restart resumes it, and every change is audited.
Parsing what the operator types (`--for 2h`, `--until "2026-12-07 06:00"`,
`--weekly "Tue 02:00-04:00"`) and checking a new window or silence are here too, as pure
functions raising `DutyInputError` with one line naming the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from lvs_tui.fleet import Fleet

MAX_WINDOW = 7 * 86400.0  # a window or silence longer than a week is a forgotten one
ALERT_PAGE = "alert_page"  # the silence target naming the 5666 page
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?$")
_WEEKLY = re.compile(r"^([a-z]{3})\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class DutyInputError(ValueError):
    """An operator's input that cannot be taken: one line naming the value."""


# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """Who is on a host's incident. Void once the incident closes or the host gets worse."""

    host: str
    incident: int | None
    who: str
    t: float
    severity: int  # the severity acknowledged: a worse one needs a new acknowledgement
    situation: str
    note: str = ""

    def covers(self, incident: int | None, severity: int) -> bool:
        return incident == self.incident and severity <= self.severity


@dataclass(frozen=True, slots=True)
class Weekly:
    """A routine window: every `day` from `start` for `length` seconds (local time)."""

    day: int  # 0 = Monday
    start: tuple[int, int]  # hour, minute
    length: float

    @classmethod
    def parse(cls, text: str) -> Weekly:
        m = _WEEKLY.match(text.strip().lower())
        if m is None or m.group(1) not in WEEKDAYS:
            raise DutyInputError(f"--weekly {text!r}: expected like 'Tue 02:00-04:00'")
        h1, m1, h2, m2 = (int(m.group(i)) for i in range(2, 6))
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
            raise DutyInputError(f"--weekly {text!r}: not a time of day")
        length = ((h2 * 60 + m2) - (h1 * 60 + m1)) % (24 * 60) * 60.0
        if length == 0:
            raise DutyInputError(f"--weekly {text!r}: the window is empty")
        return cls(WEEKDAYS.index(m.group(1)), (h1, m1), length)

    def occurrence(self, t: float, tz: tzinfo) -> tuple[float, float] | None:
        """The occurrence around `t` (start, end), if `t` is inside one."""
        local = datetime.fromtimestamp(t, tz)
        for back in (0, 1):  # today's, or yesterday's that runs past midnight
            day = local.date() - timedelta(days=back)
            if day.weekday() != self.day:
                continue
            start = datetime(day.year, day.month, day.day, *self.start, tzinfo=tz).timestamp()
            if start <= t < start + self.length:
                return start, start + self.length
        return None

    @property
    def text(self) -> str:
        h, m = self.start
        end = (h * 60 + m + int(self.length // 60)) % (24 * 60)
        return f"每{'一二三四五六日'[self.day]} {h:02d}:{m:02d}-{end // 60:02d}:{end % 60:02d}"


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window on a target (host, address, VIP, group or IDC)."""

    id: str
    target: str
    hosts: frozenset[str]
    start: float
    end: float | None  # None: a weekly window until it is ended
    reason: str
    who: str
    weekly: Weekly | None = None
    ended: float | None = None  # ended early by someone

    def span(self, t: float, tz: tzinfo) -> tuple[float, float] | None:
        """(start, end) of the window in force at `t`, if any."""
        if self.ended is not None and t >= self.ended:
            return None
        if self.end is not None and t >= self.end:
            return None
        if self.weekly is None:
            return (self.start, self.end if self.end is not None else t) \
                if t >= self.start else None
        if t < self.start:
            return None
        return self.weekly.occurrence(t, tz)

    def active(self, t: float, tz: tzinfo) -> bool:
        return self.span(t, tz) is not None


@dataclass(frozen=True, slots=True)
class Silence:
    """A source silenced: a vantage, every vantage of a carrier, or the 5666 page."""

    id: str
    target: str  # as typed: a vantage id or name, a carrier, or alert_page
    vantages: frozenset[str]  # vantage ids it covers
    alert_page: bool
    start: float
    end: float
    reason: str
    who: str
    ended: float | None = None

    def active(self, t: float) -> bool:
        return self.start <= t < self.end and (self.ended is None or t < self.ended)


@dataclass(frozen=True, slots=True)
class DutyState:
    acks: Mapping[str, Ack] = field(default_factory=dict)
    windows: tuple[Window, ...] = ()
    silences: tuple[Silence, ...] = ()

    def maintenance(self, host: str, t: float, tz: tzinfo) -> Window | None:
        return next((w for w in self.windows if host in w.hosts and w.active(t, tz)), None)

    def active_windows(self, t: float, tz: tzinfo) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if w.active(t, tz))

    def silenced_vantages(self, t: float) -> dict[str, str]:
        """Vantage id -> the reason it is silenced now."""
        out: dict[str, str] = {}
        for s in self.silences:
            if s.active(t):
                for v in s.vantages:
                    out.setdefault(v, s.reason)
        return out

    def alert_page_silenced(self, t: float) -> Silence | None:
        return next((s for s in self.silences if s.alert_page and s.active(t)), None)

    def ack(self, host: str, incident: int | None, severity: int) -> Ack | None:
        """The acknowledgement in force for the host's incident at this severity."""
        a = self.acks.get(host)
        return a if a is not None and a.covers(incident, severity) else None


@dataclass(frozen=True, slots=True)
class HostMark:
    """What the duty's state says of one host on a board (only hosts with something)."""

    ack: Ack | None = None  # in force for this incident and severity
    stale_ack: Ack | None = None  # given for a milder situation: a new one is needed
    maintenance: Window | None = None
    maintenance_until: float | None = None  # end of the occurrence in force
    flapping: bool = False

    @property
    def quiet(self) -> bool:
        """No bell, no re-alert: someone is on it, or the work is planned."""
        return self.ack is not None or self.maintenance is not None


# -- the events it is folded from ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DutyEvent:
    """What `fold` reads of an incident-log event (kind names as in incidents.EventKind)."""

    kind: str  # ack | unack | maintenance | maintenance_end | silence | silence_end
    host: str
    incident: int | None
    t: float
    name: str
    detail: str
    data: Mapping[str, object]


def fold(events: Iterable[DutyEvent], base: DutyState | None = None) -> DutyState:
    """The duty state after `events` (in log order), starting from `base`."""
    state = base or DutyState()
    acks = dict(state.acks)
    windows = {w.id: w for w in state.windows}
    silences = {s.id: s for s in state.silences}
    for e in events:
        d = e.data
        if e.kind == "ack":
            acks[e.host] = Ack(e.host, e.incident, _s(d, "who"), e.t, _i(d, "severity"),
                               e.name, e.detail)
        elif e.kind == "unack":
            acks.pop(e.host, None)
        elif e.kind == "maintenance":
            windows[e.name] = _window(e)
        elif e.kind == "maintenance_end" and e.name in windows:
            windows[e.name] = replace(windows[e.name], ended=e.t)
        elif e.kind == "silence":
            silences[e.name] = Silence(
                e.name, _s(d, "target"), frozenset(_strs(d, "vantages")),
                bool(d.get("alert_page")), _f(d, "start", e.t), _f(d, "end", e.t),
                e.detail, _s(d, "who"))
        elif e.kind == "silence_end" and e.name in silences:
            silences[e.name] = replace(silences[e.name], ended=e.t)
    return DutyState(acks, tuple(windows.values()), tuple(silences.values()))


def _window(e: DutyEvent) -> Window:
    d = e.data
    weekly = d.get("weekly")
    end = d.get("end")
    return Window(e.name, _s(d, "target"), frozenset(_strs(d, "hosts")), _f(d, "start", e.t),
                  float(end) if isinstance(end, int | float) else None, e.detail, _s(d, "who"),
                  Weekly.parse(weekly) if isinstance(weekly, str) and weekly else None)


def _s(d: Mapping[str, object], key: str) -> str:
    v = d.get(key)
    return v if isinstance(v, str) else ""


def _i(d: Mapping[str, object], key: str) -> int:
    v = d.get(key)
    return v if isinstance(v, int) else 0


def _f(d: Mapping[str, object], key: str, default: float) -> float:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) else default


def _strs(d: Mapping[str, object], key: str) -> tuple[str, ...]:
    v = d.get(key)
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


# -- what the operator types ----------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """'2h', '90m', '1d', '1h30m' -> seconds."""
    m = _DURATION.match(text.strip().lower())
    if not text.strip() or m is None or not any(m.groups()):
        raise DutyInputError(f"--for {text!r}: expected a duration like 2h, 90m, 1d or 1h30m")
    d, h, mins = (int(g or 0) for g in m.groups())
    seconds = d * 86400.0 + h * 3600.0 + mins * 60.0
    if seconds <= 0:
        raise DutyInputError(f"--for {text!r}: must be longer than zero")
    return seconds


def parse_until(text: str, tz: tzinfo) -> float:
    """'2026-12-07 06:00' in the duty time zone -> epoch."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=tz).timestamp()
        except ValueError:
            continue
    raise DutyInputError(f"--until {text!r}: expected like '2026-12-07 06:00' (duty time zone)")


def resolve_hosts(target: str, fleet: Fleet) -> frozenset[str]:
    """The hosts a maintenance target covers: a host, an address it owns, a VIP (address or
    label: every host announcing it), a peer group, or an IDC (id or name)."""
    t = target.strip()
    if fleet.has_host(t):
        return frozenset({t})
    owner = fleet.owner(t)
    if owner is not None:
        return frozenset(owner.hosts)
    for v in fleet.vips:
        if t == v.label:
            return frozenset(v.hosts)
    group = frozenset(h.name for h in fleet.hosts if h.group and h.group == t)
    if group:
        return group
    idc = frozenset(h.name for h in fleet.hosts
                    if h.idc == t or fleet.idc(h.idc).name == t)
    if idc:
        return idc
    raise DutyInputError(f"target {target!r}: not a host, address, VIP, group or IDC "
                         "of this fleet")


def check_span(start: float, end: float, now: float, what: str = "--until",
               tz: tzinfo | None = None) -> None:
    try:
        at = datetime.fromtimestamp(end, tz).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):  # out of the calendar: say the seconds
        at = f"{end:.0f} s since 1970"
    if end <= now:
        raise DutyInputError(f"{what}: the end is in the past ({at})")
    if end - start > MAX_WINDOW:
        raise DutyInputError(f"{what}: at most 7 days (the end would be {at})")


def check_reason(reason: str) -> str:
    clean = " ".join(reason.split())
    if not clean:
        raise DutyInputError("--reason: a reason is required (what work, by whom)")
    return clean


def overlapping(windows: Sequence[Window], hosts: frozenset[str], start: float,
                end: float | None, weekly: Weekly | None, now: float,
                tz: tzinfo) -> Window | None:
    """A window still to come or in force on any of `hosts` that overlaps the new one.
    Weekly windows are compared by their occurrences over the next two weeks."""
    horizon = now + 14 * 86400.0

    def spans(w_start: float, w_end: float | None, w_weekly: Weekly | None
              ) -> list[tuple[float, float]]:
        last = min(w_end if w_end is not None else horizon, horizon)
        if w_weekly is None:
            return [(w_start, last)]
        out = []
        t = max(w_start, now)
        day = datetime.fromtimestamp(t, tz).date()
        for k in range(15):
            d = day + timedelta(days=k)
            if d.weekday() == w_weekly.day:
                s = datetime(d.year, d.month, d.day, *w_weekly.start, tzinfo=tz).timestamp()
                if s + w_weekly.length > t and s < last:
                    out.append((s, min(s + w_weekly.length, last)))
        return out

    mine = spans(start, end, weekly)
    for w in windows:
        if not (w.hosts & hosts) or w.ended is not None or \
                (w.end is not None and w.end <= now):
            continue
        theirs = spans(w.start, w.end, w.weekly)
        if any(a < d and c < b for a, b in mine for c, d in theirs):
            return w
    return None


def silence_target(target: str, vantages: Sequence[tuple[str, str, str]]
                   ) -> tuple[frozenset[str], bool]:
    """A silence target -> (vantage ids, alert page). `vantages`: (id, name, carrier)."""
    t = target.strip()
    if t.lower() in (ALERT_PAGE, "5666"):
        return frozenset(), True
    ids = frozenset(i for i, name, carrier in vantages if t in (i, name) or
                    (carrier and t == carrier))
    if not ids:
        known = ", ".join(sorted({i for i, _, _ in vantages}))
        raise DutyInputError(f"silence target {target!r}: not a vantage ({known}), a "
                             f"carrier, or {ALERT_PAGE}")
    return ids, False


# -- flapping ----------------------------------------------------------------------------------


def flapping(changes: Sequence[float], now: float, window: float, limit: int,
             was: bool) -> bool:
    """More than `limit` changes between ok and not-ok within `window` starts flapping; it
    ends after a quiet `window` (no change at all), as Zabbix and Nagios do."""
    recent = [t for t in changes if now - t <= window]
    if len(recent) > limit:
        return True
    return was and bool(recent)

