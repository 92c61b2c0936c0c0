"""Copying a text out of the console, by every road that may reach the operator's paste.

1. OSC 52 through Textual (`app.copy_to_clipboard`): works over SSH in most terminals;
2. inside tmux, `tmux load-buffer -w -` (tmux >= 3.2 also forwards it to the outer
   clipboard; older tmux gets the plain buffer);
3. always a file in the state directory ($XDG_STATE_HOME/lvs-tui/copied/), the fallback that
   cannot fail silently;
and the caller shows a toast saying where it went, or a modal with the text to select by
hand when the terminal is known not to take OSC 52.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Terminals known to ignore OSC 52 (the text then also opens in a modal).
NO_OSC52_TERMS = ("linux", "vt100", "vt220", "dumb")
NO_OSC52_PROGRAMS = ("Apple_Terminal",)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lvs-tui"


@dataclass(frozen=True, slots=True)
class CopyResult:
    label: str  # what was copied, e.g. "reboot text for lvs-cernet-01"
    osc52: bool  # sent to the terminal
    tmux: str  # "", "buffer+clipboard", "buffer", or "failed: …"
    file: Path | None
    file_error: str = ""

    @property
    def where(self) -> str:
        parts = []
        if self.osc52:
            parts.append("clipboard (OSC 52)")
        if self.tmux and not self.tmux.startswith("failed"):
            parts.append(f"tmux {self.tmux}")
        if self.file is not None:
            parts.append(str(self.file))
        return ", ".join(parts) or "nowhere"


def osc52_supported(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    if env.get("LVS_TUI_NO_OSC52"):
        return False
    term = env.get("TERM", "")
    return term not in NO_OSC52_TERMS and env.get("TERM_PROGRAM", "") not in NO_OSC52_PROGRAMS


def write_file(text: str, name: str, directory: Path | None = None) -> Path:
    """The text as a file (and `last.txt`), written atomically."""
    d = (directory or state_dir()) / "copied"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{_SAFE.sub('-', name).strip('-') or 'text'}.txt"
    for target in (path, d / "last.txt"):
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, target)
    return path


def tmux_copy(text: str, env: dict[str, str] | None = None, timeout: float = 2.0) -> str:
    """Load the text into tmux's buffer when running inside tmux; "" when not in tmux."""
    env = dict(os.environ) if env is None else env
    if not env.get("TMUX") or shutil.which("tmux") is None:
        return ""
    data = text.encode("utf-8")
    for argv, how in ((["tmux", "load-buffer", "-w", "-"], "buffer+clipboard"),
                      (["tmux", "load-buffer", "-"], "buffer")):
        try:
            done = subprocess.run(argv, input=data, capture_output=True, timeout=timeout,
                                  env=env, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"failed: {exc}"[:120]
        if done.returncode == 0:
            return how
    return "failed: " + done.stderr.decode("utf-8", "replace").strip()[:100]


def copy_out(text: str, name: str, label: str, osc52: bool,
             directory: Path | None = None) -> CopyResult:
    """Every road but OSC 52 (the caller's, on the UI thread) and the toast: tmux and the
    file. Blocking (a subprocess, a file): call from a thread. `osc52` says whether the
    caller sent it to a terminal that takes it."""
    tmux = tmux_copy(text)
    try:
        path: Path | None = write_file(text, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}",
                                       directory)
        error = ""
    except OSError as exc:
        path, error = None, f"cannot write {directory or state_dir()}: {exc.strerror}"
    return CopyResult(label, osc52, tmux, path, error)
