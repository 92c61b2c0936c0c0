"""The Zabbix source without a Zabbix: pure helpers, and recorded API answers replayed by a
real HTTP server on 127.0.0.1 (6.0 recorded from the lab, 6.4/7.0 differences applied),
which also plays the faults: HTTP 5xx, malformed JSON, a slow server, API errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from lvs_tui.config import parse
from lvs_tui.probes.zabbix import IcmpItem, ZabbixSource, icmp_sample, zabbix_sources
from lvs_tui.probes.zabbix_api import read_credentials
from lvs_tui.probes.zabbix_items import key_spellings, normalize_key, parse_key, traffic_scale
from lvs_tui.state import Metric, SourceState, StateStore

DATA = Path(__file__).parent / "data" / "zabbix"
TOKEN = "0123456789abcdef" * 4


# -- pure helpers ------------------------------------------------------------------------------


def test_keys_parse_with_quotes_and_commas() -> None:
    assert parse_key('net.if.in["bond0"]') == ("net.if.in", ("bond0",))
    assert parse_key("system.cpu.util[,idle]") == ("system.cpu.util", ("", "idle"))
    assert parse_key('vfs.fs.size["/a,b",pfree]') == ("vfs.fs.size", ("/a,b", "pfree"))
    assert parse_key("system.cpu.util") == ("system.cpu.util", ())


def test_keys_normalise_to_one_spelling() -> None:
    assert normalize_key('net.if.in["bond0"]') == normalize_key("net.if.in[bond0]")
    assert normalize_key("system.cpu.util[,idle]") == "system.cpu.util[,idle]"
    assert normalize_key("system.cpu.util[,]") == "system.cpu.util"
    assert key_spellings("net.if.in[bond0]") == {"net.if.in[bond0]", 'net.if.in["bond0"]'}
    assert 'system.cpu.util[,"idle"]' in key_spellings("system.cpu.util[,idle]")


def test_traffic_units_become_bits_per_second() -> None:
    assert traffic_scale("bps") == 1.0
    assert traffic_scale("Bps") == 8.0
    assert traffic_scale("Mbps") == 1e6
    assert traffic_scale("%") is None


def icmp(key: str, value: float | None, clock: float = 100.0, error: str | None = None,
         packets: int = 3) -> IcmpItem:
    return IcmpItem(key, "127.0.0.5", packets, clock, value, error)


def test_unreachable_target_never_looks_fast() -> None:
    s = icmp_sample({"icmpping": icmp("icmpping", 0), "icmppingloss": icmp("icmppingloss", 100),
                     "icmppingsec": icmp("icmppingsec", 0)}, now=200)
    assert s is not None and s.received == 0 and s.rtt is None and s.error is None
    assert s.t == 100.0  # Zabbix's clock, not ours


def test_partial_loss_and_rtt() -> None:
    s = icmp_sample({"icmpping": icmp("icmpping", 1, packets=10),
                     "icmppingloss": icmp("icmppingloss", 30),
                     "icmppingsec": icmp("icmppingsec", 0.02)}, now=200)
    assert s is not None and (s.sent, s.received, s.rtt) == (10, 7, 0.02)


def test_unsupported_or_missing_item_is_unknown() -> None:
    s = icmp_sample({"icmpping": icmp("icmpping", 1),
                     "icmppingsec": icmp("icmppingsec", None, error="icmppingsec unsupported")},
                    now=200)
    assert s is not None and s.error == "icmppingsec unsupported" and s.t == 200
    lone = icmp_sample({"icmppingloss": icmp("icmppingloss", 0)}, now=200)
    assert lone is not None and lone.error == "no icmpping item"
    assert icmp_sample({}, now=200) is None


# -- config and secrets ------------------------------------------------------------------------


def config_text(url: str, auth: str, timeout: float = 2.0) -> str:
    return f"""
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
[[hosts]]
name = "lvs-lab-02"
idc = "lab"
mode = "single"
internal = "127.0.10.2"
external = "127.0.20.2"
[[vantages]]
id = "zbx-telecom"
kind = "zabbix_proxy"
name = "telecom"
proxy = "proxy-telecom"
probe_host = "probe-telecom"
[[vantages]]
id = "zbx-unicom"
kind = "zabbix_proxy"
name = "unicom"
probe_host = "probe-unicom"
[zabbix]
url = "{url}"
{auth}
timeout = {timeout}
stale_after = 1e9
[zabbix.keys]
cpu = ["system.cpu.util", "system.cpu.util[,idle]"]
bond0_in = ["net.if.in[bond0]"]
bond0_out = ["net.if.out[bond0]"]
bond1_in = ["net.if.in[bond1]"]
bond1_out = ["net.if.out[bond1]"]
"""


def test_no_url_no_source() -> None:
    cfg = parse(config_text("http://127.0.0.1:1/x", 'token_env = "X"').replace(
        'url = "http://127.0.0.1:1/x"\n', ""))
    assert zabbix_sources(cfg) == []


def test_missing_secret_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LVS_TEST_ZBX_TOKEN", raising=False)
    cfg = parse(config_text("http://127.0.0.1:1/api_jsonrpc.php",
                            'token_env = "LVS_TEST_ZBX_TOKEN"'))
    store = StateStore()
    ZabbixSource(cfg).refresh(store)
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DOWN
    assert status.detail == "zabbix.token_env: $LVS_TEST_ZBX_TOKEN is not set"
    monkeypatch.setenv("LVS_TEST_ZBX_TOKEN", TOKEN)
    creds = read_credentials(cfg.zabbix)
    assert TOKEN not in repr(creds) and TOKEN not in str(creds)


# -- the replay server -------------------------------------------------------------------------


@dataclass
class Replay:
    """A real HTTP server answering JSON-RPC from a recording; records what it was sent."""

    recording: dict[str, Any]
    mode: str = "ok"  # ok | http502 | garbage | slow | autherror
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    @property
    def version(self) -> Version:
        return Version(self.recording["apiinfo.version"])

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, bytes]:
        self.requests.append((headers, body))
        method = body["method"]
        if self.mode == "http502":
            return 502, b"<html>Bad Gateway</html>"
        if self.mode == "garbage":
            return 200, b'{"jsonrpc": "2.0", "result": [{"itemid": '
        if self.mode == "slow":
            time.sleep(1.5)
        error = self.rejects(headers, body)
        if error is None and self.mode == "autherror" and method != "apiinfo.version":
            error = "Not authorized."
        if error is not None:
            return 200, json.dumps({"jsonrpc": "2.0", "id": body["id"], "error": {
                "code": -32602, "message": "Invalid params.", "data": error}}).encode()
        key = f"{method}:{body['params']['history']}" if method == "history.get" else method
        return 200, json.dumps({"jsonrpc": "2.0", "id": body["id"],
                                "result": self.recording[key]}).encode()

    def rejects(self, headers: dict[str, str], body: dict[str, Any]) -> str | None:
        """What the real server of this version refuses."""
        params = body.get("params", {})
        if body["method"] == "apiinfo.version":
            return None
        if self.version >= Version("6.4"):
            if headers.get("Authorization") != f"Bearer {TOKEN}" or "auth" in body:
                return "Not authorized."
        elif body.get("auth") != TOKEN:
            return "Not authorized."
        if self.version >= Version("7.0"):
            if body["method"] == "proxy.get" and "host" in params.get("output", []):
                return 'Invalid parameter "/output/2": value must be one of "proxyid", "name".'
            if "proxy_hostid" in params.get("selectHosts", []):
                return 'Invalid parameter "/selectHosts/3": value must be one of ... .'
        return None


def serve(replay: Replay, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            code, data = replay.answer(dict(self.headers), body)
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api_jsonrpc.php"


def recording(version: str) -> dict[str, Any]:
    name = "v7.0.json" if version != "6.0" else "v6.0.json"
    rec = json.loads((DATA / name).read_text(encoding="utf-8"))
    if version == "6.4":  # 6.4: Bearer header, but proxies and hosts not yet renamed
        rec = json.loads((DATA / "v6.0.json").read_text(encoding="utf-8"))
        rec["apiinfo.version"] = "6.4.12"
    return rec


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture(params=["6.0", "6.4", "7.0"])
def replay(request: pytest.FixtureRequest, token_file: Path
           ) -> Iterator[tuple[Replay, ZabbixSource]]:
    rep = Replay(recording(request.param))
    server, url = serve(rep)
    cfg = parse(config_text(url, f'token_file = "{token_file}"'))
    yield rep, ZabbixSource(cfg)
    server.shutdown()
    server.server_close()


def test_each_version_reads_metrics_problems_and_vantages(replay: Any) -> None:
    rep, src = replay
    store = StateStore()
    stats = src.refresh(store)
    status = store.source("zabbix")
    assert stats is not None, status
    assert status is not None and status.state is SourceState.OK
    assert store.latest_metric("lvs-lab-01", Metric.BOND0_IN) is not None
    cpu = store.latest_metric("lvs-lab-02", Metric.CPU)  # system.cpu.util[,idle] inverted
    idle = next(float(i["lastvalue"]) for i in rep.recording["item.get"]
                if i["key_"] == "system.cpu.util[,idle]")
    assert cpu is not None and cpu.value == pytest.approx(100 - idle)
    bps = store.latest_metric("lvs-lab-02", Metric.BOND0_IN)  # Bps → bps
    raw = next(float(i["lastvalue"]) for i in rep.recording["item.get"]
               if i["key_"] == "net.if.in[bond0]")
    assert bps is not None and bps.value == raw * 8
    assert [p.name for p in store.problems("lvs-lab-01")] == ["CPU too high on lvs-lab-01"]
    telecom = store.source("vantage:zbx-telecom")
    assert telecom is not None and telecom.state is SourceState.DEGRADED, telecom
    assert "1 addresses unknown" in telecom.detail  # 127.0.10.2's icmppingsec unsupported
    assert store.pings("zbx-telecom", "127.0.10.2")[-1].error
    up = store.pings("zbx-telecom", "127.0.10.1")[-1]
    assert (up.sent, up.received, up.rtt, up.error) == (3, 3, 0.0123, None)
    unicom = store.source("vantage:zbx-unicom")
    assert unicom is not None and unicom.state is SourceState.DOWN
    assert "proxy-unicom" in unicom.detail  # found by its renamed field on 7.0
    assert store.pings("zbx-telecom", "127.0.20.1")[-1].rtt is None  # unreachable: no rtt


def test_auth_travels_as_the_version_wants(replay: Any) -> None:
    rep, src = replay
    src.refresh(StateStore())
    authed = [(h, b) for h, b in rep.requests if b["method"] != "apiinfo.version"]
    assert authed
    for headers, body in authed:
        if rep.version >= Version("6.4"):
            assert headers["Authorization"] == f"Bearer {TOKEN}" and "auth" not in body
        else:
            assert body["auth"] == TOKEN and "Authorization" not in headers


# -- faults --------------------------------------------------------------------------------------


@pytest.fixture
def v60(token_file: Path) -> Iterator[tuple[Replay, ZabbixSource]]:
    rep = Replay(recording("6.0"))
    server, url = serve(rep)
    cfg = parse(config_text(url, f'token_file = "{token_file}"', timeout=0.8))
    yield rep, ZabbixSource(cfg)
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("mode", "said"), [
    ("http502", "HTTP 502"),
    ("garbage", "malformed JSON"),
    ("slow", "timed out"),
    ("autherror", "not authorised"),
])
def test_faults_are_shown_then_recovered(v60: Any, mode: str, said: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rep, src = v60
    store = StateStore()
    assert src.refresh(store) is not None
    kept = store.latest_metric("lvs-lab-01", Metric.CPU)
    rep.mode = mode
    started = time.monotonic()
    assert src.refresh(store) is None
    assert time.monotonic() - started < 2.0  # bounded by the cycle's deadline
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DOWN and said in status.detail
    assert status.last_ok is not None
    assert store.latest_metric("lvs-lab-01", Metric.CPU) == kept
    vantage = store.source("vantage:zbx-telecom")
    assert vantage is not None and vantage.state is SourceState.DOWN
    rep.mode = "ok"
    assert src.refresh(store) is not None
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.OK
    for text in (caplog.text, repr(src), repr(store.sources())):
        assert TOKEN not in text


def test_unreachable_at_start_then_recovers(token_file: Path) -> None:
    rep = Replay(recording("6.0"))
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()  # a port where nothing listens (yet)
    url = f"http://127.0.0.1:{port}/api_jsonrpc.php"
    src = ZabbixSource(parse(config_text(url, f'token_file = "{token_file}"')))
    store = StateStore()
    assert src.refresh(store) is None
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DOWN
    assert status.detail == "Zabbix API unreachable (connection failed)"
    assert src.client.api is None  # no half-made session: the next cycle logs in again
    server, _ = serve(rep, port)
    try:
        assert src.refresh(store) is not None
        status = store.source("zabbix")
        assert status is not None and status.state is SourceState.OK
    finally:
        server.shutdown()
        server.server_close()


async def test_a_slow_zabbix_never_blocks_the_event_loop(v60: Any) -> None:
    rep, src = v60
    rep.mode = "slow"
    store = StateStore()
    task = asyncio.create_task(src.run(store))
    ticks = 0
    started = time.monotonic()
    while time.monotonic() - started < 1.2:
        await asyncio.sleep(0.01)
        ticks += 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ticks > 50  # the loop kept running while the cycle waited on Zabbix
    status = store.source("zabbix")
    assert status is not None and status.state in (SourceState.STARTING, SourceState.DOWN)


def test_hosts_unknown_to_zabbix_and_unusable_items_degrade(token_file: Path) -> None:
    rec = recording("6.0")
    for it in rec["item.get"]:
        if it["key_"] == 'net.if.in["bond1"]':
            it["units"] = "%"  # not a rate: must not be shown as traffic
    rep = Replay(rec)
    server, url = serve(rep)
    text = config_text(url, f'token_file = "{token_file}"').replace("[[vantages]]", """
