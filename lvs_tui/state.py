"""The state store: the one place collectors write and the UI and diagnosis read.

Every value carries its own time (epoch seconds). Ping results live in compact fixed-size
rings (arrays, not objects) because the console keeps thousands of addresses × vantages
for days; metrics keep the last hour per host. Writers may be threads (Zabbix) or the
asyncio loop (ICMP): one lock guards every mutation, reads return immutable copies.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
from operator import add
from typing import NamedTuple


class Metric(StrEnum):
    CPU = "cpu"
    BOND0_IN = "bond0_in"
    BOND0_OUT = "bond0_out"
    BOND1_IN = "bond1_in"
    BOND1_OUT = "bond1_out"


METRICS = tuple(Metric)  # iterating an enum class is slow; the fleet does it every second


class SourceState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"  # answering, but partly (some items, a slow cycle)
    DOWN = "down"  # failing: its data is stale
    STALE = "stale"  # no cycle completed within its deadline (probes/supervisor.py)
    OFF = "off"  # not configured


class LoginState(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PingSample:
    """One probe (sent=1) or one aggregated check (a Zabbix icmpping item, an fping -C run).

    `error` set means the probe could not be made: that sample is unknown, never lost.
    """

    t: float
    sent: int
    received: int
    rtt: float | None = None  # seconds, mean over the answered probes
    error: str | None = None

    @property
    def lost(self) -> int:
        return self.sent - self.received


@dataclass(frozen=True, slots=True)
class MetricSample:
    clock: float  # the clock Zabbix gave the value, not when we read it
    value: float


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A collector's own health, shown in the header."""

    name: str  # "icmp", "zabbix", "vantage:unicom", "alert_page"
    state: SourceState
    since: float  # when it entered this state
    detail: str = ""  # e.g. "raw socket", "HTTP 502", "token rejected"
    last_ok: float | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """An active Zabbix problem on a host."""

    name: str
    severity: int
    clock: float


@dataclass(frozen=True, slots=True)
class Login:
    state: LoginState
    t: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AlertPage:
    """What the 5666 alert page last said: the fleet addresses it names."""

    t: float
    addresses: frozenset[str]


class RingSummary(NamedTuple):
    """What diagnosis needs from one (vantage, address) ring, computed without building
    a sample object per entry (the console summarises thousands of rings a second; a
    named tuple is built in C, a frozen dataclass field by field: 3x the cost here)."""

    newest_t: float
    newest_error: str | None
    state: bool | None  # newest run of >= `need` agreeing probes: True up, False down
    sent: int  # over the window
    received: int
    rtt: float | None  # mean over the window's answers, seconds
    last_up: float | None
    silent_since: float | None


