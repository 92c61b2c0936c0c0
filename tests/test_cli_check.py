"""`check --demo --json` for every named scenario, `notice` and `find` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lvs_tui.cli import main

ROOT = Path(__file__).resolve().parent.parent

# scenario, at, host, situation, contact role (None: not asserted)
EXPECTED = [
    ("single-host-down", 300, "lvs-cernet-01", "host_down", "duty_room"),
    # network trouble: QQ 5666, who know who is on network duty (the runbook)
    ("path-broken", 300, "lvs-bgp-01", "path_broken", "duty_room"),
    ("vip-carrier-loss", 300, "ssl-telecom-01", "vip_unreachable", "duty_room"),
    ("vip-down", 300, "lvs-mobile-01", "vip_unreachable", None),
    ("side-down", 300, "lvs-unicom-02", "one_side_down", None),
    ("ha-node-down", 300, "ha-telecom-02", "host_down", None),  # 20:05: nobody at night
    ("recovery", 300, "lvs-cernet-01", "host_down", "duty_room"),
    ("shift", 100, "lvs-cernet-01", "host_down", "duty_room"),
]


def check(capsys, *args: str) -> tuple[int, list[dict]]:
    rc = main(["check", "--demo", "--json", *args])
    return rc, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("scenario", "at", "host", "situation", "role"), EXPECTED,
                         ids=[e[0] for e in EXPECTED])
def test_check_names_the_expected_situation_and_contact(capsys, scenario: str, at: int,
                                                        host: str, situation: str,
                                                        role: str | None) -> None:
    rc, rows = check(capsys, "--scenario", scenario, "--at", str(at))
    assert rc == 1
    bad = [r for r in rows if r["situation"] != "ok"]
    assert [r["host"] for r in bad] == [host]
    row = bad[0]
    assert row["situation"] == situation
    assert row["step"], row
    assert row["evidence"]
    for key in ("host", "idc", "mode", "situation", "severity", "step", "contact", "evidence"):
        assert key in row
    if role is not None:
        assert row["contact"]["role"] == role and row["contact"]["name"]


def test_check_calm_exits_0_and_recovery_heals(capsys) -> None:
    rc, rows = check(capsys, "--scenario", "calm")
    assert rc == 0 and {r["situation"] for r in rows} == {"ok"} and len(rows) == 42
    rc, rows = check(capsys, "--scenario", "recovery", "--at", "700")
    assert rc == 0


def test_check_table_columns_line_up_in_terminal_cells(capsys) -> None:
    """IDC names are CJK (two cells a character): every column starts at the same cell
    on every line, header included."""
    from rich.cells import cell_len

    main(["check", "--demo", "--all", "--scenario", "vip-carrier-loss", "--at", "300"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("    ")]
    assert len(lines) == 43 and any("电信" in ln for ln in lines)
    starts = set()
    for ln in lines:
        words = ln.split()
        mode = ln.index(" " + words[2] + " ") + 1  # HOST, IDC, then MODE
        starts.add(cell_len(ln[:mode]))
    assert starts == {18 + 1 + 8 + 1}


def test_path_broken_is_never_host_down(capsys) -> None:
    for at in (200, 400, 800):
        _, rows = check(capsys, "--scenario", "path-broken", "--at", str(at))
        assert "host_down" not in {r["situation"] for r in rows}


def test_single_host_down_reports_single_point_vips(capsys) -> None:
    _, rows = check(capsys, "--scenario", "single-host-down")
    row = next(r for r in rows if r["host"] == "lvs-cernet-01")
    assert row["severity"] == "critical" and len(row["impact"]["single_point"]) == 8
    assert row["contact"]["phone"] == "010-62675666"


def test_table_output_lists_problems(capsys) -> None:
    assert main(["check", "--demo", "--scenario", "single-host-down"]) == 1
    out = capsys.readouterr().out
    assert "lvs-cernet-01" in out and "host_down" in out and "5666 值班室" in out


def test_notice_for_dead_host_is_complete_in_team_format(capsys) -> None:
    assert main(["notice", "lvs-cernet-01", "--demo", "--scenario", "single-host-down"]) == 0
    text = capsys.readouterr().out
    head = "@朱建平 @noc-萌妹纸 @5666值班 @邱春武 ， 通报一起事件：赛尔机房一台 LVS"
    assert text.startswith(head)
    assert "单机运行风险" in text and "所有 VIP" not in text  # 8 of 赛尔's 26 VIPs
    assert "于 2026-11-25 20:01 " in text and "UTC" not in text  # as the team writes times


def test_notice_by_address_finds_the_host(capsys) -> None:
    assert main(["notice", "198.51.100.1", "--demo", "--scenario", "single-host-down",
                 "--kind", "reboot"]) == 0
    assert "lvs-cernet-01" in capsys.readouterr().out
    assert main(["notice", "192.0.2.222", "--demo"]) == 1
    assert "neither a host nor an address" in capsys.readouterr().err


def test_find_answers_for_every_example_address_and_not_for_others(capsys) -> None:
    from lvs_tui.config import load

    cfg = load(ROOT / "config.toml.example")
    for addr in cfg.fleet.addresses():
        assert main(["find", addr, "--config", str(ROOT / "config.toml.example")]) == 0
        assert capsys.readouterr().out.startswith(addr)
    assert main(["find", "203.0.113.250", "--config", str(ROOT / "config.toml.example")]) == 1
    assert "not an address of this fleet" in capsys.readouterr().err


def test_find_vip_lists_hosts_and_admins(capsys) -> None:
    assert main(["find", "198.51.100.100", "--config",
                 str(ROOT / "config.toml.example")]) == 0
    out = capsys.readouterr().out
    assert "VIP 198.51.100.100:80 (www)" in out and "lvs-cernet-01" in out
    assert "www 业务管理员" in out


def test_console_script_help_and_version() -> None:
    for args in (["--help"], ["--version"], ["check", "--help"], ["demo", "--help"]):
        r = subprocess.run([sys.executable, "-m", "lvs_tui.cli", *args], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout


def test_bad_config_is_exit_2_one_line(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text((ROOT / "config.toml.example").read_text().replace(
        'mode = "single"', 'mode = "singel"', 1))
    r = subprocess.run([sys.executable, "-m", "lvs_tui.cli", "check", "--config", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == f"{p}: hosts[0].mode: 'singel' is not one of single, ha, ssl"


def test_own_checks_say_who_comes_after_them(capsys) -> None:
    _, rows = check(capsys, "--scenario", "side-down", "--at", "300")
    row = next(r for r in rows if r["situation"] != "ok")
    assert row["step"] == "check.basic" and row["contact"] is None
    assert row["then"]["step"] == "ip.handoff"
    assert row["then"]["contact"]["role"] == "duty_room"  # who asks for the network duty
    main(["check", "--demo", "--scenario", "side-down", "--at", "300"])
    assert "then 5666 值班室 010-62675666" in capsys.readouterr().out


def test_network_handoff_names_the_vantages_it_fails_from(capsys) -> None:
    """源 IP is where the address fails from, as addresses: a VIP lost from 联通 only is 联通's
    probe source; a broken path from here is this terminal (its route lookup's address)."""
    main(["notice", "203.0.113.45", "--demo", "--scenario", "vip-carrier-loss", "--at", "300",
          "--kind", "network"])
    assert "源 IP：203.0.113.252（联通探测点）\n" in capsys.readouterr().out
    main(["notice", "lvs-bgp-01", "--demo", "--scenario", "path-broken", "--at", "300",
          "--kind", "network"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("源 IP："))
    assert line.endswith("（本值班终端）") or line == "源 IP：（缺：本值班终端的源地址）"
    main(["notice", "lvs-unicom-02", "--demo", "--scenario", "side-down", "--at", "300",
          "--kind", "network"])
    out = capsys.readouterr().out
    assert ("198.51.100.251（电信探测点）、203.0.113.252（联通探测点）、"
            "203.0.113.253（移动探测点）") in out


def test_one_shot_check_does_not_claim_host_down_for_an_outage_older_than_itself() -> None:
    """A host already silent when `check` started, its monitoring data still recent: the
    one-shot check says the cause is undecided (it cannot wait for the data to go stale);
    an outage that began while it listened is judged as the dashboard judges it."""
    from lvs_tui.board import evaluate
    from lvs_tui.commands.check import (
        UNDECIDED,
        default_listen,
        mark_undecided,
        undecided_rows,
    )
    from lvs_tui.sim import Sim
    from lvs_tui.state import StateStore

    t0 = 1_790_000_000.0
    sim = Sim("single-host-down", start=t0)  # dies at t=60
    store = StateStore()
    sim.fill(store, 90)
    board = evaluate(sim.config, store, t0 + 90)
    row = board.row("lvs-cernet-01")
    assert row.situation.id.value == "host_down" and row.signals.monitoring_stopped is False
    assert undecided_rows(board, t0 + 70) == ("lvs-cernet-01",)  # began before the check
    assert undecided_rows(board, t0 + 30) == ()  # began while it listened
    marked = mark_undecided(board, t0 + 70).row("lvs-cernet-01")
    assert marked.situation.evidence[0] == UNDECIDED
    assert default_listen(sim.config) >= sim.config.duty.window * sim.config.duty.interval
