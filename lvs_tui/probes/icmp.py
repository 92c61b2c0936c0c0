"""The live ICMP engine: every address, every interval, from ONE socket per address family.

Why not `icmplib.async_multiping`: it opens a socket and a task per target, so at thousands
of targets it costs ~10x fping's CPU, drops replies under load and makes every result wait
for the slowest target. Here the cost is the design, not the language:

* one raw (or kernel "ping") socket per family, opened through icmplib's socket classes;
* sends spread evenly over the interval by one ticking task (20 batches per interval);
* every target's echo request, address and message header are built once, so a send
  stamps two 16-bit fields and a run of 32 targets is one `sendmmsg`; IPv4 raw replies are
  read 64 at a time with `recvmmsg` (Linux, through ctypes; plain sendto/recvfrom without);
* a reader callback drains the socket and matches each echo reply by identifier,
  sequence, source address, a per-engine payload nonce and the sequence's generation, so
  replies to other ping processes on the machine are never attributed to our targets
  (a BPF filter keeps most of them from even waking us);
* each target's timeout follows its own RTT (a ladder of a few timeout classes, capped
  by `ping_timeout`); within a class the probes expire in send order, so each class's
  queue of sequence numbers is a FIFO: no heap, no per-probe objects;
* a lost probe is confirmed at once by a burst of probes close together, and so is the
  first answer after a loss: hysteresis is met in a fraction of a second, while the loss
  figure stays a judgement over the regular probes only (docs/performance.md, Detection);
* results are written to the store as they arrive, one batch per socket drain or expiry
  pass (`StateStore.add_pings`): a dead target never delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import os
import shutil
import socket
import struct
import time
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from icmplib import ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from lvs_tui.config import Config, VantageKind
from lvs_tui.probes import Source
from lvs_tui.state import DOWN_RUN, PingSample, SourceState, SourceStatus, StateStore

SEQ_SPACE = 65536
PAYLOAD_SIZE = 56  # the size ping and fping send by default
# Sends and expiries are batched: 20 batches per interval, between 5 and 50 ms apart. A loop
# wake-up costs more than a probe (~50 µs here), so 1 Hz means ~20 wake-ups/s, not 200.
BATCHES_PER_INTERVAL = 20
TICK_MIN, TICK_MAX = 0.005, 0.05
MAX_DRAIN = 4096  # replies read per readable event before yielding to the loop
DRAIN_EVERY = 128  # sends between reads of the replies
_CSUM_ID_SEQ = struct.Struct("!HHH")
_ID_SEQ_NONCE_GEN = struct.Struct("!HHQI")  # identifier, sequence, nonce, generation
# An IPv4 raw read: version/header length, source address, and (without IP options) ICMP
# type, identifier, sequence, nonce, generation in one unpack.
_V4_REPLY = struct.Struct("!B11xI4xB3xHHQI")  # + version/length byte
_ECHO_FIELDS = struct.Struct("!B3xHHQI")  # type, identifier, sequence, nonce, generation
_IPV4_PLAIN = 0x45  # version 4, 20-byte header
_U32 = struct.Struct("!I")
_SEQ = struct.Struct("!H")
PACKET_SIZE = 8 + PAYLOAD_SIZE
SEND_BATCH = 32  # requests per sendmmsg: the RTT of a batch's last probe starts at its first
READ_SLOTS = 64  # replies per recvmmsg
_READ_SLOT = 128  # bytes kept of each reply: IP header (<= 60) + what we match (20)
_NAME_SIZE = 32  # room for a sockaddr_in6 (28)
_MSG_DONTWAIT = 0x40

_ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
_ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
_SOL_RAW = 255
_ICMP_FILTER = 1
_ICMP6_FILTER = 1
_SO_RCVBUFFORCE = 33  # Linux; not exported by Python's socket module
_SO_ATTACH_FILTER = 26

# Adaptive timeouts (docs/performance.md, "Detection"). A probe is lost after
# max(TIMEOUT_FLOOR, TIMEOUT_MULT x the target's recent peak RTT), rounded up to the next
# step of a ladder (TIMEOUT_FLOOR x TIMEOUT_STEP**k) and capped by ping_timeout; until a
# target has answered once, the cap. The peak rises at once to a slower answer and decays
# by PEAK_DECAY of the difference per faster one (~the top of the last 16 answers).
TIMEOUT_FLOOR = 0.05
TIMEOUT_MULT = 4.0
TIMEOUT_STEP = 2 ** 0.5
PEAK_DECAY = 1 / 16
# Confirmation probes wait longer than the regular one they confirm: at least
# CONFIRM_MULT x its timeout and CONFIRM_FLOOR, capped too, so an RTT that jumps (a loaded
# path) is still an answer for the burst.
CONFIRM_MULT = 4.0
CONFIRM_FLOOR = 0.2
BURST_GAP = 0.005  # seconds between two probes of a burst: close, not simultaneous
_NEVER = float("inf")  # the peak of a target that never answered: its class is the cap
BURST_BUDGET_MIN = 256  # burst probes allowed per interval: max(this, the target count)

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

    __slots__ = ("before", "family", "generation", "ident", "inbox", "offset_known", "outbox",
                 "packet", "privileged", "sock", "sum0")

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
        self.outbox: _Outbox | None = None  # set by prepare(): the targets are known then
        self.before = array("I")  # target index -> how many of ours come before it
        self.inbox = _Inbox() if _MMSG and not self.offset_known else None
        self.set_generation(0)

    def prepare(self, families: tuple[int, ...], addresses: tuple[str, ...]) -> None:
        """Prebuild a request per target of this family (positions in target order)."""
        mine = [i for i, f in enumerate(families) if f == self.family]
        self.outbox = _Outbox(self.family, bytes(self.packet), mine, addresses)
        count, before = 0, array("I", [0]) * (len(families) + 1)
        for i, f in enumerate(families):
            before[i] = count
            count += f == self.family
        before[len(families)] = count
        self.before = before

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
        if self.outbox is not None:
            self.outbox.restamp(self.packet)

    def close(self) -> None:
        self.sock.close()


# -- batched system calls (Linux): one sendmmsg per run of targets, one recvmmsg per read --
class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.c_void_p), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):  # struct mmsghdr: the message and the bytes it moved
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


_HDR_SIZE = ctypes.sizeof(_MMsgHdr)
_MSG_LEN = struct.Struct("=I")
_MSG_LEN_AT = _MMsgHdr.len.offset


# (_NamedFuncPointer: typeshed's name for a C library function; annotations are not evaluated)
def _libc_mmsg() -> tuple[ctypes._NamedFuncPointer, ctypes._NamedFuncPointer] | None:
    """sendmmsg and recvmmsg from the C library, or None (then sendto/recv_into per probe)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        send, recv = libc.sendmmsg, libc.recvmmsg
    except (OSError, AttributeError):
        return None
    send.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                     ctypes.c_void_p]
    send.restype = recv.restype = ctypes.c_int
    return send, recv


