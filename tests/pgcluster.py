"""A throwaway PostgreSQL cluster on loopback for the shared-log tests.

Debian's PostgreSQL (the Zabbix lab installs it) under a temp dir, on a free 127.0.0.1 port,
password (scram) auth, started once per test process and removed at exit. It is our own
cluster, not the lab's, so a test may stop and start it (the server going away mid-shift).
Needs root (initdb runs as the postgres user); `pg_cluster()` skips with the reason, or
fails when CI is set.
"""

from __future__ import annotations

import atexit
import glob
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.conftest import is_root, require

PASSWORD = "lvs-tui-test"  # a throwaway cluster on loopback, gone at exit


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, bindir: Path) -> None:
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="lvs-tui-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        pw = self.dir / "pw"
        pw.write_text(PASSWORD + "\n")
        shutil.chown(self.dir, "postgres")
        shutil.chown(pw, "postgres")
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "scram-sha-256",
                 f"--pwfile={pw}", "-E", "UTF8", "--locale=C.UTF-8")
        self.start()

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
                       check=True, capture_output=True, text=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def connect(self) -> dict[str, Any]:
        return {"password": PASSWORD, "connect_timeout": 2}

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        """As a crash would: connections are cut at once."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


_cluster: Cluster | None = None


def pg_cluster() -> Cluster:
    """The test process's cluster, started on first use."""
    global _cluster
    if _cluster is None:
        require(is_root(), "the PostgreSQL tests need root (initdb runs as postgres)")
        bindir = _bin()
        require(bindir is not None, "PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            require(False, "no postgres user (Debian's postgresql package makes it)")
        assert bindir is not None
        _cluster = Cluster(bindir)
        atexit.register(_cluster.remove)
    return _cluster
