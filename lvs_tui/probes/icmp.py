"""The live ICMP engine: every address, every interval, from ONE socket per address family.

Why not `icmplib.async_multiping`: it opens a socket and a task per target, so at thousands
of targets it costs ~10x fping's CPU, drops replies under load and makes every result wait
for the slowest target. Here the cost is the design, not the language:

* one raw (or kernel "ping") socket per family, opened through icmplib's socket classes;
* sends spread evenly over the interval by one ticking task (20 batches per interval);
* a reader callback drains the socket and matches each echo reply by identifier,
  sequence, source address, a per-engine payload nonce and the sequence's generation, so
  replies to other ping processes on the machine are never attributed to our targets
  (a BPF filter keeps most of them from even waking us);
* every probe has the same timeout, so the probes in flight expire in send order: the
  sequence space itself is the timer queue (arrays indexed by sequence, no heap, no
  per-probe objects besides the sample handed to the store);
* results are written to the store as they arrive: a dead target never delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import socket
import struct
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from icmplib import ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from lvs_tui.config import Config, VantageKind
from lvs_tui.probes import Source
from lvs_tui.state import PingSample, SourceState, SourceStatus, StateStore

SEQ_SPACE = 65536
PAYLOAD_SIZE = 56  # the size ping and fping send by default
# Sends and expiries are batched: 20 batches per interval, between 5 and 50 ms apart. A loop
# wake-up costs more than a probe (~50 µs here), so 1 Hz means ~20 wake-ups/s, not 200.
BATCHES_PER_INTERVAL = 20
TICK_MIN, TICK_MAX = 0.005, 0.05
MAX_DRAIN = 4096  # replies read per readable event before yielding to the loop
_CSUM_ID_SEQ = struct.Struct("!HHH")
_ID_SEQ_NONCE_GEN = struct.Struct("!HHQI")  # identifier, sequence, nonce, generation

_ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
_ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
_SOL_RAW = 255
_ICMP_FILTER = 1
_ICMP6_FILTER = 1
_SO_RCVBUFFORCE = 33  # Linux; not exported by Python's socket module
_SO_ATTACH_FILTER = 26

FIXES = ("run as root, or `setcap cap_net_raw+ep` on the python binary, or "
         "`sysctl -w net.ipv4.ping_group_range='0 2147483647'`, or `apt install fping`")


class Mode(StrEnum):
    """How this terminal pings, chosen once at start and shown in the header."""

    RAW = "raw socket"
    DGRAM = "datagram socket"
    FPING = "fping"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ModeChoice:
    mode: Mode
    detail: str  # one line: the mode, or why nothing works and the fixes


def select_mode(prefer: Mode | None = None) -> ModeChoice:
    """Raw socket, else kernel ping socket, else the system fping, else a one-line why."""
    order = [prefer] if prefer else [Mode.RAW, Mode.DGRAM, Mode.FPING]
    reasons: list[str] = []
    for mode in order:
        if mode is Mode.FPING:
            if shutil.which("fping"):
                return ModeChoice(Mode.FPING, "fping subprocess")
            reasons.append("no fping")
            continue
        privileged = mode is Mode.RAW
        try:
            ICMPv4Socket(privileged=privileged).close()
            return ModeChoice(mode, mode.value)
        except SocketPermissionError:
            reasons.append("no raw socket (not root, no CAP_NET_RAW)" if privileged else
                           f"ping sockets closed (net.ipv4.ping_group_range = {_group_range()})")
        except ICMPLibError as exc:
            reasons.append(f"{mode.value}: {exc}")
    return ModeChoice(Mode.NONE, f"icmp: cannot ping: {', '.join(reasons)}; fix: {FIXES}")


def _group_range() -> str:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            return " ".join(f.read().split())
    except OSError:
        return "?"


def _fold(total: int) -> int:
    total = (total & 0xFFFF) + (total >> 16)
    return (total & 0xFFFF) + (total >> 16)


class _Channel:
    """One socket of one address family, with its prebuilt echo request."""

    __slots__ = ("family", "generation", "ident", "offset_known", "packet", "privileged",
                 "sock", "sum0")

    def __init__(self, family: int, privileged: bool, ident: int, nonce: bytes) -> None:
        cls = ICMPv4Socket if family == socket.AF_INET else ICMPv6Socket
        icmp = cls(privileged=privileged)  # raises icmplib's permission/socket errors
        sock = icmp.sock.dup()  # our own handle: icmplib's wrapper closes its copy now
        icmp.close()
        sock.setblocking(False)
        _grow_receive_buffer(sock)
        if privileged:
            _filter_echo_replies(sock, family)
            _filter_identifier(sock, family, ident)
        self.family, self.privileged, self.ident, self.sock = family, privileged, ident, sock
        # IPv4 raw replies carry the IP header; ping sockets and ICMPv6 raw do not.
        self.offset_known = not (privileged and family == socket.AF_INET)
        # Payload: nonce (this engine), generation (how often the sequence wrapped), zeros.
        payload = nonce + bytes(PAYLOAD_SIZE - len(nonce))
        self.packet = bytearray(struct.pack("!BBHHH", _ECHO_REQUEST[family], 0, 0, ident, 0)
                                + payload)
        self.generation = -1
        self.sum0 = 0
        self.set_generation(0)

    def set_generation(self, generation: int) -> None:
        """Stamp the sequence-space generation: a reply later than a whole wrap of the
        sequence can then never be credited to the newer probe that reuses its number."""
        if generation == self.generation:
            return
        self.generation = generation
        struct.pack_into("!I", self.packet, 16, generation & 0xFFFFFFFF)
        # Checksum of everything but the sequence: each send adds its sequence and folds.
        words = self.packet[:2] + self.packet[4:6] + self.packet[8:]
        self.sum0 = _fold(sum(struct.unpack(f"!{len(words) // 2}H", words)))

    def send(self, seq: int, sockaddr: tuple) -> None:
        """Checksum, identifier and sequence in one pack; the kernel fills the checksum for
        ICMPv6 and for ping sockets, so ours only matters on IPv4 raw."""
        _CSUM_ID_SEQ.pack_into(self.packet, 2, ~_fold(self.sum0 + seq) & 0xFFFF,
                               self.ident, seq)
        self.sock.sendto(self.packet, sockaddr)

    def close(self) -> None:
        self.sock.close()


def _grow_receive_buffer(sock: socket.socket, size: int = 4 << 20) -> None:
    """Room for a burst of replies; FORCE passes net.core.rmem_max when we may (root)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _filter_echo_replies(sock: socket.socket, family: int) -> None:
    """Let the kernel drop every ICMP type but echo reply (IPv6 raw sockets see NDP)."""
    with contextlib.suppress(OSError):
        if family == socket.AF_INET:
            sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("=I", 0xFFFFFFFE))
        else:
            words = [0xFFFFFFFF] * 8
            words[129 >> 5] &= ~(1 << (129 & 31))
            sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("=8I", *words))


