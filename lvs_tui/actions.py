"""Duty actions from the host view: ssh through the jump host, remote diagnostics, traceroute.

Everything is argv, never a shell string built from config values: host names, users and
addresses are validated here and passed as separate arguments. The only text a remote shell
ever sees is one of our own constants (plus an address that `ipaddress` produced).
The interactive ssh is only an argv: the app runs it with the console suspended. The other
actions are coroutines with an overall timeout that kill the whole process group on expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import shlex
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lvs_tui.config import Config, Vantage, VantageKind
from lvs_tui.fleet import Host
from lvs_tui.state import Login, LoginState

_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$")
OUTPUT_LIMIT = 256 * 1024  # bytes kept of an action's output: the timeline is not a log sink


class ActionError(ValueError):
    """A bad host, user or address: one line naming what and the value."""


def check_user(user: str, what: str = "ssh user") -> str:
    if not _USER.match(user):
        raise ActionError(f"{what}: {user!r} is not a valid user name")
    return user


def check_address(address: str, what: str = "address") -> str:
    """An IP address (normalised) or a DNS host name; never something ssh reads as option."""
    text = address.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOSTNAME.match(text) or ".." in text:
        raise ActionError(f"{what}: {address!r} is not a host name or IP address")
    return text


def check_ip(address: str, what: str = "address") -> str:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        raise ActionError(f"{what}: {address!r} is not an IP address") from None


def check_jump(jump: str) -> str:
    """[user@]host[:port] as `ssh -J` takes it (one hop: a comma would chain more)."""
    user, _, rest = jump.rpartition("@")
    if user:
        check_user(user, "jump host user")
    host, port = rest, ""
    if rest.startswith("["):  # [v6]:port
        host, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    check_address(host, "jump host")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ActionError(f"jump host: {jump!r} has a bad port")
    return jump


@dataclass(frozen=True, slots=True)
class SshOptions:
    """How to reach the fleet: the jump host (通道机), the login, and the client's setup."""

    jump: str = ""  # [user@]host[:port] for `ssh -J`; empty: connect directly
    user: str = "root"
    port: int = 22
    config_file: str = ""  # `ssh -F`: identities and known hosts of a special setup
    connect_timeout: int = 5  # seconds, per hop
    command: tuple[str, ...] = ("ssh",)  # the client program (a wrapper may precede it)

    def validated(self) -> SshOptions:
        check_user(self.user)
        if self.jump:
            check_jump(self.jump)
        if not 0 < self.port < 65536:
            raise ActionError(f"ssh port: {self.port} is out of range (1-65535)")
        return self


def ssh_options(cfg: Config, config_file: str = "") -> SshOptions:
    return SshOptions(jump=cfg.duty.jump_host, user=cfg.duty.ssh_user,
                      config_file=config_file or cfg.duty.ssh_config,
                      connect_timeout=cfg.duty.ssh_connect_timeout).validated()


def vantage_options(base: SshOptions, vantage: Vantage) -> SshOptions:
    """ssh to a remote vantage (ssh_fping kind): its own user and port, the same jump host.

    A vantage that is the jump host itself is reached directly (ssh refuses a jump loop).
    """
    jump_host = base.jump.rpartition("@")[2].split(":")[0] if base.jump.count(":") <= 1 \
        else base.jump
    jump = "" if vantage.ssh_host in (jump_host, base.jump) else base.jump
    return SshOptions(jump=jump, user=vantage.ssh_user or base.user,
                      port=vantage.ssh_port, config_file=base.config_file,
                      connect_timeout=base.connect_timeout, command=base.command).validated()


def ssh_argv(opts: SshOptions, address: str, remote: str | None = None,
             batch: bool = True) -> list[str]:
    """`ssh [-F cfg] [-J jump] -p P -l USER -o … -- ADDRESS [REMOTE]`.

    `batch`: no password prompts (BatchMode), for actions that capture output.
    """
    opts.validated()
    argv = [*opts.command]
    if opts.config_file:
        argv += ["-F", opts.config_file]
    if opts.jump:
        argv += ["-J", opts.jump]
    argv += ["-p", str(opts.port), "-l", opts.user,
             "-o", f"ConnectTimeout={opts.connect_timeout}",
             "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"]
    if batch:
        argv += ["-o", "BatchMode=yes"]
    argv += ["--", check_address(address)]
    if remote is not None:
        argv.append(remote)
    return argv