class PingRing:
    """Fixed-size ring of ping samples stored as parallel arrays."""

    __slots__ = ("_cache", "_err", "_multi", "_n", "_next", "_rcv", "_rtt", "_sent", "_t",
                 "last_up", "silent_since", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._t = array("d", bytes(8 * size))
        self._rtt = array("d", bytes(8 * size))
        self._sent = array("H", bytes(2 * size))
        self._rcv = array("H", bytes(2 * size))
        self._err: dict[int, str] = {}  # rare: slot -> error text
        self._n = 0
        self._next = 0
        self._multi = 0  # entries whose sent is not 1 (aggregated checks, sent=0 markers)
        # Kept beyond the ring: when it last answered, and when the silence after that
        # began, so an outage longer than the ring still has its true start.
        self.last_up: float | None = None
        self.silent_since: float | None = None
        # Remote vantages add a sample a minute but are judged every second: keep the last
        # summary until the next add.
        self._cache: tuple[int, int, RingSummary] | None = None

    def add(self, s: PingSample) -> None:
        self.put(s.t, s.sent, s.received, s.rtt, s.error)

    def put(self, t: float, sent: int, received: int, rtt: float | None,
            error: str | None = None) -> None:
        """`add` without a PingSample: the batch writers' path."""
        self._cache = None
        if error is None and sent > 0:
            if received:
                self.last_up, self.silent_since = t, None
            elif self.silent_since is None:
                self.silent_since = t
        i = self._next
        if self._n == self.size and self._sent[i] != 1:
            self._multi -= 1
        if sent != 1:
            self._multi += 1
        self._t[i] = t
        self._rtt[i] = math.nan if rtt is None else rtt
        self._sent[i] = min(sent, 65535)
        self._rcv[i] = min(received, 65535)
        if error is not None:
            self._err[i] = error
        elif self._err:
            self._err.pop(i, None)
        self._next = (i + 1) % self.size
        if self._n < self.size:
            self._n += 1

    def __len__(self) -> int:
        return self._n

    def samples(self, last: int | None = None) -> tuple[PingSample, ...]:
        """Oldest first; `last` limits to the newest N."""
        n = self._n if last is None else min(last, self._n)
        start = (self._next - n) % self.size
        out = []
        for k in range(n):
            i = (start + k) % self.size
            rtt = self._rtt[i]
            out.append(PingSample(self._t[i], self._sent[i], self._rcv[i],
                                  None if math.isnan(rtt) else rtt, self._err.get(i)))
        return tuple(out)

    def summary(self, window: int, need: int) -> RingSummary | None:
        """Walk back from the newest entry: the window's loss and RTT, and the state of the
        newest run of `need` consecutive agreeing probes (hysteresis). A run shorter than
        `need` does not change the state; an aggregated check of 3 probes counts 3."""
        if not self._n:
            return None
        cached = self._cache
        if cached is not None and cached[0] == window and cached[1] == need:
            return cached[2]
        summary = self._single_probes(window, need) or self._summarise(window, need)
        self._cache = (window, need, summary)
        return summary

    def _single_probes(self, window: int, need: int) -> RingSummary | None:
        """`_summarise` for the usual local ring (one probe per entry, no errors, the
        newest `need` agreeing), on array slices; None when that is not the case."""
        i, n = self._next, window
        if self._err or self._multi or self._n < n or need > n:
            return None
        if i >= n:
            rcv, rtt = self._rcv[i - n:i], self._rtt[i - n:i]
        else:
            rcv, rtt = self._rcv[i - n:] + self._rcv[:i], self._rtt[i - n:] + self._rtt[:i]
        recent = rcv[n - need:]
        if min(recent) > 0:
            state = True
        elif max(recent) == 0:
            state = False
        else:
            return None  # a run shorter than `need`: walk back
        rtt_sum = reduce(add, reversed(rtt), 0.0) if min(rcv) == 1 == max(rcv) else math.nan
        rtt_n = n
        if rtt_sum != rtt_sum:  # not every entry answered once with an RTT: sum what did
            rtt_sum, rtt_n = 0.0, 0
            for r, x in zip(reversed(rcv), reversed(rtt), strict=True):  # the walk's order
                if r and x == x:  # answered, RTT not NaN
                    rtt_sum += x * r
                    rtt_n += r
        newest = (i - 1) % self.size
        return RingSummary(self._t[newest], None, state, n, sum(rcv),
                           rtt_sum / rtt_n if rtt_n else None, self.last_up, self.silent_since)

    def _summarise(self, window: int, need: int) -> RingSummary:
        size, t, sent_a, rcv_a, rtt_a, err = (self.size, self._t, self._sent, self._rcv,
                                              self._rtt, self._err)
        newest = (self._next - 1) % size
        sent = rcv = probes = 0
        rtt_sum, rtt_n = 0.0, 0
        state: bool | None = None
        run_up: bool | None = None
        run_len = 0
        any_up = False
        for k in range(self._n):
            j = (newest - k) % size
            s, r = sent_a[j], rcv_a[j]
            if s == 0 or j in err:
                continue
            up = r > 0
            any_up = any_up or up
            if probes < window:
                probes += s
                sent += s
                rcv += r
                if up and rtt_a[j] == rtt_a[j]:  # not NaN
                    rtt_sum += rtt_a[j] * r
                    rtt_n += r
            if state is None:
                if up != run_up:
                    run_up, run_len = up, 0
                run_len += r if up else s
                if run_len >= need:
                    state = run_up
            elif probes >= window:
                break
        if state is None and any_up:
            state = True  # flapping or just started: whatever answers is alive
        return RingSummary(t[newest], err.get(newest), state, sent, rcv,
                           rtt_sum / rtt_n if rtt_n else None, self.last_up, self.silent_since)

    def newest(self) -> PingSample | None:
        return self.samples(1)[0] if self._n else None


class StateStore:
    """Everything the console knows, time-stamped. Collectors write, everyone else reads."""

    def __init__(self, ping_window: int = 120, metric_horizon: float = 3600.0) -> None:
        self.ping_window = ping_window
        self.metric_horizon = metric_horizon
        self._lock = threading.Lock()
        self._pings: dict[tuple[str, str], PingRing] = {}
        self._metrics: dict[tuple[str, Metric], deque[MetricSample]] = {}
        self._sources: dict[str, SourceStatus] = {}
        self._problems: dict[str, tuple[Problem, ...]] = {}
        self._logins: dict[str, Login] = {}
        self._alert_page: AlertPage | None = None
        self.version = 0  # bumped on every write: lets the UI skip redraws when nothing changed

    # -- writers (collectors) ------------------------------------------------------------
    def add_ping(self, vantage: str, address: str, sample: PingSample) -> None:
        with self._lock:
            ring = self._pings.get((vantage, address))
            if ring is None:
                ring = self._pings[(vantage, address)] = PingRing(self.ping_window)
            ring.add(sample)
            self.version += 1

    def add_pings(self, vantage: str,
                  batch: Iterable[tuple[str, float, int, int, float | None]]) -> None:
        """Many probe results at once, each (address, t, sent, received, rtt seconds or None),
        without an error: one lock and one version bump for the batch, and no PingSample
        object per probe (the ICMP engine writes thousands a second)."""
        with self._lock:
            pings, size = self._pings, self.ping_window
            for address, t, sent, received, rtt in batch:
                ring = pings.get((vantage, address))
                if ring is None:
                    ring = pings[(vantage, address)] = PingRing(size)
                ring.put(t, sent, received, rtt)
            self.version += 1

    def add_metric(self, host: str, metric: Metric, sample: MetricSample) -> None:
        """Append in clock order; older-than-newest values are ignored (re-reads overlap)."""
        with self._lock:
            buf = self._metrics.setdefault((host, metric), deque())
            if buf and sample.clock <= buf[-1].clock:
                return
            buf.append(sample)
            while buf and buf[0].clock < sample.clock - self.metric_horizon:
                buf.popleft()
            self.version += 1

    def set_source(self, status: SourceStatus) -> None:
        """Record a source's state; `since` is kept while the state does not change."""
        with self._lock:
            old = self._sources.get(status.name)
            if old is not None and old.state is status.state and status.since >= old.since:
                status = SourceStatus(status.name, status.state, old.since, status.detail,
                                      status.last_ok if status.last_ok is not None
                                      else old.last_ok)
            self._sources[status.name] = status
            self.version += 1

    def set_problems(self, host: str, problems: tuple[Problem, ...]) -> None:
        with self._lock:
            self._problems[host] = problems
            self.version += 1

    def set_login(self, host: str, login: Login) -> None:
        with self._lock:
            self._logins[host] = login
            self.version += 1

    def set_alert_page(self, page: AlertPage) -> None:
        with self._lock:
            self._alert_page = page
            self.version += 1

    # -- readers -----------------------------------------------------------------------
    def pings(self, vantage: str, address: str, last: int | None = None
              ) -> tuple[PingSample, ...]:
        with self._lock:
            ring = self._pings.get((vantage, address))
            return ring.samples(last) if ring else ()

    def ping_summary(self, vantage: str, address: str, window: int, need: int
                     ) -> RingSummary | None:
        with self._lock:
            ring = self._pings.get((vantage, address))
            return ring.summary(window, need) if ring else None

    def ping_summaries(self, vantage: str, addresses: Iterable[str], window: int, need: int
                       ) -> list[RingSummary | None]:
        """`ping_summary` for many addresses under one lock (None: no ring)."""
        with self._lock:
            get = self._pings.get
            out: list[RingSummary | None] = []
            for address in addresses:
                ring = get((vantage, address))
                out.append(ring.summary(window, need) if ring is not None else None)
            return out

    def ping_marks(self, vantage: str, address: str) -> tuple[float | None, float | None]:
        """(last answered, silent since) over the whole history, not just the ring."""
        with self._lock:
            ring = self._pings.get((vantage, address))
            return (ring.last_up, ring.silent_since) if ring else (None, None)

    def ping_keys(self) -> tuple[tuple[str, str], ...]:
        with self._lock:
            return tuple(self._pings)

    def metrics(self, host: str, metric: Metric) -> tuple[MetricSample, ...]:
        with self._lock:
            return tuple(self._metrics.get((host, metric), ()))

    def latest_metric(self, host: str, metric: Metric) -> MetricSample | None:
        with self._lock:
            buf = self._metrics.get((host, metric))
            return buf[-1] if buf else None

    def latest_metrics(self, host: str) -> tuple[MetricSample | None, ...]:
        """The newest sample of every Metric, in the enum's order, under one lock."""
        with self._lock:
            get = self._metrics.get
            out = []
            for m in METRICS:
                buf = get((host, m))
                out.append(buf[-1] if buf else None)
            return tuple(out)

    def source(self, name: str) -> SourceStatus | None:
        with self._lock:
            return self._sources.get(name)

    def sources(self) -> tuple[SourceStatus, ...]:
        with self._lock:
            return tuple(self._sources.values())

    def problems(self, host: str) -> tuple[Problem, ...]:
        with self._lock:
            return self._problems.get(host, ())

    def login(self, host: str) -> Login | None:
        with self._lock:
            return self._logins.get(host)

    def alert_page(self) -> AlertPage | None:
        with self._lock:
            return self._alert_page