def _filter_identifier(sock: socket.socket, family: int, ident: int) -> None:
    """Classic BPF: only replies carrying our identifier wake us. Every raw ICMP socket gets
    a copy of every ICMP packet for the host, so without this each other pinger's reply
    (fping, monitoring agents) would cost us a wake-up and a read."""
    ld_ident = ([(0xB1, 0, 0, 0), (0x48, 0, 0, 4)]  # x = IPv4 header length; a = [x + 4]
                if family == socket.AF_INET else [(0x28, 0, 0, 4)])  # ICMPv6: a = [4]
    prog = [*ld_ident, (0x15, 0, 1, ident), (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)]
    code = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("=HxxxxxxQ" if struct.calcsize("P") == 8 else "=HxxI", len(prog),
                        ctypes.addressof(buf))
    with contextlib.suppress(OSError):  # without it we still match: just more reads
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _sockaddr(address: str) -> tuple:
    return (address, 0) if ":" not in address else (address, 0, 0, 0)


class IcmpEngine:
    """Pings `targets` every `interval` seconds for vantage `vantage`, streaming into a store.

    A `Source`: `await engine.run(store)` until cancelled. Sockets are opened when `run`
    starts (so a test may open them inside a network namespace) and closed on cancel.
    """

    name = "icmp"

    def __init__(self, targets: Iterable[str], vantage: str = "local", interval: float = 1.0,
                 timeout: float = 1.0, mode: Mode | None = None,
                 source_name: str = "icmp") -> None:
        self.targets: tuple[str, ...] = tuple(dict.fromkeys(targets))
        self.vantage = vantage
        self.interval = interval
        self.timeout = min(timeout, interval * 8)
        self.tick = min(TICK_MAX, max(TICK_MIN, interval / BATCHES_PER_INTERVAL))
        self.prefer = mode
        self.name = source_name
        self.mode = ""  # set once started: the header shows it
        self.ident = (os.getpid() ^ int.from_bytes(os.urandom(2), "big")) & 0xFFFF
        self.nonce = os.urandom(8)
        self.nonce_int = int.from_bytes(self.nonce, "big")
        self._sockaddrs = tuple(_sockaddr(a) for a in self.targets)
        self._families = tuple(_family(a) for a in self.targets)
        self._slot_target = array("i", [-1]) * SEQ_SPACE
        self._slot_sent = array("d", [0.0]) * SEQ_SPACE
        self._slot_gen = array("I", [0]) * SEQ_SPACE
        self._generation = 0  # bumped each time the sequence wraps
        self._next_seq = 0
        self._oldest = 0  # oldest sequence that may still be in flight
        self._in_flight = 0  # sequences between _oldest and _next_seq
        self._channels: dict[int, _Channel] = {}
        self._channel_errors: dict[int, str] = {}
        self._buf = bytearray(2048)
        self._store: StateStore | None = None
        self.sent = self.received = self.lost = self.errors = 0  # counters for tests/bench
        self.pending = 0  # probes sent and not yet answered or expired

    # -- lifecycle -------------------------------------------------------------------
    async def run(self, store: StateStore) -> None:
        choice = self._choose(store)
        if choice.mode is Mode.FPING:
            from lvs_tui.probes.fping import FpingSource  # lazy: only this mode needs it
            await FpingSource(self.targets, self.vantage, self.interval, self.timeout,
                              source_name=self.name).run(store)
            return
        if choice.mode is Mode.NONE:
            await self._report_forever(store, choice.detail)
            return
        self._start(choice)
        try:
            await self._send_loop(store, choice)
        finally:
            self._stop()
            store.set_source(SourceStatus(self.name, SourceState.DOWN, time.time(),
                                          f"{self.mode}: stopped"))

    async def sweep(self, store: StateStore) -> None:
        """One probe to every target as fast as the socket takes them; return when each
        has its answer or its timeout (the benchmark's "one sweep")."""
        choice = self._choose(store)
        if choice.mode not in (Mode.RAW, Mode.DGRAM):
            raise RuntimeError(f"sweep needs a socket: {choice.detail}")
        self._start(choice)
        try:
            for start in range(0, len(self.targets), 256):
                self._send_range(start, min(start + 256, len(self.targets)))
                await asyncio.sleep(0)
            while self.pending:
                self._expire(time.monotonic())
                await asyncio.sleep(TICK_MIN)
        finally:
            self._stop()

    def _choose(self, store: StateStore) -> ModeChoice:
        self._store = store
        choice = select_mode(self.prefer)
        self.mode = choice.mode.value
        return choice

    def _start(self, choice: ModeChoice) -> None:
        self._open(choice.mode is Mode.RAW)
        loop = asyncio.get_running_loop()
        for ch in self._channels.values():
            loop.add_reader(ch.sock.fileno(), self._on_readable, ch)

    def _stop(self) -> None:
        loop = asyncio.get_running_loop()
        for ch in self._channels.values():
            loop.remove_reader(ch.sock.fileno())
            ch.close()
        self._channels.clear()

    def _open(self, privileged: bool) -> None:
        for family in {*self._families} or {socket.AF_INET}:
            try:
                self._channels[family] = _Channel(family, privileged, self.ident, self.nonce)
            except (ICMPLibError, OSError) as exc:
                label = "IPv4" if family == socket.AF_INET else "IPv6"
                self._channel_errors[family] = f"{label} socket: {exc}"

    async def _report_forever(self, store: StateStore, detail: str) -> None:
        """No way to ping: say why once, mark every target unknown, never flood."""
        store.set_source(SourceStatus(self.name, SourceState.DOWN, time.time(), detail))
        while True:
            now = time.time()
            for address in self.targets:
                store.add_ping(self.vantage, address, PingSample(now, 1, 0, error=detail))
            await asyncio.sleep(self.interval)

    # -- sending and expiry -------------------------------------------------------------
    async def _send_loop(self, store: StateStore, choice: ModeChoice) -> None:
        n = len(self.targets)
        gap = self.interval / max(n, 1)
        round_start = time.monotonic()
        cursor = 0
        round_errors = 0
        while True:
            now = time.monotonic()
            self._expire(now)
            due = n if now >= round_start + self.interval else min(
                n, int((now - round_start) / gap) + 1)
            if cursor < due:
                round_errors += self._send_range(cursor, due)
                cursor = due
            if cursor >= n:
                self._report(store, choice, round_errors, n)
                round_errors, cursor = 0, 0
                round_start += self.interval
                if now - round_start > self.interval:  # stalled loop: skip, never burst
                    round_start = now
            next_send = round_start + cursor * gap
            next_expiry = (self._slot_sent[self._oldest] + self.timeout
                           if self._in_flight else next_send)
            await asyncio.sleep(max(self.tick, min(next_send, next_expiry) - time.monotonic()))

    def _send_range(self, start: int, stop: int) -> int:
        """Send probes to targets[start:stop]; returns how many could not be sent."""
        errors = 0
        channels, families, sockaddrs = self._channels, self._families, self._sockaddrs
        slot_target, slot_sent, monotonic = self._slot_target, self._slot_sent, time.monotonic
        slot_gen = self._slot_gen
        for i in range(start, stop):
            ch = channels.get(families[i])
            if ch is None:
                self._error(i, self._channel_errors.get(families[i], "no socket"))
                errors += 1
                continue
            if self._in_flight >= SEQ_SPACE - 1:
                self._expire_oldest("too many probes in flight")
            seq = self._next_seq
            gen = self._generation
            if ch.generation != gen:
                ch.set_generation(gen)
            sent_at = monotonic()
            try:
                ch.send(seq, sockaddrs[i])
            except OSError as exc:
                self._error(i, f"send: {exc.strerror or exc}")
                errors += 1
                continue
            slot_target[seq] = i
            slot_sent[seq] = sent_at
            slot_gen[seq] = gen
            self._next_seq = (seq + 1) & 0xFFFF
            if not self._next_seq:
                self._generation = (gen + 1) & 0xFFFFFFFF
            self._in_flight += 1
            self.sent += 1
            self.pending += 1
            if not self.sent & 127:  # read replies between bursts: no receive-buffer overflow
                self._drain_all()
        return errors

    def _drain_all(self) -> None:
        for ch in self._channels.values():
            self._on_readable(ch)

    def _expire(self, now: float) -> None:
        limit = now - self.timeout
        slot_target, slot_sent = self._slot_target, self._slot_sent
        wall = time.time()
        lost: PingSample | None = None
        while self._in_flight and slot_sent[self._oldest] <= limit:
            seq = self._oldest
            i = slot_target[seq]
            if i >= 0:
                slot_target[seq] = -1
                self.lost += 1
                self.pending -= 1
                if lost is None:  # immutable: one sample serves every loss of this batch
                    lost = PingSample(wall, 1, 0)
                self._emit(i, lost)
            self._oldest = (seq + 1) & 0xFFFF
            self._in_flight -= 1

    def _expire_oldest(self, why: str) -> None:
        seq = self._oldest
        i = self._slot_target[seq]
        if i >= 0:
            self._slot_target[seq] = -1
            self.pending -= 1
            self._error(i, why)
        self._oldest = (seq + 1) & 0xFFFF
        self._in_flight -= 1

    def _error(self, i: int, why: str) -> None:
        self.errors += 1
        self._emit(i, PingSample(time.time(), 1, 0, error=why))

    def _emit(self, i: int, sample: PingSample) -> None:
        if self._store is not None:
            self._store.add_ping(self.vantage, self.targets[i], sample)

    def _report(self, store: StateStore, choice: ModeChoice, errors: int, n: int) -> None:
        now = time.time()
        detail = choice.detail
        problems = list(self._channel_errors.values())
        if errors:
            problems.append(f"{errors}/{n} probes not sent")
        if problems:
            detail = f"{detail}; {'; '.join(problems)}"
        state = (SourceState.DOWN if n and errors >= n else
                 SourceState.DEGRADED if problems else SourceState.OK)
        store.set_source(SourceStatus(self.name, state, now, detail,
                                      last_ok=now if state is not SourceState.DOWN else None))

    # -- receiving --------------------------------------------------------------------
    def _on_readable(self, ch: _Channel) -> None:
        """Drain the socket; a reply counts only if type, identifier (raw), nonce, sequence
        and source address all match a probe still in flight."""
        store = self._store
        if store is None:
            return
        add, vantage = store.add_ping, self.vantage
        buf, recv, unpack = self._buf, ch.sock.recvfrom_into, _ID_SEQ_NONCE_GEN.unpack_from
        reply_type, fixed_off = _ECHO_REPLY[ch.family], ch.offset_known
        ident, nonce, check_ident = ch.ident, self.nonce_int, ch.privileged
        slot_target, slot_sent, targets = self._slot_target, self._slot_sent, self.targets
        slot_gen, monotonic = self._slot_gen, time.monotonic
        wall = time.time()
        got = 0
        for _ in range(MAX_DRAIN):
            try:
                size, addr = recv(buf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # an ICMP error queued on a ping socket: the probe times out
            off = 0 if fixed_off else (buf[0] & 0x0F) * 4
            if size < off + 20 or buf[off] != reply_type:
                continue
            rid, seq, cookie, gen = unpack(buf, off + 4)
            if cookie != nonce or (check_ident and rid != ident):
                continue  # another process's ping
            i = slot_target[seq]
            if i < 0 or targets[i] != addr[0] or slot_gen[seq] != gen:
                continue  # late (already counted lost), duplicate or from a wrong source
            slot_target[seq] = -1
            got += 1
            add(vantage, targets[i], PingSample(wall, 1, 1, monotonic() - slot_sent[seq]))
        self.received += got
        self.pending -= got


def icmp_sources(cfg: Config, store_interval: float | None = None) -> list[Source]:
    """The local engine (fleet + control addresses) and one fping source per ssh vantage.

    `store_interval` overrides `duty.interval` (tests, the benchmark).
    """
    from lvs_tui.probes.fping import SshFpingSource

    interval = store_interval or cfg.duty.interval
    timeout = min(cfg.duty.ping_timeout, interval * 8)
    addresses = list(cfg.fleet.addresses())
    sources: list[Source] = []
    for v in cfg.vantages:
        targets = addresses + ([v.control] if v.control else [])
        if v.kind is VantageKind.LOCAL:
            local = sum(isinstance(s, IcmpEngine) for s in sources)
            sources.append(IcmpEngine(targets, v.id, interval, timeout,
                                      source_name="icmp" if not local else f"icmp:{v.id}"))
        elif v.kind is VantageKind.SSH_FPING:
            sources.append(SshFpingSource(
                targets, v.id, interval, timeout, host=v.ssh_host,
                user=v.ssh_user or cfg.duty.ssh_user, port=v.ssh_port,
                jump_host=cfg.duty.jump_host))
    return sources
