"""`lvs-tui notice`: reads the incident log as the dashboard does, takes --note STEP=TEXT,
and --clock for drills; the CLI and the dashboard give the same text for the same facts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.commands.check import DEMO_EPOCH
from lvs_tui.duty import DutyDesk
from lvs_tui.incidents import IncidentLog
from lvs_tui.sim import Sim
from lvs_tui.state import StateStore

HOST = "lvs-cernet-01"
DEMO = ["--demo", "--scenario", "single-host-down", "--at", "300"]


def notice(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["notice", HOST, *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_the_cli_reads_the_log_the_dashboard_wrote(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The dashboard's desk confirms reboot_failed with 5666's words; `notice` on the same
    log prints exactly the text the dashboard copies."""
    from lvs_tui.board import evaluate

    db = tmp_path / "log.db"
    sim = Sim("single-host-down", start=DEMO_EPOCH)
    store = StateStore()
    sim.fill(store, 300)
    board = evaluate(sim.config, store, DEMO_EPOCH + 300)
    desk = DutyDesk(sim.config, incidents=IncidentLog(db))
    desk.observe(board)
    asyncio.run(desk.confirm(HOST, "reboot_requested", board.now - 60))
    asyncio.run(desk.confirm(HOST, "reboot_failed", board.now - 30, "电源模块告警"))
    row = board.row(HOST)
    desk.prepare(row)
    shown = desk.text(row, "initial", board.now)
    desk.close()
    rc, out, _ = notice(capsys, *DEMO, "--db", str(db), "--kind", "initial")
    assert rc == 0 and out.rstrip("\n") == shown
    assert "且无法重启" in out and "电源模块告警" in out


def test_note_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.db"  # no log: the notes come from the command line alone
    rc, out, _ = notice(capsys, *DEMO, "--db", str(db), "--kind", "borrow")
    assert rc == 0 and "借用时间" in out
    rc, out, _ = notice(capsys, *DEMO, "--db", str(db), "--kind", "borrow",
                        "--note", "borrow_time=2026-11-30 起三个月",
                        "--note", "borrow_stock=亦庄库房 B2-17")
    assert rc == 0 and "2026-11-30 起三个月" in out and "亦庄库房 B2-17" in out
    assert "待定" not in out


@pytest.mark.parametrize("note, says", [("bogus=1", "'bogus'"), ("reboot_failed", "STEP=TEXT"),
                                        ("reboot_failed=  ", "STEP=TEXT")])
def test_bad_notes_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       note: str, says: str) -> None:
    rc, out, err = notice(capsys, *DEMO, "--db", str(tmp_path / "x.db"), "--note", note)
    assert rc == 2 and out == "" and says in err and len(err.strip().splitlines()) == 1


def test_recovered_is_refused_for_a_host_still_down(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = notice(capsys, *DEMO, "--db", str(tmp_path / "x.db"), "--kind", "recovered")
    assert rc == 1 and out == "" and "not ok" in err and len(err.strip().splitlines()) == 1


def test_clock_sets_the_drill_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sunday 03:00: after hours, so the failed reboot goes to 朱兴 with 晓栋 informed; at
    Tuesday 10:00 the IM duty is asked instead (and nobody @朱兴)."""
    db = ["--db", str(tmp_path / "x.db"), "--note", "reboot_failed=电源模块告警"]
    rc, night, _ = notice(capsys, *DEMO, *db, "--kind", "escalation",
                          "--clock", "2026-11-29 03:00")
    assert rc == 0 and "@朱兴" in night and "晓栋" in night and "2026-11-29 02:5" in night
    rc, day, _ = notice(capsys, *DEMO, *db, "--kind", "im", "--clock", "2026-12-01 10:00")
    assert rc == 0 and "朱兴" not in day and "2026-12-01 09:5" in day
    rc, _, err = notice(capsys, *DEMO, *db, "--clock", "sunday night")
    assert rc == 2 and "--clock 'sunday night'" in err


def test_demo_refuses_a_bad_clock(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--clock", "2026-13-45 99:00"]) == 2
    assert "--clock '2026-13-45 99:00'" in capsys.readouterr().err
