"""The ICMP engine on loopback (127.0.0.0/8 answers on every address) and in scratch
namespaces that have nothing but loopback, so no probe can leave the machine.

Raw sockets need root; the datagram test opens ping sockets inside its own namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lab.netns import in_netns, scratch_namespace
from lvs_tui.config import parse
from lvs_tui.probes import icmp
from lvs_tui.probes.fping import SshFpingSource
from lvs_tui.probes.icmp import SEQ_SPACE, IcmpEngine, Mode, icmp_sources, select_mode
from lvs_tui.state import DOWN_RUN, PingSample, SourceState, StateStore
from tests.conftest import is_root, require

ROOT = Path(__file__).resolve().parent.parent
LOOP4 = [f"127.0.{i // 250}.{i % 250 + 1}" for i in range(300)]


def need_root() -> None:
    require(is_root(), "raw ICMP sockets and network namespaces need root")


@contextlib.asynccontextmanager
async def running(engine: IcmpEngine, store: StateStore) -> AsyncIterator[asyncio.Task]:
    task = asyncio.create_task(engine.run(store))
    await asyncio.sleep(0)  # let it open its sockets where the caller stands (namespace)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture(autouse=True)
def sealed() -> Iterator[None]:
    """Every test here probes from a throw-away namespace with only loopback up (no route
    anywhere): the engine's sockets, and fping's process, are made where this thread is."""
    if not is_root():
        yield  # the tests that probe need root and skip (or fail under CI) by themselves
        return
    with scratch_namespace("lvt-engine") as ns, in_netns(ns):
        yield


@pytest.fixture
def quiet_ns() -> Iterator[str]:
    """A namespace with only loopback, where 127.0.0.66 and ::1 never answer (nft drops)."""
    need_root()
    with scratch_namespace("lvt-unit") as ns:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], check=True, text=True,
                       input="table inet t {\n chain c {\n type filter hook input priority 0;\n"
                             " ip daddr 127.0.0.66 icmp type echo-request drop\n"
                             " ip6 daddr ::1 icmpv6 type echo-request drop\n }\n}\n")
        yield ns


async def test_every_loopback_target_answers_with_its_own_rtt() -> None:
    need_root()
    store = StateStore()
    engine = IcmpEngine([*LOOP4, "::1"], interval=0.2, timeout=0.5)
    async with running(engine, store):
        await asyncio.sleep(1.1)
    assert engine.mode == Mode.RAW.value
    for address in [*LOOP4, "::1"]:
        samples = store.pings("local", address)
        assert len(samples) >= 4, address
        assert all(s.received == 1 and s.error is None for s in samples), address
        assert all(0 < s.rtt < 0.5 for s in samples), address
    assert engine.lost == 0 and engine.errors == 0
    assert engine.received == engine.sent - engine.pending


async def test_without_sendmmsg_each_probe_is_its_own_system_call(quiet_ns: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A C library without sendmmsg/recvmmsg: sendto and recvfrom per probe, same results."""
    monkeypatch.setattr(icmp, "_MMSG", None)
    store = StateStore()
    engine = IcmpEngine(["127.0.0.1", "127.0.0.2", "::1", "10.200.99.1"], interval=0.2,
                        timeout=0.5)
    with in_netns(quiet_ns):
        async with running(engine, store):
            await asyncio.sleep(0.1)
            assert all(ch.inbox is None for ch in engine._channels.values())
            await asyncio.sleep(0.6)
    for address in ("127.0.0.1", "127.0.0.2"):
        samples = store.pings("local", address)
        assert samples and all(s.received == 1 and 0 < s.rtt < 0.5 for s in samples)
    dropped = store.pings("local", "::1")  # sent (no error), then lost at its timeout
    assert dropped and all(s.received == 0 and s.error is None for s in dropped)
    bad = store.pings("local", "10.200.99.1")  # no route: unknown, never lost
    assert bad and all(s.error and "unreachable" in s.error.lower() for s in bad)


async def test_sends_are_spread_over_the_interval() -> None:
    need_root()
    store = StateStore()
    engine = IcmpEngine(LOOP4[:100], interval=1.0, timeout=0.5)
    async with running(engine, store):
        await asyncio.sleep(0.5)
        half = engine.sent
    assert 35 <= half <= 65, half  # half the round after half the interval, not a burst


