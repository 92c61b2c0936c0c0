"""The handover report's content, built from a real incident log, and its CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lvs_tui.cli import main
from lvs_tui.commands.incidents import parse_when
from lvs_tui.handover import duration_zh, handover_report
from lvs_tui.incidents import IncidentLog
from lvs_tui.situation import Severity, Situation, SituationId

TZ = ZoneInfo("Asia/Shanghai")


def at(hhmm: str, day: int = 25) -> float:
    return datetime.fromisoformat(f"2026-11-{day:02d} {hhmm}").replace(tzinfo=TZ).timestamp()


def fill(log: IncidentLog) -> None:
    """Two incidents: cernet-01 still down, telecom-02 recovered after a one-side outage."""
    log.observe(Situation("lvs-cernet-01", SituationId.HOST_DOWN, Severity.CRITICAL,
                          ("内网、外网均不通", "监控数据 21:02 起中断"), since=at("21:02")),
                at("21:03"))
    log.record_text("lvs-cernet-01", "reboot", "5666 您好，请重启 lvs-cernet-01", "copied",
                    at("21:05"))
    log.confirm("lvs-cernet-01", "reboot_requested", at("21:06"), note="提案 DEVICE-120")
    log.record_action("lvs-cernet-01", "diagnostics", "ssh: connect timed out", at("21:07"),
                      ok=False)
    log.confirm("lvs-cernet-01", "reboot_failed", at("21:40"), note="5666：疑似电源故障")
    log.record_text("lvs-cernet-01", "initial", "@朱兴 通报一起事件…", "sent", at("21:45"),
                    to="运维故障通报组")
    log.observe(Situation("ha-telecom-02", SituationId.ONE_SIDE_DOWN, Severity.MAJOR,
                          ("外网 198.51.100.22 不通",), since=at("20:00")), at("20:01"))
    log.confirm("ha-telecom-02", "network_handoff", at("20:10"))
    log.observe(Situation("ha-telecom-02", SituationId.OK, Severity.OK), at("20:30"))


def test_report_lists_open_and_closed_with_contacts_duration_and_cause(tmp_path: Path) -> None:
    with IncidentLog(tmp_path / "i.db") as log:
        fill(log)
        entries = [(i, log.timeline(i.id)) for i in log.incidents()]
    text = handover_report(entries, at("22:10"), TZ, since=at("08:00"))
    assert text.startswith("【LVS 值班交接】截至 2026-11-25 22:10，自 2026-11-25 08:00 起\n")
    open_part, closed_part = text.split("二、已结束事件")
    assert "一、未结束事件 1 起" in open_part
    assert "1. lvs-cernet-01 · 宕机（紧急）· 开始于 21:02，已持续 1 小时 8 分" in open_part
    assert "当前情况：内网、外网均不通；监控数据 21:02 起中断" in open_part
    assert "已知原因：5666：疑似电源故障" in open_part
    assert "最近确认：21:40 重启失败：5666：疑似电源故障" in open_part
    assert "reboot_failed" not in text  # Chinese only: no step or confirmation ids
    assert ("已联系：21:05 5666 值班室（重启请求，已复制）；"
            "21:06 5666 值班室（已请 5666 安排重启）；"
            "21:45 运维故障通报组（故障通报，已发送）") in open_part
    assert "已执行：21:07 远程诊断（失败）" in open_part
    assert closed_part.startswith(" 1 起\n")
    assert "1. ha-telecom-02 · 20:00–20:30，持续 30 分钟" in closed_part
    assert "原因：单侧不通（外网 198.51.100.22 不通）" in closed_part
    assert "已联系：20:10 网络组值班（已交网络组排查）" in closed_part


def test_empty_report_says_none() -> None:
    text = handover_report([], at("22:00"), TZ)
    assert "一、未结束事件 0 起\n（无）" in text and "二、已结束事件 0 起\n（无）" in text


def test_other_days_show_the_date(tmp_path: Path) -> None:
    with IncidentLog(tmp_path / "i.db") as log:
        log.observe(Situation("a", SituationId.HOST_DOWN, Severity.CRITICAL), at("23:00", 24))
        entries = [(i, log.timeline(i.id)) for i in log.incidents()]
    text = handover_report(entries, at("01:30"), TZ)
    assert "开始于 11-24 23:00，已持续 2 小时 30 分" in text
    assert "最近确认：（尚无操作确认）" in text


def test_duration_words() -> None:
    assert duration_zh(59) == "0 分钟"
    assert duration_zh(3600 * 26 + 60) == "1 天 2 小时"


def test_parse_when() -> None:
    now = at("12:00")
    assert parse_when("2h", now, TZ) == at("10:00")
    assert parse_when("30m", now, TZ) == at("11:30")
    assert parse_when("2026-11-25 08:00", now, TZ) == at("08:00")
    with pytest.raises(ValueError, match="--since: 'yesterday'"):
        parse_when("yesterday", now, TZ)


def test_cli_handover_and_incidents_after_restart(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "noconfig"))
    log = IncidentLog()
    fill(log)
    log.close()  # the console is gone; a new process reads the file
    assert main(["handover", "--since", "3650d"]) == 0
    out = capsys.readouterr().out
    assert "lvs-cernet-01 · 宕机" in out and "ha-telecom-02" in out
    assert main(["incidents", "--open", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["host"] for d in data] == ["lvs-cernet-01"]
    assert [e["kind"] for e in data[0]["timeline"]][:3] == ["opened", "text", "confirmed"]
    assert main(["incidents"]) == 0
    assert capsys.readouterr().out.count("\n") == 2


def test_cli_bad_since_and_bad_config_exit_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "i.db")
    assert main(["incidents", "--db", db, "--since", "soon"]) == 2
    assert capsys.readouterr().err.strip() == ("--since: 'soon' is not like 12h, 30m, 2d or "
                                               "'2026-11-25 08:00'")
    bad = tmp_path / "c.toml"
    bad.write_text("[duty]\ntimezone = 'Mars/Base'\n")
    assert main(["handover", "--db", db, "--config", str(bad)]) == 2
    assert "duty.timezone: 'Mars/Base' is not a known time zone" in capsys.readouterr().err


def test_runbook_labels_name_the_confirmations(tmp_path: Path) -> None:
    with IncidentLog(tmp_path / "i.db") as log:
        fill(log)
        log.confirm("lvs-cernet-01", "admins_phoned", at("21:50"))
        entries = [(i, log.timeline(i.id)) for i in log.incidents()]
    text = handover_report(entries, at("22:10"), TZ,
                           labels={"admins_phoned": "请 5666 电话通知各位管理员"})
    assert "最近确认：21:50 请 5666 电话通知各位管理员\n" in text
    assert "admins_phoned" not in text
    assert "21:50 5666 值班室（电话通知管理员）（请 5666 电话通知各位管理员）" in text


def test_demo_flag_reads_the_demo_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from lvs_tui.incidents import demo_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "noconfig"))
    assert demo_path() == tmp_path / "lvs-tui" / "demo-incidents.db"
    with IncidentLog(demo_path()) as log:
        fill(log)
    assert main(["incidents", "--open"]) == 0
    assert capsys.readouterr().out == "no incidents open\n"
    assert main(["handover", "--demo"]) == 0
    assert "lvs-cernet-01 · 宕机" in capsys.readouterr().out