def login_argv(opts: SshOptions, host: Host) -> list[str]:
    """The interactive `s` action: the app runs this with the console suspended."""
    return ssh_argv(opts, host.internal, batch=False)


# -- running ---------------------------------------------------------------------------------


class Outcome(StrEnum):
    OK = "ok"  # exit status 0
    FAILED = "failed"  # ran, non-zero exit (ssh: 255 = could not connect)
    TIMEOUT = "timeout"  # killed at the overall timeout
    NOT_FOUND = "not_found"  # the program is not installed


SSH_CANNOT_CONNECT = 255  # ssh's own exit status when it could not log in


def login_result(returncode: int | None, timed_out: bool, t: float,
                 detail: str = "") -> Login:
    """What an ssh run says about logging in through the jump host (a diagnosis signal):
    255 or a timeout = login failed; any other exit = we got in (the remote command's
    own status does not matter)."""
    if timed_out or returncode == SSH_CANNOT_CONNECT:
        return Login(LoginState.FAILED, t, detail)
    return Login(LoginState.OK, t, detail)


@dataclass(frozen=True, slots=True)
class CommandResult:
    argv: tuple[str, ...]
    started: float
    duration: float
    outcome: Outcome
    returncode: int | None
    output: str

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def status(self) -> str:
        if self.outcome is Outcome.TIMEOUT:
            return f"timed out after {self.duration:.0f} s"
        if self.outcome is Outcome.NOT_FOUND:
            return f"{self.argv[0]}: not installed"
        return f"exit {self.returncode}, {self.duration:.1f} s"

    @property
    def text(self) -> str:
        """What goes into the timeline and the network handoff: the command, then output."""
        return f"$ {shlex.join(self.argv)}\n({self.status})\n{self.output}".rstrip() + "\n"


async def run_command(argv: Sequence[str], timeout: float) -> CommandResult:
    """Run argv with stdin closed, stdout+stderr captured, the group killed at `timeout`."""
    started = time.time()
    t0 = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except FileNotFoundError:
        return CommandResult(tuple(argv), started, 0.0, Outcome.NOT_FOUND, None, "")
    assert proc.stdout is not None
    chunks: list[bytes] = []
    size = 0

    async def drain() -> None:
        nonlocal size
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            if size < OUTPUT_LIMIT:
                chunks.append(chunk[: OUTPUT_LIMIT - size])
            size += len(chunk)
        await proc.wait()

    outcome = Outcome.OK
    try:
        await asyncio.wait_for(drain(), timeout)
    except TimeoutError:
        outcome = Outcome.TIMEOUT
        _kill_group(proc.pid)
        await proc.wait()
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        raise
    output = b"".join(chunks).decode("utf-8", errors="replace")
    if size > OUTPUT_LIMIT:
        output += f"\n[… {size - OUTPUT_LIMIT} more bytes cut]\n"
    if outcome is Outcome.OK and proc.returncode != 0:
        outcome = Outcome.FAILED
    return CommandResult(tuple(argv), started, time.monotonic() - t0, outcome,
                         proc.returncode, output)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


# -- remote diagnostics ----------------------------------------------------------------------

# Our constant: the only text the remote shell runs for `d`. POSIX sh; each step bounded.
DIAGNOSTICS_SCRIPT = r"""export LC_ALL=C PATH="$PATH:/sbin:/usr/sbin"
t() { if command -v timeout >/dev/null 2>&1; then timeout 5 "$@"; else "$@"; fi; }
s() { echo "### $*"; }
s hostname; hostname
s ip -br link; t ip -br link 2>&1
s ip -br addr; t ip -br addr 2>&1
s ip route; t ip route 2>&1
gw=$(ip route show default 2>/dev/null |
  awk '{for (i = 1; i < NF; i++) if ($i == "via") {print $(i + 1); exit}}')
if [ -n "$gw" ]; then s ping gateway "$gw"; t ping -n -c 3 -i 0.2 -W 1 "$gw" 2>&1
else s ping gateway; echo "no default route"; fi
s ipvsadm -Ln; t ipvsadm -Ln 2>&1
s keepalived
if command -v systemctl >/dev/null 2>&1; then t systemctl is-active keepalived 2>&1; fi
pgrep -a keepalived 2>&1 || echo "no keepalived process"
{ t journalctl -u keepalived --no-pager -n 300 2>/dev/null || t tail -n 3000 /var/log/messages
} 2>/dev/null | grep -E "Entering (MASTER|BACKUP|FAULT) STATE" | tail -n 3
"""


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """The `d` action's result with the facts the network handoff needs picked out."""

    result: CommandResult
    sections: dict[str, str]  # "ip -br link" -> its output
    links_down: tuple[str, ...]  # interfaces whose state is DOWN
    gateway: str  # "" when there is no default route
    gateway_ok: bool | None  # None: not pinged
    vrrp_state: str = ""  # MASTER | BACKUP | FAULT: keepalived's last transition, if logged

    @property
    def summary(self) -> str:
        if not self.result.ok and not self.sections:
            return f"诊断失败：{self.result.status}"
        parts = ["网口 down：" + ("、".join(self.links_down) if self.links_down else "无")]
        if self.gateway:
            parts.append(f"网关 {self.gateway} " + ("可达" if self.gateway_ok else "不通"))
        else:
            parts.append("无默认路由")
        if self.vrrp_state:
            parts.append(f"keepalived {self.vrrp_state}")
        return "；".join(parts)

    @property
    def text(self) -> str:
        return f"{self.summary}\n{self.result.text}"


