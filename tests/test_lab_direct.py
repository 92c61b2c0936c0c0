"""The lab's DIRECT topology (the ping benchmark's lean path): host ports in lvt-duty, so a
probe crosses one veth pair and nothing forwards; duty is still sealed from the root
namespace. The tests keep the ROUTED default (tests/test_icmp_lab.py)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from lab.netns import (
    CONTROL,
    DUTY,
    LAB_PREFIXES,
    Lab,
    Side,
    Topology,
    blackholed,
    down,
    exclusive,
    in_netns,
)
from lvs_tui.probes.icmp import IcmpEngine
from lvs_tui.probes.traceroute import Tool, traceroute
from lvs_tui.state import StateStore
from tests.conftest import is_root, require


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require(is_root(), "the netns lab needs root")
    require(shutil.which("fping") is not None, "fping is not installed")
    with exclusive():
        lab = Lab(hosts=3, vips=2, vips6=1, topology=Topology.DIRECT).up()
        try:
            yield lab
        finally:
            down()


def _ip(*args: str) -> str:
    return subprocess.run(["ip", "-n", DUTY, *args], capture_output=True, text=True,
                          check=True).stdout


def test_duty_stays_sealed(lab: Lab) -> None:
    assert _ip("-4", "route", "show", "default") == ""
    assert _ip("-6", "route", "show", "default") == ""
    links = {line.split(":")[1].strip().split("@")[0]
             for line in _ip("-o", "link", "show").splitlines()}
    ports = {h.router_port(side) for h in lab.all_hosts for side in Side}
    assert links == {"lo", "eth0", *ports}


def test_the_labs_prefixes_go_nowhere_from_the_root_namespace(lab: Lab) -> None:
    """While the lab is up a probe started beside it (in the root namespace) is dropped by a
    blackhole route instead of following the machine's default route out."""
    assert blackholed() == LAB_PREFIXES
    for address in (lab.all_hosts[0].internal, lab.all_hosts[0].external6, CONTROL):
        got = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True,
                             check=False)
        assert got.returncode != 0 or "blackhole" in got.stdout, (address, got.stdout)


def test_probes_leave_from_the_port_facing_their_host(lab: Lab) -> None:
    h = lab.host(2)
    vip6 = next(v for v in lab.vips_of(h) if ":" in v)
    assert f"src {h.external6.replace('::1', '::fe')} " in _ip("-6", "route", "get", vip6)
    assert f"src 10.201.{h.index}.254 " in _ip("route", "get", lab.vips_of(h)[0])
    assert f"src 10.200.{h.index}.254 " in _ip("route", "get", h.internal)


async def test_every_address_and_the_control_target_answer(lab: Lab) -> None:
    store = StateStore()
    engine = IcmpEngine([*lab.addresses(), CONTROL], interval=1.0, timeout=1.0)
    with in_netns(DUTY):
        await engine.sweep(store)
    assert engine.sent == len(engine.targets) == engine.received
    assert engine.lost == engine.errors == 0


async def test_a_vip_is_the_first_hop(lab: Lab) -> None:
    require(shutil.which("traceroute") is not None, "traceroute is not installed")
    vip = lab.vips_of(lab.host(2))[0]
    with in_netns(DUTY):
        trace = await traceroute(vip, max_hops=3, wait=1.0, timeout=20,
                                 tools=(Tool.TRACEROUTE,))
    assert trace.complete and CONTROL not in trace.text, trace.text
    assert trace.text.splitlines()[1].split()[:2] == ["1", vip], trace.text


async def test_a_killed_host_alone_goes_silent_until_restored(lab: Lab) -> None:
    dead = lab.host(1)
    lab.kill_host(dead)
    try:
        store = StateStore()
        engine = IcmpEngine(lab.addresses(), interval=1.0, timeout=0.5)
        with in_netns(DUTY):
            await engine.sweep(store)
    finally:
        lab.restore()
    silent = {a for a in engine.targets if not any(s.received for s in store.pings("local", a))}
    assert silent == set(lab.addresses_of(dead))
    again = IcmpEngine(lab.addresses_of(dead), interval=1.0, timeout=1.0)
    with in_netns(DUTY):
        await again.sweep(StateStore())
    assert again.received == len(again.targets)
