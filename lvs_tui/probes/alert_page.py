"""The 5666 alert page: polled with httpx; every fleet address it names gets flagged.

5666 phones about what their ping page shows, so the console watches the same page: any
fleet address (host side or VIP) found anywhere in its text is "on the 5666 page". When the
page cannot be read, the last reading is kept with its time (its age shows), and the source
goes down: never an empty page pretending that nothing alerts. A reading has a hard total
deadline (`timeout`), however slowly the page streams.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from lvs_tui.config import Config
from lvs_tui.probes import Source
from lvs_tui.probes.supervisor import one_line
from lvs_tui.state import AlertPage, SourceState, SourceStatus, StateStore

NAME = "alert_page"
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
                   r"(?![0-9A-Fa-f:])")
PAGE_LIMIT = 4 * 1024 * 1024  # bytes read of the page at most


@dataclass(frozen=True, slots=True)
class AlertPageSettings:
    url: str
    interval: float = 30.0
    timeout: float = 10.0


def addresses_in(text: str, fleet: frozenset[str]) -> frozenset[str]:
    """The fleet addresses named in a page (canonical spelling), whatever the markup."""
    found = set()
    for m in (*_IPV4.finditer(text), *_IPV6.finditer(text)):
        try:
            addr = str(ipaddress.ip_address(m.group(0)))
        except ValueError:
            continue
        if addr in fleet:
            found.add(addr)
    return frozenset(found)


class AlertPageSource:
    """A `Source`: polls the page every interval until cancelled; never raises for I/O."""

    name = NAME

    def __init__(self, settings: AlertPageSettings, fleet_addresses: Iterable[str],
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.fleet = frozenset(str(ipaddress.ip_address(a)) for a in fleet_addresses)
        self.clock = clock
        self.last_ok: float | None = None

    async def run(self, store: StateStore) -> None:
        store.set_source(SourceStatus(NAME, SourceState.STARTING, self.clock()))
        async with httpx.AsyncClient(timeout=self.settings.timeout,
                                     follow_redirects=True) as client:
            while True:
                await self.poll(client, store)
                await asyncio.sleep(self.settings.interval)

    async def poll(self, client: httpx.AsyncClient, store: StateStore) -> None:
        """One reading of the page into the store."""
        try:
            # httpx's timeout bounds each read: a page trickling in would never trip it
            async with asyncio.timeout(self.settings.timeout):
                text = await self._fetch(client)
        except Exception as exc:  # any failure to read is the page being down, said once
            store.set_source(SourceStatus(NAME, SourceState.DOWN, self.clock(), _why(exc),
                                          self.last_ok))
            return
        now = self.clock()
        found = addresses_in(text, self.fleet)
        self.last_ok = now
        store.set_alert_page(AlertPage(now, found))
        store.set_source(SourceStatus(NAME, SourceState.OK, now,
                                      f"{len(found)} fleet addresses on the page", now))

    async def _fetch(self, client: httpx.AsyncClient) -> str:
        async with client.stream("GET", self.settings.url) as resp:
            if resp.status_code != 200:
                raise _PageError(f"HTTP {resp.status_code}")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > PAGE_LIMIT:
                    break
            return bytes(body[:PAGE_LIMIT]).decode(resp.encoding or "utf-8", errors="replace")


class _PageError(ValueError):
    pass


def _why(exc: Exception) -> str:
    """A short reason for the header: 'HTTP 502', 'timeout', 'connection refused'."""
    if isinstance(exc, _PageError):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:  # httpx hides the OS error in the exception chain
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                return "connection refused"
            cause = cause.__cause__ or cause.__context__
        return f"cannot connect: {one_line(exc, 100)}"
    return one_line(exc, 120)


def alert_page_sources(cfg: Config) -> list[Source]:
    """The alert-page source when `duty.alert_page` is set; none otherwise."""
    duty = cfg.duty
    if not duty.alert_page:
        return []
    timeout = min(duty.alert_timeout, duty.alert_interval)
    settings = AlertPageSettings(duty.alert_page, duty.alert_interval, timeout)
    return [AlertPageSource(settings, cfg.fleet.addresses())]
