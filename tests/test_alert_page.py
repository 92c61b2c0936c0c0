"""The 5666 alert page poller against a real local HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from lvs_tui.config import parse
from lvs_tui.probes.alert_page import (
    AlertPageSettings,
    AlertPageSource,
    addresses_in,
    alert_page_sources,
)
from lvs_tui.state import SourceState, StateStore

FLEET = frozenset({"10.1.0.11", "10.1.0.12", "10.1.0.100", "2001:db8::80"})
PAGE = """<html><head><meta charset="gbk"></head><body><table>
<tr><td>10.1.0.11</td><td>ping 丢包 100%</td></tr>
<tr><td>10.1.0.200</td><td>not ours</td></tr>
<tr><td>VIP 10.1.0.100:80 不通</td></tr><tr><td>2001:DB8:0::80</td></tr>
<tr><td>110.1.0.12</td><td>10.1.0.12.5 is a version, 12:30:45 a time</td></tr>
</table></body></html>"""


@dataclass
class Page:
    """What the server answers; tests change it between polls."""

    status: int = 200
    body: str = PAGE
    delay: float = 0.0
    hits: list[float] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[tuple[str, Page]]:
    page = Page()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page.hits.append(time.time())
            time.sleep(page.delay)
            data = page.body.encode("gbk")
            self.send_response(page.status)
            self.send_header("Content-Type", "text/html; charset=gbk")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ping", page
    httpd.shutdown()
    httpd.server_close()


def test_addresses_in_finds_fleet_addresses_only() -> None:
    assert addresses_in(PAGE, FLEET) == {"10.1.0.11", "10.1.0.100", "2001:db8::80"}
    assert addresses_in("", FLEET) == frozenset()


async def poll(url: str, store: StateStore, clock: float, timeout: float = 2.0) -> None:
    src = AlertPageSource(AlertPageSettings(url, 30, timeout), FLEET, clock=lambda: clock)
    async with httpx.AsyncClient(timeout=timeout) as client:
        await src.poll(client, store)


async def test_ok_then_errors_keep_the_last_reading_with_its_age(server: tuple[str, Page]
                                                                 ) -> None:
    url, page = server
    store = StateStore()
    src = AlertPageSource(AlertPageSettings(url, 30, 0.5), FLEET, clock=lambda: now)
    async with httpx.AsyncClient(timeout=0.5) as client:
        now = 1000.0
        await src.poll(client, store)
        shown = store.alert_page()
        assert shown is not None and shown.t == 1000.0
        assert shown.addresses == {"10.1.0.11", "10.1.0.100", "2001:db8::80"}
        status = store.source("alert_page")
        assert status is not None and status.state is SourceState.OK
        assert status.detail == "3 fleet addresses on the page"
        # a server error: source down, the reading stays with its age
        page.status, now = 502, 1030.0
        await src.poll(client, store)
        status = store.source("alert_page")
        assert status is not None and status.state is SourceState.DOWN
        assert status.detail == "HTTP 502" and status.last_ok == 1000.0
        assert store.alert_page() == shown
        # a page that hangs: timeout
        page.status, page.delay, now = 200, 2.0, 1060.0
        await src.poll(client, store)
        status = store.source("alert_page")
        assert status is not None and status.detail == "timeout" and status.since == 1030.0
        # back: an empty page clears the flags
        page.delay, page.body, now = 0.0, "<html>all quiet</html>", 1090.0
        await src.poll(client, store)
        assert store.alert_page().addresses == frozenset()  # type: ignore[union-attr]
        assert store.source("alert_page").state is SourceState.OK  # type: ignore[union-attr]


async def test_connection_refused_is_down_not_a_crash() -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = StateStore()
    await poll(f"http://127.0.0.1:{port}/ping", store, 5.0)
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.DOWN
    assert status.detail == "connection refused" and status.last_ok is None
    assert store.alert_page() is None


async def test_run_polls_every_interval_until_cancelled(server: tuple[str, Page]) -> None:
    url, page = server
    store = StateStore()
    src = AlertPageSource(AlertPageSettings(url, 0.1, 1.0), FLEET)
    task = asyncio.create_task(src.run(store))
    await asyncio.sleep(0.55)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 3 <= len(page.hits) <= 7
    assert store.alert_page() is not None


def test_factory_follows_the_config() -> None:
    base = """
[[idcs]]
id = "a"
name = "A"
[[hosts]]
name = "h1"
idc = "a"
mode = "single"
internal = "10.1.0.11"
external = "10.1.0.12"
[[contacts]]
id = "d"
role = "duty_room"
name = "5666"
"""
    assert alert_page_sources(parse(base)) == []
    cfg = parse('[duty]\nalert_page = "http://127.0.0.1:9/ping"\nalert_interval = 5.0\n' + base)
    (src,) = alert_page_sources(cfg)
    assert isinstance(src, AlertPageSource) and src.name == "alert_page"
    assert src.settings.interval == 5.0 and src.settings.timeout <= 5.0
    assert src.fleet == {"10.1.0.11", "10.1.0.12"}
