"""Snapshots, frozen clock: the main screen and the host view at 80×24, 120×40, 160×48 and
200×50 (the fleet table's columns fit the width, the side pane gives way), every modal, and
the main screen in every shipped theme.

Regenerate after an intended visual change with `pytest tests/test_ui_snapshots.py
--snapshot-update` and review the SVGs in tests/__snapshots__/.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot

from lvs_tui.config import SendSettings
from lvs_tui.widgets.theming import THEMES
from tests.test_ui_rig import rig

SIZES = ((120, 40), (80, 24), (160, 48), (200, 50))


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


@pytest.mark.parametrize("theme", THEMES)
def test_theme(snap_compare, tmp_path: Path, theme: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(rig(tmp_path, theme=theme).app, terminal_size=(120, 40),
                        run_before=_settle)


def _keys(*keys: str, host_view: bool = False):  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot) -> None:
        await (_drill if host_view else _settle)(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return run


MODALS = {
    "help": _keys("question_mark"),
    "goto_ip": _keys("g", *"198.51.100.1"),  # typed, not yet entered
    "text": _keys("v"),
    "confirm_send": _keys("w", host_view=True),
}


@pytest.mark.parametrize("modal", MODALS)
def test_modal(snap_compare, tmp_path: Path, modal: str) -> None:  # type: ignore[no-untyped-def]
    r = rig(tmp_path)
    cfg = replace(r.app.cfg, sending=SendSettings(enabled=True, webhook_url_env="NO_SUCH_ENV"))
    r.app.cfg = cfg  # sending on, so `w` asks (nothing is sent: the snapshot stops at asking)
    assert snap_compare(r.app, terminal_size=(120, 40), run_before=MODALS[modal])
