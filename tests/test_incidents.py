"""The incident log: lifecycle, resume after restart, migrations, and kill -9 durability.

The behaviour tests run against both backends: the embedded SQLite file and the shared log
on a real PostgreSQL (tests/pgcluster.py; skipped without root, failed under CI)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from lvs_tui.incidents import (
    SCHEMA_VERSION,
    DutyLog,
    EventKind,
    IncidentLog,
    IncidentLogError,
    default_path,
)
from lvs_tui.situation import Severity, Situation, SituationId
from tests.pgcluster import pg_cluster

ROOT = Path(__file__).resolve().parent.parent

# open_log(console="a") opens (or reopens: a restart) the test's log as one console.
OpenLog = Callable[..., DutyLog]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_log(request: pytest.FixtureRequest, tmp_path: Path) -> OpenLog:
    if request.param == "sqlite":
        return lambda console="a": IncidentLog(tmp_path / "i.db")
    from lvs_tui.incidents_pg import SharedLog

    pg = pg_cluster()
    schema = f"t_{uuid.uuid4().hex[:12]}"  # one database schema per test
    return lambda console="a": SharedLog(pg.url, schema, console=console,
                                         journal=tmp_path / f"journal-{console}.db",
                                         connect=pg.connect)


def sit(host: str, sid: SituationId, sev: Severity = Severity.CRITICAL,
        evidence: tuple[str, ...] = ()) -> Situation:
    return Situation(host, sid, sev, evidence, since=900.0)


DOWN = SituationId.HOST_DOWN
OK = SituationId.OK


def test_default_path_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "lvs-tui" / "incidents.db"
    log = IncidentLog()
    assert log.path.is_file()
    log.close()


def test_ok_and_unknown_open_nothing(open_log: OpenLog) -> None:
    with open_log() as log:
        assert log.observe(sit("a", OK, Severity.OK), 1.0) is None
        assert log.observe(sit("a", SituationId.UNKNOWN, Severity.UNKNOWN), 2.0) is None
        assert log.incidents() == ()


def test_lifecycle_records_every_change_and_closes_on_ok(open_log: OpenLog) -> None:
    with open_log() as log:
        opened = log.observe(sit("a", SituationId.ONE_SIDE_DOWN, Severity.MAJOR, ("外网不通",)),
                             1000.0)
        assert opened is not None and opened.kind is EventKind.OPENED
        # the same situation again writes nothing
        assert log.observe(sit("a", SituationId.ONE_SIDE_DOWN, Severity.MAJOR, ("外网不通",)),
                           1001.0) is None
        changed = log.observe(sit("a", DOWN, Severity.CRITICAL, ("内外网不通", "监控中断")),
                              1010.0)
        assert changed is not None and changed.kind is EventKind.SITUATION
        log.confirm("a", "reboot_requested", 1020.0, note="提案 DEVICE-1")
        log.record_text("a", "reboot", "请重启 a", "copied", 1021.0)
        log.record_action("a", "diagnostics", "### ip -br link\nbond0 UP", 1022.0, ok=True)
        # unknown is a change, not a recovery
        log.observe(sit("a", SituationId.UNKNOWN, Severity.UNKNOWN), 1030.0)
        assert len(log.open_incidents()) == 1
        rec = log.observe(sit("a", OK, Severity.OK), 1100.0)
        assert rec is not None and rec.kind is EventKind.RECOVERED
        (inc,) = log.incidents()
        assert not inc.is_open and inc.closed == 1100.0 and inc.since == 900.0
        assert inc.worst == "host_down" and inc.worst_severity == Severity.CRITICAL
        assert inc.duration(0) == 200.0
        kinds = [e.kind for e in log.timeline(inc.id)]
        assert kinds == [EventKind.OPENED, EventKind.SITUATION, EventKind.CONFIRMED,
                         EventKind.TEXT, EventKind.ACTION, EventKind.SITUATION,
                         EventKind.RECOVERED]
        tl = log.timeline(inc.id)
        assert tl[2].name == "reboot_requested" and tl[2].detail == "提案 DEVICE-1"
        assert tl[3].data == {"how": "copied"} and tl[3].detail == "请重启 a"
        assert tl[4].data == {"ok": True}
        assert log.confirmations("a") == ()  # closed: the runbook starts afresh
        # a later trouble is a new incident
        log.observe(sit("a", DOWN), 2000.0)
        assert [i.id for i in log.incidents(open_only=True)] == [inc.id + 1]


def test_confirmations_and_resume_after_restart(open_log: OpenLog) -> None:
    log = open_log()
    log.observe(sit("a", DOWN, evidence=("x",)), 10.0)
    log.observe(sit("b", DOWN), 11.0)
    log.confirm("a", "reboot_requested", 12.0)
    log.confirm("a", "reboot_failed", 13.0)
    log.confirm("a", "my_custom_step", 14.0)  # the runbook file may add any name
    log.close()
    log = open_log()
    assert [i.host for i in log.open_incidents()] == ["a", "b"]
    assert log.confirmations("a") == (("reboot_requested", 12.0), ("reboot_failed", 13.0),
                                      ("my_custom_step", 14.0))
    # the resumed incident knows its last situation: repeating it writes nothing
    assert log.observe(sit("a", DOWN, evidence=("x",)), 15.0) is None
    log.observe(sit("a", OK, Severity.OK), 16.0)
    assert [i.host for i in log.open_incidents()] == ["b"]
    log.close()


def test_incidents_of_hosts_removed_from_the_config_close(open_log: OpenLog) -> None:
    log = open_log()
    log.observe(sit("old", DOWN), 10.0)
    log.observe(sit("kept", DOWN), 11.0)
    log.close()
    log = open_log()  # restarted with a config that no longer has "old"
    events = log.retire(frozenset({"kept", "new"}), 20.0)
    assert [(e.host, e.kind, e.detail) for e in events] == [
        ("old", EventKind.RETIRED, "removed from the config")]
    assert [i.host for i in log.open_incidents()] == ["kept"]
    (closed,) = [i for i in log.incidents() if i.host == "old"]
    assert closed.closed == 20.0
    assert log.retire(frozenset({"kept"}), 21.0) == ()  # nothing left to close
    log.close()


def test_a_number_moving_in_the_evidence_is_no_change(open_log: OpenLog) -> None:
    with open_log() as log:
        log.observe(sit("a", DOWN, evidence=("监控数据已中断 7 分钟",)), 1.0)
        assert log.observe(sit("a", DOWN, evidence=("监控数据已中断 8 分钟",)), 2.0) is None
        e = log.observe(sit("a", DOWN, evidence=("监控数据已中断 9 分钟", "登录失败")), 3.0)
        assert e is not None and e.detail == "监控数据已中断 9 分钟；登录失败"
    with open_log() as log:  # resumed: still no change
        assert log.observe(sit("a", DOWN, evidence=("监控数据已中断 30 分钟", "登录失败")),
                           4.0) is None


def test_two_consoles_on_one_file_share_the_open_incident(open_log: OpenLog) -> None:
    with open_log("a") as one, open_log("b") as two:
        first = one.observe(sit("a", DOWN), 1.0)
        second = two.observe(sit("a", DOWN), 1.5)
        assert first is not None and second is not None
        assert second.kind is EventKind.SITUATION and second.incident == first.incident
        assert len(one.open_incidents()) == 1


def test_events_without_incident_are_kept(open_log: OpenLog) -> None:
    with open_log() as log:
        e = log.record_action("a", "ssh", "session ended (exit 0)", 5.0)
        assert e.incident is None
        assert [x.name for x in log.host_events("a")] == ["ssh"]
        assert log.last_action("a", "ssh") == e
        assert log.last_action("a", "traceroute") is None


def test_since_filter(open_log: OpenLog) -> None:
    with open_log() as log:
        log.observe(sit("old", DOWN), 100.0)
        log.observe(sit("old", OK, Severity.OK), 200.0)
        log.observe(sit("new", DOWN), 300.0)
        log.observe(sit("new", OK, Severity.OK), 400.0)
        log.observe(sit("open", DOWN), 50.0)
        assert {i.host for i in log.incidents(since=250.0)} == {"new", "open"}
        assert {i.host for i in log.incidents()} == {"old", "new", "open"}


def test_migrations_are_versioned(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    IncidentLog(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(IncidentLogError, match="newer than this lvs-tui"):
        IncidentLog(path)


def test_unwritable_location_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(IncidentLogError) as exc:
        IncidentLog(blocker / "sub" / "i.db")
    assert "\n" not in str(exc.value) and str(blocker) in str(exc.value)


# A writer that prints each event id only after the write returned: those are acknowledged.
# It opens and closes incidents too, so kills land inside every kind of transaction.
WRITER = """
import sys
from lvs_tui.incidents import IncidentLog
from lvs_tui.situation import Severity, Situation, SituationId
log = IncidentLog(sys.argv[1])
tag = sys.argv[2]
host = "h" + tag
down = Situation(host, SituationId.HOST_DOWN, Severity.CRITICAL)
ok = Situation(host, SituationId.OK, Severity.OK)
n = 0
while True:
    n += 1
    if n % 7 == 0:
        events = [log.observe(ok, float(n)), log.observe(down, n + 0.5)]
    else:
        if log.open_incident(host) is None:
            log.observe(down, float(n))
        events = [log.confirm(host, f"{tag}-{n}", float(n), note="x" * (n % 300))]
    for e in events:
        if e is not None:
            sys.stdout.write(f"{e.id}\\n")
    sys.stdout.flush()