async def test_dead_target_never_delays_a_live_one(quiet_ns: str) -> None:
    store = StateStore()
    engine = IcmpEngine(["127.0.0.66", "127.0.0.1", "127.0.0.2"], interval=0.3,
                        timeout=1.0)
    with in_netns(quiet_ns):
        t0 = time.time()
        async with running(engine, store):
            await asyncio.sleep(0.25)
            live = store.pings("local", "127.0.0.2")
            dead_early = store.pings("local", "127.0.0.66")
            await asyncio.sleep(1.0)
    assert live and live[0].received == 1 and live[0].t - t0 < 0.25
    assert dead_early == ()  # no verdict before its own timeout
    dead = store.pings("local", "127.0.0.66")
    assert dead and all(s.received == 0 and s.error is None for s in dead)
    assert dead[0].t - t0 >= 1.0


async def test_unsendable_probe_is_unknown_not_lost(quiet_ns: str) -> None:
    store = StateStore()
    # 10.200.99.1 has no route in the scratch namespace: sendto fails, nothing leaves.
    engine = IcmpEngine(["10.200.99.1", "127.0.0.1"], interval=0.2, timeout=0.5)
    with in_netns(quiet_ns):
        async with running(engine, store):
            await asyncio.sleep(0.7)
    bad = store.pings("local", "10.200.99.1")
    assert bad and all(s.error and "unreachable" in s.error.lower() for s in bad)
    assert all(s.received == 1 for s in store.pings("local", "127.0.0.1"))
    status = store.source("icmp")
    assert status is not None and status.state is SourceState.DOWN  # stopped now
    assert engine.lost == 0


async def test_datagram_mode_where_ping_group_range_allows(quiet_ns: str) -> None:
    subprocess.run(["ip", "netns", "exec", quiet_ns, "sysctl", "-qw",
                    "net.ipv4.ping_group_range=0 2147483647"], check=True)
    store = StateStore()
    engine = IcmpEngine(["127.0.0.1", "127.0.0.2", "127.0.0.66"], interval=0.2,
                        timeout=0.4, mode=Mode.DGRAM)
    with in_netns(quiet_ns):
        async with running(engine, store):
            await asyncio.sleep(1.0)
            status = store.source("icmp")
    assert engine.mode == Mode.DGRAM.value
    assert status is not None and status.detail.startswith("datagram socket")
    assert all(s.received == 1 for s in store.pings("local", "127.0.0.2"))
    assert any(s.received == 0 for s in store.pings("local", "127.0.0.66"))


async def test_two_engines_and_fping_on_the_same_targets_never_mix() -> None:
    """Other pingers' replies reach every raw socket: identifier + nonce keep them apart."""
    need_root()
    require(shutil.which("fping") is not None, "fping is not installed")
    targets = LOOP4[:50]
    stores = StateStore(), StateStore()
    a = IcmpEngine(targets, interval=0.1, timeout=0.5)
    b = IcmpEngine(targets[:25], interval=0.07, timeout=0.5)
    fping = await asyncio.create_subprocess_exec(
        "fping", "-l", "-q", "-p", "20", "-i", "1", *targets,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with running(a, stores[0]), running(b, stores[1]):
            await asyncio.sleep(1.2)
    finally:
        fping.kill()
        await fping.wait()
    for engine, store in zip((a, b), stores, strict=True):
        keys = {addr for _, addr in store.ping_keys()}
        assert keys == set(engine.targets)
        answered = sum(s.received for t in engine.targets for s in store.pings("local", t))
        assert answered == engine.received <= engine.sent
        assert engine.lost == 0


async def test_sequence_wraps_without_losing_or_mixing() -> None:
    need_root()
    store = StateStore()
    engine = IcmpEngine(LOOP4[:40], interval=0.1, timeout=0.3)
    engine._next_seq = SEQ_SPACE - 50  # wrap inside the first rounds
    async with running(engine, store):
        await asyncio.sleep(0.55)
    assert engine._next_seq < 1000 and engine.sent > 100 and engine._generation == 1
    assert engine.lost == 0 and engine.received == engine.sent - engine.pending
    queued = sum(len(q) for q in engine._queues)  # the timeout classes' FIFOs
    assert queued <= len(engine.targets) * 4  # bounded: no growth


async def test_replies_are_matched_by_source_nonce_and_sequence() -> None:
    """Feed crafted replies through a UDP socket standing in for the ICMP socket."""
    need_root()
    store = StateStore()
    engine = IcmpEngine(["127.0.0.1", "127.0.0.2"], interval=10.0, timeout=5.0)
    engine._store = store
    fake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fake.bind(("127.0.0.1", 0))
    fake.setblocking(False)

    class Channel:  # what _on_readable reads from a ping socket: no IP header
        family, ident, offset_known, privileged, sock = (socket.AF_INET, 0, True, False,
                                                         fake)

    def reply(src: str, seq: int, nonce: int, generation: int = 3) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((src, 0))
            s.sendto(struct.pack("!BBHHHQI", 0, 0, 0, 7, seq, nonce, generation) + bytes(44),
                     fake.getsockname())

    engine._slot_target[10], engine._slot_sent[10] = 1, time.monotonic()  # -> 127.0.0.2
    engine._slot_gen[10] = 3
    engine.pending = 1
    reply("127.0.0.1", 10, engine.nonce_int)  # right probe, wrong source
    reply("127.0.0.2", 10, engine.nonce_int ^ 1)  # another process's nonce
    reply("127.0.0.2", 11, engine.nonce_int)  # no probe with that sequence
    reply("127.0.0.2", 10, engine.nonce_int, 2)  # a whole sequence wrap late
    reply("127.0.0.2", 10, engine.nonce_int)  # the real answer
    reply("127.0.0.2", 10, engine.nonce_int)  # its duplicate
    await asyncio.sleep(0.05)
    engine._on_readable(Channel())  # type: ignore[arg-type]
    fake.close()
    assert store.pings("local", "127.0.0.1") == ()
    got = store.pings("local", "127.0.0.2")
    assert len(got) == 1 and got[0].received == 1 and engine.received == 1


async def test_stop_leaves_no_false_loss_and_closes_sockets() -> None:
    need_root()
    store = StateStore()
    engine = IcmpEngine(LOOP4[:20], interval=0.2, timeout=1.0)
    async with running(engine, store):
        await asyncio.sleep(0.3)
        fds = [ch.sock for ch in engine._channels.values()]
    assert fds and all(s.fileno() == -1 for s in fds)
    assert engine._channels == {}
    assert all(s.received == 1 for t in engine.targets for s in store.pings("local", t))
    status = store.source("icmp")
    assert status is not None and status.detail.endswith("stopped")


def _unprivileged(code: str, path: str) -> subprocess.CompletedProcess[str]:
    """Run python code as root stripped of every capability, ping sockets closed."""
    with scratch_namespace("lvt-unpriv") as ns:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv4.ping_group_range=1 0"], check=True)
        return subprocess.run(
            [shutil.which("ip") or "ip", "netns", "exec", ns, shutil.which("setpriv") or "",
             "--inh-caps=-all", "--bounding-set=-all",
             "--", sys.executable, "-c", code],
            capture_output=True, text=True, cwd=ROOT, timeout=30,
            env={**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)})


def test_without_privileges_fping_is_chosen_then_a_one_line_fix() -> None:
    need_root()
    require(shutil.which("setpriv") is not None, "setpriv (util-linux) is not installed")
    require(shutil.which("fping") is not None, "fping is not installed")
    code = "from lvs_tui.probes.icmp import select_mode; print(select_mode().detail)"
    with_fping = _unprivileged(code, os.path.dirname(shutil.which("fping") or ""))
    assert with_fping.stdout.strip() == "fping subprocess", with_fping.stderr
    run_none = (
        "import asyncio\nfrom lvs_tui.probes.icmp import IcmpEngine\n"
        "from lvs_tui.state import StateStore\n"
        "async def main():\n"
        "    s = StateStore(); e = IcmpEngine(['127.0.0.1', '::1'], interval=0.1)\n"
        "    t = asyncio.create_task(e.run(s)); await asyncio.sleep(0.35); t.cancel()\n"
        "    print(e.mode); print(s.source('icmp').detail)\n"
        "    print(s.pings('local', '127.0.0.1')[-1].error is not None)\n"
        "asyncio.run(main())\n")
    nothing = _unprivileged(run_none, "/nonexistent")
    mode, detail, unknown = nothing.stdout.strip().splitlines()
    assert mode == "none" and unknown == "True"
    assert "\n" not in detail and "ping_group_range" in detail
    assert "setcap" in detail and "fping" in detail and "root" in detail
    assert nothing.stderr == ""  # never a flood on the terminal


async def test_fping_mode_feeds_the_same_store() -> None:
    need_root()
    require(shutil.which("fping") is not None, "fping is not installed")
    store = StateStore()
    engine = IcmpEngine(["127.0.0.1", "::1"], interval=0.5, timeout=0.4, mode=Mode.FPING)
    async with running(engine, store):
        await asyncio.sleep(1.3)
    assert engine.mode == "fping"
    assert all(store.pings("local", a) and store.pings("local", a)[-1].received == 1
               for a in engine.targets)
    status = store.source("icmp")
    assert status is not None and status.detail == "fping subprocess"


def test_select_mode_as_root_is_raw() -> None:
    need_root()
    assert select_mode().mode is Mode.RAW


def test_icmp_sources_pings_fleet_and_control_per_vantage() -> None:
    from lab.netns import Lab, config_text

    text = config_text(Lab(hosts=2, vips=2, vips6=1)) + (
        '\n[[vantages]]\nid = "far"\nkind = "ssh_fping"\nname = "远端"\n'
        'ssh_host = "10.231.2.2"\ncontrol = "10.200.0.254"\n')
    cfg = parse(text.replace("[duty]\n", '[duty]\njump_host = "10.231.1.2"\n', 1))
    local, far = icmp_sources(cfg, store_interval=0.5)
    assert isinstance(local, IcmpEngine) and isinstance(far, SshFpingSource)
    assert local.interval == 0.5 and local.vantage == "local"
    assert set(local.targets) == {*cfg.fleet.addresses(), "10.200.0.254"}
    assert far.targets[-1] == "10.200.0.254" and far.vantage == "far"
    argv = far.argv()
    assert argv[:2] == ["ssh", "-o"] and "BatchMode=yes" in argv
    assert argv[argv.index("-J") + 1] == "10.231.1.2"
    assert argv[argv.index("--") + 1] == "10.231.2.2"
    assert not any(a in " ".join(argv) for a in cfg.fleet.addresses())  # targets: stdin


def test_a_sample_that_could_not_be_made_is_never_lost() -> None:
    s = PingSample(1.0, 1, 0, error="send: Network is unreachable")
    assert s.error and s.lost == 1  # the store keeps it; diagnosis reads error as unknown


def _nft(ns: str, rules: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], check=True, text=True,
                   input=rules)


