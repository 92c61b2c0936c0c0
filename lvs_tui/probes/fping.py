"""fping as a collector: the local fallback backend and the remote `ssh_fping` vantage.

Both run ONE long-lived `fping --loop --squiet` process whose per-interval summaries
(``addr : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.04/0.04/0.04``) become the same
`PingSample`s the ICMP engine writes. Targets go in on stdin, so no configured value is ever
part of a command line, let alone a shell string (ssh joins its remote arguments for the
remote shell: those are only our fixed fping options).

Anything that is not a summary line says nothing about the targets: when fping or ssh exits
(fping 2-4: bad name, bad option, system call failure; ssh 255: connection broken) or goes
silent, every target gets an error sample (unknown, never down) and the process restarts
after a back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lvs_tui.state import PingSample, SourceState, SourceStatus, StateStore

_SUMMARY = re.compile(
    r"^\s*(?P<addr>[0-9A-Fa-f.:]+)\s+:\s+xmt/rcv/%loss\s+=\s+(?P<xmt>\d+)/(?P<rcv>\d+)/\d+%"
    r"(?:,\s+min/avg/max\s+=\s+[\d.]+/(?P<avg>[\d.]+)/[\d.]+)?")
_HEADER = re.compile(r"^\[\d\d:\d\d:\d\d\]\s*$")
RESTART_BACKOFF = 5.0
EXIT_MEANING = {
    2: "fping: a target was not found",
    3: "fping: invalid command line",
    4: "fping: system call failure",
    255: "ssh: connection failed or broken",
}


@dataclass(frozen=True, slots=True)
class Summary:
    """One target's line of an fping interval summary."""

    address: str
    sent: int
    received: int
    rtt: float | None  # seconds

    def sample(self, t: float) -> PingSample:
        # A late reply can be counted in the next interval: never more answers than probes.
        return PingSample(t, self.sent, min(self.received, self.sent),
                          self.rtt if self.received else None)


def parse_summary_line(line: str) -> Summary | None:
    """A `-Q`/`-c` summary line, or None for anything else (headers, ICMP errors, noise)."""
    m = _SUMMARY.match(line)
    if not m:
        return None
    avg = m.group("avg")
    return Summary(m.group("addr"), int(m.group("xmt")), int(m.group("rcv")),
                   float(avg) / 1000 if avg is not None else None)


def fping_argv(interval: float, timeout: float, targets: int) -> list[str]:
    """Loop forever, summarise every interval, no retries, sends spread over the period."""
    period_ms = max(int(interval * 1000), 20)
    gap_ms = max(min(10.0, period_ms / max(targets, 1)), 0.1)
    # Short options: remote hosts may run an older fping than ours.
    return ["fping", "-l", "-Q", f"{interval:g}", "-p", str(period_ms),
            "-t", str(min(int(timeout * 1000), period_ms)), "-i", f"{gap_ms:g}", "-r", "0",
            "-f", "-"]


def ssh_argv(host: str, user: str, port: int, jump_host: str, remote: Sequence[str],
             connect_timeout: int = 5, options: Sequence[str] = ()) -> list[str]:
    """ssh through the jump host: batch mode (never a password prompt), timeouts, argv."""
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", *options,
            "-p", str(port)]
    if user:
        argv += ["-l", user]
    if jump_host:
        argv += ["-J", jump_host]
    return [*argv, "--", host, *remote]


class FpingSource:
    """Pings `targets` with a long-lived fping (locally, or through `command_prefix`)."""

    def __init__(self, targets: Iterable[str], vantage: str, interval: float = 1.0,
                 timeout: float = 1.0, source_name: str = "", fping: str = "fping") -> None:
        self.targets = tuple(dict.fromkeys(targets))
        self.vantage = vantage
        self.interval = interval
        self.timeout = timeout
        self.name = source_name or f"vantage:{vantage}"
        self.mode = "fping"
        self.fping = fping
        self.silence_limit = 3 * max(interval, 1.0) + 10  # no line for this long: restart
        self.detail = "fping subprocess"
        self.process: asyncio.subprocess.Process | None = None  # the running one, if any

    def argv(self) -> list[str]:
        argv = fping_argv(self.interval, self.timeout, len(self.targets))
        return [self.fping, *argv[1:]]

    async def run(self, store: StateStore) -> None:
        while True:
            why = await self._run_once(store)
            now = time.time()
            store.set_source(SourceStatus(self.name, SourceState.DOWN, now, why))
            self._unknown(store, now, why)
            await asyncio.sleep(RESTART_BACKOFF)

    async def _run_once(self, store: StateStore) -> str:
        """One fping process, fed to the store until it ends; returns why it ended."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv(), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            return f"{self.argv()[0]}: {exc.strerror or exc}"
        self.process = proc
        assert proc.stdin is not None and proc.stderr is not None
        try:
            proc.stdin.write(("\n".join(self.targets) + "\n").encode())
            with contextlib.suppress(ConnectionError):
                await proc.stdin.drain()
            proc.stdin.close()
            other = await self._read(proc.stderr, store)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            rc = await proc.wait()
        if other == "silent":
            return f"{self.detail}: no output for {self.silence_limit:g}s"
        meaning = EXIT_MEANING.get(rc, f"exited with code {rc}")
        return f"{meaning}: {other}" if other else meaning

    async def _read(self, stderr: asyncio.StreamReader, store: StateStore) -> str:
        """Samples from summary lines; returns the other lines (the error) or 'silent'."""
        other: deque[str] = deque(maxlen=2)  # fping: error + usage hint; ssh: the last word
        while True:
            try:
                raw = await asyncio.wait_for(stderr.readline(), self.silence_limit)
            except TimeoutError:
                return "silent"
            if not raw:
                return " | ".join(other)[:200]
            line = raw.decode(errors="replace").rstrip()
            summary = parse_summary_line(line)
            if summary is not None:
                now = time.time()
                store.add_ping(self.vantage, summary.address, summary.sample(now))
                store.set_source(SourceStatus(self.name, SourceState.OK, now, self.detail,
                                              last_ok=now))
            elif line and not _HEADER.match(line):
                other.append(line[:200])

    def _unknown(self, store: StateStore, now: float, why: str) -> None:
        for address in self.targets:
            store.add_ping(self.vantage, address, PingSample(now, 1, 0, error=why))


class SshFpingSource(FpingSource):
    """fping on a host in another IDC, reached with ssh through the jump host."""

    def __init__(self, targets: Iterable[str], vantage: str, interval: float = 1.0,
                 timeout: float = 1.0, *, host: str, user: str = "", port: int = 22,
                 jump_host: str = "", connect_timeout: int = 5,
                 ssh_options: Sequence[str] = ()) -> None:
        super().__init__(targets, vantage, interval, timeout)
        self.host, self.user, self.port, self.jump_host = host, user, port, jump_host
        self.connect_timeout = connect_timeout
        self.ssh_options = tuple(ssh_options)
        self.mode = "ssh fping"
        self.detail = f"fping on {host}" + (f" via {jump_host}" if jump_host else "")
        self.silence_limit = 3 * max(interval, 1.0) + connect_timeout + 10

    def argv(self) -> list[str]:
        remote = fping_argv(self.interval, self.timeout, len(self.targets))
        return ssh_argv(self.host, self.user, self.port, self.jump_host, remote,
                        self.connect_timeout, self.ssh_options)
