"""The netns test lab: LVS hosts in network namespaces, probed from a sealed duty namespace.

Topology (every name starts with ``lvt-``; nothing is created in the root namespace)::

    lvt-duty  eth0 ──── duty0  lvt-rtr  hNNNb0 ──── bond0  lvt-hNNN   (internal, 内网)
    (no default route,          (forwards)  hNNNb1 ──── bond1  lvt-hNNN   (external + VIPs)
     no link to the root ns)

That is the ROUTED topology (the default: traceroute sees a hop, the router is the control
target). The DIRECT one, for the ping benchmark, puts the host ports in lvt-duty itself
(same names, same addresses), so a probe crosses one veth pair each way and nothing forwards,
as on a real NIC; lvt-rtr then only answers as the control target::

    lvt-duty  eth0 ──── duty0  lvt-rtr            (control target only)
              hNNNb0 ──────────────────── bond0  lvt-hNNN
              hNNNb1 ──────────────────── bond1  lvt-hNNN

Addresses exist only inside these namespaces:

* duty ``10.200.0.1`` / ``fd00:200::1``; the router ``10.200.0.254`` / ``fd00:200::fe`` is
  the duty vantage's control target (a known-good address, like a gateway);
* host k internal ``10.200.k.1`` (bond0), external ``10.201.k.1`` (bond1), VIPs
  ``10.202.k.j`` and ``fd00:200:2:k::j`` on bond1, routed by the router via the external
  address. Source-based rules send each side's replies out of its own side, so cutting one
  side does not take the other down.

The kernel here has veth but no bond, dummy or netem: the veth ends are named ``bond0`` and
``bond1``; loss is an nftables ``numgen random`` drop rule inside the host namespace.
Faults: kill a host (both links down), drop a VIP, cut one side, make a host lossy;
``restore`` re-applies the host's whole configuration idempotently.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PREFIX = "lvt-"
DUTY = "lvt-duty"
ROUTER = "lvt-rtr"
# Every address the lab uses. While the lab is up they are blackholed in the root namespace
# too: a probe started beside the lab by mistake goes nowhere instead of out of the machine.
LAB_PREFIXES = ("10.200.0.0/16", "10.201.0.0/16", "10.202.0.0/16", "fd00:200::/32")
CONTROL = "10.200.0.254"
CONTROL6 = "fd00:200::fe"
MAX_HOSTS = 250
MAX_VIPS = 254
_CLONE_NEWNET = 0x40000000
LOCK = Path("/run/lvt-lab.lock")
_HOST_NS = re.compile(r"^lvt-h\d{3}$")


class LabError(RuntimeError):
    """A lab command failed; the message names the command and what it printed."""


class Topology(StrEnum):
    """Where the host ports live: behind a forwarding router, or in lvt-duty itself."""

    ROUTED = "routed"
    DIRECT = "direct"


class Side(StrEnum):
    INTERNAL = "bond0"
    EXTERNAL = "bond1"


@dataclass(frozen=True, slots=True)
class LabHost:
    index: int

    @property
    def name(self) -> str:
        return f"lab-h{self.index:03d}"

    @property
    def ns(self) -> str:
        return f"{PREFIX}h{self.index:03d}"

    @property
    def internal(self) -> str:
        return f"10.200.{self.index}.1"

    @property
    def external(self) -> str:
        return f"10.201.{self.index}.1"

    @property
    def internal6(self) -> str:
        return f"fd00:200:0:{self.index:x}::1"

    @property
    def external6(self) -> str:
        return f"fd00:200:1:{self.index:x}::1"

    def router_port(self, side: Side) -> str:
        return f"h{self.index:03d}b{side.value[-1]}"


@dataclass(frozen=True, slots=True)
class Lab:
    """A lab of `hosts` hosts, each with `vips` IPv4 VIPs and `vips6` IPv6 VIPs."""

    hosts: int = 4
    vips: int = 3
    vips6: int = 1
    topology: Topology = Topology.ROUTED

    def __post_init__(self) -> None:
        if not 1 <= self.hosts <= MAX_HOSTS or not 0 <= self.vips <= MAX_VIPS \
                or not 0 <= self.vips6 <= MAX_VIPS:
            raise LabError(f"lab size out of range: hosts 1-{MAX_HOSTS}, vips 0-{MAX_VIPS}")

    @property
    def hub(self) -> str:
        """The namespace holding every host's far veth end (hNNNb0, hNNNb1)."""
        return ROUTER if self.topology is Topology.ROUTED else DUTY

    def host(self, index: int) -> LabHost:
        return LabHost(index)

    @property
    def all_hosts(self) -> tuple[LabHost, ...]:
        return tuple(LabHost(k) for k in range(1, self.hosts + 1))

    def vips_of(self, host: LabHost) -> tuple[str, ...]:
        k = host.index
        return (tuple(f"10.202.{k}.{j}" for j in range(1, self.vips + 1))
                + tuple(f"fd00:200:2:{k:x}::{j:x}" for j in range(1, self.vips6 + 1)))

    def addresses_of(self, host: LabHost) -> tuple[str, ...]:
        """Everything that answers from this host: both sides, then its VIPs."""
        return (host.internal, host.external, *self.vips_of(host))

    def addresses(self) -> tuple[str, ...]:
        return tuple(a for h in self.all_hosts for a in self.addresses_of(h))

    def owner(self, address: str) -> LabHost:
        return next(h for h in self.all_hosts if address in self.addresses_of(h))

    # -- lifecycle ---------------------------------------------------------------------
    def up(self) -> Lab:
        """Create the lab, replacing any earlier lvt- lab; returns self."""
        down()
        _batch(None, [f"{'-6 ' if ':' in p else ''}route replace blackhole {p}"
                      for p in LAB_PREFIXES])
        names = [DUTY, ROUTER, *(h.ns for h in self.all_hosts)]
        for ns in names:
            _run("ip", "netns", "add", ns)
        links = [f"link add eth0 netns {DUTY} type veth peer name duty0 netns {ROUTER}"]
        for h in self.all_hosts:
            for side in Side:
                links.append(f"link add {side.value} netns {h.ns} type veth peer name "
                             f"{h.router_port(side)} netns {self.hub}")
        _batch(None, links)
        self._configure_duty()
        self._configure_router()
        # In DIRECT the ports sit in lvt-duty: their /24 routes beat duty's /16s via CONTROL.
        _batch(self.hub, [c for h in self.all_hosts for c in self._port_commands(h)])
        for h in self.all_hosts:
            self._configure_host(h)
        self.wait_ready()
        return self

    def wait_ready(self, within: float = 15.0) -> None:
        """A fresh namespace drops its first IPv6 packets for a second or two (neighbour
        discovery settling): wait until one v4 and one v6 address of each host answer."""
        probes = [a for h in self.all_hosts for a in (h.internal, h.external6)]
        deadline = time.monotonic() + within
        while True:
            proc = subprocess.run(["ip", "netns", "exec", DUTY, "fping", "-q", "-r", "0",
                                   "-t", "300", *probes], capture_output=True, check=False)
            if proc.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise LabError(f"lab not answering after {within:g}s: "
                               f"{proc.stderr.decode(errors='replace').strip()[:200]}")
            time.sleep(0.3)

    def _configure_duty(self) -> None:
        _sysctl(DUTY, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.eth0.accept_dad=0")
        if self.topology is Topology.DIRECT:
            # A real terminal has one NIC; here duty has two ports per host, and IPv6 source
            # selection would scan all of them for every probe. The outgoing port's own
            # address is the one it would choose anyway (same interface ranks first).
            _sysctl(DUTY, *(f"net.ipv6.conf.{h.router_port(side)}.use_oif_addrs_only=1"
                            for h in self.all_hosts for side in Side))
        _batch(DUTY, [
            "link set lo up", "link set eth0 up",
            "addr replace 10.200.0.1/24 dev eth0",
            "addr replace fd00:200::1/64 dev eth0 nodad",
            # Only the lab's ranges: no default route, so nothing can leave the lab.
            f"route replace 10.200.0.0/16 via {CONTROL}",
            f"route replace 10.201.0.0/16 via {CONTROL}",
            f"route replace 10.202.0.0/16 via {CONTROL}",
            f"-6 route replace fd00:200::/32 via {CONTROL6}",
        ])

    def _configure_router(self) -> None:
        _sysctl(ROUTER, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
        cmds = ["link set lo up", "link set duty0 up",
                f"addr replace {CONTROL}/24 dev duty0",
                f"addr replace {CONTROL6}/64 dev duty0 nodad"]
        _batch(ROUTER, cmds)

    def _port_commands(self, h: LabHost) -> list[str]:
        """The hub's side of host h: its two port addresses and the route to its VIPs."""
        k = h.index
        b0, b1 = h.router_port(Side.INTERNAL), h.router_port(Side.EXTERNAL)
        return [
            f"link set {b0} up", f"link set {b1} up",
            f"addr replace 10.200.{k}.254/24 dev {b0}",
            f"addr replace 10.201.{k}.254/24 dev {b1}",
            f"addr replace fd00:200:0:{k:x}::fe/64 dev {b0} nodad",
            f"addr replace fd00:200:1:{k:x}::fe/64 dev {b1} nodad",
            f"route replace 10.202.{k}.0/24 via {h.external} dev {b1}",
            f"-6 route replace fd00:200:2:{k:x}::/64 via {h.external6} dev {b1}",
        ]

    def _configure_host(self, h: LabHost) -> None:
        k = h.index
        _sysctl(h.ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0", "net.ipv4.icmp_ratelimit=0",
                "net.ipv6.icmp.ratelimit=0")
        cmds = ["link set lo up", "link set bond0 up", "link set bond1 up",
                f"addr replace {h.internal}/24 dev bond0",
                f"addr replace {h.external}/24 dev bond1",
                f"addr replace {h.internal6}/64 dev bond0 nodad",
                f"addr replace {h.external6}/64 dev bond1 nodad"]
        for vip in self.vips_of(h):
            cmds.append(f"addr replace {vip}/{128 if ':' in vip else 32} dev bond1"
                        + (" nodad" if ":" in vip else ""))
        cmds += [
            f"route replace default via 10.201.{k}.254 dev bond1",
            f"-6 route replace default via fd00:200:1:{k:x}::fe dev bond1",
            # Replies from the internal address leave by the internal side.
            f"route replace default via 10.200.{k}.254 dev bond0 table 100",
            f"-6 route replace default via fd00:200:0:{k:x}::fe dev bond0 table 100",
        ]
        _batch(h.ns, cmds)
        for family, addr in (("-4", h.internal), ("-6", h.internal6)):
            rules = _run("ip", "-n", h.ns, family, "rule", "show", "from", addr)
            if "lookup 100" not in rules:
                _run("ip", "-n", h.ns, family, "rule", "add", "from", addr, "table", "100")

    # -- faults -----------------------------------------------------------------------
    def kill_host(self, host: LabHost) -> None:
        """Both NICs down: as seen from outside, the box is gone."""
        _batch(host.ns, ["link set bond0 down", "link set bond1 down"])

    def cut_side(self, host: LabHost, side: Side) -> None:
        _batch(host.ns, [f"link set {side.value} down"])

    def drop_vip(self, address: str) -> None:
        host = self.owner(address)
        plen = 128 if ":" in address else 32
        _run("ip", "-n", host.ns, "addr", "del", f"{address}/{plen}", "dev", "bond1")

    def make_lossy(self, host: LabHost, percent: int) -> None:
        """Drop `percent`% of echo requests arriving at the host, at random."""
        if not 0 <= percent <= 100:
            raise LabError(f"loss {percent!r} is not a percentage")
        rules = (f"table inet lvt_loss {{\n chain input {{\n"
                 f"  type filter hook input priority 0; policy accept;\n"
                 f"  icmp type echo-request numgen random mod 100 < {percent} drop\n"
                 f"  icmpv6 type echo-request numgen random mod 100 < {percent} drop\n"
                 f" }}\n}}\n")
        self._clear_loss(host)
        _run("ip", "netns", "exec", host.ns, "nft", "-f", "-", stdin=rules)

    def _clear_loss(self, host: LabHost) -> None:
        tables = _run("ip", "netns", "exec", host.ns, "nft", "list", "tables")
        if "lvt_loss" in tables:
            _run("ip", "netns", "exec", host.ns, "nft", "delete", "table", "inet", "lvt_loss")

    def cut_duty(self) -> None:
        """The duty terminal's own link fails: its probes cannot even be sent."""
        ports = ([] if self.topology is Topology.ROUTED else
                 [f"link set {h.router_port(s)} down" for h in self.all_hosts for s in Side])
        _batch(DUTY, ["link set eth0 down", *ports])

    def restore(self, host: LabHost | None = None) -> None:
        """Undo every fault on one host (or everywhere, the duty link included): links,
        VIPs, routes, loss; then forget stale neighbour entries."""
        targets = (host,) if host else self.all_hosts
        if host is None:
            self._configure_duty()
        for h in targets:
            self._clear_loss(h)
            self._configure_host(h)
        _batch(self.hub, [c for h in targets for c in self._port_commands(h)])
        for ns in (DUTY, ROUTER):
            _run("ip", "-n", ns, "neigh", "flush", "all")

    def write_config(self, path: str | Path) -> Path:
        """A valid lvs-tui config describing this lab, for `lvs-tui check` in lvt-duty."""
        p = Path(path)
        p.write_text(config_text(self), encoding="utf-8")
        return p


def write_config(path: str | Path, lab: Lab | None = None) -> Path:
    return (lab or Lab()).write_config(path)


def config_text(lab: Lab) -> str:
    lines = [
        "# Generated by lab.netns.write_config: the netns test lab (lvt-* namespaces).",
        "# Run inside the duty namespace: ip netns exec lvt-duty lvs-tui check --config ...",
        "[duty]", "interval = 1.0", "ping_timeout = 1.0", "stale_after = 5.0", "",
        "[[idcs]]", 'id = "lab"', 'name = "实验室"', 'carrier = "veth"', "",
    ]
    for h in lab.all_hosts:
        lines += ["[[hosts]]", f'name = "{h.name}"', 'idc = "lab"', 'mode = "single"',
                  f'group = "lab-{(h.index + 1) // 2}"', f'internal = "{h.internal}"',
                  f'external = "{h.external}"', ""]
    for h in lab.all_hosts:
        for vip in lab.vips_of(h):
            lines += ["[[vips]]", f'address = "{vip}"', f'hosts = ["{h.name}"]',
                      'service = "lab"', ""]
    lines += ["[[contacts]]", 'id = "duty5666"', 'role = "duty_room"', 'name = "5666 值班室"',
              'phone = "010-62675666"', "",
              "[[vantages]]", 'id = "local"', 'kind = "local"', 'name = "本地"',
              f'control = "{CONTROL}"', ""]
    return "\n".join(lines)


# -- whole-lab helpers -----------------------------------------------------------------
def namespaces() -> tuple[str, ...]:
    """The lab's namespaces that exist now: lvt-duty, lvt-rtr, lvt-hNNN; nobody else's."""
    out = _run("ip", "netns", "list")
    names = (line.split()[0] for line in out.splitlines() if line.strip())
    return tuple(n for n in names if n in (DUTY, ROUTER) or _HOST_NS.match(n))


@contextlib.contextmanager
def exclusive(timeout: float = 900.0) -> Iterator[None]:
    """One lab user at a time (a pytest session, the benchmark): `up` replaces the lab, so
    a second user waits here for the first to finish instead of pulling it away."""
    with open(LOCK, "a") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"{LOCK}: another lab user held it for {timeout:g}s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def scratch_namespace(name: str) -> Iterator[str]:
    """A throw-away namespace with only loopback up (no route anywhere), deleted after."""
    if not name.startswith(PREFIX) or name in (DUTY, ROUTER) or _HOST_NS.match(name):
        raise LabError(f"{name!r}: a scratch namespace is lvt-<name>, not a lab one")
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    _run("ip", "netns", "add", name)
    try:
        _batch(name, ["link set lo up"])
        yield name
    finally:
        _run("ip", "netns", "del", name)


def down() -> None:
    """Delete the lab's namespaces (their veths go with them) and its blackhole routes in
    the root namespace. Touches nothing else."""
    for ns in namespaces():
        _run("ip", "netns", "del", ns)
    for p in LAB_PREFIXES:  # only a blackhole route of exactly this prefix is deleted
        subprocess.run(["ip", *(["-6"] if ":" in p else []), "route", "del", "blackhole", p],
                       capture_output=True, check=False)


def blackholed() -> tuple[str, ...]:
    """The lab prefixes the root namespace blackholes now."""
    out = []
    for p in LAB_PREFIXES:
        got = subprocess.run(["ip", *(["-6"] if ":" in p else []), "route", "show", "type",
                              "blackhole", p], capture_output=True, text=True, check=False)
        if got.stdout.strip():
            out.append(p)
    return tuple(out)


def is_up(lab: Lab | None = None) -> bool:
    have = set(namespaces())
    need = {DUTY, ROUTER} | ({h.ns for h in lab.all_hosts} if lab else set())
    return need <= have


def status() -> str:
    names = namespaces()
    if not names:
        return "lab: down"
    hosts = [n for n in names if n not in (DUTY, ROUTER)]
    return f"lab: up, {len(hosts)} hosts ({', '.join(sorted(hosts)[:8])}" \
           f"{' …' if len(hosts) > 8 else ''}), duty {DUTY}, router {ROUTER}"


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the calling thread in namespace `name`; sockets and children made here stay there.

    Only this thread moves (setns), and it moves back on exit.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{name}") as target:
        if libc.setns(target.fileno(), _CLONE_NEWNET) != 0:
            raise LabError(f"setns {name}: {os.strerror(ctypes.get_errno())}")
        try:
            yield
        finally:
            if libc.setns(home.fileno(), _CLONE_NEWNET) != 0:
                raise LabError(f"setns back: {os.strerror(ctypes.get_errno())}")


def neigh_flush(ns: str = DUTY) -> None:
    _run("ip", "-n", ns, "neigh", "flush", "all")


def _sysctl(ns: str, *settings: str) -> None:
    _run("ip", "netns", "exec", ns, "sysctl", "-qw", *settings)


def _batch(ns: str | None, commands: list[str]) -> None:
    """Run ip commands in one process; lines starting with -6 run as `ip -6`."""
    plain = [c for c in commands if not c.startswith("-6 ")]
    six = [c[3:] for c in commands if c.startswith("-6 ")]
    where = ["-n", ns] if ns else []
    if plain:
        _run("ip", *where, "-batch", "-", stdin="\n".join(plain) + "\n")
    if six:
        _run("ip", *where, "-6", "-batch", "-", stdin="\n".join(six) + "\n")


def _run(*argv: str, stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout
