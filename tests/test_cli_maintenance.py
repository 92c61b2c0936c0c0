"""`lvs-tui maintenance` and `lvs-tui silence`: every verb, every bad input (one line, exit 2,
nothing written), and what `check`, `incidents --duty` and `handover` then say."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.incidents import IncidentLog

HOST = "lvs-cernet-01"


def cli(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> tuple[int, str, str]:
    rc = main([*argv, "--demo", "--db", str(db)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def written(db: Path) -> int:
    with IncidentLog(db) as log:
        return len(log.duty_events())


def test_add_list_end_a_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "log.db"
    rc, out, _ = cli(capsys, db, "maintenance", "add", HOST, "--for", "2h",
                     "--reason", "更换电源模块")
    assert rc == 0 and "in force" in out and "更换电源模块" in out
    wid = out.split()[0]
    rc, out, _ = cli(capsys, db, "maintenance", "list", "--json")
    listed = json.loads(out)
    assert rc == 0 and [w["id"] for w in listed] == [wid] and listed[0]["hosts"] == [HOST]
    assert listed[0]["end"] == pytest.approx(time.time() + 7200, abs=30)
    rc, out, _ = cli(capsys, db, "maintenance", "end", wid)
    assert rc == 0 and out.startswith("ended:")
    rc, out, _ = cli(capsys, db, "maintenance", "list")
    assert rc == 0 and "no maintenance in force" in out
    rc, out, _ = cli(capsys, db, "incidents", "--duty", "--json")
    kinds = [(e["kind"], e["name"]) for e in json.loads(out)]
    assert kinds == [("maintenance", wid), ("maintenance_end", wid)]


def test_targets_other_than_a_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "log.db"
    rc, out, _ = cli(capsys, db, "maintenance", "add", "赛尔", "--weekly", "Tue 02:00-04:00",
                     "--reason", "例行巡检")
    assert rc == 0 and "每二 02:00-04:00" in out and "(7 hosts)" in out
    rc, out, _ = cli(capsys, db, "maintenance", "add", "198.51.100.12", "--for", "30m",
                     "--reason", "VIP 迁移")  # an address of the fleet (a VIP or a side)
    assert rc in (0, 2)


@pytest.mark.parametrize("argv, says", [
    (("maintenance", "add", "nope", "--for", "1h", "--reason", "x"), "'nope'"),
    (("maintenance", "add", HOST, "--for", "1h"), "--reason"),
    (("maintenance", "add", HOST, "--reason", "x"), "an end is required"),
    (("maintenance", "add", HOST, "--until", "2020-01-01 00:00", "--reason", "x"), "past"),
    (("maintenance", "add", HOST, "--for", "8d", "--reason", "x"), "7 days"),
    (("maintenance", "add", HOST, "--for", "soon", "--reason", "x"), "'soon'"),
    (("maintenance", "add", HOST, "--until", "tomorrow", "--reason", "x"), "'tomorrow'"),
    (("maintenance", "add", HOST, "--for", "1h", "--until", "2099-01-01 00:00",
      "--reason", "x"), "not both"),
    (("maintenance", "add", HOST, "--weekly", "Someday", "--reason", "x"), "--weekly"),
    (("maintenance", "end", "m000000"), "'m000000'"),
    (("silence", "add", "mars", "--for", "1h", "--reason", "x"), "'mars'"),
    (("silence", "add", "联通", "--reason", "x"), "an end is required"),
    (("silence", "end", "s000000"), "'s000000'"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
        says: str) -> None:
    db = tmp_path / "log.db"
    rc, out, err = cli(capsys, db, *argv)
    assert rc == 2 and out == "" and says in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert written(db) == 0


def test_overlapping_windows_are_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "log.db"
    assert cli(capsys, db, "maintenance", "add", HOST, "--for", "2h", "--reason", "a")[0] == 0
    rc, _, err = cli(capsys, db, "maintenance", "add", "赛尔", "--for", "1h", "--reason", "b")
    assert rc == 2 and "overlaps" in err and written(db) == 1


def test_silence_a_carrier_and_the_page(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "log.db"
    rc, out, _ = cli(capsys, db, "silence", "add", "联通", "--for", "30m", "--reason", "换探针")
    assert rc == 0 and "zbx-unicom" in out
    rc, out, _ = cli(capsys, db, "silence", "add", "alert_page", "--for", "10m",
                     "--reason", "页面维护")
    assert rc == 0 and "5666 page" in out
    rc, out, _ = cli(capsys, db, "silence", "list", "--json")
    assert {s["target"] for s in json.loads(out)} == {"联通", "alert_page"}
    rc, out, _ = cli(capsys, db, "handover")
    assert "已静默 联通" in out and "换探针" in out


def test_check_counts_only_unacknowledged_problems_outside_maintenance(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --demo` judges a fixed past moment: the window is written for that moment
    through the duty service (the CLI writes windows from now on)."""
    from lvs_tui.commands.check import DEMO_EPOCH
    from lvs_tui.duty import DutyDesk
    from lvs_tui.sim import demo_config

    db = tmp_path / "log.db"
    base = ["check", "--scenario", "single-host-down", "--at", "120", "--json"]
    rc, out, _ = cli(capsys, db, *base)
    rows = {r["host"]: r for r in json.loads(out)}
    assert rc == 1 and rows[HOST]["situation"] != "ok" and rows[HOST]["maintenance"] is None
    others = [h for h, r in rows.items() if r["situation"] != "ok" and h != HOST]
    assert not others, others
    desk = DutyDesk(demo_config(), incidents=IncidentLog(db))
    desk.add_window(HOST, DEMO_EPOCH + 60, seconds=3600, reason="演练")
    desk.close()
    rc, out, _ = cli(capsys, db, *base)
    row = {r["host"]: r for r in json.loads(out)}[HOST]
    assert row["maintenance"]["reason"] == "演练" and rc == 0
    assert cli(capsys, db, *base, "--strict")[0] == 1
    rc, out, _ = cli(capsys, db, "check", "--scenario", "single-host-down", "--at", "120")
    assert "维护中" in out and "演练" in out
