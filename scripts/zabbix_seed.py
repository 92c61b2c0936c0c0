"""Seed the lab Zabbix (scripts/zabbix-lab.sh) through its own API and zabbix_sender.

Creates, in host group "LVS lab" (everything of a previous seed is deleted first):
  * lvs-lab-01 … : LVS hosts with official-template keys (system.cpu.util,
    net.if.in["bond0"] … in bps), hours of history at 60 s, 30 h of CPU for trends;
  * lvs-lab-02 uses hand-made keys (system.cpu.util[,idle], net.if.in[bond0] in Bps);
  * lvs-lab-stopped: its data stopped ten minutes ago;
  * a trigger on lvs-lab-01 whose last CPU value fires a problem;
  * probe-telecom (monitored by the running proxy-telecom) and probe-unicom (behind
    proxy-unicom, which never runs: stale) with icmpping/icmppingloss/icmppingsec per
    fleet address; one address unreachable, one item unsupported;
  * a user lvs-duty with a random password and an API token, written to the state dir.
Every item is a trapper item: Zabbix itself never sends a packet. Fleet addresses are in
127.0.0.0/8. A manifest (seed.json) tells the tests what was made.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pyzabbix import ZabbixAPI

GROUP = "LVS lab"
VALUE_FLOAT, VALUE_UNSIGNED = 0, 3
TRAPPER = 2
ADMIN = ("Admin", "zabbix")  # the fresh-install superuser of a throwaway lab database
SUPER_ADMIN_ROLE = "3"


@dataclass(frozen=True)
class ItemSpec:
    key: str
    value_type: int
    units: str


OFFICIAL = (ItemSpec("system.cpu.util", VALUE_FLOAT, "%"),
            ItemSpec('net.if.in["bond0"]', VALUE_UNSIGNED, "bps"),
            ItemSpec('net.if.out["bond0"]', VALUE_UNSIGNED, "bps"),
            ItemSpec('net.if.in["bond1"]', VALUE_UNSIGNED, "bps"),
            ItemSpec('net.if.out["bond1"]', VALUE_UNSIGNED, "bps"))
HANDMADE = (ItemSpec("system.cpu.util[,idle]", VALUE_FLOAT, "%"),
            ItemSpec("net.if.in[bond0]", VALUE_UNSIGNED, "Bps"),
            ItemSpec("net.if.out[bond0]", VALUE_UNSIGNED, "Bps"),
            ItemSpec("net.if.in[bond1]", VALUE_UNSIGNED, "Bps"),
            ItemSpec("net.if.out[bond1]", VALUE_UNSIGNED, "Bps"))


def cpu_at(i: int, t: float) -> float:
    return round(30 + 10 * math.sin(t / 900 + i), 2)


def bps_at(i: int, k: int, t: float) -> int:
    return int(1e9 * (1 + k) + 2e8 * math.sin(t / 600 + i + k))


def value_of(host_index: int, spec: ItemSpec, t: float) -> float:
    """The true value (CPU %, bits/s) and what the item stores for it."""
    if spec.key.startswith("system.cpu.util"):
        cpu = cpu_at(host_index, t)
        return round(100 - cpu, 2) if "idle" in spec.key else cpu
    k = ["in[bond0", "out[bond0", "in[bond1", "out[bond1"].index(
        next(s for s in ("in[bond0", "out[bond0", "in[bond1", "out[bond1")
             if s in spec.key.replace('"', "")))
    bps = bps_at(host_index, k, t)
    return bps // 8 if spec.units == "Bps" else bps


def sender_line(host: str, key: str, clock: int, value: object) -> str:
    quoted = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{host} "{quoted}" {clock} {value}\n'


class Seeder:
    def __init__(self, url: str, state: Path, server_conf: str, trapper_port: int,
                 proxy_port: int) -> None:
        self.state = state
        self.server_conf = server_conf
        self.trapper_port = trapper_port
        self.proxy_port = proxy_port
        self.api = ZabbixAPI(url, timeout=60)
        self.api.login(*ADMIN)

    # -- configuration through the API ---------------------------------------------------
    def reset(self, prefix: str) -> str:
        groups = self.api.hostgroup.get(filter={"name": [GROUP]}, output=["groupid"])
        gid = groups[0]["groupid"] if groups else self.api.hostgroup.create(
            name=GROUP)["groupids"][0]
        old = self.api.host.get(groupids=[gid], output=["hostid", "host"])
        doomed = [h["hostid"] for h in old if h["host"].startswith(prefix)]
        if doomed:
            self.api.host.delete(*doomed)
        return gid

    def proxy(self, name: str) -> str:
        found = self.api.proxy.get(filter={"host": [name]}, output=["proxyid"])
        if found:
            return found[0]["proxyid"]
        return self.api.proxy.create(host=name, status=5)["proxyids"][0]

    def hosts(self, gid: str, names: list[str], proxy: str = "") -> dict[str, str]:
        params = [{"host": n, "groups": [{"groupid": gid}],
                   **({"proxy_hostid": proxy} if proxy else {})} for n in names]
        ids = self.api.host.create(*params)["hostids"]
        return dict(zip(names, ids, strict=True))

    def items(self, specs: list[tuple[str, ItemSpec]], hostids: dict[str, str]) -> None:
        for start in range(0, len(specs), 2000):
            chunk = specs[start:start + 2000]
            self.api.item.create(*[
                {"hostid": hostids[h], "name": s.key, "key_": s.key, "type": TRAPPER,
                 "value_type": s.value_type, "units": s.units, "history": "7d",
                 "trends": "365d"} for h, s in chunk])

    def trigger(self, host: str) -> None:
        self.api.trigger.create(description="CPU too high on {HOST.NAME}", priority=4,
                                expression=f"last(/{host}/system.cpu.util)>90")

    def duty_user(self) -> tuple[str, str]:
        """lvs-duty with a fresh random password and a fresh API token."""
        password = secrets.token_urlsafe(18)
        users = self.api.user.get(filter={"username": "lvs-duty"}, output=["userid"])
        if users:
            uid = users[0]["userid"]
            self.api.user.update(userid=uid, passwd=password)
        else:
            grp = self.api.usergroup.get(filter={"name": ["Zabbix administrators"]},
                                         output=["usrgrpid"])[0]["usrgrpid"]
            uid = self.api.user.create(username="lvs-duty", passwd=password,
                                       roleid=SUPER_ADMIN_ROLE,
                                       usrgrps=[{"usrgrpid": grp}])["userids"][0]
        old = self.api.token.get(userids=[uid], output=["tokenid"])
        if old:
            self.api.token.delete(*[t["tokenid"] for t in old])
        tid = self.api.token.create(name="lvs-tui", userid=uid)["tokenids"][0]
        token = self.api.token.generate(tid)[0]["token"]
        expired = self.api.token.create(name="lvs-tui-expired", userid=uid,
                                        expires_at=int(time.time()) + 2)["tokenids"][0]
        expired_token = self.api.token.generate(expired)[0]["token"]
        write_secret(self.state / "api.password", password)
        write_secret(self.state / "api.token", token)
        write_secret(self.state / "expired.token", expired_token)
        return uid, token

    # -- data through the trapper --------------------------------------------------------
    def reload_config(self) -> None:
        subprocess.run(["zabbix_server", "-c", self.server_conf, "-R", "config_cache_reload"],
                       check=True, capture_output=True)

    def send(self, lines: list[str], port: int, wait: float = 60.0) -> int:
        """zabbix_sender with timestamps; the first line is retried until the (proxy's)
        config cache knows its item, then everything is sent once. Returns the refused."""
        deadline = time.monotonic() + wait
        while self._sender(lines[:1], port) and time.monotonic() < deadline:
            time.sleep(1)
        return self._sender(lines[1:], port) if len(lines) > 1 else 0

    def forwarded(self, host: str, count: int, wait: float) -> bool:
        """Whether the proxy passed the values on: the server shows them as last values."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            items = self.api.item.get(filter={"host": [host]}, output=["lastclock"])
            if sum(int(i["lastclock"]) > 0 for i in items) >= count:
                return True
            time.sleep(0.5)
        return False

    def _sender(self, lines: list[str], port: int) -> int:
        path = self.state / f"sender-{port}.txt"
        path.write_text("".join(lines), encoding="utf-8")
        out = subprocess.run(["zabbix_sender", "-z", "127.0.0.1", "-p", str(port), "-T",
                              "-i", str(path)], capture_output=True, text=True)
        return sum(int(p.split(";")[0]) for p in out.stdout.split("failed: ")[1:])


def write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def history(host: str, index: int, specs: tuple[ItemSpec, ...], start: float, end: float,
            step: int) -> list[str]:
    out = []
    t = int(start) // step * step
    while t <= end:
        out.extend(sender_line(host, s.key, t, value_of(index, s, t)) for s in specs)
        t += step
    return out


def fleet_addresses(n: int) -> dict[str, tuple[str, str]]:
    return {f"lvs-lab-{i + 1:02d}": (f"127.0.10.{i + 1}", f"127.0.20.{i + 1}") for i in range(n)}


def seed_lab(s: Seeder, n_hosts: int, hours: float) -> dict[str, object]:
    now = time.time()
    gid = s.reset("lvs-lab-")
    s.reset("probe-")
    names = [f"lvs-lab-{i + 1:02d}" for i in range(n_hosts)]
    stopped = "lvs-lab-stopped"
    hostids = s.hosts(gid, [*names, stopped])
    spec_of = {n: HANDMADE if n == "lvs-lab-02" else OFFICIAL for n in [*names, stopped]}
    s.items([(h, sp) for h, specs in spec_of.items() for sp in specs], hostids)
    s.trigger("lvs-lab-01")
    telecom, unicom = s.proxy("proxy-telecom"), s.proxy("proxy-unicom")
    addresses = [a for pair in fleet_addresses(n_hosts).values() for a in pair]
    probes = {"probe-telecom": telecom, "probe-unicom": unicom}
    for probe, proxy in probes.items():
        pid = s.hosts(gid, [probe], proxy)
        s.items([(probe, ItemSpec(f"{k}[{a}]", vt, u)) for a in addresses
                 for k, vt, u in (("icmpping", VALUE_UNSIGNED, ""),
                                  ("icmppingloss", VALUE_FLOAT, "%"),
                                  ("icmppingsec", VALUE_FLOAT, "s"))], pid)
    s.duty_user()
    s.reload_config()

    lines: list[str] = []
    for i, name in enumerate(names):
        lines += history(name, i, spec_of[name], now - hours * 3600, now, 60)
    lines += history("lvs-lab-01", 0, OFFICIAL[:1], now - 30 * 3600, now - hours * 3600 - 60,
                     300)
    lines += history(stopped, 99, OFFICIAL, now - hours * 3600, now - 600, 60)
    if s.send(lines, s.trapper_port):
        sys.exit("zabbix_sender: the server refused history values")
    # alone and last, so that the trigger sees it as the newest value: the problem
    time.sleep(1)
    s.send([sender_line("lvs-lab-01", "system.cpu.util", int(now) + 1, 95.5)], s.trapper_port)

    unreachable, unsupported = addresses[1], addresses[2]
    probe_lines: list[str] = []
    for a in addresses:
        t = int(now)
        down = a == unreachable
        probe_lines += [sender_line("probe-telecom", f"icmpping[{a}]", t, 0 if down else 1),
                        sender_line("probe-telecom", f"icmppingloss[{a}]", t,
                                    100 if down else 0),
                        sender_line("probe-telecom", f"icmppingsec[{a}]", t,
                                    0 if down else 0.0123)]
    # a text value in a numeric item makes it unsupported, as a broken check would be
    probe_lines.append(sender_line("probe-telecom", f"icmppingsec[{unsupported}]", int(now),
                                   "timeout"))
    # The proxy may still hold the previous seed's configuration (same host, same keys,
    # deleted items) for up to ConfigFrequency: it then takes values the server drops.
    # So: send, and send again until the server shows them.
    for _ in range(6):
        if s.send(probe_lines, s.proxy_port, wait=90) > 1:  # the text value may be refused
            sys.exit("zabbix_sender: the proxy did not take the probe values")
        if s.forwarded("probe-telecom", len(addresses) * 3, wait=10):
            break
    else:
        sys.exit("the proxy did not forward probe-telecom's values")
    return {"group": GROUP, "hosts": names, "stopped": stopped, "handmade": "lvs-lab-02",
            "addresses": fleet_addresses(n_hosts), "problem_host": "lvs-lab-01",
            "probes": {"probe-telecom": "proxy-telecom", "probe-unicom": "proxy-unicom"},
            "unreachable": unreachable, "unsupported": unsupported, "seeded_at": now,
            "hours": hours, "api_user": "lvs-duty"}


def seed_bench(s: Seeder, n_hosts: int, minutes: float) -> dict[str, object]:
    """n hosts × 5 official items with `minutes` of history, for the benchmark."""
    now = time.time()
    gid = s.reset("lvs-bench-")
    names = [f"lvs-bench-{i + 1:04d}" for i in range(n_hosts)]
    hostids = s.hosts(gid, names)
    s.items([(h, sp) for h in names for sp in OFFICIAL], hostids)
    s.reload_config()
    lines: list[str] = []
    for i, name in enumerate(names):
        lines += history(name, i, OFFICIAL, now - minutes * 60, now, 60)
    if s.send(lines, s.trapper_port, wait=120):
        sys.exit("zabbix_sender: the server refused history values")
    return {"hosts": names, "seeded_at": now}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--state", required=True, type=Path)
    p.add_argument("--server-conf", required=True)
    p.add_argument("--trapper-port", type=int, default=10051)
    p.add_argument("--proxy-port", type=int, default=10061)
    p.add_argument("--hosts", type=int, default=6, help="LVS lab hosts (besides the stopped)")
    p.add_argument("--hours", type=float, default=3.0, help="hours of 60 s history")
    p.add_argument("--bench", type=int, default=0, metavar="N",
                   help="instead: N benchmark hosts × 5 items")
    p.add_argument("--bench-minutes", type=float, default=30.0)
    a = p.parse_args()
    s = Seeder(a.url, a.state, a.server_conf, a.trapper_port, a.proxy_port)
    t0 = time.monotonic()
    if a.bench:
        manifest = seed_bench(s, a.bench, a.bench_minutes)
        path = a.state / "bench.json"
    else:
        manifest = seed_lab(s, a.hosts, a.hours)
        path = a.state / "seed.json"
    path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    print(f"zabbix-lab: seeded in {time.monotonic() - t0:.1f} s -> {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
