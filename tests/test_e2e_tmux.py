"""End to end in a real terminal: tmux runs `lvs-tui demo --scenario single-host-down`, we
wait for the red host, drill down, copy, check tmux's buffer holds the notice, quit cleanly.

A private tmux server (-L) keeps the test away from any tmux the developer is running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10, check=False)
        if check and done.returncode:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "e2e")

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if needle in text:
                return text
            time.sleep(0.3)
        raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{text}")

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "e2e", *keys)


def processes(pid: int) -> str:
    """What the pane's processes are doing, thread by thread (state and kernel wait
    channel): a quit that does not finish says where it hangs."""
    lines: list[str] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        proc = Path(f"/proc/{p}")
        try:
            cmd = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            lines.append(f"pid {p}: {cmd}")
            for task in sorted(proc.joinpath("task").iterdir()):
                comm = task.joinpath("comm").read_text().strip()
                state = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
                wchan = task.joinpath("wchan").read_text().strip()
                lines.append(f"  thread {task.name} {comm}: {state} {wchan}")
                todo += [int(c) for c in task.joinpath("children").read_text().split()]
        except OSError as exc:
            lines.append(f"pid {p}: {exc}")
    return "\n".join(lines)


def test_demo_red_host_drill_down_copy_quit(tmp_path: Path) -> None:
    require(shutil.which("tmux") is not None, "tmux is not installed")
    tmux = Tmux(f"lvs-e2e-{os.getpid()}")
    state = tmp_path / "state"
    cli = [sys.executable, "-m", "lvs_tui.cli", "demo", "--scenario", "single-host-down",
           "--speed", "6"]
    env = f"XDG_STATE_HOME={state} PYTHONPATH={ROOT} TERM=tmux-256color"
    status = tmp_path / "exit-status"
    # The shell records the app's own exit status: tmux's pane_dead_status waits on tmux
    # reaping the pane's shell, which one CI run saw it not do within 15 s (a zombie).
    command = (f"cd {ROOT} && env {env} {' '.join(cli)}; "
               f"echo $? > {status}.part && mv {status}.part {status}")
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40")
    try:
        tmux("set-option", "-t", "e2e", "remain-on-exit", "on")
        tmux("set-option", "-g", "set-clipboard", "on")
        tmux("respawn-pane", "-k", "-t", "e2e", command)
        tmux.wait_for("ICMP", 30)
        screen = tmux.wait_for("HOST DOWN", 60)  # dies at simulated t=60 s
        assert "lvs-cernet-01" in screen
        time.sleep(1.0)  # the cursor rides the top row until the operator moves it
        tmux.keys("Enter")
        screen = tmux.wait_for("impact:", 15)
        assert "lvs-cernet-01" in screen and "HOST DOWN" in screen
        tmux.keys("c")
        tmux.wait_for("copied", 10)
        last = state / "lvs-tui" / "copied" / "last.txt"
        deadline = time.monotonic() + 10
        while not last.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        notice = last.read_text(encoding="utf-8").rstrip("\n")
        assert "lvs-cernet-01" in notice
        assert tmux("show-buffer").rstrip("\n") == notice
        tmux.keys("Escape")
        time.sleep(0.5)
        pid = int(tmux("display-message", "-p", "-t", "e2e", "#{pane_pid}").strip())
        tmux.keys("q")
        deadline = time.monotonic() + 15
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.3)
        code = status.read_text().strip() if status.exists() else "still running"
        assert code == "0", (f"lvs-tui did not exit cleanly: {code}\n{tmux.screen()}\n"
                             f"{processes(pid)}")
        assert "Traceback" not in tmux.screen()
    finally:
        tmux("kill-server", check=False)
