"""The duty service: what the operator did is kept in memory for the UI and written through
to the incident log off the UI thread; a failing log shows in the header, loses nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from lvs_tui.board import evaluate
from lvs_tui.duty import LOG_SOURCE, DutyDesk, text_kinds
from lvs_tui.incidents import IncidentLog
from lvs_tui.screens.host import HostScreen
from lvs_tui.sim import Sim
from lvs_tui.state import SourceState, StateStore
from lvs_tui.texts import TextKind
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
