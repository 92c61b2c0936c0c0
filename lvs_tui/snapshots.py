"""Network-config snapshots: each host's network setup fetched over ssh ahead of time.

The runbook's last step (恢复故障机服务) copies the dead host's network config onto the
replacement, and a dead host can no longer be asked for it. So the console keeps a
versioned local archive, one directory per snapshot:

    $XDG_STATE_HOME/lvs-tui/snapshots/<host>/<YYYYmmddTHHMMSSZ>/
        meta.json                 host, address, time, files found, files missing
        commands/ip-addr.txt …    output of ip addr/route/rule, ipvsadm -Sn
        files/etc/keepalived/keepalived.conf …   the config files, byte for byte

A snapshot is written to a hidden directory and renamed into place only when complete: a
failed or cut-off fetch never hides the last good one. The archive is private (0700):
keepalived.conf may hold VRRP passwords.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from lvs_tui.actions import CommandResult, SshOptions, run_command, ssh_argv
from lvs_tui.fleet import Host

MARK = "@@lvs-tui-snapshot@@"  # our section marker: no config file line starts with it

SNAPSHOT_FILES: tuple[str, ...] = (
    "/etc/sysconfig/network-scripts/ifcfg-*",
    "/etc/sysconfig/network-scripts/route-*",
    "/etc/sysconfig/network-scripts/rule-*",
    "/etc/sysconfig/network",
    "/etc/network/interfaces",
    "/etc/network/interfaces.d/*",
    "/etc/netplan/*.yaml",
    "/etc/NetworkManager/system-connections/*",
    "/etc/iproute2/rt_tables",
    "/etc/keepalived/keepalived.conf",
    "/etc/keepalived/conf.d/*",
    "/etc/sysconfig/ipvsadm",
    "/etc/sysctl.conf",
    "/etc/sysctl.d/*.conf",
)

# name of the saved output -> the command (constants of ours, run by the remote shell)
SNAPSHOT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("ip-addr", "ip addr"),
    ("ip-link", "ip -d link"),
    ("ip-route", "ip route show table all"),
    ("ip-rule", "ip rule"),
    ("ipvsadm-Sn", "ipvsadm -Sn"),
)

_PATH = re.compile(r"^/[A-Za-z0-9_./*+-]+$")
_STAMP = re.compile(r"^\d{8}T\d{6}Z(?:-\d+)?$")
KEEP = 100  # snapshots kept per host


def snapshot_script(files: Sequence[str] = SNAPSHOT_FILES) -> str:
    """The remote shell text: fixed commands, and paths that are ours (checked anyway)."""
    for f in files:
        if not _PATH.match(f) or ".." in f:
            raise ValueError(f"snapshot file {f!r} is not an absolute path we may glob")
    lines = [
        'export LC_ALL=C PATH="$PATH:/sbin:/usr/sbin"',
        't() { if command -v timeout >/dev/null 2>&1; then timeout 10 "$@"; else "$@"; fi; }',
        f"M='{MARK}'",
    ]
    for name, command in SNAPSHOT_COMMANDS:
        lines.append(f'echo "$M cmd {name}"; t {command} 2>&1; echo "$M rc $?"')
    globs = " ".join(files)
    lines += [
        f"for f in {globs}; do",
        '  if [ -f "$f" ] && [ -r "$f" ]; then echo "$M file $f"; base64 < "$f"; fi',
        "done",
        'echo "$M end"',
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Parsed:
    commands: dict[str, str]
    exit_codes: dict[str, int]
    files: dict[str, bytes]
    complete: bool  # the end marker arrived: nothing was cut off


def parse_output(output: str) -> Parsed:
    commands: dict[str, str] = {}
    codes: dict[str, int] = {}
    encoded: dict[str, list[str]] = {}
    current: tuple[str, str] | None = None
    complete = False
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            kind, _, arg = line[len(MARK) + 1:].partition(" ")
            current = None
            if kind == "cmd":
                current = ("cmd", arg)
                commands[arg] = ""
            elif kind == "rc" and commands:
                codes[next(reversed(commands))] = int(arg) if arg.isdigit() else -1
            elif kind == "file":
                current = ("file", arg)
                encoded[arg] = []
            elif kind == "end":
                complete = True
        elif current is not None and current[0] == "cmd":
            commands[current[1]] += line + "\n"
        elif current is not None:
            encoded[current[1]].append(line)
    files = {}
    for path, chunks in encoded.items():
        try:
            files[path] = base64.b64decode("".join(chunks), validate=True)
        except binascii.Error:
            complete = False
    return Parsed(commands, codes, files, complete)


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    host: str
    ok: bool
    path: Path | None
    files: int = 0
    error: str = ""
    result: CommandResult | None = None

    @property
    def line(self) -> str:
        if self.ok:
            return f"{self.host}: saved {self.path} ({self.files} files)"
        return f"{self.host}: failed: {self.error}"


def default_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lvs-tui" / "snapshots"


async def snapshot_host(opts: SshOptions, host: Host, root: Path | None = None,
                        timeout: float = 60.0, files: Sequence[str] = SNAPSHOT_FILES,
                        keep: int = KEEP) -> SnapshotResult:
    """Fetch one host's network config over ssh and archive it; never raises for the host."""
    argv = ssh_argv(opts, host.internal, snapshot_script(files))
    result = await run_command(argv, timeout)
    parsed = parse_output(result.output)
    if not result.ok or not parsed.complete:
        why = result.status if not result.ok else "output cut off"
        tail = result.output.strip().splitlines()[-1:] if result.output.strip() else []
        return SnapshotResult(host.name, False, None, 0,
                              f"{why}" + (f": {tail[0][:200]}" if tail else ""), result)
    path = save(root or default_root(), host, parsed, result.started, keep)
    return SnapshotResult(host.name, True, path, len(parsed.files), "", result)


