"""The pure parts of the UI: cells, sparklines, themes, clipboard roads, key checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lvs_tui.app import KEY_IDS, check_keys
from lvs_tui.clipboard import copy_out, osc52_supported, tmux_copy, write_file
from lvs_tui.fleet import Side
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.state import MetricSample
from lvs_tui.widgets.cells import GAP, age_text, buckets, reach_text, sample_step, spark_text
from lvs_tui.widgets.theming import (
    SEMANTIC,
    THEMES,
    ThemeError,
    load_theme,
    parse_theme,
)
from tests.conftest import require

PALETTE = {"status-unknown": "#888888", "status-stale": "#555555", "spark-gap": "#444444",
           "spark-in": "#0000ff", "status-ok": "#00ff00", "status-down": "#ff0000"}


def test_buckets_keep_gaps_and_never_interpolate() -> None:
    now = 1000.0
    samples = [MetricSample(now - 7 * 60 + 1, 1.0), MetricSample(now - 5 * 60 + 1, 5.0),
               MetricSample(now - 1, 9.0)]
    got = buckets(samples, now, 8, 60.0)
    assert got == [None, 1.0, None, 5.0, None, None, None, 9.0]
    line = spark_text(got, PALETTE, "spark-in").plain
    assert line[0] == GAP and line[2] == GAP and line[4:7] == GAP * 3
    assert line[1] == "▁" and line[7] == "█"


def test_sparkline_without_data_is_all_gaps() -> None:
    assert spark_text([None] * 5, PALETTE, "spark-in").plain == GAP * 5


def test_sample_step_is_the_items_own_interval() -> None:
    samples = [MetricSample(t, 0.0) for t in (0, 30, 60, 90, 300)]
    assert sample_step(samples) == 30
    assert sample_step([]) == 60


def test_states_have_glyph_and_word_and_stale_shows_age() -> None:
    up = AddressSignal("192.0.2.1", Side.INTERNAL, "local", Reach.UP, age=1.0)
    stale = AddressSignal("192.0.2.1", Side.INTERNAL, "local", Reach.UNKNOWN, age=420.0)
    assert reach_text(up, PALETTE, 5.0).plain == "● up"
    assert reach_text(stale, PALETTE, 5.0).plain == "? unknown 7m"
    assert age_text(None) == "never" and age_text(3 * 86400) == "3d"


def test_every_shipped_theme_defines_every_semantic_colour() -> None:
    for name in THEMES:
        text = (Path(__file__).resolve().parent.parent / "themes" / f"{name}.tcss").read_text()
        for var in SEMANTIC:
            assert f"${var}:" in text, (name, var)
        theme = load_theme(name)
        assert theme.name == f"lvs-{name}"
    assert not load_theme("light").dark and load_theme("high-contrast").dark


def test_bad_theme_names_and_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="unknown theme 'neon': one of dark, light"):
        load_theme("neon")
    bad = tmp_path / "mine.tcss"
    bad.write_text("$status-down: #ff0000;\n")
    with pytest.raises(ThemeError, match=r"mine.tcss: theme 'mine' has no \$primary"):
        load_theme(str(bad))
    ok = parse_theme("mine", "$primary: #123456;\n$status-ok: #00aa00;\n")
    assert ok.variables["status-ok"] == "#00aa00"
    assert ok.variables["status-down"]  # filled from the defaults


def test_unknown_key_ids_are_refused() -> None:
    assert check_keys({"copy_notice": "y", "confirm_3": "f3"}) == []
    [line] = check_keys({"copy": "y"})
    assert line.startswith("[keys].copy: unknown action id; known:")
    assert {"goto_ip", "pause", "problems_only", "help", "quit"} <= KEY_IDS


def test_osc52_guess_and_the_file_road(tmp_path: Path) -> None:
    assert osc52_supported({"TERM": "xterm-256color"})
    assert not osc52_supported({"TERM": "linux"})
    assert not osc52_supported({"TERM": "xterm", "LVS_TUI_NO_OSC52": "1"})
    path = write_file("通报 text", "lvs-cernet-01/initial", tmp_path)
    assert path.parent == tmp_path / "copied"
    assert path.name == "lvs-cernet-01-initial.txt"
    assert (tmp_path / "copied" / "last.txt").read_text(encoding="utf-8") == "通报 text\n"
    assert tmux_copy("x", env={}) == ""  # not in tmux: nothing tried


def test_copy_out_reports_an_unwritable_state_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = copy_out("hello", "h-initial", "initial text for h", True, blocker)
    assert result.osc52 and result.file is None
    assert result.file_error.startswith(f"cannot write {blocker}")


def test_tmux_buffer_road(tmp_path: Path) -> None:
    require(shutil.which("tmux") is not None, "tmux is not installed")
    sock = f"lvs-ui-cells-{tmp_path.name}"
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "t"],
                   check=True, timeout=10)
    try:
        out = subprocess.run(["tmux", "-L", sock, "display-message", "-p", "#{socket_path}"],
                             capture_output=True, text=True, check=True, timeout=10)
        env = {"TMUX": f"{out.stdout.strip()},1,0", "PATH": "/usr/bin:/bin"}
        how = tmux_copy("通报：lvs-cernet-01", env=env)
        assert how in ("buffer+clipboard", "buffer")
        got = subprocess.run(["tmux", "-L", sock, "show-buffer"], capture_output=True,
                             text=True, check=True, timeout=10).stdout
        assert got == "通报：lvs-cernet-01"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], check=False, timeout=10)
