"""The host view's charts: Zabbix charts on the next whole minute (the same chart, not
repainted, within the minute; a new one after it or when data arrives), and a refresh
that changes nothing repaints nothing."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from lvs_tui.screens.host import HostScreen
from lvs_tui.state import Metric
from lvs_tui.widgets.chart import Chart, clear_chart_cache
from tests.test_ui_rig import T0, VICTIM, rig

# T0 + 90 is 22:14:50 (Asia/Shanghai): the Zabbix charts' origin is 22:15:00 until T0 + 100


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TMUX", raising=False)
    clear_chart_cache()


def charts(screen: HostScreen) -> dict[str, Chart]:
    return {key: screen.query_one(f"#{key}-chart", Chart) for key in ("cpu", "bond0", "bond1")}


async def test_zabbix_charts_stay_the_same_within_the_minute_and_move_after_it(
        tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = r.app.screen
        assert isinstance(screen, HostScreen) and screen.host == VICTIM
        before = {k: c.content for k, c in charts(screen).items()}
        cpu = charts(screen)["cpu"]
        assert cpu.chart_title == "CPU % (min before 22:15)"
        xs = cpu._series[0][0]
        newest = r.store.metrics(VICTIM, Metric.CPU)[-1].clock
        assert xs and max(xs) == (newest - (T0 + 100)) / 60 and all(x <= 0 for x in xs)

        r.advance(100)  # 22:15:00, on the minute: the same origin, no new sample (dead host)
        board = await r.app.next_board()
        await pilot.pause()
        assert board.now == T0 + 100 and screen.row is not None
        assert {k: c.content for k, c in charts(screen).items()} == before
        assert all(c.content is before[k] for k, c in charts(screen).items())  # no repaint

        r.advance(101)  # the minute turned: every point a minute further back
        await r.app.next_board()
        await pilot.pause()
        assert cpu.chart_title == "CPU % (min before 22:16)"
        assert all(c.content is not before[k] for k, c in charts(screen).items())
        assert cpu._series[0][0] == pytest.approx(tuple(x - 1 for x in xs))


async def test_a_new_zabbix_sample_within_the_minute_gives_a_new_chart(tmp_path: Path) -> None:
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        # a live host whose next sample is due at simulated second 95 (the simulator's
        # phase for host i is 7 i mod 60)
        hosts = r.sim.config.fleet.hosts
        host = next(h.name for i, h in enumerate(hosts) if (i * 7) % 60 == 95 % 60)
        assert host != VICTIM
        r.app.open_host(host)
        await pilot.pause()
        screen = r.app.screen
        assert isinstance(screen, HostScreen) and screen.host == host
        cpu = charts(screen)["cpu"]
        shown, count = cpu.content, len(r.store.metrics(host, Metric.CPU))
        for k in range(91, 95):  # new boards within the minute, no new sample: no repaint
            r.advance(k)
            await r.app.next_board()
            await pilot.pause()
            assert cpu.content is shown
        r.advance(95)  # its sample lands, still within the minute: the chart shows it
        await r.app.next_board()
        await pilot.pause()
        assert len(r.store.metrics(host, Metric.CPU)) == count + 1
        assert cpu.content is not shown
        assert max(cpu._series[0][0]) == pytest.approx((T0 + 95 - (T0 + 100)) / 60)


def _styles(screen: HostScreen) -> dict[str, tuple[object, ...]]:
    return {f"{type(w).__name__}#{w.id}": (w.styles.background, w.styles.color,
                                          w.styles.scrollbar_color)
            for w in screen.walk_children(with_self=True)}


async def test_reopening_restyles_only_when_the_styles_can_have_changed(
        tmp_path: Path) -> None:
    """The host view skips Textual's restyle on resume when nothing it depends on moved,
    and is restyled after a theme change made while it was closed."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("enter", "escape", "enter")
        await pilot.pause()
        screen = r.app.screen
        assert isinstance(screen, HostScreen)
        dark = _styles(screen)
        screen.update_node_styles(animate=False)  # what a full restyle gives: the same
        assert _styles(screen) == dark

        await pilot.press("escape")
        await pilot.pause()
        r.app.apply_theme("light")  # on the main screen, the host view closed
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert r.app.screen is screen
        light = _styles(screen)
        assert light["Section#host-head"] != dark["Section#host-head"]
        screen.update_node_styles(animate=False)
        assert _styles(screen) == light


def _stacked(screen: HostScreen) -> None:
    """The body's sections sit one under the other (margins apart), none overlapping or
    left where an earlier host's taller text put it, and the body scrolls over all."""
    from lvs_tui.screens.host import HostBody

    body = screen.query_one(HostBody)
    kids = [w for w in body.children if w.display]
    for above, below in pairwise(kids):
        gap = below.styles.margin.top
        assert below.region.y == above.region.bottom + gap, (above.id, below.id)
    last = kids[-1]
    content = last.region.bottom - kids[0].region.y + last.styles.margin.bottom
    assert body.virtual_size.height == content
    assert screen.query_one("#host-head").region.height == screen.query_one(
        "#host-head").get_content_height(body.size, screen.app.size, body.size.width)


async def test_sections_follow_a_new_hosts_text_height_in_one_layout_pass(
        tmp_path: Path) -> None:
    """The body and sections set their new sizes without the second layout pass Textual
    asks for: the first pass must still place everything (tall → short → tall)."""
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        heights = []
        for host in (VICTIM, "ha-cernet-02", VICTIM):
            r.app.open_host(host)
            await pilot.pause()
            screen = r.app.screen
            assert isinstance(screen, HostScreen) and screen.host == host
            _stacked(screen)
            heights.append(screen.query_one("#host-head").region.height)
            await pilot.press("escape")
            await pilot.pause()
        assert heights[0] > heights[1] and heights[2] == heights[0]  # the text did change


