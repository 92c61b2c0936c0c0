"""Sources that break say so, and bad data never becomes evidence (issue 19).

A fake Zabbix JSON-RPC server on 127.0.0.1 (the recorded 6.0 answers, `tests/data/zabbix`)
plays each fault for real: wrong types, a server that accepts and never answers, one that
trickles bytes, 5xx, HTML, truncated, huge and deeply nested answers, clocks in the
future. The supervisor is checked with the real `Supervised` around small sources that
crash or fall silent, and `check` with a hanging Zabbix is run as the real command.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from lvs_tui.app import make_app
from lvs_tui.board import evaluate
from lvs_tui.config import Config, parse
from lvs_tui.probes import zabbix_api
from lvs_tui.probes.alert_page import AlertPageSettings, AlertPageSource
from lvs_tui.probes.supervisor import Supervised, one_line
from lvs_tui.probes.wiring import supervised
from lvs_tui.probes.zabbix import ZabbixSource
from lvs_tui.situation import SituationId
from lvs_tui.state import Metric, PingSample, SourceState, SourceStatus, StateStore
from lvs_tui.widgets.header_bar import HeaderBar, source_text
from tests.test_zabbix_unit import TOKEN, Replay, config_text, recording

ROOT = Path(__file__).resolve().parent.parent


# -- a fake Zabbix that misbehaves on demand -------------------------------------------------


class Fake:
    """The recording's answers, or a fault: hang | trickle | http503 | html | truncated |
    huge | deep | shape | ok."""

    def __init__(self, rec: dict[str, Any]) -> None:
        self.replay = Replay(rec)
        self.fault = "ok"
        self.release = threading.Event()  # ends the hanging handlers at teardown

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers["Content-Length"])))
        fault = self.fault if body["method"] != "apiinfo.version" else "ok"
        if fault == "hang":
            self.release.wait(30)
            return
        code, data = self.replay.answer(dict(h.headers), body)
        if fault == "http503":
            code, data = 503, b"<html>Service Unavailable</html>"
        elif fault == "html":
            data = b"<html><body>Zabbix is under maintenance.</body></html>"
        elif fault == "deep":
            data = b'{"jsonrpc": "2.0", "result": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        elif fault == "shape":
            data = json.dumps({"jsonrpc": "2.0", "id": body["id"],
                               "result": {"itemid": "1"}}).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        if fault == "huge":  # no length: an answer that never ends
            h.send_header("Connection", "close")
            h.end_headers()
            chunk = b" " * 65536
            while not self.release.is_set():
                h.wfile.write(chunk)
            return
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if fault == "truncated":
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        if fault == "trickle":  # a byte at a time, each well inside any read timeout
            for i in range(len(data)):
                if self.release.wait(0.05):
                    return
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
            return
        h.wfile.write(data)


def start(fake: Fake) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                fake.handle(self)  # else the client gave up: what a deadline does

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api_jsonrpc.php"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@contextlib.contextmanager
def serving(rec: dict[str, Any]) -> Iterator[tuple[Fake, str]]:
    fake = Fake(rec)
    server, url = start(fake)
    try:
        yield fake, url
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake(token_file: Path) -> Iterator[tuple[Fake, ZabbixSource]]:
    with serving(recording("6.0")) as (f, url):
        yield f, ZabbixSource(parse(config_text(url, f'token_file = "{token_file}"',
                                                timeout=1.0)))


# -- a whole answer that cannot be read: the cycle fails within its deadline -----------------


@pytest.mark.parametrize(("fault", "said"), [
    ("hang", "timed out (limit 1 s)"),
    ("trickle", "timed out (limit 1 s)"),
    ("http503", "HTTP 503 from the Zabbix API"),
    ("html", "malformed JSON from the Zabbix API"),
    ("truncated", "Zabbix API"),
    ("huge", "answer too large"),
    ("deep", "malformed JSON from the Zabbix API"),
    ("shape", "malformed answer to item.get: dict, not a list"),
])
def test_an_unreadable_answer_is_down_within_the_deadline_then_recovers(
        fake: tuple[Fake, ZabbixSource], fault: str, said: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zabbix_api, "ANSWER_LIMIT", 1 << 20)
    f, src = fake
    store = StateStore()
    assert src.refresh(store) is not None
    kept = store.latest_metric("lvs-lab-01", Metric.CPU)
    f.fault = fault
    started = time.monotonic()
    assert src.refresh(store) is None
    assert time.monotonic() - started < 1.5  # the 1 s budget, whatever the server does
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DOWN, status
    assert said in status.detail and "\n" not in status.detail
    assert store.latest_metric("lvs-lab-01", Metric.CPU) == kept
    for v in ("vantage:zbx-telecom", "vantage:zbx-unicom"):
        vantage = store.source(v)
        assert vantage is not None and vantage.state is SourceState.DOWN
    f.fault = "ok"
    f.release.set()  # let a trickle or a hang given up on end (the socket dies with it)
    deadline = time.monotonic() + 5
    while src.refresh(store) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.OK, status


def test_a_trickling_server_costs_one_thread_not_one_per_cycle(
        fake: tuple[Fake, ZabbixSource]) -> None:
    f, src = fake
    store = StateStore()
    assert src.refresh(store) is not None
    f.fault = "trickle"
    before = threading.active_count()
    for _ in range(4):
        assert src.refresh(store) is None
    assert threading.active_count() - before <= 2  # the request given up on (+ its handler)
    status = store.source("zabbix")
    assert status is not None and "still sending" in status.detail


# -- a bad item is skipped and counted; the rest of the cycle stands ----------------------------


def test_wrong_types_are_skipped_and_counted_not_fatal(token_file: Path) -> None:
    rec = copy.deepcopy(recording("6.0"))
    items = rec["item.get"]
    cpu1 = next(i for i in items if i["key_"] == "system.cpu.util")
    cpu1["lastclock"] = "never"
    bond = next(i for i in items if i["key_"] == 'net.if.out["bond1"]')
    bond["value_type"] = "float"
    del next(i for i in items if i["key_"] == 'net.if.in["bond1"]')["hosts"]
    rec["history.get:0"][0]["value"] = "N/A"
    rec["problem.get"] = [
        {"eventid": "1", "objectid": "23138", "name": "fine", "severity": "4",
         "clock": "1795643375"},
        {"eventid": "2", "objectid": "23138", "name": "bad", "severity": "high",
         "clock": "1795643375"},
        {"eventid": "3", "objectid": "23138", "severity": "2", "clock": "1795643375"},
    ]
    with serving(rec) as (_, url):
        src, store = ZabbixSource(parse(config_text(url, f'token_file = "{token_file}"'))), \
            StateStore()
        assert src.refresh(store) is not None
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DEGRADED, status
    assert "skipped 2 items, 2 problems, 2 values" in status.detail, status.detail
    assert "\n" not in status.detail
    assert [p.name for p in store.problems("lvs-lab-01")] == ["fine"]
    assert store.latest_metric("lvs-lab-01", Metric.BOND1_IN) is None  # its item skipped
    assert store.latest_metric("lvs-lab-01", Metric.BOND1_OUT) is None
    assert store.latest_metric("lvs-lab-01", Metric.BOND0_IN) is not None
    cpu = store.metrics("lvs-lab-01", Metric.CPU)
    assert cpu and all(s.value == s.value and 0 <= s.value <= 100 for s in cpu)
    assert store.latest_metric("lvs-lab-02", Metric.CPU) is not None


# -- bad clocks are never evidence ----------------------------------------------------------------

ONE_HOST = """
[duty]
interval = 1.0
[[idcs]]
id = "lab"
name = "lab"
[[contacts]]
id = "room"
role = "duty_room"
name = "5666"
[[hosts]]
name = "lvs-lab-01"
idc = "lab"
mode = "single"
internal = "127.0.10.1"
external = "127.0.20.1"
[zabbix]
url = "{url}"
token_file = "{token}"
timeout = 2.0
stale_after = 300.0
[zabbix.keys]
cpu = ["system.cpu.util"]
"""


def one_host(now: float, clocks: list[float]) -> dict[str, Any]:
    """lvs-lab-01's CPU item with values at these clocks (its last one: item.get's)."""
    host = {"hostid": "10606", "host": "lvs-lab-01", "proxy_hostid": "0"}
    return {"apiinfo.version": "6.0.14",
            "item.get": [{"itemid": "45053", "hostid": "10606", "key_": "system.cpu.util",
                          "value_type": "0", "units": "%", "state": "0", "error": "",
                          "hosts": [host], "lastclock": str(int(now - 40)),
                          "lastvalue": "20"}],
            "history.get:0": [{"itemid": "45053", "clock": str(int(c)), "value": "20"}
                              for c in clocks],
            "history.get:3": [], "problem.get": [], "trigger.get": []}


def dead_host_verdict(token_file: Path, clocks: list[float]) -> tuple[SituationId, str]:
    """lvs-lab-01 silent on both sides from here for the last 30 s, Zabbix answering
    with these clocks: the board's verdict, and the source's detail."""
    now = time.time()
    with serving(one_host(now, clocks)) as (_, url):
        cfg = parse(ONE_HOST.format(url=url, token=token_file))
        src, store = ZabbixSource(cfg), StateStore()
        assert src.refresh(store) is not None
    for k in range(90, -1, -1):
        t = now - k
        for addr in ("127.0.10.1", "127.0.20.1"):
            up = t < now - 30
            store.add_ping("local", addr, PingSample(t, 1, int(up), 0.001 if up else None))
    status = store.source("zabbix")
    assert status is not None
    row = next(r for r in evaluate(cfg, store, now).rows if r.host.name == "lvs-lab-01")
    return row.situation.id, status.detail


def test_a_value_stamped_in_the_future_is_not_a_sign_of_life(token_file: Path) -> None:
    now = time.time()
    # the control: a value after the outage began is a sign of life (path broken)
    assert dead_host_verdict(token_file, [now - 100, now - 5])[0] is SituationId.PATH_BROKEN
    verdict, detail = dead_host_verdict(token_file, [now - 100, now + 3600])
    assert verdict is SituationId.HOST_DOWN
    assert "1 future clock" in detail
    verdict, detail = dead_host_verdict(token_file, [now - 100, 1e12])
    assert verdict is SituationId.HOST_DOWN and "future clock" in detail
    verdict, detail = dead_host_verdict(token_file, [now - 100, 12])
    assert verdict is SituationId.HOST_DOWN and "1 past clock" in detail


# -- the supervisor --------------------------------------------------------------------------


class Crashing:
    """Crashes as the corpus made the Zabbix task crash, then works."""

    name = "zabbix"

    def __init__(self, crashes: list[BaseException]) -> None:
        self.crashes = crashes

    async def run(self, store: StateStore) -> None:
        if self.crashes:
            raise self.crashes.pop(0)
        store.set_source(SourceStatus(self.name, SourceState.OK, time.time(), "", time.time()))
        await asyncio.Event().wait()


async def test_a_crash_is_down_with_one_line_then_retried_with_backoff() -> None:
    store = StateStore()
    store.set_source(SourceStatus("zabbix", SourceState.OK, time.time(), "", time.time()))
    group = ExceptionGroup("unhandled errors in a TaskGroup", [OSError("bad port\nx")])
    src = Supervised(Crashing([KeyError("name"), ValueError("could not convert 'N/A'"),
                               group]), deadline=60, names=("zabbix", "vantage:zbx-telecom"),
                     backoff=0.1, backoff_max=1.0)
    task = asyncio.create_task(src.run(store))
    said: list[str] = []
    started = time.monotonic()
    while time.monotonic() - started < 5:
        await asyncio.sleep(0.01)
        status = store.source("zabbix")
        assert status is not None
        if status.state is SourceState.DOWN and status.detail not in said:
            said.append(status.detail)
        if status.state is SourceState.OK and src.restarts == 3:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert said == ["KeyError: 'name'; retry in 0.1 s",
                    "ValueError: could not convert 'N/A'; retry in 0.2 s",
                    "OSError: bad port x; retry in 0.4 s"]
    assert 0.6 < time.monotonic() - started < 3.0  # 0.1 + 0.2 + 0.4 of backoff
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.OK
    assert status.last_ok is not None  # kept through the crashes
    vantage = store.source("vantage:zbx-telecom")
    assert vantage is not None and vantage.state is SourceState.DOWN
    assert vantage.detail.startswith("zabbix: OSError")


class FallsSilent:
    """Says a word, then hangs (a cycle stuck for good); `speak` makes it talk again."""

    name = "alert_page"

    def __init__(self, state: SourceState) -> None:
        self.state = state
        self.speak = asyncio.Event()

    async def run(self, store: StateStore) -> None:
        while True:
            now = time.time()
            store.set_source(SourceStatus(self.name, self.state, now, "12 fleet addresses",
                                          now))
            await self.speak.wait()
            self.speak.clear()


async def test_a_silent_source_is_stale_with_its_age_whatever_its_last_word() -> None:
    store = StateStore()
    inner = FallsSilent(SourceState.OK)
    src = Supervised(inner, deadline=0.3, watch_every=0.02)
    task = asyncio.create_task(src.run(store))
    await asyncio.sleep(0.1)
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.OK
    said_at = status.since
    await asyncio.sleep(0.5)
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.STALE
    assert status.detail == "no cycle within 0.3 s (last: ok: 12 fleet addresses)"
    assert abs(status.since - said_at) < 0.1  # its age counts from its last word
    shown = source_text(parse(config_text("http://127.0.0.1:1/", 'token_env = "X"')),
                        status, said_at + 125, {}).plain
    assert shown.startswith("◌ 5666 stale (no cycle within 0.3 s") and shown.endswith("2m")
    inner.speak.set()  # a new word replaces stale at once
    await asyncio.sleep(0.05)
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.OK
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_down_source_stays_down_and_one_that_never_spoke_goes_stale() -> None:
    store = StateStore()
    down = Supervised(FallsSilent(SourceState.DOWN), deadline=0.2, watch_every=0.02)
    mute = Supervised(Crashing([]), deadline=0.2, watch_every=0.02, names=("zabbix", "x"))
    tasks = [asyncio.create_task(s.run(store)) for s in (down, mute)]
    await asyncio.sleep(0.5)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.DOWN
    never = store.source("x")
    assert never is not None and never.state is SourceState.STALE
    assert never.detail.endswith("(last: nothing yet)")


def test_supervised_sources_keep_their_charts(token_file: Path) -> None:
    cfg: Config = parse(config_text("http://127.0.0.1:1/", f'token_file = "{token_file}"'))
    src = ZabbixSource(cfg)
    wrapped = supervised(cfg, src)
    assert wrapped.name == "zabbix" and wrapped.chart == src.chart
    assert wrapped.names == ("zabbix", "vantage:zbx-telecom", "vantage:zbx-unicom")
    assert wrapped.deadline == cfg.zabbix.interval + 2 * cfg.zabbix.timeout + 10


def test_one_line_flattens_any_exception() -> None:
    assert one_line(KeyError("name")) == "KeyError: 'name'"
    assert one_line(ValueError("a\nb\x1b]0;pwned")) == "ValueError: a b?]0;pwned"
    assert one_line(ExceptionGroup("g", [OSError("x")])) == "OSError: x"
    assert len(one_line(ValueError("x" * 500))) == 160


# -- the alert page under the same faults ----------------------------------------------------------


async def test_a_trickling_alert_page_is_down_within_its_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.wait(0.05):
            try:
                conn.sendall(b"1")
            except OSError:
                return
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    store = StateStore()
    src = AlertPageSource(AlertPageSettings(url, 30.0, 0.5), ["127.0.10.1"])
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=0.5) as client:
        await src.poll(client, store)
    stop.set()
    listener.close()
    assert time.monotonic() - started < 1.0
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.DOWN and status.detail == "timeout"


async def test_an_alert_page_on_a_bad_port_is_down_not_a_dead_task() -> None:
    store = StateStore()
    src = AlertPageSource(AlertPageSettings("http://127.0.0.1:99999/", 0.05, 0.5),
                          ["127.0.10.1"])
    task = asyncio.create_task(src.run(store))
    await asyncio.sleep(0.3)
    assert not task.done()  # still polling
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = store.source("alert_page")
    assert status is not None and status.state is SourceState.DOWN
    assert "\n" not in status.detail and status.detail


# -- check with a hanging Zabbix -------------------------------------------------------------------


def test_check_does_not_wait_for_a_hanging_zabbix(token_file: Path, tmp_path: Path) -> None:
    """`check` probes its host's loopback addresses: it runs, with the fake Zabbix it reads,
    inside a throw-away namespace with only loopback up."""
    from lab.netns import in_netns, scratch_namespace
    from tests.conftest import is_root, require

    require(is_root(), "check probes from a network namespace (root)")
    with scratch_namespace("lvt-check") as ns, in_netns(ns), \
            serving(recording("6.0")) as (f, url):
        f.fault = "hang"
        conf = tmp_path / "config.toml"
        conf.write_text(ONE_HOST.format(url=url, token=token_file).replace(
            "timeout = 2.0", "timeout = 30.0"))
        started = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "lvs_tui.cli", "check", "--config",
                            str(conf), "--listen", "1.5", "--json"], capture_output=True,
                           text=True, timeout=60, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        spent = time.monotonic() - started
    assert spent < 8, (spent, r.stderr)  # not the 30 s Zabbix timeout
    assert "Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr
    rows = json.loads(r.stdout)
    assert [row["host"] for row in rows] == ["lvs-lab-01"]


# -- in the console ----------------------------------------------------------------------------


async def test_the_console_header_says_down_with_the_reason_and_keeps_running() -> None:
    cfg = parse(config_text("http://127.0.0.1:1/", 'token_env = "X"'))
    crashing = Supervised(Crashing([KeyError("name")] * 50), deadline=60,
                          names=("zabbix", "vantage:zbx-telecom"), backoff=5.0)
    app = make_app(cfg, [crashing])
    async with app.run_test(size=(160, 50)) as pilot:
        board = None
        for _ in range(100):
            board = await app.next_board()
            if any(s.name == "zabbix" for s in board.sources):
                break
        await pilot.pause()
        shown = str(app.screen.query_one(HeaderBar).content)
        assert board is not None and app.is_running
    assert "✖ Zabbix down (KeyError: 'name'; retry in 5 s)" in shown, shown
    assert "✖ telecom down (zabbix: KeyError: 'name'; retry in 5 s)" in shown, shown
    assert crashing.restarts == 0  # the backoff runs: no restart storm
