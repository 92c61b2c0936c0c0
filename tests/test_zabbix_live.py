"""The Zabbix source against a real Zabbix 6.0 on loopback (scripts/zabbix-lab.sh up).

The module seeds the lab afresh (hosts, hours of history, a stopped host, problems, probe
hosts behind a live and a dead proxy, an API token), then drives the real source.
Skips on a laptop without the lab; fails under CI, which must have started it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pyzabbix import ZabbixAPI, ZabbixAPIException

from lvs_tui.config import Config, parse
from lvs_tui.probes.zabbix import LATE_SLACK, ZabbixSource
from lvs_tui.signals import HostSignals, gather
from lvs_tui.state import Metric, SourceState, StateStore
from tests.conftest import require

pytestmark = pytest.mark.zabbix

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "scripts" / "zabbix-lab.sh"
STATE = Path(os.environ.get("ZBX_LAB_DIR", "/var/tmp/lvs-tui-zabbix"))
URL = os.environ.get("LVS_TUI_ZABBIX_URL", "http://127.0.0.1:18080/api_jsonrpc.php")
TRAPPER_PORT = os.environ.get("ZBX_LAB_TRAPPER_PORT", "10051")


def _seed_module() -> Any:
    path = ROOT / "scripts" / "zabbix_seed.py"
    spec = importlib.util.spec_from_file_location("zabbix_seed", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["zabbix_seed"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


SEED = _seed_module()


def _api_up() -> bool:
    try:
        r = requests.post(URL, json={"jsonrpc": "2.0", "method": "apiinfo.version",
                                     "params": {}, "id": 1}, timeout=3)
        return "result" in r.json()
    except (requests.RequestException, ValueError):
        return False


@dataclass(frozen=True)
class Lab:
    seed: dict[str, Any]
    token_file: Path
    password_file: Path

    def config(self, auth: str, hosts: list[str] | None = None, vantages: bool = True) -> Config:
        return parse(lab_config(self.seed, auth, hosts, vantages), str(STATE / "lab.toml"))

    def token_config(self, **kw: Any) -> Config:
        return self.config(f'token_file = "{self.token_file}"', **kw)


def lab_config(seed: dict[str, Any], auth: str, hosts: list[str] | None,
               vantages: bool) -> str:
    names = [*seed["hosts"], seed["stopped"]] if hosts is None else hosts
    out = ['[[idcs]]\nid = "lab"\nname = "实验"\ncarrier = "lo"\n',
           '[[contacts]]\nid = "room"\nrole = "duty_room"\nname = "5666"\n']
    for i, h in enumerate(names):
        internal, external = seed["addresses"].get(h, (f"127.0.30.{i + 1}", f"127.0.40.{i + 1}"))
        out.append(f'[[hosts]]\nname = "{h}"\nidc = "lab"\nmode = "single"\n'
                   f'internal = "{internal}"\nexternal = "{external}"\n')
    if vantages:
        out.append('[[vantages]]\nid = "zbx-telecom"\nkind = "zabbix_proxy"\nname = "电信"\n'
                   'proxy = "proxy-telecom"\nprobe_host = "probe-telecom"\n')
        out.append('[[vantages]]\nid = "zbx-unicom"\nkind = "zabbix_proxy"\nname = "联通"\n'
                   'probe_host = "probe-unicom"\n')
    out.append(f'[zabbix]\nurl = "{URL}"\n{auth}\ninterval = 1.0\ntimeout = 10.0\n'
               'stale_after = 300.0\n')
    out.append('[zabbix.keys]\ncpu = ["system.cpu.util", "system.cpu.util[,idle]"]\n'
               "bond0_in = [\"net.if.in[bond0]\"]\nbond0_out = [\"net.if.out[bond0]\"]\n"
               "bond1_in = [\"net.if.in[bond1]\"]\nbond1_out = [\"net.if.out[bond1]\"]\n")
    return "\n".join(out)


def send_value(host: str, key: str, value: float) -> None:
    out = subprocess.run(["zabbix_sender", "-z", "127.0.0.1", "-p", TRAPPER_PORT, "-s", host,
                          "-k", key, "-o", str(value)], capture_output=True, text=True)
    assert "failed: 0" in out.stdout, out.stdout  # stamped with the server's clock


def lab_cmd(*args: str) -> None:
    out = subprocess.run(["bash", str(LAB), *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"zabbix-lab.sh {' '.join(args)}: {out.stderr[-800:]}"


@pytest.fixture(scope="module")
def lab() -> Lab:
    require(_api_up(), f"no Zabbix lab at {URL}: run 'bash scripts/zabbix-lab.sh up'")
    lab_cmd("seed")
    seed = json.loads((STATE / "seed.json").read_text(encoding="utf-8"))
    return Lab(seed, STATE / "api.token", STATE / "api.password")


class RequestLog:
    """Counts the HTTP requests a source's requests.Session really sends."""

    def __init__(self, session: requests.Session) -> None:
        self.bodies: list[dict[str, Any]] = []
        real = session.send

        def send(request: requests.PreparedRequest, **kw: Any) -> requests.Response:
            self.bodies.append(json.loads(request.body or b"{}"))
            return real(request, **kw)

        session.send = send  # type: ignore[method-assign]

    def methods(self) -> list[str]:
        return [b["method"] for b in self.bodies]