async def _until(check, within: float) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > within:
            pytest.fail(f"not within {within:.1f}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - t0


async def test_timeouts_follow_each_targets_rtt_and_a_loss_is_confirmed_at_once(
        quiet_ns: str) -> None:
    """A loopback target answers in microseconds: its timeout drops to the floor. When it
    stops answering, the lost probe is known in tens of ms and a burst of DOWN_RUN - 1
    probes confirms the outage within a fraction of a second, not `hysteresis` intervals;
    when it answers again, two more answers at once make it up, with no loss tail."""
    store = StateStore()
    target = "127.0.0.77"
    engine = IcmpEngine([target, "127.0.0.1"], interval=1.0, timeout=1.0)
    with in_netns(quiet_ns):
        async with running(engine, store):
            await _until(lambda: len(store.pings("local", target)) >= 2, within=3)
            assert engine.ladder[engine._class[0]] == icmp.TIMEOUT_FLOOR
            baseline = store.confirmed
            _nft(quiet_ns, "table inet cut {\n chain c {\n type filter hook input priority 0;"
                           f"\n ip daddr {target} icmp type echo-request drop\n }}\n}}\n")
            cut = time.monotonic()
            took = await _until(lambda: _state(store, target) is False, within=2.0)
            assert took <= 1.0 + 0.5  # the next regular probe, then the burst
            assert store.confirmed == baseline + 1  # the console is told to look now
            burst = [s for s in store.pings("local", target, confirm=True) if s.confirm]
            assert len(burst) == DOWN_RUN - 1 and not any(s.received for s in burst)
            lost = [s for s in store.pings("local", target) if not s.received]
            assert len(lost) == 1  # the loss figure counts the regular probe only
            assert lost[0].t - (time.time() - (time.monotonic() - cut)) < 1.0 + 0.2
            subprocess.run(["ip", "netns", "exec", quiet_ns, "nft", "delete", "table",
                            "inet", "cut"], check=True)
            back = await _until(lambda: _state(store, target) is True, within=2.0)
            assert back <= 1.0 + 0.3
            summary = store.ping_summary("local", target, 10, 3)
            assert summary is not None and summary.sent == summary.received  # no tail
    assert all(s.received for s in store.pings("local", "127.0.0.1"))
    assert not [s for s in store.pings("local", "127.0.0.1", confirm=True) if s.confirm]


def _state(store: StateStore, address: str) -> bool | None:
    summary = store.ping_summary("local", address, 10, 3)
    return None if summary is None else summary.state


async def test_thirty_percent_random_loss_is_loss_never_down(quiet_ns: str) -> None:
    """Bursts after each lost probe end at the first answer: at 30 % random loss no
    address is ever down, and the loss figure (regular probes only) is about 30 %."""
    lossy = [f"127.0.0.{80 + k}" for k in range(10)]
    _nft(quiet_ns, "table inet lossy {\n chain c {\n type filter hook input priority 0;\n"
                   " ip daddr 127.0.0.80-127.0.0.89 icmp type echo-request numgen random "
                   "mod 10 < 3 drop\n }\n}\n")
    store = StateStore(ping_window=2000)
    engine = IcmpEngine(lossy, interval=0.2, timeout=1.0)
    states: set[bool | None] = set()
    with in_netns(quiet_ns):
        async with running(engine, store):
            t0 = time.monotonic()
            while time.monotonic() - t0 < 6.0:
                states |= {_state(store, a) for a in lossy}
                await asyncio.sleep(0.01)
    assert False not in states and True in states
    regular = [s for a in lossy for s in store.pings("local", a)]
    assert len(regular) > 250
    loss = 100 * sum(s.lost for s in regular) / len(regular)
    assert 20 <= loss <= 40, loss
    burst = [s for a in lossy for s in store.pings("local", a, confirm=True) if s.confirm]
    assert burst and any(s.received for s in burst)


async def test_a_late_answer_is_a_sign_of_life_not_a_loss_figure() -> None:
    """A reply after the probe's (adaptive) timeout, within ping_timeout: the regular
    probe stays lost, the target's timeout grows to fit, and the late answer is written
    as a confirmation answer, which ends a loss burst."""
    need_root()
    store = StateStore()
    engine = IcmpEngine(["127.0.0.1", "127.0.0.2"], interval=10.0, timeout=1.0)
    engine._store = store
    fake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fake.bind(("127.0.0.1", 0))
    fake.setblocking(False)

    class Channel:  # a ping socket: no IP header
        family, ident, offset_known, privileged, sock = (socket.AF_INET, 0, True, False,
                                                         fake)

    sent = time.monotonic() - 0.3  # counted lost at the floor; its answer comes at 300 ms
    engine._slot_target[10], engine._slot_sent[10], engine._slot_gen[10] = -2 - 1, sent, 0
    engine._regular_ok[1] = 0
    engine._bursts[1] = icmp._Burst(True, 11, sent)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.2", 0))
        s.sendto(struct.pack("!BBHHHQI", 0, 0, 0, 7, 10, engine.nonce_int, 0) + bytes(44),
                 fake.getsockname())
    await asyncio.sleep(0.05)
    engine._on_readable(Channel())  # type: ignore[arg-type]
    fake.close()
    got = store.pings("local", "127.0.0.2", confirm=True)
    assert len(got) == 1 and got[0].confirm and got[0].received == 1
    assert store.pings("local", "127.0.0.2") == ()  # not a regular answer
    assert engine.ladder[engine._class[1]] >= min(1.0, 4 * 0.3)  # 4 x the late RTT, capped
    assert engine._bursts.get(1) is None and engine._down[1] == 0  # the burst ended
    assert engine.received == 0  # it was counted lost; loss figures stay as they were


async def test_an_unusable_address_is_skipped_and_never_stops_the_others() -> None:
    """`internal = ""` or a scoped "::1%lo" once killed the engine (inet_pton) and made the
    whole fleet unknown: now it is left out, said in the header, the rest is probed."""
    need_root()
    store = StateStore()
    engine = IcmpEngine(["127.0.0.1", "", "::1%lo", "not-an-ip", "127.0.0.2"],
                        interval=0.2, timeout=0.5)
    assert engine.refused == ("", "::1%lo", "not-an-ip")
    async with running(engine, store):
        await asyncio.sleep(1.1)
        status = store.source("icmp")  # (once stopped it says "stopped")
    for address in ("127.0.0.1", "127.0.0.2"):
        assert len(store.pings("local", address)) >= 4, address
    assert store.pings("local", "") == () and store.pings("local", "::1%lo") == ()
    assert status is not None and "3 unusable address(es) skipped" in status.detail
