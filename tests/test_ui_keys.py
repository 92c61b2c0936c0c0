"""Pilot tests of every key path on the simulated fleet (single-host-down, frozen clock)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from lvs_tui import texts
from lvs_tui.runbook import load_runbook, plan
from lvs_tui.screens.ask import AskScreen
from lvs_tui.screens.host import HostScreen
from lvs_tui.screens.main import MainScreen
from lvs_tui.screens.modals import GotoIpScreen, HelpScreen
from lvs_tui.signals import Reach
from lvs_tui.state import SourceState
from lvs_tui.widgets.fleet_table import FleetTable
from lvs_tui.widgets.matrix_table import MatrixTable
from tests.robot import Robot
from tests.test_ui_rig import T0, VICTIM, rig


@pytest.fixture(autouse=True)
def _state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def table(app) -> FleetTable:  # type: ignore[no-untyped-def]
    return app.screen.table


async def open_host_view(r, pilot) -> None:  # type: ignore[no-untyped-def]
    """The first board, then enter on the top row (the red host)."""
    await r.app.next_board()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


def hosts_shown(app) -> list[str]:  # type: ignore[no-untyped-def]
    return list(table(app).hosts())


async def test_red_host_on_top_with_title_and_header(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        board = await r.app.next_board()
        await pilot.pause()
        assert board.rows[0].host.name == VICTIM
        assert hosts_shown(r.app)[0] == VICTIM
        assert table(r.app).host_under_cursor() == VICTIM
        assert r.app.title == "lvs-tui · 1 red"
        header = str(r.app.screen.query_one("#header").render())
        assert "✖ 1 down" in header and "41 ok" in header
        side = str(r.app.screen.query_one("#side-text").render())
        assert "HOST DOWN" in side and "5666 值班室" in side and "010-62675666" in side


async def test_own_checks_show_who_comes_after_them(tmp_path: Path) -> None:
    """One side down starts with the operator's own checks, which call nobody: the side
    pane names who comes after them instead of no contact at all: 5666, who know who is on
    network duty (the runbook: "QQ 联系 5666 咨询网络组值班人员")."""
    r = rig(tmp_path, "side-down", at=120)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        assert table(r.app).host_under_cursor() == "lvs-unicom-02"
        side = str(r.app.screen.query_one("#side-text").render())
        assert "▶ 基本检查" in side
        assert "then ☎ 5666 值班室" in side and "010-62675666" in side


async def test_situation_word_gives_way_to_the_5666_flag(tmp_path: Path) -> None:
    """A VIP lost from one carrier, on the 5666 page: the situation column (18 cells) shows
    the flag whole and as much of the word as fits beside it."""
    r = rig(tmp_path, "vip-carrier-loss", at=300)
    async with r.app.run_test(size=(120, 40)) as pilot:
        board = await r.app.next_board()
        await pilot.pause()
        assert board.rows[0].situation.on_alert_page
        top = table(r.app).render_line(1).text  # the header, then the worst host
        assert "◐ VIP partly 5666" in top, top
        side = str(r.app.screen.query_one("#side-text").render())
        assert "◐ VIP partly down for" in side  # the side pane has room for the word


async def test_a_failing_source_is_never_cut_off_the_header(tmp_path: Path) -> None:
    """80 columns show four or five sources: the 5666 page, last in the usual order, comes
    first when it fails, so it is on screen."""
    from lvs_tui.state import SourceStatus

    r = rig(tmp_path)
    async with r.app.run_test(size=(80, 24)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        header = r.app.screen.query_one("#header")
        assert "5666" not in header.render_line(1).text  # healthy: cut off at 80 columns
        t = r.clock.t
        r.store.set_source(SourceStatus("alert_page", SourceState.DOWN, t - 60, "HTTP 502",
                                        t - 300))
        r.advance(r.k + 1)
        await r.app.next_board()
        await pilot.pause()
        line = header.render_line(1).text
        assert line.lstrip().startswith("✖ 5666 down"), line


async def test_cursor_follows_its_host_when_rows_resort(tmp_path: Path) -> None:
    r = rig(tmp_path, at=40)  # before the fault: everyone ok, sorted by IDC
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        t = table(r.app)
        target = "ha-cernet-02"
        for _ in range(60):
            if t.host_under_cursor() == target:
                break
            await pilot.press("j")
        assert t.host_under_cursor() == target
        before = t.cursor_row
        r.advance(90)  # lvs-cernet-01 dies and jumps to the top
        await r.app.next_board()
        await pilot.pause()
        assert hosts_shown(r.app)[0] == VICTIM
        assert t.host_under_cursor() == target
        assert t.cursor_row != before  # the row moved, the cursor went with it


async def test_enter_drills_down_and_escape_returns(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await open_host_view(r, pilot)
        assert isinstance(r.app.screen, HostScreen)
        assert r.app.screen.host == VICTIM
        head = str(r.app.screen.query_one("#host-head").render())
        assert "HOST DOWN" in head and "192.0.2.1" in head
        runbook = str(r.app.screen.query_one("#runbook").render())
        assert "5666" in runbook and "[1]" in runbook
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(r.app.screen, MainScreen)


async def test_goto_ip_opens_the_owner_of_a_vip_and_rejects_strangers(tmp_path: Path) -> None:
    r = rig(tmp_path)
    vip = next(v for v in r.sim.config.fleet.vips if v.hosts[0].startswith("ha-unicom"))
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(r.app.screen, GotoIpScreen)
        await pilot.press(*" 10.99.99.99 ", "enter")  # not ours
        await pilot.pause()
        assert isinstance(r.app.screen, MainScreen)
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*f" {vip.address} ", "enter")  # pasted with spaces around
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen)
        assert r.app.screen.host in vip.hosts
        await pilot.press("escape")
        await pilot.pause()
        assert table(r.app).host_under_cursor() in vip.hosts


async def test_filter_by_idc_ip_and_service_then_clear(tmp_path: Path) -> None:
    r = rig(tmp_path)
    host = r.sim.config.fleet.host("ssl-mobile-01")
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("slash", *"联通")
        await pilot.pause()
        shown = hosts_shown(r.app)
        assert shown and all("unicom" in h for h in shown)
        await pilot.press("escape")
        await pilot.pause()
        assert len(hosts_shown(r.app)) == 42
        await pilot.press("slash", *host.external, "enter")
        await pilot.pause()
        assert hosts_shown(r.app) == ["ssl-mobile-01"]
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f")  # problems only, and the header says so
        await pilot.pause()
        assert hosts_shown(r.app) == [VICTIM]
        assert "PROBLEMS ONLY" in str(r.app.screen.query_one("#header").render())
        await pilot.press("f")
        await pilot.pause()
        assert len(hosts_shown(r.app)) == 42
        assert "PROBLEMS ONLY" not in str(r.app.screen.query_one("#header").render())


async def test_filter_line_stays_and_the_table_redraws_with_its_focus_look(
        tmp_path: Path) -> None:
    """The filter line is always there (no layout on `/`); the table caches its styles, so
    they must follow the focus moving to the filter box and back."""
    from textual.widgets import Input

    from lvs_tui.widgets.fleet_table import FleetTable

    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        table = r.app.screen.query_one(FleetTable)
        box = r.app.screen.query_one("#filter-input", Input)
        region = box.region
        focused_bg = table.rich_style.bgcolor
        assert list(table.render_line(3))[-1].style.bgcolor == focused_bg
        await pilot.press("slash", "s", "s", "l")
        await pilot.pause()
        assert box.has_focus and box.region == region and box.value == "ssl"
        blurred_bg = table.rich_style.bgcolor
        assert blurred_bg != focused_bg  # the focus tint is gone ...
        assert list(table.render_line(3))[-1].style.bgcolor == blurred_bg  # ... drawn so
        await pilot.press("enter")
        await pilot.pause()
        assert table.has_focus and box.value == "ssl" and box.region == region
        assert list(table.render_line(3))[-1].style.bgcolor == focused_bg


async def test_pause_freezes_the_view_while_data_flows(tmp_path: Path) -> None:
    r = rig(tmp_path, at=40)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert r.app.paused
        assert "PAUSED" in str(r.app.screen.query_one("#header").render())
        version = r.store.version
        r.advance(90)
        board = await r.app.next_board()  # evaluation goes on
        await pilot.pause()
        assert r.store.version > version and board.rows[0].host.name == VICTIM
        assert r.app.title == "lvs-tui · 1 red"  # alerting is never paused
        assert VICTIM not in hosts_shown(r.app)[:1]  # the table is frozen
        await pilot.press("p")
        await pilot.pause()
        assert hosts_shown(r.app)[0] == VICTIM


async def test_copy_puts_the_exact_notice_in_the_clipboard_and_a_file(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        board = await r.app.next_board()
        await pilot.pause()
        await pilot.press("c")
        await r.app.workers.wait_for_complete()  # copying runs off the UI thread
        await pilot.pause()
        row = board.row(VICTIM)
        assert row is not None
        cfg = r.sim.config
        rb = load_runbook(cfg.runbook)
        p = plan(rb, row.situation, row.host, cfg, (), board.now)
        kind = p.texts[0]
        expected = texts.render(kind, texts.context(cfg, row.situation, row.host, (),
                                                    board.now, runbook=rb,
                                                    signals=row.signals))
        assert r.app.clipboard == expected
        assert "lvs-cernet-01" in expected
        copied = r.app.last_copy
        assert copied is not None and copied.osc52 and copied.file is not None
        assert copied.file.read_text(encoding="utf-8") == expected + "\n"
        assert (copied.file.parent / "last.txt").read_text(encoding="utf-8") == expected + "\n"
        events = r.app.desk.incidents.host_events(VICTIM)
        assert any(e.kind.value == "text" and e.detail == expected for e in events)


async def test_confirmations_advance_the_runbook_step(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        board = await r.app.next_board()
        await pilot.pause()
        row = board.row(VICTIM)
        first = r.app.desk.guide(row, board.now).plan
        assert first.step is not None and "reboot_requested" in first.confirmable
        await pilot.press("enter")
        await pilot.pause()
        n = HostScreen.confirmable(r.app.screen.guidance()).index("reboot_requested") + 1
        await pilot.press(str(n))
        await pilot.pause()
        assert isinstance(r.app.screen, AskScreen)  # the note is asked for
        await pilot.press(*"5666 ok", "enter")
        await r.app.workers.wait_for_complete()
        await pilot.pause()
        assert ("reboot_requested" in
                {name for name, _ in r.app.desk.confirmations(VICTIM)})
        assert r.app.desk.notes(VICTIM) == {"reboot_requested": "5666 ok"}
        logged = r.app.desk.incidents.confirmation_events(VICTIM)
        assert [(e.name, e.detail) for e in logged] == [("reboot_requested", "5666 ok")]
        after = r.app.desk.guide(row, board.now).plan
        assert after.step is not None and after.step.id != first.step.id
        assert "reboot_requested" not in after.confirmable
        assert after.step.title in str(r.app.screen.query_one("#runbook").render())


async def test_host_view_texts_cycle_and_copy_each_kind(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await open_host_view(r, pilot)
        screen = r.app.screen
        seen = set()
        offered = screen.guidance().kinds
        for _ in range(len(offered)):
            kind = screen.shown_kind(screen.guidance())
            seen.add(kind)
            await pilot.press("c")
            await r.app.workers.wait_for_complete()  # copying runs off the UI thread
            await pilot.pause()
            assert r.app.last_copy is not None and kind in r.app.last_copy.label
            await pilot.press("n")
            await pilot.pause()
        assert seen == set(offered) and {"initial", "reboot", "network"} <= seen
        assert "recovered" not in seen  # the host is down: no recovered notice offered
        await pilot.press("r")  # 6 h: no history source here, the chart says so
        await pilot.pause()
        assert "only the last hour" in str(screen.query_one("#zabbix-title").render())


async def test_help_palette_entries_and_remapped_key(tmp_path: Path) -> None:
    r = rig(tmp_path)
    r.app.cfg = replace(r.app.cfg, keys={"copy_notice": "y"})
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(r.app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("c")  # remapped away
        await pilot.pause()
        assert r.app.last_copy is None
        await pilot.press("y")
        await r.app.workers.wait_for_complete()  # copying runs off the UI thread
        await pilot.pause()
        assert r.app.last_copy is not None
        titles = [t for t, _, _ in r.app.palette_entries()]
        assert f"host {VICTIM}" in titles and any(t.startswith("VIP ") for t in titles)
        jump = next(cb for t, _, cb in r.app.palette_entries() if t == "host ssl-bgp-01")
        jump()
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen) and r.app.screen.host == "ssl-bgp-01"


async def test_bell_when_a_host_turns_red_at_most_once_a_minute(tmp_path: Path) -> None:
    r = rig(tmp_path, at=40, bell=True)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        assert r.app.bells == 0
        r.advance(90)
        board = await r.app.next_board()
        await pilot.pause()
        assert board.red and r.app.bells == 1
        r.advance(95)
        await r.app.next_board()
        assert r.app.bells == 1  # still the same red host: no new bell
        r.app._red = frozenset()  # as if it had recovered and failed again at once
        await r.app.next_board()
        assert r.app.bells == 1  # rate-limited: at most one bell a minute
        assert len(r.app.workers) <= 1  # finished evaluations leave no workers behind


class Crashing:
    name = "zabbix"

    async def run(self, store) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        raise RuntimeError("boom")


async def test_a_crashing_source_shows_down_and_the_console_lives(tmp_path: Path) -> None:
    r = rig(tmp_path)
    r.app.sources = (Crashing(),)
    async with r.app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):
            await pilot.pause(0.05)
            status = r.store.source("zabbix")
            if status is not None and status.state is SourceState.DOWN:
                break
        assert status is not None and status.state is SourceState.DOWN
        assert "boom" in status.detail
        await r.app.next_board()
        await pilot.pause()
        assert "Zabbix down" in str(r.app.screen.query_one("#header").render())
        assert r.app.is_running


async def test_resize_down_to_80x24_and_theme_switch(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        header = r.app.screen.query_one("#matrix", MatrixTable).render_line(0).text
        assert all(v.name in header for v in r.sim.config.vantages)  # refitted, no new board
        await pilot.press("f9")
        await r.app.next_board()
        await pilot.pause()
        assert r.app.theme == "lvs-light"
        assert table(r.app).host_under_cursor() == VICTIM
        await pilot.press("enter")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen)
    assert T0  # the rig's frozen clock is what the header showed


async def test_untouched_cursor_rides_the_top_row_and_esc_releases(tmp_path: Path) -> None:
    r = rig(tmp_path, at=40)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        first = table(r.app).host_under_cursor()
        assert first != VICTIM
        r.advance(90)
        await r.app.next_board()
        await pilot.pause()
        assert table(r.app).host_under_cursor() == VICTIM  # the newly red host, not `first`
        await pilot.press("j")
        r.advance(95)
        await r.app.next_board()
        await pilot.pause()
        moved = table(r.app).host_under_cursor()
        assert moved != VICTIM
        await pilot.press("escape")
        await pilot.pause()
        assert table(r.app).host_under_cursor() == VICTIM


async def test_terminal_without_osc52_gets_the_text_in_a_window(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lvs_tui.screens.modals import TextScreen

    monkeypatch.setenv("TERM", "linux")  # the Linux console ignores OSC 52
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("c")
        await r.app.workers.wait_for_complete()  # copying runs off the UI thread
        await pilot.pause()
        assert isinstance(r.app.screen, TextScreen)
        assert r.app.screen.text == r.app.clipboard
        assert r.app.last_copy is not None and not r.app.last_copy.osc52
        assert r.app.last_copy.file is not None  # the file road always exists
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(r.app.screen, MainScreen)


async def test_matrix_shows_every_host_a_filter_narrowed_to(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        matrix = r.app.screen.query_one(MatrixTable)
        assert {k.split("|")[0] for k in matrix.row_keys()} == {VICTIM}
        await pilot.press("slash", *"lvs-cernet", "enter")
        await pilot.pause()
        hosts = {k.split("|")[0] for k in matrix.row_keys()}
        assert hosts == {"lvs-cernet-01", "lvs-cernet-02"}
        cfg = r.sim.config
        assert len(matrix.row_keys()) == sum(2 + len(cfg.fleet.vips_of(h)) for h in hosts)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_every_vantage_column_is_on_screen(tmp_path: Path, size: tuple[int, int]
                                                 ) -> None:
    """In the main screen's matrix and the host view's, at the snapshot sizes: each
    vantage's title on the header line and nothing to scroll sideways (移动, the last, was
    cut off at 120 columns: a carrier nobody sees)."""
    r = rig(tmp_path)
    names = [v.name for v in r.sim.config.vantages]
    async with r.app.run_test(size=size) as pilot:
        await r.app.next_board()
        await pilot.pause()
        for matrix_id in ("#matrix", "#host-matrix"):
            if matrix_id == "#host-matrix":
                await pilot.press("enter")
                await pilot.pause()
            matrix = r.app.screen.query_one(matrix_id, MatrixTable)
            header = matrix.render_line(0).text
            assert all(name in header for name in names), (matrix_id, header)
            assert matrix.virtual_size.width <= matrix.scrollable_content_region.width
            row = matrix.render_line(2).text  # 外网, down from every vantage
            assert row.count(Reach.DOWN.glyph) == len(names), (matrix_id, row)


async def test_ssh_key_builds_the_jump_host_login(tmp_path: Path) -> None:
    """Headless, the console cannot be suspended: the operator gets the exact command
    (nothing is run, nothing is sent)."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await open_host_view(r, pilot)
        await pilot.press("s")
        await pilot.pause()
        notes = [str(n.message) for n in r.app._notifications]
        assert any("run: ssh" in n and "-J jump.example.com" in n and "192.0.2.1" in n
                   for n in notes), notes


