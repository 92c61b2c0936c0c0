"""fping backend: the summary parser, the argv, the real fping on loopback, and the remote
vantage through a real sshd jump host (lab/sshd.py, lvs-ssh-* namespaces)."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import Iterator

import pytest

from lvs_tui.probes.fping import (
    FpingSource,
    SshFpingSource,
    Summary,
    fping_argv,
    parse_summary_line,
    ssh_argv,
)
from lvs_tui.state import PingSample, SourceState, StateStore
from tests.conftest import is_root, require


@pytest.fixture(autouse=True)
def sealed() -> Iterator[None]:
    """fping runs where this thread is: a throw-away namespace with only loopback up."""
    if not is_root():
        yield
        return
    from lab.netns import in_netns, scratch_namespace

    with scratch_namespace("lvt-fping") as ns, in_netns(ns):
        yield


def test_parse_answered_lost_and_v6_lines() -> None:
    assert parse_summary_line(
        "10.202.1.1      : xmt/rcv/%loss = 4/3/25%, min/avg/max = 0.04/0.25/0.90"
    ) == Summary("10.202.1.1", 4, 3, 0.00025)
    assert parse_summary_line("10.202.9.9 : xmt/rcv/%loss = 1/0/100%") == Summary(
        "10.202.9.9", 1, 0, None)
    assert parse_summary_line(
        "fd00:200:2:1::1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.1/0.1/0.1"
    ) == Summary("fd00:200:2:1::1", 1, 1, 0.0001)


@pytest.mark.parametrize("noise", [
    "[21:41:43]", "", "ICMP Host Unreachable from 10.200.0.254 for ICMP Echo sent to 10.1.1.1",
    "10.200.1.1 : [0], 64 bytes, 0.05 ms (0.05 avg, 0% loss)",
    "fping: invalid option -- 'x'", "ssh: connect to host 10.231.2.3 port 22: timed out"])
def test_everything_else_is_not_a_sample(noise: str) -> None:
    assert parse_summary_line(noise) is None


def test_a_late_reply_never_makes_more_answers_than_probes() -> None:
    assert Summary("10.0.0.1", 1, 2, 0.001).sample(5.0) == PingSample(5.0, 1, 1, 0.001)
    assert Summary("10.0.0.1", 1, 0, None).sample(5.0) == PingSample(5.0, 1, 0, None)


def test_fping_argv_spreads_sends_and_reads_targets_from_stdin() -> None:
    assert fping_argv(1.0, 1.0, 2000) == ["fping", "-l", "-Q", "1", "-p", "1000", "-t",
                                          "1000", "-i", "0.5", "-r", "0", "-f", "-"]
    argv = fping_argv(0.5, 2.0, 3)
    assert argv[argv.index("-t") + 1] == "500" and argv[argv.index("-i") + 1] == "10"


def test_ssh_argv_batch_mode_timeouts_jump_and_no_shell_string() -> None:
    argv = ssh_argv("10.231.2.2", "monitor", 2222, "jump.example", ["fping", "-l"],
                    connect_timeout=4)
    assert argv[0] == "ssh"
    assert argv[argv.index("--") + 1:] == ["10.231.2.2", "fping", "-l"]
    pairs = list(itertools.pairwise(argv))
    for pair in [("-o", "BatchMode=yes"), ("-o", "ConnectTimeout=4"), ("-p", "2222"),
                 ("-l", "monitor"), ("-J", "jump.example")]:
        assert pair in pairs
    assert argv.index("-J") < argv.index("--")  # options never after the destination


async def run_for(source: FpingSource, store: StateStore, seconds: float) -> None:
    task = asyncio.create_task(source.run(store))
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def need_fping() -> None:
    require(shutil.which("fping") is not None, "fping is not installed")


async def test_local_fping_feeds_samples_from_loopback() -> None:
    need_fping()
    store = StateStore()
    source = FpingSource(["127.0.0.1", "127.0.0.2", "::1"], "local", interval=0.5,
                         timeout=0.4, source_name="icmp")
    await run_for(source, store, 1.8)
    for address in source.targets:
        got = store.pings("local", address)
        assert len(got) >= 2 and all(s.received == 1 and s.rtt for s in got), address
    status = store.source("icmp")
    assert status is not None and status.state is SourceState.OK
    assert source.process is not None and source.process.returncode is not None  # reaped


async def test_fping_exiting_makes_every_target_unknown_with_its_message() -> None:
    need_fping()

    class Broken(FpingSource):
        def argv(self) -> list[str]:
            return [*super().argv(), "--no-such-option"]

    store = StateStore()
    await run_for(Broken(["127.0.0.1"], "local", 0.5, 0.4), store, 0.8)
    got = store.pings("local", "127.0.0.1")
    assert got and all(s.error and "no-such-option" in s.error for s in got)
    status = store.source("vantage:local")
    assert status is not None and status.state is SourceState.DOWN
    assert "\n" not in status.detail


async def test_missing_binary_and_silence_are_unknown() -> None:
    store = StateStore()
    await run_for(FpingSource(["127.0.0.1"], "a", fping="/nonexistent/fping"), store, 0.3)
    assert store.pings("a", "127.0.0.1")[-1].error == "/nonexistent/fping: No such file or " \
                                                      "directory"

    class Silent(FpingSource):
        def argv(self) -> list[str]:
            return ["sleep", "30"]

    silent = Silent(["127.0.0.1"], "b", 0.5, 0.4)
    silent.silence_limit = 0.5
    await run_for(silent, store, 0.9)
    got = store.pings("b", "127.0.0.1")
    assert got and got[-1].error == "fping subprocess: no output for 0.5s"


# -- the remote vantage through a real jump host -----------------------------------------
@pytest.fixture(scope="module")
def ssh_lab() -> Iterator[object]:
    require(is_root(), "the sshd lab needs root")
    need_fping()
    from lab.sshd import SshLab, available

    ok, reason = available()
    require(ok, reason)
    with SshLab(tag=f"f{os.getpid() % 10000}") as lab:
        yield lab


async def test_ssh_fping_through_the_jump_host(ssh_lab: object) -> None:
    from lab.netns import in_netns
    from lab.sshd import DEAD, GATEWAY, JUMP, TARGET, SshLab

    assert isinstance(ssh_lab, SshLab)
    nobody = "10.231.2.99"  # on the target's link, owned by no one: lost, inside the lab
    opts = ("-F", str(ssh_lab.ssh_config))
    good = SshFpingSource([TARGET, GATEWAY, nobody], "far", 0.5, 0.4, host=TARGET,
                          user="root", jump_host=JUMP, connect_timeout=3, ssh_options=opts)
    broken = SshFpingSource([TARGET], "cut", 0.5, 0.4, host=DEAD, user="root",
                            jump_host=JUMP, connect_timeout=2, ssh_options=opts)
    store = StateStore()
    with in_netns(ssh_lab.client_ns):
        tasks = [asyncio.create_task(s.run(store)) for s in (good, broken)]
        await asyncio.sleep(0.05)
    await asyncio.sleep(4.5)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for address in (TARGET, GATEWAY):
        got = store.pings("far", address)
        assert got and got[-1].received == 1 and got[-1].error is None, address
    lost = store.pings("far", nobody)
    assert lost and lost[-1].received == 0 and lost[-1].error is None  # down, not unknown
    cut = store.pings("cut", TARGET)
    assert cut and all(s.error and s.error.startswith("ssh") for s in cut)
    far, dead = store.source("vantage:far"), store.source("vantage:cut")
    assert far is not None and far.state is SourceState.OK
    assert dead is not None and dead.state is SourceState.DOWN