async def test_enter_shows_the_charts_the_evaluation_built_ahead(tmp_path: Path) -> None:
    """After a board, the evaluation thread has built the charts of the host under the
    cursor at the view's sizes: opening it builds none on the UI thread."""
    from lvs_tui.widgets import chart

    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("enter", "escape")  # laid out once: the chart sizes are known
        await pilot.press("j")
        await pilot.pause()
        main = r.app.main_screen()
        host = main.table.host_under_cursor()
        assert host is not None and host != VICTIM
        r.advance(95)
        board = await r.app.next_board()
        await pilot.pause()
        ready = r.app._charts_ready
        assert ready is not None and ready[0].host == host and ready[1] == board.now
        misses = chart._cache.misses
        await pilot.press("enter")
        await pilot.pause()
        screen = r.app.screen
        assert isinstance(screen, HostScreen) and screen.host == host
        assert chart._cache.misses == misses  # five look-ups, no plotext on the UI thread
        rtt = screen.query_one("#rtt-chart", Chart)
        assert rtt.chart_title.startswith(ready[0].address) and rtt._shown is not None
        top = screen.query_one("#host-matrix").row_keys()[0]  # the cursor's first address
        assert top == f"{host}|{ready[0].address}" == f"{host}|{screen.address}"


async def test_enter_is_one_full_paint_even_when_the_texts_change_height(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The view is laid out while hidden (HostScreen.settle): showing a host whose texts
    are taller or shorter than the last one's is one frame, with every section in place."""
    from textual.screen import Screen

    frames: list[str] = []
    composite = Screen._compositor_refresh

    def counted(self: Screen) -> None:
        if self is self.app.screen:
            frames.append(type(self).__name__)
        composite(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", counted)
    r = rig(tmp_path)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        r.app.eval_every = float("inf")  # after the next board, none lands in between
        await r.app.next_board()
        hosts = (VICTIM, "ha-cernet-02")
        for host in hosts:  # opened once: their config-snapshot notes are known
            r.app.open_host(host)
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        heights = []
        for host in (*hosts, VICTIM):
            frames.clear()
            r.app.open_host(host)
            await pilot.pause()
            screen = r.app.screen
            assert isinstance(screen, HostScreen) and screen.host == host
            assert frames == ["HostScreen"], host
            _stacked(screen)
            heights.append(screen.query_one("#host-head").region.height)
            await pilot.press("escape")
            await pilot.pause()
        assert heights[0] > heights[1] and heights[2] == heights[0]


async def test_vip_lines_line_up_with_a_service_named_in_cjk(tmp_path: Path) -> None:
    """The VIPs section pads by terminal cells: a service named 新闻首页 (eight cells) keeps
    its impact column under the others'."""
    import tomli_w
    from rich.cells import cell_len

    from lvs_tui.config import parse
    from lvs_tui.sim import demo_document

    doc = demo_document()
    doc["vips"][0]["service"] = "新闻首页"
    cfg = parse(tomli_w.dumps(doc), "<demo>")
    assert cfg.fleet.vips_of(VICTIM)[0].service == "新闻首页"
    r = rig(tmp_path, config=cfg)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        lines = str(r.app.screen.query_one("#vips").content).splitlines()
        assert "新闻首页" in lines[0]
        starts = {cell_len(ln[:ln.index(" single_point")]) for ln in lines}
        assert starts == {34}, lines


async def test_drill_down_starts_on_the_address_that_is_down(tmp_path: Path) -> None:
    """A VIP lost from one carrier: the host view's matrix cursor and its RTT and loss
    charts start on that VIP, not on the internal side; the charts built ahead for the
    host under the fleet cursor are that VIP's too."""
    r = rig(tmp_path, "vip-carrier-loss", at=300)
    async with r.app.run_test(size=(160, 50)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        main = r.app.main_screen()
        host = main.table.host_under_cursor()
        row = r.app.row(host)
        assert host is not None and row is not None
        vip = row.situation.down_addresses[0]
        assert vip not in (row.host.internal, row.host.external)
        await pilot.press("enter")
        await pilot.pause()
        screen = r.app.screen
        assert isinstance(screen, HostScreen) and screen.address == vip
        matrix = screen.query_one("#host-matrix")
        assert matrix.row_keys()[matrix.cursor_row] == f"{host}|{vip}"
        assert screen.query_one("#rtt-chart", Chart).chart_title.startswith(vip)
        await pilot.press("escape", "j", "enter", "escape", "k")  # the view shows another
        await pilot.pause()
        assert main.table.host_under_cursor() == host and screen.host != host
        plan = r.app._chart_plan()
        assert plan is not None and plan.host == host and plan.address == vip


async def test_chart_plan_waits_for_a_view_installed_but_not_composed(tmp_path: Path) -> None:
    """The first `enter` installs the host view, then composes it: a timer asking for the
    charts to build ahead in between got no chart widgets and took the console down
    (seen under load). Until the view is composed there is no plan."""
    from lvs_tui.screens.host import INSTALLED

    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        r.app.install_screen(HostScreen(VICTIM), INSTALLED)
        assert r.app.main_screen().table.host_under_cursor() == VICTIM
        assert r.app._chart_plan() is None
        r.app.prepare_host_charts()  # what the timer calls
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen) and r.app.is_running
        assert r.app._chart_plan() is not None
