"""Traceroute on demand, run from the lab's duty namespace to a lab VIP (two hops: the lab
router, then the host), with each tool; plus the text-only paths."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import icmplib
import pytest

from lab.netns import CONTROL, DUTY, Lab, down, exclusive, in_netns
from lvs_tui.probes.traceroute import Tool, argv_for, format_hops, traceroute
from tests.conftest import is_root, require


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require(is_root(), "the netns lab needs root")
    with exclusive():
        lab = Lab(hosts=1, vips=1, vips6=1).up()
        try:
            yield lab
        finally:
            down()


@pytest.mark.parametrize("tool", list(Tool))
@pytest.mark.parametrize("family", [4, 6])
async def test_each_tool_traces_to_a_lab_vip(lab: Lab, tool: Tool, family: int) -> None:
    if tool is not Tool.ICMPLIB:
        require(shutil.which(tool.value) is not None, f"{tool.value} is not installed")
    vip = next(v for v in lab.vips_of(lab.host(1)) if (":" in v) == (family == 6))
    router = CONTROL if family == 4 else "fd00:200::fe"
    # ICMP echo probes where the tool can: UDP to a VIP is what LVS hosts often drop.
    with in_netns(DUTY):
        trace = await traceroute(vip, max_hops=4, wait=1.0, timeout=20, tools=(tool,))
    assert trace.tool is tool
    assert router in trace.text and vip in trace.text.splitlines()[-1], trace.text
    assert trace.complete


async def test_timeout_keeps_partial_text(lab: Lab) -> None:
    require(shutil.which("traceroute") is not None, "traceroute is not installed")
    lab.kill_host(lab.host(1))
    try:
        with in_netns(DUTY):
            cut = await traceroute(lab.host(1).external, max_hops=3, wait=1.0,
                                   timeout=0.5, tools=(Tool.TRACEROUTE,))
            lost = await traceroute(lab.host(1).external, max_hops=3, wait=1.0,
                                    timeout=10, tools=(Tool.TRACEROUTE,))
    finally:
        lab.restore()
    assert not cut.complete and cut.text.endswith("(traceroute stopped after 0.5s)")
    assert not lost.complete and CONTROL in lost.text and lost.text.endswith("*")


async def test_not_an_address_is_one_line_and_runs_nothing() -> None:
    trace = await traceroute("10.0.0.1; rm -rf /")
    assert trace.tool is None and not trace.complete
    assert trace.text == "traceroute: '10.0.0.1; rm -rf /' is not an IP address"


def test_argv_is_a_list_with_the_address_last() -> None:
    assert argv_for(Tool.TRACEROUTE, "10.202.1.1", 20, 1.0) == [
        "traceroute", "-n", "-q", "1", "-w", "1", "-m", "20", "10.202.1.1"]
    assert argv_for(Tool.MTR, "fd00:200:2:1::1", 5, 1.0)[:2] == ["mtr", "-6"]


def test_icmplib_hops_print_like_traceroute_with_silent_hops() -> None:
    hops = [icmplib.Hop("10.200.0.254", 1, [0.2], 1),  # rtts in ms, as icmplib gives them
            icmplib.Hop("10.202.1.1", 1, [0.4], 3)]
    assert format_hops("10.202.1.1", 20, hops).splitlines() == [
        "traceroute to 10.202.1.1, 20 hops max (icmplib)",
        " 1  10.200.0.254  0.200 ms", " 2  *", " 3  10.202.1.1  0.400 ms"]