def parse_diagnostics(result: CommandResult) -> Diagnostics:
    sections: dict[str, str] = {}
    name = ""
    for line in result.output.splitlines():
        if line.startswith("### "):
            name = line[4:].strip()
            sections[name] = ""
        elif name:
            sections[name] += line + "\n"
    links = sections.get("ip -br link", "")
    down = tuple(sorted(f[0].split("@")[0] for f in (ln.split() for ln in links.splitlines())
                        if len(f) >= 2 and f[1] == "DOWN"))
    gateway, gateway_ok = "", None
    for key, body in sections.items():
        if key.startswith("ping gateway "):
            gateway = key.removeprefix("ping gateway ").strip()
            m = re.search(r"(\d+) (?:packets )?received", body)
            gateway_ok = bool(m and int(m.group(1)) > 0)
    states = re.findall(r"Entering (MASTER|BACKUP|FAULT) STATE", sections.get("keepalived", ""))
    return Diagnostics(result, sections, down, gateway, gateway_ok, states[-1] if states else "")


async def diagnostics(opts: SshOptions, host: Host, timeout: float = 30.0) -> Diagnostics:
    """`d`: links, addresses, routes, gateway ping, ipvsadm, keepalived, over ssh -J."""
    argv = ssh_argv(opts, host.internal, DIAGNOSTICS_SCRIPT)
    return parse_diagnostics(await run_command(argv, timeout))


# -- traceroute ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceSettings:
    max_hops: int = 20
    wait: float = 1.0  # seconds per probe
    queries: int = 1  # probes per hop: one keeps a dead path short

    @property
    def timeout(self) -> float:
        return self.max_hops * self.queries * self.wait + 10.0

    def args(self) -> list[str]:
        return ["-n", "-q", str(self.queries), "-w", f"{self.wait:g}", "-m", str(self.max_hops)]


def traceroute_argv(address: str, settings: TraceSettings = TraceSettings(),
                    command: tuple[str, ...] = ("traceroute",)) -> list[str]:
    return [*command, *settings.args(), check_ip(address)]


def remote_traceroute_command(address: str, settings: TraceSettings = TraceSettings()) -> str:
    """The remote shell text: our constant plus an address `ipaddress` produced."""
    args = " ".join(settings.args())
    ip = shlex.quote(check_ip(address))
    return (f"export PATH=\"$PATH:/sbin:/usr/sbin\"; if command -v traceroute >/dev/null; "
            f"then traceroute {args} {ip}; else tracepath -n -m {settings.max_hops} {ip}; fi")


async def traceroute(address: str, settings: TraceSettings = TraceSettings(),
                     command: tuple[str, ...] = ("traceroute",)) -> CommandResult:
    """`t` from this terminal."""
    return await run_command(traceroute_argv(address, settings, command), settings.timeout)


async def remote_traceroute(opts: SshOptions, vantage: Vantage, address: str,
                            settings: TraceSettings = TraceSettings()) -> CommandResult:
    """`t` from a remote vantage (an ssh_fping host in another IDC)."""
    argv = ssh_argv(vantage_options(opts, vantage), vantage.ssh_host,
                    remote_traceroute_command(address, settings))
    return await run_command(argv, settings.timeout + 2 * opts.connect_timeout)


def remote_vantages(cfg: Config) -> tuple[Vantage, ...]:
    """The vantages a traceroute can also be run from."""
    return tuple(v for v in cfg.vantages if v.kind is VantageKind.SSH_FPING)