async def test_traceroute_and_diagnostics_keys_record_and_attach_to_the_handoff(
        tmp_path: Path) -> None:
    """`t` and `d` in the host view: the output is shown, recorded in the incident timeline
    and attached to the network handoff. The rig's desk is not live (simulated addresses),
    so nothing is sent anywhere: the recorded text says so."""
    from lvs_tui.screens.modals import TextScreen

    r = rig(tmp_path)
    assert r.app.desk.live is False
    async with r.app.run_test(size=(120, 40)) as pilot:
        await open_host_view(r, pilot)
        for key, action in (("t", "traceroute"), ("d", "diagnostics")):
            await pilot.press(key)
            for _ in range(20):
                await pilot.pause()
                if isinstance(r.app.screen, TextScreen):
                    break
            assert isinstance(r.app.screen, TextScreen), key
            await pilot.press("escape")
            await pilot.pause()
            event = r.app.desk.incidents.last_action(VICTIM, action)
            assert event is not None and "演示模式" in event.detail
        row = r.app.row(VICTIM)
        text = r.app.desk.text(row, "network", r.app.view.board.now)
        assert "未对模拟地址" in text and "远程诊断" in text


async def test_send_needs_the_explicit_y_and_is_recorded(
        tmp_path: Path, robot: tuple[str, Robot], monkeypatch: pytest.MonkeyPatch) -> None:
    """`w` shows the text and sends only on `y`, to a real webhook server on loopback; the
    send is in the timeline. With sending off (the default) nothing leaves the machine."""
    from lvs_tui.config import SendSettings
    from lvs_tui.screens.modals import ConfirmSendScreen

    url, bot = robot
    got = bot.bodies
    monkeypatch.setenv("LVS_TUI_TEST_ROBOT", url)
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await open_host_view(r, pilot)
        await pilot.press("w")  # sending off: refused, nothing sent
        await pilot.pause()
        assert not isinstance(r.app.screen, ConfirmSendScreen)
        r.app.cfg = replace(r.app.cfg, sending=SendSettings(
            enabled=True, webhook_url_env="LVS_TUI_TEST_ROBOT", timeout=5.0))
        r.app.desk.cfg = r.app.cfg
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(r.app.screen, ConfirmSendScreen)
        await pilot.press("n")  # cancelled: nothing sent
        await pilot.pause()
        assert got == []
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("y")
        for _ in range(50):
            await asyncio.sleep(0.05)
            if got:
                break
        await r.app.workers.wait_for_complete()
        assert len(got) == 1 and VICTIM in got[0]["text"]["content"]
        sent = [e for e in r.app.desk.incidents.host_events(VICTIM)
                if (e.data or {}).get("how") == "sent"]
        assert len(sent) == 1


