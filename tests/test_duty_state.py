"""The duty's own state, pure: parsing what the operator types, folding events, flapping."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lvs_tui.duty_state import (
    DutyEvent,
    DutyInputError,
    Weekly,
    check_reason,
    check_span,
    flapping,
    fold,
    overlapping,
    parse_duration,
    parse_until,
    resolve_hosts,
    silence_target,
)
from lvs_tui.sim import demo_config

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ).timestamp()


def test_durations() -> None:
    assert parse_duration("2h") == 7200
    assert parse_duration("90m") == 5400
    assert parse_duration("1d") == 86400
    assert parse_duration("1h30m") == 5400
    for bad in ("", "2", "h", "-1h", "2 hours", "0m"):
        with pytest.raises(DutyInputError, match="--for"):
            parse_duration(bad)


def test_until_is_read_in_the_duty_time_zone() -> None:
    assert parse_until("2026-12-07 06:00", TZ) == at("2026-12-07 06:00")
    with pytest.raises(DutyInputError, match="'tomorrow'"):
        parse_until("tomorrow", TZ)


def test_spans_reasons() -> None:
    now = at("2026-12-07 01:00")
    check_span(now, now + 3600, now)
    with pytest.raises(DutyInputError, match="in the past"):
        check_span(now, now - 60, now)
    with pytest.raises(DutyInputError, match="7 days"):
        check_span(now, now + 7 * 86400 + 60, now)
    with pytest.raises(DutyInputError, match="reason"):
        check_reason("   ")
    assert check_reason(" 更换 电源\t模块 ") == "更换 电源 模块"


def test_weekly_windows_recur_and_cross_midnight() -> None:
    w = Weekly.parse("Tue 02:00-04:00")
    assert w.length == 7200 and w.text == "每二 02:00-04:00"
    tue = at("2026-12-08 03:00")  # a Tuesday
    assert w.occurrence(tue, TZ) == (at("2026-12-08 02:00"), at("2026-12-08 04:00"))
    assert w.occurrence(at("2026-12-08 04:00"), TZ) is None
    assert w.occurrence(at("2026-12-09 03:00"), TZ) is None  # Wednesday
    night = Weekly.parse("sun 23:00-01:00")
    assert night.occurrence(at("2026-12-14 00:30"), TZ) is not None  # Monday 00:30
    for bad in ("Tue", "Xyz 02:00-04:00", "Tue 25:00-26:00", "Tue 02:00-02:00"):
        with pytest.raises(DutyInputError, match="--weekly"):
            Weekly.parse(bad)


def test_targets_resolve_to_hosts() -> None:
    cfg = demo_config()
    fleet = cfg.fleet
    h = fleet.hosts[0]
    assert resolve_hosts(h.name, fleet) == {h.name}
    assert resolve_hosts(h.internal, fleet) == {h.name}
    vip = fleet.vips_of(h.name)[0]
    assert resolve_hosts(vip.address, fleet) == set(vip.hosts)
    idc = fleet.idc(h.idc)
    in_idc = {x.name for x in fleet.hosts if x.idc == h.idc}
    assert resolve_hosts(idc.id, fleet) == in_idc == resolve_hosts(idc.name, fleet)
    with pytest.raises(DutyInputError, match="'nope'"):
        resolve_hosts("nope", fleet)


def test_silence_targets() -> None:
    vantages = [("local", "本地", ""), ("unicom", "联通", "联通"), ("telecom", "电信", "电信")]
    assert silence_target("联通", vantages) == ({"unicom"}, False)
    assert silence_target("telecom", vantages) == ({"telecom"}, False)
    assert silence_target("alert_page", vantages) == (frozenset(), True)
    with pytest.raises(DutyInputError, match="'mars'"):
        silence_target("mars", vantages)


def _ev(kind: str, t: float, name: str = "", host: str = "", incident: int | None = None,
        detail: str = "", **data: object) -> DutyEvent:
    return DutyEvent(kind, host, incident, t, name, detail, data)


def test_fold_acks_windows_silences() -> None:
    t = at("2026-12-07 01:00")
    state = fold([
        _ev("ack", t, "host_down", "h1", 7, "我在查", who="alice", severity=3),
        _ev("maintenance", t, "m1", "", None, "换电源", target="idc1", hosts=["h1", "h2"],
            start=t, end=t + 3600, who="bob"),
        _ev("silence", t, "s1", detail="联通探针更换", target="联通", vantages=["unicom"],
            alert_page=False, start=t, end=t + 600, who="bob"),
    ])
    assert state.ack("h1", 7, 3) is not None
    assert state.ack("h1", 7, 4) is None  # worse: a new acknowledgement is needed
    assert state.ack("h1", 8, 3) is None  # another incident
    assert state.maintenance("h2", t + 10, TZ).reason == "换电源"
    assert state.maintenance("h2", t + 3600, TZ) is None
    assert state.silenced_vantages(t + 1) == {"unicom": "联通探针更换"}
    assert state.silenced_vantages(t + 601) == {}
    later = fold([_ev("unack", t + 5, host="h1"), _ev("maintenance_end", t + 60, "m1"),
                  _ev("silence_end", t + 60, "s1")], state)
    assert "h1" not in later.acks
    assert later.maintenance("h1", t + 61, TZ) is None
    assert later.maintenance("h1", t + 30, TZ) is not None  # ended at t+60, not before
    assert later.silenced_vantages(t + 61) == {}
    assert fold([_ev("maintenance", t, "m1", hosts=["h1"], start=t, end=t + 60)] * 2
                ).windows[0].id == "m1"  # a replayed event changes nothing


def test_overlaps_on_the_same_hosts_only() -> None:
    t = at("2026-12-07 01:00")
    state = fold([_ev("maintenance", t, "m1", detail="x", target="h1", hosts=["h1"],
                      start=t, end=t + 3600)])
    assert overlapping(state.windows, frozenset({"h1"}), t + 1800, t + 7200, None, t,
                       TZ).id == "m1"
    assert overlapping(state.windows, frozenset({"h2"}), t, t + 7200, None, t, TZ) is None
    assert overlapping(state.windows, frozenset({"h1"}), t + 3600, t + 7200, None, t,
                       TZ) is None
    weekly = Weekly.parse("Mon 01:30-02:00")  # 2026-12-07 is a Monday
    assert overlapping(state.windows, frozenset({"h1"}), t, None, weekly, t, TZ) is not None


def test_flapping_starts_on_many_changes_and_ends_after_a_quiet_window() -> None:
    changes = [0, 10, 20, 30, 40]
    assert flapping(changes, 45, 600, 4, False)
    assert not flapping(changes[:4], 45, 600, 4, False)
    assert flapping(changes, 500, 600, 4, True)  # still changes within the window
    assert not flapping(changes, 641, 600, 4, True)  # quiet for a whole window


def test_an_end_out_of_the_calendar_is_one_line() -> None:
    now = at("2026-12-07 01:00")
    with pytest.raises(DutyInputError, match="7 days"):
        check_span(now, now + 99999999 * 86400.0, now, "--for", TZ)
    with pytest.raises(DutyInputError, match="in the past"):
        check_span(now, -62135596800.0 - 86400 * 400, now, "--until", TZ)
