"""Snapshots of the main screen and the host view at 120×40 and 80×24, frozen clock.

Regenerate after an intended visual change with `pytest tests/test_ui_snapshots.py
--snapshot-update` and review the SVGs in tests/__snapshots__/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.test_ui_rig import rig

SIZES = ((120, 40), (80, 24))


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TMUX", raising=False)


async def _settle(pilot: Pilot) -> None:
    await pilot.app.next_board()  # type: ignore[attr-defined]
    await pilot.pause()


async def _drill(pilot: Pilot) -> None:
    await _settle(pilot)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the snapshot-age read, off the UI thread
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(rig(tmp_path).app, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_host_view(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(rig(tmp_path).app, terminal_size=size, run_before=_drill)