_MMSG = _libc_mmsg()


def _sockaddr_bytes(family: int, address: str) -> bytes:
    """struct sockaddr_in / sockaddr_in6 with port 0, as the kernel reads it."""
    packed = socket.inet_pton(family, address)
    if family == socket.AF_INET:
        return struct.pack("=H", family) + bytes(2) + packed + bytes(8)
    return struct.pack("=H", family) + bytes(6) + packed + bytes(4)


class _Outbox:
    """The echo requests of every target of one socket, prebuilt: packet, address and
    message header in target order, so a run of consecutive targets is one sendmmsg. A send
    only stamps the checksum, identifier and sequence into the target's own packet."""

    __slots__ = ("_hdrs", "_iovs", "_names", "base", "packets", "sockaddrs", "targets")

    def __init__(self, family: int, packet: bytes, targets: list[int],
                 addresses: tuple[str, ...]) -> None:
        n = max(len(targets), 1)
        self.targets = array("i", targets)  # position -> target index
        self.sockaddrs = tuple(_sockaddr(addresses[i]) for i in targets)
        self.packets = (ctypes.c_char * (PACKET_SIZE * n))()
        self._names = (ctypes.c_char * (_NAME_SIZE * n))()
        self._iovs = (_IoVec * n)()
        self._hdrs = (_MMsgHdr * n)()
        self.restamp(packet)
        packets_at, names_at = ctypes.addressof(self.packets), ctypes.addressof(self._names)
        for pos, i in enumerate(targets):
            name = _sockaddr_bytes(family, addresses[i])
            ctypes.memmove(names_at + pos * _NAME_SIZE, name, len(name))
            iov = self._iovs[pos]
            iov.base, iov.len = packets_at + pos * PACKET_SIZE, PACKET_SIZE
            hdr = self._hdrs[pos].hdr
            hdr.name, hdr.namelen = names_at + pos * _NAME_SIZE, len(name)
            hdr.iov, hdr.iovlen = ctypes.addressof(iov), 1
        self.base = ctypes.addressof(self._hdrs)

    def restamp(self, packet: bytes | bytearray) -> None:
        """Copy the request (a new generation) into every target's packet."""
        whole = bytes(packet) * (len(self.packets) // PACKET_SIZE)
        ctypes.memmove(self.packets, whole, len(whole))


class _Inbox:
    """Room for READ_SLOTS replies read by one recvmmsg, on IPv4 raw sockets, whose replies
    carry their source address in the IP header (so no address buffers)."""

    __slots__ = ("_iovs", "base", "buf", "hdrs")

    def __init__(self) -> None:
        self.buf = (ctypes.c_char * (_READ_SLOT * READ_SLOTS))()
        self._iovs = (_IoVec * READ_SLOTS)()
        self.hdrs = (_MMsgHdr * READ_SLOTS)()
        at = ctypes.addressof(self.buf)
        for k in range(READ_SLOTS):
            self._iovs[k].base, self._iovs[k].len = at + k * _READ_SLOT, _READ_SLOT
            self.hdrs[k].hdr.iov, self.hdrs[k].hdr.iovlen = ctypes.addressof(self._iovs[k]), 1
        self.base = ctypes.addressof(self.hdrs)


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


def probeable(address: str) -> bool:
    """A plain IPv4/IPv6 address a raw socket can send to (no zone, no name, not empty)."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return "%" not in address


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _ipv4_number(address: str) -> int:
    """The address as the 32-bit number an IPv4 header carries; 0 (never a reply's source)
    for anything else."""
    try:
        return _U32.unpack(socket.inet_pton(socket.AF_INET, address))[0]
    except OSError:
        return 0


def _sockaddr(address: str) -> tuple:
    return (address, 0) if ":" not in address else (address, 0, 0, 0)


def timeout_ladder(cap: float) -> tuple[float, ...]:
    """The timeout classes: TIMEOUT_FLOOR x TIMEOUT_STEP**k below `cap`, then `cap`."""
    steps: list[float] = []
    t = TIMEOUT_FLOOR
    while t < cap * 0.999:
        steps.append(t)
        t *= TIMEOUT_STEP
    return (*steps, cap)


class _Burst:
    """A confirmation burst in progress for one target: after a lost probe (`loss`: up to
    DOWN_RUN - 1 probes, ended by any answer) or after an answer following a loss (`need`
    - 1 probes, ended by a loss). Mutable engine state, never shared."""

    __slots__ = ("answered", "left", "loss", "lost", "next_t", "out", "size")

    def __init__(self, loss: bool, size: int, now: float) -> None:
        self.loss, self.size, self.left, self.next_t = loss, size, size, now
        self.out = self.lost = self.answered = 0  # in flight, lost, answered

    def settled(self) -> bool:
        """The whole burst agreed with the change it was confirming."""
        return self.lost == self.size if self.loss else self.answered == self.size


class IcmpEngine:
    """Pings `targets` every `interval` seconds for vantage `vantage`, streaming into a store.

    A `Source`: `await engine.run(store)` until cancelled. Sockets are opened when `run`
    starts (so a test may open them inside a network namespace) and closed on cancel.
    """

    name = "icmp"

    def __init__(self, targets: Iterable[str], vantage: str = "local", interval: float = 1.0,
                 timeout: float = 1.0, mode: Mode | None = None,
                 source_name: str = "icmp", hysteresis: int = 3) -> None:
        usable = [a for a in dict.fromkeys(targets) if probeable(a)]
        # One address the engine cannot use (empty, scoped, not an address) must not stop
        # the others: it is left out (unknown, never probed) and the header says so.
        self.refused: tuple[str, ...] = tuple(a for a in dict.fromkeys(targets)
                                              if not probeable(a))
        self.targets: tuple[str, ...] = tuple(usable)
        self.vantage = vantage
        self.interval = interval
        self.timeout = min(timeout, interval * 8)  # the cap of every adaptive timeout
        self.recovery_burst = max(0, hysteresis - 1)
        self.loss_burst = DOWN_RUN - 1
        self.tick = min(TICK_MAX, max(TICK_MIN, interval / BATCHES_PER_INTERVAL))
        self.prefer = mode
        self.name = source_name
        self.mode = ""  # set once started: the header shows it
        self.ident = (os.getpid() ^ int.from_bytes(os.urandom(2), "big")) & 0xFFFF
        self.nonce = os.urandom(8)
        self.nonce_int = int.from_bytes(self.nonce, "big")
        self._families = tuple(_family(a) for a in self.targets)
        self._addr4 = array("I", (_ipv4_number(a) for a in self.targets))
        self._target_channels: tuple[_Channel | None, ...] = ()
        self._positions = array("I")  # target index -> its position in its channel
        self._unread = 0  # sends since replies were last read
        self._slot_target = array("i", [-1]) * SEQ_SPACE
        self._slot_sent = array("d", [0.0]) * SEQ_SPACE
        self._slot_gen = array("I", [0]) * SEQ_SPACE
        self._slot_burst = array("B", [0]) * SEQ_SPACE  # 1: a confirmation probe
        self._generation = 0  # bumped each time the sequence wraps
        self._next_seq = 0
        # Timeout classes: each a FIFO of (generation << 16 | sequence) in send order.
        self.ladder = timeout_ladder(self.timeout)
        last = len(self.ladder) - 1
        self._edges = [t / TIMEOUT_MULT for t in self.ladder[:-1]]  # peak -> class
        self._confirm_class = tuple(
            min(last, bisect_left(self.ladder, max(CONFIRM_FLOOR, CONFIRM_MULT * t) - 1e-9))
            for t in self.ladder)
        self._queues: list[deque[int]] = [deque() for _ in self.ladder]
        n = len(self.targets)
        self._peak = array("d", [_NEVER]) * n  # recent peak RTT; _NEVER: no answer yet
        self._class = array("B", [last]) * n
        self._regular_ok = array("b", [-1]) * n  # newest regular probe: 1 answered, 0 lost
        self._down = array("B", [0]) * n  # 1: a loss burst settled, nothing answered since
        self._bursts: dict[int, _Burst] = {}  # target -> its burst in progress
        self._owner: dict[int, _Burst] = {}  # sequence of a confirmation probe -> its burst
        self._burst_budget = max(BURST_BUDGET_MIN, n)
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
        for ch in self._channels.values():
            ch.prepare(self._families, self.targets)
        self._target_channels = tuple(self._channels.get(f) for f in self._families)
        self._positions = array("I", (ch.before[i] if ch else 0
                                      for i, ch in enumerate(self._target_channels)))
        loop = asyncio.get_running_loop()
        for ch in self._channels.values():
            loop.add_reader(ch.sock.fileno(), self._on_readable, ch)

    def _stop(self) -> None:
        loop = asyncio.get_running_loop()
        for ch in self._channels.values():
            loop.remove_reader(ch.sock.fileno())
            ch.close()
        self._channels.clear()
        self._target_channels = ()

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
                self._refresh_classes()
                round_errors, cursor = 0, 0
                round_start += self.interval
                self._burst_budget = max(BURST_BUDGET_MIN, n)
                if now - round_start > self.interval:  # stalled loop: skip, never burst
                    round_start = now
            if self._bursts:
                self._send_bursts(time.monotonic())
            next_send = round_start + cursor * gap
            wake, least = min(next_send, self._next_expiry(next_send)), self.tick
            burst = min((b.next_t for b in self._bursts.values() if b.left), default=None)
            if burst is not None and burst < wake + least:
                wake, least = burst, TICK_MIN  # a burst keeps its pace, not the tick's
            await asyncio.sleep(max(least, wake - time.monotonic()))

    def _send_bursts(self, now: float) -> None:
        """The next probe of every burst that is due, within the interval's budget (past
        it a burst waits: the verdict then takes the regular probes' pace)."""
        for i, b in tuple(self._bursts.items()):
            if b.left and b.next_t <= now and self._burst_budget > 0:
                b.left -= 1
                b.next_t = now + BURST_GAP
                self._burst_budget -= 1
                if not self._send_batch(i, i + 1, burst=True):
                    b.out += 1
                    self._owner[(self._next_seq - 1) & 0xFFFF] = b
                self._finish(i, b)

    def _send_range(self, start: int, stop: int) -> int:
        """Send probes to targets[start:stop]; returns how many could not be sent. Replies
        are read after every DRAIN_EVERY sends, so a burst never overflows the buffer."""
        errors = 0
        while start < stop:
            # A batch never wraps the sequence inside it: a new generation restamps packets.
            last = min(start + SEND_BATCH, stop, start + SEQ_SPACE - self._next_seq)
            errors += self._send_batch(start, last)
            self._unread += last - start
            start = last
            if self._unread >= DRAIN_EVERY:
                self._unread = 0
                self._drain_all()
        return errors

    def _send_batch(self, start: int, stop: int, burst: bool = False) -> int:
        """The hot loop: locals only, one pack (checksum, identifier, sequence) into each
        target's prebuilt request, its sequence queued in its timeout class; then one
        sendmmsg per socket for the whole batch. `burst`: confirmation probes."""
        sent = 0
        channels, positions = self._target_channels, self._positions
        pack = _CSUM_ID_SEQ.pack_into
        slot_target, slot_sent, slot_gen = self._slot_target, self._slot_sent, self._slot_gen
        slot_burst, classes = self._slot_burst, self._class
        confirm_class = self._confirm_class if burst else None
        queue = [q.append for q in self._queues]
        seq, gen = self._next_seq, self._generation
        for each in self._channels.values():
            if each.generation != gen:
                each.set_generation(gen)
        sent_at = time.monotonic()
        errors = 0
        for i in range(start, stop):
            ch = channels[i]
            if ch is None:
                self._error(i, self._channel_errors.get(self._families[i], "no socket"))
                errors += 1
                continue
            if slot_target[seq] >= 0:  # a whole sequence space in flight: the oldest goes
                self._evict(seq, "too many probes in flight")
            # The kernel fills the checksum for ICMPv6 and ping sockets; IPv4 raw needs ours.
            csum = ch.sum0 + seq
            csum = (csum & 0xFFFF) + (csum >> 16)  # sum0 and seq are 16-bit: one fold
            assert ch.outbox is not None  # prepare() built it before any send
            pack(ch.outbox.packets, positions[i] * PACKET_SIZE + 2, ~csum & 0xFFFF, ch.ident,
                 seq)
            slot_target[seq] = i
            slot_sent[seq] = sent_at
            slot_gen[seq] = gen
            slot_burst[seq] = burst
            k = classes[i]
            queue[k if confirm_class is None else confirm_class[k]](gen << 16 | seq)
            seq = (seq + 1) & 0xFFFF
            if not seq:
                gen = (gen + 1) & 0xFFFFFFFF
            sent += 1
        self._next_seq, self._generation = seq, gen
        self.sent += sent
        self.pending += sent
        for ch in self._channels.values():
            first, last = ch.before[start], ch.before[stop]
            if first < last:
                errors += self._post(ch, first, last)
        return errors

    def _post(self, ch: _Channel, first: int, last: int) -> int:
        """Hand the channel's prebuilt requests [first, last) to the kernel; one it refuses
        is that target's error (unknown, never lost). Returns how many were refused."""
        out = ch.outbox
        assert out is not None
        errors, pos, fd = 0, first, ch.sock.fileno()
        while pos < last:
            if _MMSG is not None:
                done = _MMSG[0](fd, out.base + pos * _HDR_SIZE, last - pos, 0)
                errno = ctypes.get_errno() if done <= 0 else 0
                why = os.strerror(errno) if errno else "not sent"
            else:
                try:
                    done = ch.sock.sendto(memoryview(out.packets)[
                        pos * PACKET_SIZE:(pos + 1) * PACKET_SIZE], out.sockaddrs[pos]) and 1
                except OSError as exc:
                    done, why = 0, exc.strerror or str(exc)
            if done > 0:
                pos += done
                continue
            self._unsend(out, pos, f"send: {why}")
            pos += 1
            errors += 1
        return errors

    def _unsend(self, out: _Outbox, pos: int, why: str) -> None:
        """A request the kernel refused: free its sequence slot and say why."""
        i = out.targets[pos]
        seq = _SEQ.unpack_from(out.packets, pos * PACKET_SIZE + 6)[0]
        if self._slot_target[seq] == i:
            self._slot_target[seq] = -1
            self.sent -= 1
            self.pending -= 1
        self._error(i, why)

    def _drain_all(self) -> None:
        for ch in self._channels.values():
            self._on_readable(ch)

    def _next_expiry(self, default: float) -> float:
        """When the head of a timeout class is due (heads already answered count too:
        waking for them only pops them)."""
        best, slot_sent, ladder = default, self._slot_sent, self.ladder
        for k, q in enumerate(self._queues):
            if q:
                due = slot_sent[q[0] & 0xFFFF] + ladder[k]
                if due < best:
                    best = due
        return best

    def _expire(self, now: float) -> None:
        """Walk each timeout class from its oldest probe while that is past its class's
        timeout; the unanswered ones are written as lost, in one batch per kind. Replies
        already in the socket are read first: a slow loop never turns answers into losses."""
        queues = self._queues
        if not self.pending:  # every probe in flight is resolved: nothing to walk
            for q in queues:
                if q:
                    q.clear()
            return
        if self._next_expiry(now + 1.0) > now:
            return
        self._drain_all()
        slot_target, slot_sent, slot_gen = self._slot_target, self._slot_sent, self._slot_gen
        slot_burst = self._slot_burst
        lost: list[int] = []
        lost_burst: list[tuple[int, int]] = []
        for k, q in enumerate(queues):
            limit = now - self.ladder[k]
            while q:
                c = q[0]
                seq = c & 0xFFFF
                i = slot_target[seq]
                if i < 0 or slot_gen[seq] != c >> 16:
                    q.popleft()  # answered, or the sequence was reused
                    continue
                if slot_sent[seq] > limit:
                    break
                q.popleft()
                slot_target[seq] = -2 - i  # lost; a late answer still tells of life
                if slot_burst[seq]:
                    lost_burst.append((i, seq))
                else:
                    lost.append(i)
        if lost or lost_burst:
            self.lost += len(lost) + len(lost_burst)
            self.pending -= len(lost) + len(lost_burst)
            wall, targets = time.time(), self.targets
            if lost:
                self._write([(targets[i], wall, 1, 0, None) for i in lost])
            if lost_burst:
                self._write([(targets[i], wall, 1, 0, None) for i, _ in lost_burst], True)
            self._on_lost(lost, lost_burst, now)

    def _on_lost(self, lost: list[int], lost_burst: list[tuple[int, int]], now: float
                 ) -> None:
        """A regular probe lost after an answer starts a loss burst and contradicts a
        recovery burst; a lost confirmation probe counts for its burst."""
        regular_ok, down, bursts = self._regular_ok, self._down, self._bursts
        for i in lost:
            b = bursts.get(i)
            if b is not None and not b.loss:
                self._drop(i)
            if not down[i] and self.loss_burst and i not in bursts:
                bursts[i] = _Burst(True, self.loss_burst, now)
            regular_ok[i] = 0
        for i, seq in lost_burst:
            b = self._mine(i, seq)
            if b is not None:
                b.lost += 1
                if not b.loss:
                    self._drop(i)
                else:
                    self._finish(i, b)

    def _on_answers(self, got: list[tuple[int, float]],
                    got_burst: list[tuple[int, float, int]], late: list[tuple[int, float]],
                    now: float) -> None:
        """The regular answers the readers set aside (a slower RTT: the timeout grows at
        once; the first answer after a loss: a recovery burst, the end of a loss burst), and
        the confirmation and late answers. (Faster answers only decay the peak, in the
        readers; classes follow the decay once per round: `_refresh_classes`.)"""
        peak, classes, edges, regular_ok = self._peak, self._class, self._edges, self._regular_ok
        changed: list[int] = []
        for i, rtt in got:
            p = peak[i]
            p = rtt if rtt > p or p == _NEVER else p + (rtt - p) * PEAK_DECAY
            peak[i] = p
            classes[i] = bisect_left(edges, p)
            if regular_ok[i] != 1:
                changed.append(i)
        bursts, down = self._bursts, self._down
        for i in changed:  # a down target is never regular_ok (its burst began with a loss)
            b = bursts.get(i)
            if b is not None and b.loss:
                self._drop(i)
            if regular_ok[i] == 0 and self.recovery_burst and i not in bursts:
                bursts[i] = _Burst(False, self.recovery_burst, now)
            regular_ok[i] = 1
            down[i] = 0
        for i, rtt, seq in got_burst:
            if rtt > peak[i]:
                peak[i] = rtt
                classes[i] = bisect_left(edges, rtt)
            down[i] = 0
            b = self._mine(i, seq)
            if b is not None:
                b.answered += 1
                if b.loss:
                    self._drop(i)
                else:
                    self._finish(i, b)
        for i, rtt in late:  # counted lost already: only its RTT and the sign of life
            if rtt > peak[i]:
                peak[i] = rtt
                classes[i] = bisect_left(edges, rtt)
            down[i] = 0
            b = bursts.get(i)
            if b is not None and b.loss:
                self._drop(i)

    def _refresh_classes(self) -> None:
        """Every target's timeout class from its peak (decayed by the readers), once per
        round: one C-level pass instead of a bisect per answer."""
        self._class = array("B", map(partial(bisect_left, self._edges), self._peak))

    def _mine(self, i: int, seq: int) -> _Burst | None:
        """The burst a resolved confirmation probe belongs to, if it is still the target's
        burst in progress (a dropped burst's stragglers count for nobody)."""
        b = self._owner.pop(seq, None)
        if b is None or self._bursts.get(i) is not b:
            return None
        b.out -= 1
        return b

    def _drop(self, i: int) -> None:
        """The burst was contradicted: it ends now, so the next change starts a new one."""
        self._bursts.pop(i, None)

    def _finish(self, i: int, b: _Burst) -> None:
        """A burst with nothing left to send or wait for ends; if it agreed all through,
        the change is settled and the console is told to look now."""
        if b.left or b.out:
            return
        del self._bursts[i]
        if b.settled():
            self._down[i] = b.loss
            if self._store is not None:
                self._store.mark_confirmed()

    def _evict(self, seq: int, why: str) -> None:
        i = self._slot_target[seq]
        self._slot_target[seq] = -1
        self.pending -= 1
        self._error(i, why)
        b = self._mine(i, seq) if self._slot_burst[seq] else None
        if b is not None:
            self._finish(i, b)

    def _error(self, i: int, why: str) -> None:
        """A probe that could not be made: unknown, never lost (rare: one sample)."""
        self.errors += 1
        if self._store is not None:
            self._store.add_ping(self.vantage, self.targets[i],
                                 PingSample(time.time(), 1, 0, error=why))

    def _write(self, batch: Sequence[tuple[str, float, int, int, float | None]],
               confirm: bool = False) -> None:
        if self._store is not None:
            self._store.add_pings(self.vantage, batch, confirm)

    def _report(self, store: StateStore, choice: ModeChoice, errors: int, n: int) -> None:
        now = time.time()
        detail = choice.detail
        problems = list(self._channel_errors.values())
        if errors:
            problems.append(f"{errors}/{n} probes not sent")
        if self.refused:
            problems.append(f"{len(self.refused)} unusable address(es) skipped: "
                            f"{self.refused[0]!r}")
        if problems:
            detail = f"{detail}; {'; '.join(problems)}"
        state = (SourceState.DOWN if n and errors >= n else
                 SourceState.DEGRADED if problems else SourceState.OK)
        store.set_source(SourceStatus(self.name, state, now, detail,
                                      last_ok=now if state is not SourceState.DOWN else None))

    # -- receiving --------------------------------------------------------------------
    def _on_readable(self, ch: _Channel) -> None:
        """Drain the socket; a reply counts only if type, identifier (raw), nonce, sequence,
        generation and source address all match a probe still in flight (or, late, one
        already counted lost: then it only tells that the target lives)."""
        if self._store is None:
            return
        answers: list[tuple[str, float, int, int, float | None]] = []
        got: list[tuple[int, float]] = []  # regular answers that change something (rare)
        got_burst: list[tuple[int, float, int]] = []
        late: list[tuple[int, float]] = []
        if not ch.offset_known and ch.inbox is not None:
            self._read_batched(ch, answers, got, got_burst, late)
        else:
            self._read(ch, answers, got, got_burst, late)
        if not (answers or got_burst or late):
            return
        answered = len(answers) + len(got_burst)
        self.received += answered
        self.pending -= answered
        wall, targets = time.time(), self.targets
        if answers:
            self._write(answers)
        if got_burst or late:
            self._write([(targets[i], wall, 1, 1, rtt) for i, rtt, _ in got_burst]
                        + [(targets[i], wall, 1, 1, rtt) for i, rtt in late], True)
        self._on_answers(got, got_burst, late, time.monotonic())

    def _read_batched(self, ch: _Channel,
                      answers: list[tuple[str, float, int, int, float | None]],
                      got: list[tuple[int, float]],
                      got_burst: list[tuple[int, float, int]],
                      late: list[tuple[int, float]]) -> None:
        """IPv4 raw, READ_SLOTS replies per recvmmsg: the source is read from each reply's
        IP header (no address tuple, no string) and compared with the target's as a number."""
        inbox = ch.inbox
        assert inbox is not None and _MMSG is not None
        recv, fd, base, hdrs, buf = _MMSG[1], ch.sock.fileno(), inbox.base, inbox.hdrs, inbox.buf
        unpack, echo = _V4_REPLY.unpack_from, _ECHO_FIELDS.unpack_from
        msg_len = _MSG_LEN.unpack_from
        ident, nonce = ch.ident, self.nonce_int
        slot_target, slot_sent, slot_gen = self._slot_target, self._slot_sent, self._slot_gen
        slot_burst, cap = self._slot_burst, self.timeout
        addr4, monotonic, targets, wall = self._addr4, time.monotonic, self.targets, time.time()
        peak, regular_ok = self._peak, self._regular_ok
        for _ in range(MAX_DRAIN // READ_SLOTS):
            n = recv(fd, base, READ_SLOTS, _MSG_DONTWAIT, None)
            if n <= 0:
                break  # nothing left (an error: the probes concerned time out)
            now = monotonic()
            for k in range(n):
                size = msg_len(hdrs, k * _HDR_SIZE + _MSG_LEN_AT)[0]
                at = k * _READ_SLOT
                if size < _V4_REPLY.size:
                    continue
                vhl, src, kind, rid, seq, cookie, gen = unpack(buf, at)
                if vhl != _IPV4_PLAIN:  # IP options: the ICMP header starts later
                    off = (vhl & 0x0F) * 4
                    if size < off + _ECHO_FIELDS.size or off + _ECHO_FIELDS.size > _READ_SLOT:
                        continue
                    kind, rid, seq, cookie, gen = echo(buf, at + off)
                if kind != 0 or rid != ident or cookie != nonce:
                    continue  # another process's ping
                i = slot_target[seq]
                if i < 0:
                    if i == -1 or addr4[-2 - i] != src or slot_gen[seq] != gen \
                            or now - slot_sent[seq] > cap:
                        continue  # duplicate, wrong source, or later than any timeout
                    slot_target[seq] = -1
                    late.append((-2 - i, now - slot_sent[seq]))
                    continue
                if addr4[i] != src or slot_gen[seq] != gen:
                    continue  # from a wrong source, or a whole sequence space late
                slot_target[seq] = -1
                rtt = now - slot_sent[seq]
                if slot_burst[seq]:
                    got_burst.append((i, rtt, seq))
                    continue
                answers.append((targets[i], wall, 1, 1, rtt))
                p = peak[i]
                if rtt > p or regular_ok[i] != 1:
                    got.append((i, rtt))  # a slower answer, or the first after a loss
                else:
                    peak[i] = p + (rtt - p) * PEAK_DECAY
            if n < READ_SLOTS:
                break

    def _read(self, ch: _Channel, answers: list[tuple[str, float, int, int, float | None]],
              got: list[tuple[int, float]],
              got_burst: list[tuple[int, float, int]], late: list[tuple[int, float]]
              ) -> None:
        """One recvfrom per reply (ping sockets, ICMPv6 raw, or no recvmmsg): the source
        comes from the address recvfrom gives."""
        buf, recv, unpack = self._buf, ch.sock.recvfrom_into, _ID_SEQ_NONCE_GEN.unpack_from
        reply_type, fixed_off = _ECHO_REPLY[ch.family], ch.offset_known
        ident, check_ident, nonce = ch.ident, ch.privileged, self.nonce_int
        slot_target, slot_sent, slot_gen = self._slot_target, self._slot_sent, self._slot_gen
        slot_burst, cap = self._slot_burst, self.timeout
        targets, monotonic, wall = self.targets, time.monotonic, time.time()
        peak, regular_ok = self._peak, self._regular_ok
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
            now = monotonic()
            if i < 0:
                if i == -1 or targets[-2 - i] != addr[0] or slot_gen[seq] != gen \
                        or now - slot_sent[seq] > cap:
                    continue  # duplicate, wrong source, or later than any timeout
                slot_target[seq] = -1
                late.append((-2 - i, now - slot_sent[seq]))
                continue
            if targets[i] != addr[0] or slot_gen[seq] != gen:
                continue  # from a wrong source, or a whole sequence space late
            slot_target[seq] = -1
            rtt = now - slot_sent[seq]
            if slot_burst[seq]:
                got_burst.append((i, rtt, seq))
                continue
            answers.append((targets[i], wall, 1, 1, rtt))
            p = peak[i]
            if rtt > p or regular_ok[i] != 1:
                got.append((i, rtt))  # a slower answer, or the first after a loss
            else:
                peak[i] = p + (rtt - p) * PEAK_DECAY


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
                                      source_name="icmp" if not local else f"icmp:{v.id}",
                                      hysteresis=cfg.duty.hysteresis))
        elif v.kind is VantageKind.SSH_FPING:
            sources.append(SshFpingSource(
                targets, v.id, interval, timeout, host=v.ssh_host,
                user=v.ssh_user or cfg.duty.ssh_user, port=v.ssh_port,
                jump_host=cfg.duty.jump_host))
    return sources