[[hosts]]
name = "lvs-ghost"
idc = "lab"
mode = "single"
internal = "127.0.10.9"
external = "127.0.20.9"
[[vantages]]""", 1)
    try:
        src, store = ZabbixSource(parse(text)), StateStore()
        assert src.refresh(store) is not None
    finally:
        server.shutdown()
        server.server_close()
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DEGRADED
    assert status.detail.startswith("not in Zabbix: lvs-ghost; unusable items: lvs-lab-01")
    assert store.latest_metric("lvs-lab-01", Metric.BOND1_IN) is None
    assert store.latest_metric("lvs-lab-01", Metric.BOND0_IN) is not None


def test_an_agent_clock_ahead_does_not_hide_other_values(token_file: Path) -> None:
    rec = recording("6.0")
    rec["history.get:0"][0]["clock"] = str(int(time.time()) + 3600)  # an agent an hour ahead
    rep = Replay(rec)
    server, url = serve(rep)
    try:
        src = ZabbixSource(parse(config_text(url, f'token_file = "{token_file}"')))
        store = StateStore()
        assert src.refresh(store) is not None
        rep.requests.clear()
        assert src.refresh(store) is not None
    finally:
        server.shutdown()
        server.server_close()
    reads = [b["params"] for _, b in rep.requests if b["method"] == "history.get"]
    assert reads and all(p["time_from"] <= time.time() - 29 for p in reads)