def cycle(src: ZabbixSource, store: StateStore) -> None:
    stats = src.refresh(store)
    status = store.source("zabbix")
    assert stats is not None, status


@pytest.fixture
def fed(lab: Lab) -> Iterator[tuple[ZabbixSource, StateStore]]:
    src, store = ZabbixSource(lab.token_config()), StateStore()
    cycle(src, store)
    yield src, store


def test_every_seeded_host_reports_cpu_and_bond_traffic(lab: Lab, fed: Any) -> None:
    _, store = fed
    for host in lab.seed["hosts"]:
        for metric in Metric:
            newest = store.latest_metric(host, metric)
            assert newest is not None, (host, metric)
            assert len(store.metrics(host, metric)) >= 50  # the last hour for sparklines
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.OK, status
    # hand-made keys: idle CPU inverted, bytes/s turned into bits/s
    idx = lab.seed["hosts"].index(lab.seed["handmade"])
    cpu = store.latest_metric(lab.seed["handmade"], Metric.CPU)
    assert cpu is not None and cpu.value == pytest.approx(SEED.cpu_at(idx, cpu.clock), abs=0.01)
    bond = store.latest_metric(lab.seed["handmade"], Metric.BOND0_IN)
    assert bond is not None
    assert bond.value == SEED.bps_at(idx, 0, bond.clock) // 8 * 8
    official = store.latest_metric("lvs-lab-03", Metric.BOND1_OUT)
    assert official is not None and official.value == SEED.bps_at(2, 3, official.clock)


def monitoring(src: ZabbixSource, store: StateStore, host: str, now: float) -> HostSignals:
    """What the diagnosis sees of a host's Zabbix data: the app's own `signals.gather`."""
    return gather(src.cfg, store, src.cfg.fleet.host(host), now, (), frozenset(), {}, None)


def test_stopped_host_is_reported_as_monitoring_stopped(lab: Lab, fed: Any) -> None:
    src, store = fed
    now = time.time()
    stopped = monitoring(src, store, lab.seed["stopped"], now)
    assert src.cfg.zabbix.stale_after == 300.0
    assert stopped.monitoring_stopped
    newest = stopped.newest_clock
    assert newest is not None and newest <= lab.seed["seeded_at"] - 600 + 60
    for host in lab.seed["hosts"]:
        assert monitoring(src, store, host, now).monitoring_stopped is False, host


def test_problems_are_mapped_to_their_hosts(lab: Lab, fed: Any) -> None:
    _, store = fed
    problems = store.problems(lab.seed["problem_host"])
    assert [p.name for p in problems] == [f"CPU too high on {lab.seed['problem_host']}"]
    assert problems[0].severity == 4
    for host in lab.seed["hosts"][1:]:
        assert store.problems(host) == ()


