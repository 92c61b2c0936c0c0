"""A real sshd lab in network namespaces `lvs-ssh-*`: client -> jump host -> target host.

    client ns 10.231.1.1 --veth-- 10.231.1.2 jump ns (sshd) 10.231.2.1 --veth-- target ns
                                                              bond0 10.231.2.2 (sshd)
                                                                    10.231.2.3 (dropped)
The client namespace has no default route and no route to the target: only `ssh -J` through
the jump host reaches it. The target's default gateway is the jump host (for the gateway
ping of the diagnostics), and it has a `bond1` link that is down. 10.231.2.3 is on the target
too, but nft silently drops tcp/22 to it: a host that times out. Keys (host and client) are
generated in a temp dir; known_hosts pins the host keys (no trust-on-first-use).

Needs root, iproute2, nftables, openssh-server. Manual use:
    python -m lab.sshd      # starts, prints the ssh config path, Ctrl-C tears it down
Never touches the `lvt-*` namespaces of the other lab.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
CLIENT, JUMP = "10.231.1.1", "10.231.1.2"
GATEWAY, TARGET, DEAD = "10.231.2.1", "10.231.2.2", "10.231.2.3"

NFT_RULES = f"""table inet lvs_ssh_lab {{
    chain input {{
        type filter hook input priority 0; policy accept;
        ip daddr {DEAD} tcp dport 22 drop
    }}
}}
"""


def available() -> tuple[bool, str]:
    """(ok, reason): can this machine run the lab?"""
    if os.geteuid() != 0:
        return False, "the sshd lab needs root (network namespaces)"
    for tool in ("ip", "nft", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return False, f"the sshd lab needs {tool}"
    if not Path(SSHD).exists():
        return False, f"the sshd lab needs {SSHD} (apt-get install openssh-server)"
    return True, ""


def _run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, check=True, input=stdin, text=True, capture_output=True)


@dataclass
class SshLab:
    tag: str = field(default_factory=lambda: str(os.getpid() % 100000))
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lvs-ssh-lab-")))
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def client_ns(self) -> str:
        return f"lvs-ssh-{self.tag}-client"

    @property
    def jump_ns(self) -> str:
        return f"lvs-ssh-{self.tag}-jump"

    @property
    def target_ns(self) -> str:
        return f"lvs-ssh-{self.tag}-target"

    @property
    def ssh_config(self) -> Path:
        return self.tmp / "ssh_config"

    def in_client(self, *argv: str) -> tuple[str, ...]:
        """Prefix that runs argv inside the client namespace."""
        return ("ip", "netns", "exec", self.client_ns, *argv)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> SshLab:
        try:
            self._network()
            self._keys()
            self._sshd(self.jump_ns, "jump", JUMP)
            self._sshd(self.target_ns, "target", "0.0.0.0")
            self._wait_listening(self.jump_ns, JUMP)
            self._wait_listening(self.target_ns, TARGET)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()
        for ns in (self.client_ns, self.jump_ns, self.target_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> SshLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- pieces ---------------------------------------------------------------------------
    def _network(self) -> None:
        t = self.tag
        for ns in (self.client_ns, self.jump_ns, self.target_ns):
            _run("ip", "netns", "add", ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        self._veth(f"lsc{t}", self.client_ns, f"{CLIENT}/24", f"lsj{t}", self.jump_ns,
                   f"{JUMP}/24")
        self._veth(f"lsg{t}", self.jump_ns, f"{GATEWAY}/24", f"lst{t}", self.target_ns,
                   f"{TARGET}/24")
        tns = self.target_ns
        _run("ip", "-n", tns, "link", "set", f"lst{t}", "down")
        _run("ip", "-n", tns, "link", "set", f"lst{t}", "name", "bond0")
        _run("ip", "-n", tns, "link", "set", "bond0", "up")
        _run("ip", "-n", tns, "addr", "add", f"{DEAD}/24", "dev", "bond0")
        _run("ip", "-n", tns, "route", "add", "default", "via", GATEWAY)
        # A second link left down: the diagnostics must report it.
        _run("ip", "-n", tns, "link", "add", "bond1", "type", "veth", "peer", "name", "bond1p")
        _run("ip", "netns", "exec", tns, "nft", "-f", "-", stdin=NFT_RULES)

    @staticmethod
    def _veth(a: str, ns_a: str, addr_a: str, b: str, ns_b: str, addr_b: str) -> None:
        _run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        for dev, ns, addr in ((a, ns_a, addr_a), (b, ns_b, addr_b)):
            _run("ip", "link", "set", dev, "netns", ns)
            _run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")

    def _keys(self) -> None:
        for name in ("id", "host_jump", "host_target"):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"lvs-ssh-lab-{name}",
                 "-f", str(self.tmp / name))
        (self.tmp / "authorized_keys").write_text((self.tmp / "id.pub").read_text())
        jump_key = (self.tmp / "host_jump.pub").read_text().split()[:2]
        target_key = (self.tmp / "host_target.pub").read_text().split()[:2]
        (self.tmp / "known_hosts").write_text(
            f"{JUMP} {' '.join(jump_key)}\n{TARGET},{DEAD} {' '.join(target_key)}\n")
        self.ssh_config.write_text(
            "Host *\n"
            f"  User root\n  IdentityFile {self.tmp / 'id'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {self.tmp / 'known_hosts'}\n"
            "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
            "  LogLevel ERROR\n")

    def _sshd(self, ns: str, name: str, listen: str) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        cfg = self.tmp / f"sshd_{name}.conf"
        cfg.write_text(
            f"Port 22\nListenAddress {listen}\nHostKey {self.tmp / ('host_' + name)}\n"
            f"PidFile {self.tmp / ('sshd_' + name + '.pid')}\n"
            f"AuthorizedKeysFile {self.tmp / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "AllowTcpForwarding yes\nPrintMotd no\nPrintLastLog no\nLogLevel ERROR\n")
        with open(self.tmp / f"sshd_{name}.log", "wb") as log:
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f", str(cfg)],
                stdout=subprocess.DEVNULL, stderr=log))

    def _wait_listening(self, ns: str, address: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn"],
                                 capture_output=True, text=True).stdout
            if f"{address}:22 " in out or "0.0.0.0:22 " in out:
                return
            if any(p.poll() is not None for p in self.procs):
                logs = " | ".join(p.read_text() for p in self.tmp.glob("sshd_*.log"))
                raise RuntimeError(f"sshd exited: {logs.strip()}")
            time.sleep(0.05)
        raise RuntimeError(f"sshd in {ns} not listening on {address}:22 after {timeout} s")


def _free_tag() -> str:
    """Manual runs: a tag no other lab uses (namespaces are global)."""
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for n in range(100000):
        if f"lvs-ssh-m{n}-" not in existing:
            return f"m{n}"
    raise RuntimeError("no free lab tag")  # pragma: no cover


def main() -> int:
    ok, reason = available()
    if not ok:
        print(reason, file=sys.stderr)
        return 2
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # `kill` tears the lab down like Ctrl-C
    with SshLab(tag=_free_tag()) as lab:
        print(f"client namespace: {lab.client_ns}\nssh config: {lab.ssh_config}\n"
              f"jump host: {JUMP}  target: {TARGET}  times out: {DEAD}\n"
              f"try: ip netns exec {lab.client_ns} ssh -F {lab.ssh_config} -J {JUMP} {TARGET}")
        with contextlib.suppress(KeyboardInterrupt):
            socket.socketpair()[0].recv(1)  # block until Ctrl-C
    return 0


if __name__ == "__main__":
    sys.exit(main())