async def snapshot_hosts(opts: SshOptions, hosts: Sequence[Host], root: Path | None = None,
                         timeout: float = 60.0, parallel: int = 8,
                         files: Sequence[str] = SNAPSHOT_FILES) -> list[SnapshotResult]:
    gate = asyncio.Semaphore(parallel)

    async def one(h: Host) -> SnapshotResult:
        async with gate:
            return await snapshot_host(opts, h, root, timeout, files)

    return list(await asyncio.gather(*(one(h) for h in hosts)))


def save(root: Path, host: Host, parsed: Parsed, t: float, keep: int = KEEP) -> Path:
    """Write a complete snapshot atomically (hidden dir, then rename); prune old ones."""
    base = root / host.name
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    stamp = datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%SZ")
    partial = base / f".partial-{stamp}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "commands").mkdir(parents=True)
    for name, text in parsed.commands.items():
        (partial / "commands" / f"{_safe(name)}.txt").write_text(text, encoding="utf-8")
    saved = []
    for remote, data in parsed.files.items():
        rel = _relative(remote)
        if rel is None:
            continue
        target = partial / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        saved.append(remote)
    meta = {"host": host.name, "address": host.internal, "t": t, "files": sorted(saved),
            "exit_codes": parsed.exit_codes}
    (partial / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    final = base / stamp
    n = 1
    while final.exists():
        n += 1
        final = base / f"{stamp}-{n}"
    partial.rename(final)
    _prune(base, keep)
    return final


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _relative(remote: str) -> PurePosixPath | None:
    """A remote absolute path as a relative one under files/; None if it tries to escape."""
    p = PurePosixPath(remote)
    if not p.is_absolute() or ".." in p.parts:
        return None
    return p.relative_to("/")


def snapshots(host: str, root: Path | None = None) -> tuple[Path, ...]:
    """The host's snapshot directories, oldest first."""
    base = (root or default_root()) / host
    if not base.is_dir():
        return ()
    return tuple(sorted((d for d in base.iterdir() if d.is_dir() and _STAMP.match(d.name)),
                        key=_order))


def _order(d: Path) -> tuple[str, int]:
    stamp, _, n = d.name.partition("-")
    return stamp, int(n or 1)


def _prune(base: Path, keep: int) -> None:
    found = snapshots(base.name, base.parent)
    for old in found[: max(0, len(found) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def newest_snapshot(host: str, root: Path | None = None) -> tuple[Path, float] | None:
    """(directory, epoch taken) of the host's newest snapshot: the host view shows its age."""
    found = snapshots(host, root)
    if not found:
        return None
    newest = found[-1]
    try:
        t = float(json.loads((newest / "meta.json").read_text())["t"])
    except (OSError, ValueError, KeyError, TypeError):
        stamp = newest.name.partition("-")[0]
        t = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    return newest, t


def age_text(host: str, now: float | None = None, root: Path | None = None) -> str:
    """'配置快照 3 天前' for the host view; '无配置快照' when there is none."""
    found = newest_snapshot(host, root)
    if found is None:
        return "无配置快照"
    seconds = max(0.0, (now if now is not None else time.time()) - found[1])
    if seconds < 3600:
        return f"配置快照 {int(seconds // 60)} 分钟前"
    if seconds < 86400:
        return f"配置快照 {int(seconds // 3600)} 小时前"
    return f"配置快照 {int(seconds // 86400)} 天前"
