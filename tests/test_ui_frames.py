"""The usual keys reach the screen in one frame: no trailing frame of widgets that the
first one already painted (a trailing frame comes 20–40 ms later and is latency).

Frames are counted on Textual's real compositor (`Screen._compositor_refresh`, wrapped to
note which widgets each frame repaints); what is on screen after them is checked too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.screen import Screen
from textual.widget import Widget

from lvs_tui.screens.host import HostScreen
from lvs_tui.screens.main import MainScreen
from lvs_tui.widgets.header_bar import HeaderBar, header_text
from tests.test_ui_rig import VICTIM, Rig, rig

Frames = list[set[str]]


@pytest.fixture
def frames(monkeypatch: pytest.MonkeyPatch) -> Iterator[Frames]:
    """Each frame the current screen composites: the names of the widgets it repaints."""
    seen: Frames = []
    composite = Screen._compositor_refresh

    def counted(self: Screen) -> None:
        if self is self.app.screen:
            seen.append({_name(w) for w in self._dirty_widgets})
        composite(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", counted)
    yield seen


def _name(widget: Widget) -> str:
    """A widget's class; a scrollbar's with its owner's id: ScrollBar<fleet>."""
    name = type(widget).__name__
    return f"{name}<{widget.parent.id}>" if name == "ScrollBar" and widget.parent else name


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TMUX", raising=False)


async def settled(r: Rig, pilot) -> None:  # type: ignore[no-untyped-def]
    """A board on screen, and no evaluation after the next one: nothing but the keys."""
    await r.app.next_board()
    r.app.eval_every = float("inf")
    await r.app.next_board()
    await pilot.pause()


async def test_filter_key_and_escape_are_one_frame_each(tmp_path: Path,
                                                        frames: Frames) -> None:
    """The focus moves into the filter line and back: the fleet table's restyle does not
    repaint its scrollbars in a frame of their own."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await settled(r, pilot)
        # The first focus move also gives the scrollbars their own styles, once (a layout).
        await pilot.press("slash", "escape")
        await pilot.pause()
        for key in ("slash", "escape", "slash", "escape"):
            frames.clear()
            await pilot.press(key)
            await pilot.pause()
            assert len(frames) == 1, (key, frames)
            assert "FleetTable" in frames[0]  # its focus look changed: repainted whole
            assert not any(n.startswith("ScrollBar") for f in frames for n in f), (key, frames)


async def test_a_cleared_filter_still_repaints_the_scrollbars(tmp_path: Path,
                                                              frames: Frames) -> None:
    """Restoring the scrollbars' repaint requests after a focus move keeps those that
    were asked for before it: the row count changed, the thumb must move."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 30)) as pilot:
        await settled(r, pilot)
        await pilot.press("slash", *"cernet")
        await pilot.pause()
        main = r.app.screen
        assert isinstance(main, MainScreen) and main.table.row_count < 10
        frames.clear()
        await pilot.press("escape")
        await pilot.pause()
        assert main.table.row_count > 20
        assert "ScrollBar<fleet>" in frames[0], frames  # the thumb moves with the rows


async def test_enter_and_escape_are_one_frame_each_and_show_the_newest_board(
        tmp_path: Path, frames: Frames) -> None:
    """`enter` shows the host view in one full paint; `escape` too, with the fleet screen
    drawn for the board that landed while the host view was open."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await settled(r, pilot)
        for host in (VICTIM, "ha-cernet-02"):  # each host's view once: snapshot notes read
            r.app.open_host(host)
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        frames.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen)
        assert frames == [{"HostScreen"}]  # the whole screen, once

        r.advance(120)
        board = await r.app.next_board()  # lands on the host view only
        await pilot.pause()
        frames.clear()
        await pilot.press("escape")
        await pilot.pause()
        main = r.app.screen
        assert isinstance(main, MainScreen)
        assert frames == [{"MainScreen"}]
        app = r.app
        shown = main.query_one(HeaderBar).content
        assert str(shown) == str(header_text(app.cfg, board, board.now, app.paused,
                                             app.theme_variables))


async def test_problems_only_on_a_calm_fleet_is_one_frame_each_way(tmp_path: Path,
                                                                   frames: Frames) -> None:
    """`f` on a calm fleet empties the table (no host under the cursor, no matrix rows) and
    fills it again: one frame each, no layout pass (the matrix keeps its scrollbar)."""
    r = rig(tmp_path, scenario="calm")
    async with r.app.run_test(size=(160, 50)) as pilot:
        await settled(r, pilot)
        main = r.app.screen
        assert isinstance(main, MainScreen)
        for rows in (0, len(r.app.cfg.fleet.hosts), 0, len(r.app.cfg.fleet.hosts)):
            frames.clear()
            await pilot.press("f")
            await pilot.pause()
            assert main.table.row_count == rows
            assert (main.table.host_under_cursor() is None) == (rows == 0)
            assert len(frames) == 1, (rows, frames)
            assert {"FleetTable", "MatrixTable"} <= frames[0]