async def test_the_host_view_is_reused_and_shows_the_newly_chosen_host(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await open_host_view(r, pilot)
        first = r.app.screen
        await pilot.press("n", "r")  # another text kind, 6 h charts: state of this visit
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("j")
        other = table(r.app).host_under_cursor()
        await pilot.press("enter")
        await pilot.pause()
        screen = r.app.screen
        assert isinstance(screen, HostScreen) and screen is first
        assert other != VICTIM and screen.host == other
        head = str(screen.query_one("#host-head").render())
        assert other in head and "HOST DOWN" not in head
        assert screen.text_kind is None and screen.hours == 1


async def test_footer_shows_each_screens_keys_follows_focus_and_clicks(tmp_path: Path) -> None:
    from lvs_tui.widgets.key_footer import KeyFooter

    def described(screen: object) -> set[str]:
        return {k[2] for k in screen.query_one(KeyFooter).keys}  # type: ignore[attr-defined]

    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        main = r.app.screen
        footer = main.query_one(KeyFooter)
        assert described(main) >= {"filter", "problems", "pause", "copy"}
        line = str(footer.render())
        assert " / filter " in line and " f problems " in line
        await pilot.press("enter")
        await pilot.pause()
        assert {"traceroute", "ssh", "back"} <= described(r.app.screen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("slash")  # the filter box has focus: letters type, not act
        await pilot.pause()
        assert "problems" not in described(main) and "pause" not in described(main)
        await pilot.press("enter")
        await pilot.pause()
        assert described(main) >= {"filter", "problems"}
        # A click on a key presses it, as on Textual's footer.
        start = str(footer.render()).index(" f problems ")
        await pilot.click(KeyFooter, offset=(start + 2, 0))
        await pilot.pause()
        assert main.problems_only  # type: ignore[attr-defined]


def test_evaluation_pause_sleeps_while_keys_come_but_at_most_the_hold_per_board(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyboard first: the evaluation thread sleeps at its pause points while the operator
    types, and one board is never held back more than BOARD_HOLD_MAX in all."""
    import lvs_tui.app as app_module

    app = rig(tmp_path).app
    slept: list[float] = []
    monkeypatch.setattr(app_module.time, "sleep", slept.append)
    typing = [True]
    monkeypatch.setattr(app, "_typing", lambda: typing[0])
    pause = app._quiet_keys()
    pause()  # the operator never stops: sleeps until the board's budget is spent
    assert sum(slept) == pytest.approx(app_module.BOARD_HOLD_MAX)
    slept.clear()
    pause()  # same board: no budget left, carries on at once
    assert slept == []
    typing[0] = False
    fresh = app._quiet_keys()
    fresh()  # nobody typing: no sleep at all
    assert slept == []


async def test_line_tables_keep_strips_only_for_the_rows_they_show(tmp_path: Path) -> None:
    """The main matrix shows another host's addresses at every cursor move: the strips
    of the rows it no longer shows are dropped, not kept for every host ever selected."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        matrix = r.app.screen.query_one("#matrix", MatrixTable)
        seen: set[str] = set()
        for _ in range(6):
            await pilot.press("j")
            await pilot.pause()
            seen |= set(matrix.row_keys())
            assert matrix._strips and set(matrix._strips) <= set(matrix.row_keys())
        assert len(seen) > len(matrix.row_keys())  # the cursor did visit other hosts
        fleet = table(r.app)
        assert set(fleet._strips) <= set(fleet.hosts())


async def test_copied_network_handoff_names_the_carrier_it_fails_from(tmp_path: Path
                                                                       ) -> None:
    """A VIP lost from 联通 only: `c` on its host copies the network handoff, whose 源 IP is
    联通's probe host, not this terminal."""
    r = rig(tmp_path, "vip-carrier-loss", at=300)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("c")
        await r.app.workers.wait_for_complete()  # copying runs off the UI thread
        await pilot.pause()
        assert "网络组值班你好" in r.app.clipboard
        assert "源 IP：203.0.113.252（联通探测点）\n" in r.app.clipboard  # its source


async def test_remapped_keys_show_in_footer_help_side_pane_and_palette(tmp_path: Path
                                                                        ) -> None:
    """The bindings are the one source of keys: remapped in the config, the new keys are
    what the footer, the help screen, the side pane's key line and the palette show, and
    what works."""
    from textual.command import CommandList, CommandPalette

    from lvs_tui.widgets.key_footer import KeyFooter

    keys = {"copy_notice": "y", "filter": "f2", "help": "f1", "open_host": "o"}
    r = rig(tmp_path)
    r.app.cfg = replace(r.app.cfg, keys=keys)
    async with r.app.run_test(size=(160, 48)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        main = r.app.screen
        footer = str(main.query_one(KeyFooter).render())
        assert " y copy " in footer and " f2 filter " in footer and " f1 help " in footer
        assert " c copy " not in footer and " / filter " not in footer
        side = str(main.query_one("#side-text").render())
        keys_line = side[side.index("keys: "):]
        assert "o host view" in keys_line and "y copy text" in keys_line
        assert "f2 filter" in keys_line and "f1 help" in keys_line
        assert "enter host view" not in keys_line and "c copy text" not in keys_line

        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(r.app.screen, HelpScreen)
        rows = {i: k for k, i, _ in r.app.screen.rows}
        assert rows["copy_notice"] == "y" and rows["filter"] == "f2" and rows["help"] == "f1"
        assert rows["pause"] == "p" and rows["confirm_1…confirm_9"] == "1-9"
        shown = str(r.app.screen.query_one("Static").render())
        assert "y          copy the current text" in shown
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("colon")
        await pilot.pause()
        assert isinstance(r.app.screen, CommandPalette)
        await pilot.press(*"copy the")
        for _ in range(40):  # the palette searches in a worker
            await pilot.pause(0.05)
            options = r.app.screen.query_one(CommandList)
            prompts = [str(options.get_option_at_index(i).prompt)
                       for i in range(options.option_count)]
            if any("copy the current text" in p for p in prompts):
                break
        copy = next(p for p in prompts if "copy the current text" in p)
        assert copy.splitlines()[-1] == "y", copy
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("y")  # and the keys are those that work
        await pilot.pause()
        assert r.app.last_copy is not None
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen)
        host_footer = str(r.app.screen.query_one(KeyFooter).render())
        assert " y copy text " in host_footer and " f1 help " in host_footer


def test_every_key_has_one_default_and_every_action_exists() -> None:
    """The key table's rows: one default key per id, and each action is a method of the
    class it is bound on (a renamed action would otherwise fail only when pressed)."""
    from lvs_tui.app import LvsApp
    from lvs_tui.screens.duty_keys import DutyKeys
    from lvs_tui.widgets.keys import KEYS, Where

    owners = {Where.APP: LvsApp, Where.MAIN: MainScreen, Where.HOST: HostScreen,
              Where.FLEET: FleetTable, Where.DUTY: DutyKeys}
    defaults: dict[str, str] = {}
    for k in KEYS:
        assert defaults.setdefault(k.id, k.key) == k.key, k.id
        name = k.action.split("(")[0]
        assert callable(getattr(owners[k.where], f"action_{name}", None)), k
        assert k.help and k.label


async def test_ack_stops_the_re_alert_and_shows_who(tmp_path: Path) -> None:
    """An unacknowledged critical host alerts again after [duty] ack_timeout (bell, title,
    header); `a` with a note acknowledges it: shown in the row and the side pane, no more
    re-alerts; `A` takes it back."""
    from lvs_tui.sim import Sim

    cfg = Sim("single-host-down", start=T0).config
    cfg = replace(cfg, duty=replace(cfg.duty, ack_timeout=30.0, operator="值班甲"))
    r = rig(tmp_path, config=cfg, bell=True)
    r.app.desk.cfg = cfg
    async with r.app.run_test(size=(160, 48)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        assert r.app.bells == 1 and table(r.app).host_under_cursor() == VICTIM
        r.advance(125)  # 35 s later, nobody acknowledged
        r.app._last_bell = -1e9  # past the one-a-minute bell limit (monotonic time)
        await r.app.next_board()
        await pilot.pause()
        assert r.app.bells == 2 and r.app.unacked == (VICTIM,)
        assert "未确认" in r.app.title
        header = str(r.app.screen.query_one("#header").render())
        assert "未确认 1" in header and VICTIM in header
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"我在查", "enter")
        await r.app.workers.wait_for_complete()
        board = await r.app.next_board()
        await pilot.pause()
        mark = board.mark(VICTIM)
        assert mark is not None and mark.ack is not None and mark.ack.who == "值班甲"
        assert r.app.unacked == ()
        side = str(r.app.screen.query_one("#side-text").render())
        assert "acknowledged by 值班甲" in side and "我在查" in side
        r.advance(170)
        r.app._last_bell = -1e9
        await r.app.next_board()
        assert r.app.bells == 2  # acknowledged: quiet
        await pilot.press("A")
        await r.app.workers.wait_for_complete()
        board = await r.app.next_board()
        assert board.mark(VICTIM) is None
        events = [e.kind.value for e in r.app.desk.incidents.host_events(VICTIM)]
        assert "ack" in events and "unack" in events


async def test_m_puts_the_host_in_maintenance_from_the_dashboard(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 48)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        assert table(r.app).host_under_cursor() == VICTIM
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"2h", "enter")
        await pilot.pause()
        await pilot.press(*"x", "backspace", "enter")  # no reason: refused, nothing written
        await r.app.workers.wait_for_complete()
        await pilot.pause()
        assert r.app.desk.duty_state.windows == ()
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"2h", "enter")
        await pilot.pause()
        await pilot.press(*"更换电源", "enter")
        await r.app.workers.wait_for_complete()
        board = await r.app.next_board()
        await pilot.pause()
        mark = board.mark(VICTIM)
        assert mark is not None and mark.maintenance is not None
        assert mark.maintenance.reason == "更换电源"
        line = next(ln for ln in r.app.view.lines if ln.host == VICTIM)
        assert "维护中" in "".join(seg.text for seg in line.cells[1])
        side = str(r.app.screen.query_one("#side-text").render())
        assert "维护中" in side and "更换电源" in side
        assert "in maintenance" in side and "☎" not in side  # nobody to call, no step
        await pilot.press("c")
        await pilot.pause()
        assert r.app.last_copy is None  # no notice offered


async def test_a_note_is_shown_as_typed_never_as_markup(tmp_path: Path) -> None:
    """What people type reaches toasts: '[@click=app.quit]' must stay text, not an action,
    and '[/b]' must not vanish."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"[@click=app.quit] [/b]", "enter")
        await r.app.workers.wait_for_complete()
        await pilot.pause()
        toasts = [n.message for n in r.app._notifications]
        assert r.app.is_running
        assert not any(n.markup for n in r.app._notifications)  # toasts are plain text
        board = await r.app.next_board()
        mark = board.mark(VICTIM)
        assert mark is not None and mark.ack is not None
        assert mark.ack.note == "[@click=app.quit] [/b]"
        side = str(r.app.screen.query_one("#side-text").render())
        assert "[@click=app.quit] [/b]" in side
        assert any("acknowledged" in t for t in toasts)
