"""The duty service: what the operator did is kept in memory for the UI and written through
to the incident log off the UI thread; a failing log shows in the header, loses nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from lvs_tui.board import evaluate
from lvs_tui.duty import LOG_SOURCE, DutyDesk, text_kinds
from lvs_tui.duty_state import DutyInputError
from lvs_tui.incidents import IncidentLog
from lvs_tui.screens.host import HostScreen
from lvs_tui.sim import Sim
from lvs_tui.state import SourceState, StateStore
from lvs_tui.texts import TextKind
from lvs_tui.widgets.vantage_matrix import matrix_rows
from tests.test_ui_rig import T0, VICTIM, rig


def _board(at: int = 90):  # type: ignore[no-untyped-def]
    sim = Sim("single-host-down", start=T0)
    store = StateStore()
    sim.fill(store, at)
    return sim, store, evaluate(sim.config, store, T0 + at)


def test_confirmations_and_notes_survive_a_restart(tmp_path: Path) -> None:
    sim, store, board = _board()
    log = IncidentLog(tmp_path / "log.db")
    desk = DutyDesk(sim.config, incidents=log, store=store)
    desk.observe(board)  # opens the victim's incident
    asyncio.run(desk.confirm(VICTIM, "reboot_requested", board.now, "  5666 已受理\t "))
    asyncio.run(desk.confirm(VICTIM, "reboot_failed", board.now + 60, "电源模块告警"))
    assert [n for n, _ in desk.confirmations(VICTIM)] == ["reboot_requested", "reboot_failed"]
    assert desk.notes(VICTIM) == {"reboot_requested": "5666 已受理",
                                  "reboot_failed": "电源模块告警"}
    desk.close()
    log.close()
    again = DutyDesk(sim.config, incidents=IncidentLog(tmp_path / "log.db"), store=store)
    assert again.confirmations(VICTIM) == desk.confirmations(VICTIM)
    assert again.notes(VICTIM) == desk.notes(VICTIM)


def test_recovery_closes_the_incident_and_its_confirmations(tmp_path: Path) -> None:
    sim, store, board = _board()
    desk = DutyDesk(sim.config, incidents=IncidentLog(tmp_path / "log.db"), store=store)
    desk.observe(board)
    asyncio.run(desk.confirm(VICTIM, "reboot_requested", board.now))
    later = evaluate(sim.config, store, board.now)  # same board: nothing changes
    desk.observe(later)
    assert desk.confirmations(VICTIM)
    sim_ok = Sim("calm", start=T0)
    calm = StateStore()
    sim_ok.fill(calm, 90)
    desk.observe(evaluate(sim_ok.config, calm, T0 + 90))  # the victim is ok: closed
    assert desk.confirmations(VICTIM) == ()
    desk.close()


def test_a_failing_log_shows_in_the_header_and_keeps_the_confirmation(tmp_path: Path) -> None:
    sim, store, board = _board()
    log = IncidentLog(tmp_path / "log.db")
    desk = DutyDesk(sim.config, incidents=log, store=store)
    desk.observe(board)
    log.close()  # every write now fails
    asyncio.run(desk.confirm(VICTIM, "reboot_requested", board.now, "已电话 5666"))
    assert desk.notes(VICTIM) == {"reboot_requested": "已电话 5666"}  # nothing lost on screen
    status = store.source(LOG_SOURCE)
    assert status is not None and status.state is SourceState.DOWN
    assert "incident log" in desk.log_trouble and "\n" not in status.detail
    desk.observe(board)  # the evaluation's writes fail too: said, never raised
    assert store.source(LOG_SOURCE).state is SourceState.DOWN
    desk.close()


def test_the_handoff_attachments_come_from_memory_and_resume_from_the_log(
        tmp_path: Path) -> None:
    sim, store, board = _board()
    desk = DutyDesk(sim.config, incidents=IncidentLog(tmp_path / "log.db"), store=store)
    asyncio.run(desk.record_action(VICTIM, "traceroute", "1 hop", board.now, True))
    asyncio.run(desk.record_action(VICTIM, "ssh", "exit 0", board.now, True))
    assert desk.handoff_attachments(VICTIM) == "1 hop"
    desk.close()
    again = DutyDesk(sim.config, incidents=IncidentLog(tmp_path / "log.db"), store=store)
    assert again.handoff_attachments(VICTIM) == "1 hop"


def test_one_list_of_text_kinds() -> None:
    assert text_kinds() == tuple(k.value for k in TextKind)


async def test_ui_refreshes_never_touch_the_incident_log(tmp_path: Path) -> None:
    """Every SQL statement is traced with the thread that ran it: moving around, opening
    the host view, cycling and copying texts, and confirming run none on the UI thread."""
    r = rig(tmp_path)
    ui = threading.get_ident()
    ran: list[tuple[bool, str]] = []
    db: sqlite3.Connection = r.app.desk.incidents._db
    db.set_trace_callback(lambda sql: ran.append((threading.get_ident() == ui, sql)))
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.next_board()
        await pilot.pause()
        await pilot.press("j", "k", "enter")
        await pilot.pause()
        assert isinstance(r.app.screen, HostScreen)
        for _ in range(3):
            r.app.screen.refresh_view()
            await pilot.press("n")
        await pilot.press("c", "1", "enter")
        await r.app.workers.wait_for_complete()
        await pilot.pause()
        await r.app.next_board()
        r.app.screen.refresh_view()
    assert ran, "the trace saw nothing: the test would prove nothing"
    assert any("INSERT" in sql for _, sql in ran)  # the copy and the confirmation were written
    assert [sql for on_ui, sql in ran if on_ui] == []


# -- acknowledgements, maintenance, silences, flapping (issue 16) -------------------------------


def _calm_board(now: float):  # type: ignore[no-untyped-def]
    sim = Sim("calm", start=T0)
    store = StateStore()
    sim.fill(store, 90)
    return replace(evaluate(sim.config, store, T0 + 90), now=now)


def test_a_host_in_maintenance_opens_no_incident_until_the_window_ends(tmp_path: Path) -> None:
    sim, store, down = _board()
    log = IncidentLog(tmp_path / "log.db")
    desk = DutyDesk(sim.config, incidents=log, store=store)
    w = desk.add_window(VICTIM, down.now - 30, seconds=600, reason="更换电源模块")
    desk.observe(down)
    assert log.open_incident(VICTIM) is None  # dies inside the window: no incident
    marked = desk.mark(down)
    assert marked.mark(VICTIM).maintenance == w and marked.mark(VICTIM).quiet
    desk.end_window(w.id, down.now + 5)
    desk.observe(replace(down, now=down.now + 6))  # ended while still down: at once
    inc = log.open_incident(VICTIM)
    assert inc is not None
    opened = log.timeline(inc.id)[0]
    assert opened.data["after_maintenance"] == w.id
    assert opened.data["maintenance_reason"] == "更换电源模块"
    assert desk.mark(replace(down, now=down.now + 6)).mark(VICTIM) is None
    desk.close()


def test_maintenance_input_mistakes_write_nothing(tmp_path: Path) -> None:
    sim, store, down = _board()
    log = IncidentLog(tmp_path / "log.db")
    desk = DutyDesk(sim.config, incidents=log, store=store)
    now = down.now
    for kw, match in (({"target": "nope", "seconds": 60, "reason": "x"}, "'nope'"),
                      ({"target": VICTIM, "seconds": 60, "reason": " "}, "reason"),
                      ({"target": VICTIM, "reason": "x"}, "an end is required"),
                      ({"target": VICTIM, "until": now - 5, "reason": "x"}, "in the past"),
                      ({"target": VICTIM, "seconds": 8 * 86400, "reason": "x"}, "7 days")):
        with pytest.raises(DutyInputError, match=match):
            desk.add_window(now=now, **kw)  # type: ignore[arg-type]
    desk.add_window(VICTIM, now, seconds=3600, reason="巡检")
    with pytest.raises(DutyInputError, match="overlaps"):
        desk.add_window(VICTIM, now, seconds=600, reason="又一个")
    assert len(log.duty_events()) == 1
    desk.close()


def test_a_flapping_host_keeps_one_incident(tmp_path: Path) -> None:
    sim, store, down = _board()
    log = IncidentLog(tmp_path / "log.db")
    desk = DutyDesk(sim.config, incidents=log, store=store)
    t = down.now
    for k in range(8):  # down, up, down, up … every 20 s
        board = replace(down, now=t + 20 * k) if k % 2 == 0 else _calm_board(t + 20 * k)
        desk.observe(board)
    assert desk.flapping(VICTIM)
    # before flapping is seen (more than flap_changes=4 changes) each bounce is its own
    assert len([i for i in log.incidents() if i.host == VICTIM]) <= 3
    opened_before = len([i for i in log.incidents() if i.host == VICTIM])
    for k in range(8, 14):
        board = replace(down, now=t + 20 * k) if k % 2 == 0 else _calm_board(t + 20 * k)
        desk.observe(board)
    assert len([i for i in log.incidents() if i.host == VICTIM]) == opened_before
    assert desk.mark(_calm_board(t + 300)).mark(VICTIM).flapping
    desk.observe(_calm_board(t + 20 * 14 + 601))  # a quiet window: flapping ends, closes
    assert not desk.flapping(VICTIM) and log.open_incident(VICTIM) is None
    kinds = [e.name for e in log.host_events(VICTIM) if e.kind.value == "flapping"]
    assert kinds == ["start", "stop"]
    desk.close()


def test_a_silenced_vantage_is_unknown_never_down(tmp_path: Path) -> None:
    sim = Sim("vip-carrier-loss", start=T0)
    store = StateStore()
    sim.fill(store, 120)
    board = evaluate(sim.config, store, T0 + 120)
    troubled = [r for r in board.rows if r.situation.is_problem]
    assert troubled, "the scenario should show a VIP lost from one carrier"
    lost = {s.vantage for r in troubled for s in r.signals.addresses if s.reach.value == "down"}
    desk = DutyDesk(sim.config, incidents=IncidentLog(tmp_path / "log.db"), store=store)
    for vid in lost:
        desk.add_silence(vid, T0 + 100, seconds=600, reason="探针更换")
    silenced, page = desk.silenced(T0 + 120)
    assert set(silenced) == lost and not page
    again = evaluate(sim.config, store, T0 + 120, None, silenced, page)
    for r in troubled:
        row = again.row(r.host.name)
        assert not any(s.reach.value == "down" for s in row.signals.addresses
                       if s.vantage in lost)
        assert any("已静默" in s.detail for s in row.signals.addresses if s.vantage in lost)
        cells = [c.plain for _, cs in matrix_rows(sim.config, row, {}, T0 + 120) for c in cs]
        assert any("silenced" in c for c in cells) and not any("down" in c for c in cells)
    desk.close()


def test_acknowledging_stops_the_bell_and_a_worse_state_needs_a_new_one(
        tmp_path: Path) -> None:
    sim, store, down = _board()
    desk = DutyDesk(sim.config, incidents=IncidentLog(tmp_path / "log.db"), store=store)
    desk.observe(down)
    row = down.row(VICTIM)
    said = asyncio.run(desk.acknowledge(row, down.now, "我来处理"))
    assert "acknowledged by" in said
    mark = desk.mark(down).mark(VICTIM)
    assert mark.ack is not None and mark.ack.note == "我来处理" and mark.quiet
    worse = replace(row, situation=replace(row.situation,
                                           severity=row.situation.severity + 1))
    board = replace(down, rows=(worse, *(r for r in down.rows if r is not row)))
    mark = desk.mark(board).mark(VICTIM)
    assert mark.ack is None and mark.stale_ack is not None and not mark.quiet
    asyncio.run(desk.unacknowledge(VICTIM, down.now + 1))
    assert desk.mark(down).mark(VICTIM) is None
    desk.close()


async def test_a_window_added_from_the_cli_shows_in_a_running_console(tmp_path: Path) -> None:
    from lvs_tui.cli import main

    r = rig(tmp_path)
    db = r.app.desk.incidents.path
    async with r.app.run_test(size=(160, 48)) as pilot:
        board = await r.app.next_board()
        assert board.mark(VICTIM) is None
        other = DutyDesk(r.sim.config, incidents=IncidentLog(db))  # as the CLI does
        w = other.add_window(VICTIM, r.clock(), seconds=3600, reason="换网卡")
        other.close()
        board = await r.app.next_board()  # the next board (every second) has it
        await pilot.pause()
        mark = board.mark(VICTIM)
        assert mark is not None and mark.maintenance is not None and mark.maintenance.id == w.id
        assert main(["maintenance", "end", w.id, "--demo", "--db", str(db)]) == 2  # demo
        # clock is now, not the rig's: the window ended above is judged by the real clock
        ender = DutyDesk(r.sim.config, incidents=IncidentLog(db))
        ender.end_window(w.id, r.clock() + 1)
        ender.close()
        r.clock.t += 2
        board = await r.app.next_board()
        assert board.mark(VICTIM) is None or board.mark(VICTIM).maintenance is None


def test_kill_9_during_an_acknowledgement_loses_nothing_confirmed(tmp_path: Path) -> None:
    """A child process acknowledges and says so (as the screen would, after the write
    returned), then is killed with SIGKILL: the log has the acknowledgement."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    db = tmp_path / "log.db"
    script = textwrap.dedent(f"""
        import asyncio, sys, time
        from lvs_tui.board import evaluate
        from lvs_tui.duty import DutyDesk
        from lvs_tui.incidents import IncidentLog
        from lvs_tui.sim import Sim
        from lvs_tui.state import StateStore
        sim = Sim("single-host-down", start={T0})
        store = StateStore()
        sim.fill(store, 90)
        board = evaluate(sim.config, store, {T0} + 90)
        desk = DutyDesk(sim.config, incidents=IncidentLog({str(db)!r}), store=store)
        desk.observe(board)
        asyncio.run(desk.acknowledge(board.row({VICTIM!r}), board.now, "我来"))
        print("shown", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "shown"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    with IncidentLog(db) as log:
        acks = [e for e in log.duty_events() if e.kind.value == "ack"]
    assert [(e.host, e.detail) for e in acks] == [(VICTIM, "我来")]
