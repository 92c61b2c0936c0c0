"""Benchmark: one Zabbix refresh cycle for 500 hosts × 5 items against the real lab server.

    bash scripts/zabbix-lab.sh up
    .venv/bin/python benchmarks/zabbix_refresh.py [--hosts 500] [--cycles 5]

Seeds `lvs-bench-NNNN` hosts (once; `--reseed` to redo), then measures HTTP requests and
seconds of the source's batched cycle (first cycle: login + an hour's backfill; steady
cycles: one new value per item since the previous cycle) against a naive loop that asks
per host (item.get + one history.get per value type). Target: at most 6 calls per cycle
at any fleet size and a steady cycle under 1 s at 500 hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from pyzabbix import ZabbixAPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lvs_tui.config import Config, parse  # noqa: E402
from lvs_tui.probes.zabbix import ZabbixSource  # noqa: E402
from lvs_tui.state import StateStore  # noqa: E402

STATE = Path(os.environ.get("ZBX_LAB_DIR", "/var/tmp/lvs-tui-zabbix"))
URL = os.environ.get("LVS_TUI_ZABBIX_URL", "http://127.0.0.1:18080/api_jsonrpc.php")
TRAPPER_PORT = os.environ.get("ZBX_LAB_TRAPPER_PORT", "10051")
KEYS = ("system.cpu.util", 'net.if.in["bond0"]', 'net.if.out["bond0"]', 'net.if.in["bond1"]',
        'net.if.out["bond1"]')


class Counter:
    """Counts the HTTP requests a requests.Session really sends."""

    def __init__(self, session: requests.Session) -> None:
        self.n = 0
        real = session.send

        def send(request: requests.PreparedRequest, **kw: Any) -> requests.Response:
            self.n += 1
            return real(request, **kw)

        session.send = send  # type: ignore[method-assign]


def seed(hosts: int, reseed: bool) -> list[str]:
    lab = ["bash", str(ROOT / "scripts" / "zabbix-lab.sh"), "seed"]
    if not (STATE / "api.token").is_file():  # the lab seed makes the API token
        subprocess.run(lab, check=True)
    manifest = STATE / "bench.json"
    if not reseed and manifest.is_file():
        names = json.loads(manifest.read_text(encoding="utf-8"))["hosts"]
        if len(names) == hosts:
            return names
    print(f"seeding {hosts} hosts × 5 items with 30 min of history …", flush=True)
    subprocess.run([*lab, "--bench", str(hosts), "--bench-minutes", "30"], check=True)
    return json.loads(manifest.read_text(encoding="utf-8"))["hosts"]


def config(names: list[str]) -> Config:
    parts = ['[[idcs]]\nid = "lab"\nname = "lab"\n',
             '[[contacts]]\nid = "room"\nrole = "duty_room"\nname = "5666"\n']
    for i, n in enumerate(names):
        parts.append(f'[[hosts]]\nname = "{n}"\nidc = "lab"\nmode = "single"\n'
                     f'internal = "127.1.{i // 250}.{i % 250 + 1}"\n'
                     f'external = "127.2.{i // 250}.{i % 250 + 1}"\n')
    # a proxy vantage: item.get then also lists icmpping*[<addr>] for all 1000 addresses
    parts.append('[[vantages]]\nid = "zbx-telecom"\nkind = "zabbix_proxy"\nname = "telecom"\n'
                 'proxy = "proxy-telecom"\nprobe_host = "probe-telecom"\n')
    parts.append(f'[zabbix]\nurl = "{URL}"\ntoken_file = "{STATE / "api.token"}"\n'
                 'timeout = 30.0\n')
    return parse("\n".join(parts), "bench.toml")


def feed(names: list[str]) -> None:
    """One new value per item, stamped now, as a 60 s item interval would give."""
    now = int(time.time())
    path = STATE / "bench-feed.txt"
    with path.open("w", encoding="utf-8") as f:
        for n in names:
            for k in KEYS:
                key = k.replace('"', '\\"')
                f.write(f'{n} "{key}" {now} {now % 97}\n')
    subprocess.run(["zabbix_sender", "-z", "127.0.0.1", "-p", TRAPPER_PORT, "-T", "-i",
                    str(path)], check=True, capture_output=True)
    time.sleep(2)  # let the history syncers write them


def batched(cfg: Config, names: list[str], cycles: int) -> tuple[tuple[int, float],
                                                                  list[tuple[int, float]]]:
    src, store = ZabbixSource(cfg), StateStore()
    counter = Counter(src.client.session)
    t0 = time.perf_counter()
    if src.refresh(store) is None:
        sys.exit(f"first cycle failed: {store.source('zabbix')}")
    first = (counter.n, time.perf_counter() - t0)
    steady = []
    for _ in range(cycles):
        feed(names)
        counter.n = 0
        t0 = time.perf_counter()
        if src.refresh(store) is None:
            sys.exit(f"cycle failed: {store.source('zabbix')}")
        steady.append((counter.n, time.perf_counter() - t0))
    return first, steady


def naive(names: list[str], since: int) -> tuple[int, float]:
    """What a per-host loop costs for the same steady-state read."""
    api = ZabbixAPI(URL, timeout=30)
    api.login(api_token=(STATE / "api.token").read_text().strip())
    counter = Counter(api.session)
    t0 = time.perf_counter()
    for n in names:
        items = api.item.get(filter={"host": n, "key_": list(KEYS)},
                             output=["itemid", "value_type", "lastclock", "lastvalue"])
        by_type: dict[int, list[str]] = {}
        for it in items:
            by_type.setdefault(int(it["value_type"]), []).append(it["itemid"])
        for vt, ids in by_type.items():
            api.history.get(history=vt, itemids=ids, time_from=since,
                            output=["itemid", "clock", "value"])
    return counter.n, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hosts", type=int, default=500)
    p.add_argument("--cycles", type=int, default=5)
    p.add_argument("--reseed", action="store_true")
    a = p.parse_args()
    names = seed(a.hosts, a.reseed)
    cfg = config(names)
    first, steady = batched(cfg, names, a.cycles)
    calls = max(c for c, _ in steady)
    secs = statistics.median(s for _, s in steady)
    feed(names)
    n_calls, n_secs = naive(names, int(time.time()) - 60)
    print(f"hosts: {len(names)} × 5 items")
    print(f"batched, first cycle (login + 1 h backfill): {first[0]} requests, {first[1]:.2f} s")
    print(f"batched, steady cycle: {calls} requests, {secs:.3f} s (median of {len(steady)}: "
          + ", ".join(f"{s:.3f}" for _, s in steady) + ")")
    print(f"naive per-host loop:   {n_calls} requests, {n_secs:.2f} s")
    print(f"ratio naive/batched:   {n_calls / calls:.0f}× requests, {n_secs / secs:.0f}× time")
    print("target ≤ 6 requests per cycle:", "met" if calls <= 6 else "MISSED")
    print("target < 1 s per steady cycle:", "met" if secs < 1.0 else
          "MISSED (timing depends on the machine's load)")
    sys.exit(0 if calls <= 6 else 1)  # the call count is exact; the time is informative


if __name__ == "__main__":
    main()