"""


def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    acked: list[int] = []
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(50):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(round_)],
                                stdout=subprocess.PIPE, env=env, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the writer is in its write loop
        assert first.strip(), "writer died before writing"
        acked.append(int(first))
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        # a line cut in half by the kill was not acknowledged
        acked += [int(x) for x in out.split("\n")[:-1] if x.strip()]
        assert proc.returncode == -signal.SIGKILL
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in db.execute("SELECT id FROM events")}
    open_per_host = db.execute("SELECT host, COUNT(*) FROM incidents WHERE closed IS NULL "
                               "GROUP BY host HAVING COUNT(*) > 1").fetchall()
    db.close()
    assert open_per_host == []
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert len(acked) > 50
    # the log still opens and resumes all 50 open incidents
    with IncidentLog(path) as log:
        # a kill between a close and the reopen leaves that host without an open incident
        assert 25 <= len(log.open_incidents()) <= 50
        assert {i.host for i in log.incidents()} == {f"h{n}" for n in range(50)}
        assert {e.kind for e in log.host_events("h3")} >= {EventKind.OPENED,
                                                          EventKind.CONFIRMED}


# The console during `demo --scenario recovery`: diagnosis feeds the log, the operator acts,
# then the console is killed -9 with the incident open.
CONSOLE = """
import sys, time
from lvs_tui.board import evaluate
from lvs_tui.incidents import IncidentLog
from lvs_tui.sim import Sim
from lvs_tui.state import StateStore
sim = Sim("recovery", start=float(sys.argv[2]))
log = IncidentLog(sys.argv[1])
store = StateStore()
sim.fill(store, 120)
for row in evaluate(sim.config, store, sim.t0 + 120).rows:
    log.observe(row.situation, sim.t0 + 120)
