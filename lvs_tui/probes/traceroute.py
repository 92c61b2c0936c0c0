"""Traceroute on demand, as text for the network team's handoff.

The system `traceroute` (or `mtr --report`) when present: its text is what the network team
expects to read. Otherwise icmplib's traceroute, run in a thread and printed the same way.
Always argv (the address is validated first), always bounded by a timeout; a failure is a
one-line text, never an exception for the UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import icmplib

_CLONE_NEWNET = 0x40000000


class Tool(StrEnum):
    TRACEROUTE = "traceroute"
    MTR = "mtr"
    ICMPLIB = "icmplib"


@dataclass(frozen=True, slots=True)
class Trace:
    address: str
    tool: Tool | None  # None: nothing could run
    text: str  # what goes into the handoff
    complete: bool  # the destination answered (False: cut by the timeout, failed, or lost)


def argv_for(tool: Tool, address: str, max_hops: int, wait: float) -> list[str]:
    v6 = ["-6"] if ipaddress.ip_address(address).version == 6 else []
    if tool is Tool.TRACEROUTE:
        return ["traceroute", *v6, "-n", "-q", "1", "-w", f"{wait:g}", "-m", str(max_hops),
                address]
    return ["mtr", *v6, "--report", "--report-cycles", "1", "--no-dns", "--max-ttl",
            str(max_hops), address]


async def traceroute(address: str, max_hops: int = 20, wait: float = 1.0,
                     timeout: float = 30.0,
                     tools: Sequence[Tool] = (Tool.TRACEROUTE, Tool.MTR, Tool.ICMPLIB)
                     ) -> Trace:
    """Trace the path to `address` with the first tool that is present."""
    try:
        address = str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return Trace(address, None, f"traceroute: {address!r} is not an IP address", False)
    for tool in tools:
        if tool is Tool.ICMPLIB:
            return await _icmplib(address, max_hops, wait, timeout)
        if shutil.which(tool.value):
            return await _system(tool, address, max_hops, wait, timeout)
    return Trace(address, None, "traceroute: no tool available (apt install traceroute)",
                 False)


async def _system(tool: Tool, address: str, max_hops: int, wait: float,
                  timeout: float) -> Trace:
    argv = argv_for(tool, address, max_hops, wait)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return Trace(address, tool, f"{tool.value}: {exc.strerror or exc}", False)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        out, _ = await proc.communicate()
        text = out.decode(errors="replace").rstrip()
        return Trace(address, tool, f"{text}\n({tool.value} stopped after {timeout:g}s)",
                     False)
    text = out.decode(errors="replace").rstrip()
    reached = bool(text) and address in text.splitlines()[-1].split()[1:3]
    return Trace(address, tool, text, proc.returncode == 0 and reached)


async def _icmplib(address: str, max_hops: int, wait: float, timeout: float) -> Trace:
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)

    def trace() -> list[icmplib.Hop]:
        with _same_netns(here):
            return icmplib.traceroute(address, count=1, interval=0.05, timeout=wait,
                                      max_hops=max_hops, fast=True)

    try:
        hops = await asyncio.wait_for(asyncio.to_thread(trace), timeout)
    except TimeoutError:
        return Trace(address, Tool.ICMPLIB, f"traceroute to {address}: no answer within "
                     f"{timeout:g}s", False)
    except (icmplib.ICMPLibError, OSError) as exc:
        return Trace(address, Tool.ICMPLIB, f"traceroute (icmplib): {exc}", False)
    finally:
        os.close(here)
    return Trace(address, Tool.ICMPLIB, format_hops(address, max_hops, hops),
                 bool(hops) and hops[-1].address == address)


@contextlib.contextmanager
def _same_netns(fd: int) -> Iterator[None]:
    """Run this worker thread in the caller's network namespace (a thread pool thread may
    sit in another one): the trace must leave from where the caller stands."""
    mine = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if os.stat(fd).st_ino == os.stat(mine).st_ino:
            yield
            return
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "cannot enter the caller's network namespace")
        try:
            yield
        finally:
            libc.setns(mine, _CLONE_NEWNET)
    finally:
        os.close(mine)


def format_hops(address: str, max_hops: int, hops: Sequence[icmplib.Hop]) -> str:
    """traceroute-like text; silent hops (icmplib skips them) show as '*'."""
    lines = [f"traceroute to {address}, {max_hops} hops max (icmplib)"]
    seen = {h.distance: h for h in hops}
    last = max(seen, default=0)
    for d in range(1, last + 1):
        h = seen.get(d)
        lines.append(f"{d:>2}  {h.address}  {h.avg_rtt:.3f} ms" if h else f"{d:>2}  *")
    return "\n".join(lines)