def test_http_requests_per_cycle_stay_constant_as_hosts_are_added(lab: Lab) -> None:
    counts = []
    for hosts in (lab.seed["hosts"][:1], lab.seed["hosts"][:3],
                  [*lab.seed["hosts"], lab.seed["stopped"]]):
        src, store = ZabbixSource(lab.token_config(hosts=hosts)), StateStore()
        cycle(src, store)  # login and backfill
        sent = RequestLog(src.client.session)
        cycle(src, store)
        counts.append(len(sent.bodies))
        assert sorted(sent.methods()) == sorted(
            ["item.get", "history.get", "history.get", "problem.get", "proxy.get"])
        assert src.last_cycle is not None and src.last_cycle.calls == len(sent.bodies)
    assert counts == [5, 5, 5]


def test_history_is_read_incrementally(lab: Lab, fed: Any) -> None:
    src, store = fed
    first = src.last_cycle
    assert first is not None and first.values > 1000
    before = store.latest_metric("lvs-lab-03", Metric.CPU)
    assert before is not None
    send_value("lvs-lab-03", "system.cpu.util", 77.7)
    sent = RequestLog(src.client.session)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        cycle(src, store)
        newest = store.latest_metric("lvs-lab-03", Metric.CPU)
        if newest is not None and newest.value == 77.7:
            break
        time.sleep(0.5)
    newest = store.latest_metric("lvs-lab-03", Metric.CPU)
    assert newest is not None and newest.value == 77.7 and newest.clock > before.clock
    history = [b["params"] for b in sent.bodies if b["method"] == "history.get"]
    assert history and all(p["time_from"] >= before.clock - LATE_SLACK - 1 for p in history)
    assert src.last_cycle is not None and src.last_cycle.values < first.values / 10


def test_proxies_are_remote_vantages(lab: Lab, fed: Any) -> None:
    _, store = fed
    up = store.pings("zbx-telecom", "127.0.10.1")
    assert up and up[-1].error is None and up[-1].received == up[-1].sent == 3
    assert up[-1].rtt == pytest.approx(0.0123)
    down = store.pings("zbx-telecom", lab.seed["unreachable"])
    assert down[-1].received == 0 and down[-1].rtt is None  # icmppingsec 0 is not "fast"
    broken = store.pings("zbx-telecom", lab.seed["unsupported"])
    assert broken[-1].error and "unsupported" in broken[-1].error
    telecom = store.source("vantage:zbx-telecom")
    assert telecom is not None and telecom.state is SourceState.DEGRADED
    unicom = store.source("vantage:zbx-unicom")
    assert unicom is not None and unicom.state is SourceState.DOWN
    assert "proxy-unicom" in unicom.detail
    stale = store.pings("zbx-unicom", "127.0.10.1")
    assert stale and stale[-1].error  # unknown, never down


def test_charts_use_history_then_trends(lab: Lab, fed: Any) -> None:
    src, _ = fed
    hour = asyncio.run(src.chart("lvs-lab-01", Metric.CPU, 1))
    assert 55 <= len(hour) <= 65
    day = asyncio.run(src.chart("lvs-lab-01", Metric.CPU, 24))
    assert len(day) > len(hour)
    two_days = asyncio.run(src.chart("lvs-lab-01", Metric.CPU, 48))
    assert len(two_days) >= 25  # hourly trend averages of the 30 h seeded
    clocks = [s.clock for s in two_days]
    assert clocks == sorted(clocks) and all(c % 3600 == 0 for c in clocks)