log.record_text("lvs-cernet-01", "reboot", "5666 您好，请重启 lvs-cernet-01", "copied",
                sim.t0 + 130)
log.confirm("lvs-cernet-01", "reboot_requested", sim.t0 + 140)
print("acted", flush=True)
time.sleep(60)
"""


def test_recovery_scenario_survives_kill_9_and_shows_in_handover(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lvs_tui.board import evaluate
    from lvs_tui.cli import main
    from lvs_tui.sim import Sim
    from lvs_tui.state import StateStore

    path = tmp_path / "i.db"
    t0 = float(int(time.time()) - 3600)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CONSOLE, str(path), str(t0)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline() == "acted\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the console starts again: the incident resumes at its runbook step
    with IncidentLog(path) as log:
        inc = log.open_incident("lvs-cernet-01")
        assert inc is not None and inc.situation == "host_down"
        assert [n for n, _ in log.confirmations("lvs-cernet-01")] == ["reboot_requested"]
        log.record_action("lvs-cernet-01", "diagnostics", "ssh: timed out", t0 + 200, ok=False)
        log.confirm("lvs-cernet-01", "reboot_failed", t0 + 300, note="电源模块故障")
        sim = Sim("recovery", start=t0)
        store = StateStore()
        sim.fill(store, 700)
        for row in evaluate(sim.config, store, t0 + 700).rows:
            log.observe(row.situation, t0 + 700)
        tl = log.timeline(inc.id)
        assert [e.kind for e in tl] == [
            EventKind.OPENED, EventKind.TEXT, EventKind.CONFIRMED, EventKind.ACTION,
            EventKind.CONFIRMED, EventKind.RECOVERED]
        assert log.incident(inc.id).closed == t0 + 700  # type: ignore[union-attr]
    assert main(["handover", "--db", str(path), "--since", "2h"]) == 0
    out = capsys.readouterr().out
    closed = out.split("二、已结束事件")[1]
    assert "lvs-cernet-01 · " in closed and "原因：宕机" in closed
    assert "5666 值班室（重启请求，已复制）" in closed
