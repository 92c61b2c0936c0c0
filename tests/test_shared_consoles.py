"""Several consoles on one shared log (a real PostgreSQL of our own, tests/pgcluster.py),
through the duty service as the dashboard runs it: each sees the others' acknowledgements,
notes and maintenance windows within 2 s, and a notice is sent once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lvs_tui.board import Board, evaluate
from lvs_tui.config import SendSettings
from lvs_tui.duty import DutyDesk
from lvs_tui.incidents_pg import SharedLog
from lvs_tui.sim import Sim
from lvs_tui.state import StateStore
from tests.pgcluster import Cluster, pg_cluster
from tests.robot import Robot

T0 = 1_790_000_000.0
VICTIM = "lvs-cernet-01"


@pytest.fixture
def consoles(tmp_path: Path) -> Iterator[Callable[[str], DutyDesk]]:
    pg: Cluster = pg_cluster()
    schema = f"c_{uuid.uuid4().hex[:10]}"
    sim = Sim("single-host-down", start=T0)
    made: list[DutyDesk] = []

    def make(name: str) -> DutyDesk:
        log = SharedLog(pg.url, schema, console=name, journal=tmp_path / f"j-{name}.db",
                        connect=pg.connect)
        desk = DutyDesk(sim.config, incidents=log, store=StateStore())
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.close()
        assert desk.incidents is not None
        desk.incidents.close()


def down_board() -> Board:
    sim = Sim("single-host-down", start=T0)
    store = StateStore()
    sim.fill(store, 90)
    return evaluate(sim.config, store, T0 + 90)


def within(seconds: float, check: Callable[[], bool]) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"not within {seconds} s")


def test_acknowledgements_notes_and_windows_cross_consoles(
        consoles: Callable[[str], DutyDesk]) -> None:
    a, b = consoles("day"), consoles("night")
    board = down_board()
    a.observe(board)
    b.observe(board)  # both see the outage: one incident
    assert a.incident_of(VICTIM) == b.incident_of(VICTIM) is not None
    woken = threading.Event()
    b.follow(woken.set)
    row = board.row(VICTIM)
    assert row is not None
    asyncio.run(a.acknowledge(row, board.now, "我来处理"))
    took = within(2.0, lambda: (m := b.mark(board).mark(VICTIM)) is not None
                  and m.ack is not None)
    assert woken.is_set() and took < 2.0
    ack = b.mark(board).mark(VICTIM).ack
    assert ack is not None and ack.note == "我来处理"
    asyncio.run(a.confirm(VICTIM, "reboot_failed", board.now + 5, "电源模块告警"))
    within(2.0, lambda: b.notes(VICTIM).get("reboot_failed") == "电源模块告警")
    w = a.add_window("lvs-cernet-02", board.now, seconds=3600, reason="换网卡")
    within(2.0, lambda: any(x.id == w.id for x in b.duty_state.windows))


def test_a_notice_is_sent_by_one_console(consoles: Callable[[str], DutyDesk],
                                         robot: tuple[str, Robot],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url, bot = robot
    monkeypatch.setenv("LVS_TUI_TEST_ROBOT", url)
    a, b = consoles("day"), consoles("night")
    for desk in (a, b):
        desk.cfg = replace(desk.cfg, sending=SendSettings(
            enabled=True, webhook_url_env="LVS_TUI_TEST_ROBOT", timeout=5.0))
    board = down_board()
    a.observe(board)
    b.observe(board)
    row = board.row(VICTIM)
    assert row is not None

    async def both() -> list[str]:
        return list(await asyncio.gather(a.send(row, "initial", "通报", board.now),
                                         b.send(row, "initial", "通报", board.now)))

    said = asyncio.run(both())
    assert len(bot.bodies) == 1
    assert sum("already sent" in s for s in said) == 1, said


def test_the_header_says_when_the_shared_log_is_journaling(consoles: Callable[[str], DutyDesk]
                                                          ) -> None:
    """Server stopped mid-shift: the console keeps working (the confirmation is kept and
    journaled), the header shows the log degraded; back, it replays and is ok again."""
    from lvs_tui.duty import LOG_SOURCE
    from lvs_tui.state import SourceState

    pg = pg_cluster()
    desk = consoles("day")
    board = down_board()
    desk.observe(board)
    assert desk.store is not None
    pg.stop()
    try:
        asyncio.run(desk.confirm(VICTIM, "reboot_requested", board.now + 1, "已联系 5666"))
        assert desk.notes(VICTIM) == {"reboot_requested": "已联系 5666"}
        desk.observe(replace(board, now=board.now + 2))
        status = desk.store.source(LOG_SOURCE)
        assert status is not None and status.state is SourceState.DEGRADED
        assert "journaling" in status.detail
    finally:
        pg.start()
    log = desk.incidents
    assert log is not None
    within(10.0, lambda: (desk.observe(replace(board, now=board.now + 3)) or True)
           and not log.degraded)
    desk.observe(replace(board, now=board.now + 4))
    status = desk.store.source(LOG_SOURCE)
    assert status is not None and status.state is SourceState.OK
    assert [(e.name, e.detail) for e in log.confirmation_events(VICTIM)] == [
        ("reboot_requested", "已联系 5666")]


def test_the_commands_read_and_write_the_shared_log(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from lvs_tui.cli import main
    from tests.pgcluster import PASSWORD

    pg = pg_cluster()
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    url = pg.url
    assert main(["maintenance", "add", VICTIM, "--for", "1h", "--reason", "共享日志演练",
                 "--demo", "--log", url]) == 0
    wid = capsys.readouterr().out.split()[0]
    assert main(["maintenance", "list", "--json", "--demo", "--log", url]) == 0
    assert wid in {w["id"] for w in json.loads(capsys.readouterr().out)}
    assert main(["handover", "--demo", "--log", url]) == 0
    assert "共享日志演练" in capsys.readouterr().out
    assert main(["maintenance", "end", wid, "--demo", "--log", url]) == 0