def test_password_login_relogin_and_logout(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # pyzabbix logs whole request bodies at DEBUG
    cfg = lab.config(f'user = "{lab.seed["api_user"]}"\npassword_file = "{lab.password_file}"')
    src, store = ZabbixSource(cfg), StateStore()
    cycle(src, store)
    assert src.client.api is not None
    first_session = src.client.api.auth
    killer = ZabbixAPI(URL, timeout=10)
    killer.login(api_token=lab.token_file.read_text().strip())
    killer.auth = first_session
    killer.version = src.client.version
    killer.use_api_token = False
    killer.user.logout()  # the session dies server-side, as after a timeout
    cycle(src, store)
    assert src.client.api.auth != first_session
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.OK
    second = src.client.api.auth
    src.logout()
    probe = ZabbixAPI(URL, timeout=10)
    probe.login(api_token="x")
    probe.auth, probe.use_api_token, probe.version = second, False, src.client.version
    with pytest.raises(ZabbixAPIException, match=r"Session terminated|Not authori"):
        probe.item.get(limit=1)
    password = lab.password_file.read_text().strip()
    assert "user.login" in caplog.text
    for text in (caplog.text, repr(src), repr(store.sources())):
        assert password not in text and first_session not in text and second not in text


def test_survives_the_web_server_going_away_and_recovers(lab: Lab, fed: Any) -> None:
    src, store = fed
    kept = store.latest_metric("lvs-lab-01", Metric.BOND0_IN)
    lab_cmd("web-stop")
    try:
        assert src.refresh(store) is None
        status = store.source("zabbix")
        assert status is not None and status.state is SourceState.DOWN
        assert "unreachable" in status.detail
        assert status.last_ok is not None
        assert store.latest_metric("lvs-lab-01", Metric.BOND0_IN) == kept  # stale, visible
        vantage = store.source("vantage:zbx-telecom")
        assert vantage is not None and vantage.state is SourceState.DOWN
        unknown = store.pings("zbx-telecom", "127.0.10.1")[-1]
        assert unknown.error is not None and unknown.error.startswith("Zabbix: ")
    finally:
        lab_cmd("web-start")
    cycle(src, store)
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.OK


@pytest.mark.parametrize(("token", "said"), [("f" * 64, "not authorised"),
                                             (None, "API token expired")])
def test_bad_or_expired_token_is_reported_clearly(lab: Lab, tmp_path: Path, token: str | None,
                                                 said: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = token or (STATE / "expired.token").read_text().strip()
    path = tmp_path / "token"
    path.write_text(secret + "\n")
    src, store = ZabbixSource(lab.config(f'token_file = "{path}"')), StateStore()
    if token is None:
        time.sleep(max(0.0, lab.seed["seeded_at"] + 3 - time.time()))
    assert src.refresh(store) is None
    status = store.source("zabbix")
    assert status is not None and status.state is SourceState.DOWN
    assert said in status.detail
    for text in (status.detail, caplog.text, repr(src), repr(store.sources())):
        assert secret not in text


def test_run_polls_by_itself_and_logs_out(lab: Lab) -> None:
    cfg = lab.config(f'user = "{lab.seed["api_user"]}"\npassword_file = "{lab.password_file}"',
                     vantages=False)
    src, store = ZabbixSource(cfg), StateStore()
    sent = RequestLog(src.client.session)

    async def main() -> None:
        task = asyncio.create_task(src.run(store))
        for _ in range(100):
            await asyncio.sleep(0.1)
            if sent.methods().count("item.get") >= 2:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert sent.methods().count("item.get") >= 2
    assert sent.methods()[-1] == "user.logout"
    assert all("password" not in json.dumps(b["params"]) or b["method"] == "user.login"
               for b in sent.bodies)


def test_a_refused_password_is_not_retried_until_it_changes(lab: Lab, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("not-the-password\n")
    src = ZabbixSource(lab.config(f'user = "{lab.seed["api_user"]}"\n'
                                  f'password_file = "{secret}"', vantages=False))
    store = StateStore()
    sent = RequestLog(src.client.session)
    assert src.refresh(store) is None
    status = store.source("zabbix")
    assert status is not None and status.detail.startswith("login refused: incorrect user")
    assert src.refresh(store) is None  # the same password again: Zabbix is not asked
    assert sent.methods().count("user.login") == 1
    status = store.source("zabbix")
    assert status is not None and "not retried" in status.detail
    secret.write_text(lab.password_file.read_text())
    cycle(src, store)
    assert sent.methods().count("user.login") == 2
    src.logout()
