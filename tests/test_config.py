"""Config: the example validates, init round-trips, and every mistake is one exact line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.config import ConfigError, OfficeHours, load, parse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "config.toml.example").read_text(encoding="utf-8")

MINIMAL = """
[[idcs]]
id = "cernet"
name = "赛尔"
carrier = "CERNET"

[[hosts]]
name = "a"
idc = "cernet"
mode = "single"
group = "g"
internal = "192.0.2.1"
external = "198.51.100.1"

[[hosts]]
name = "b"
idc = "cernet"
mode = "single"
group = "g"
internal = "192.0.2.2"
external = "198.51.100.2"

[[vips]]
address = "203.0.113.1"
hosts = ["a", "b"]
admins = ["adm"]

[[contacts]]
id = "duty5666"
role = "duty_room"
name = "5666 值班室"
phone = "010-62675666"

[[contacts]]
id = "adm"
role = "admin"
name = "管理员"
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse(text, "config.toml")
    return exc.value.lines


def test_example_validates() -> None:
    cfg = load(ROOT / "config.toml.example")
    assert len(cfg.fleet.idcs) == 5
    assert {h.mode.value for h in cfg.fleet.hosts} == {"single", "ha", "ssl"}
    assert cfg.zabbix.token_env == "LVS_TUI_ZABBIX_TOKEN"
    assert [c.name for c in cfg.fleet.contacts_for(cfg.fleet.contact("duty5666").role)] == [
        "5666 值班室"]


def test_example_uses_only_documentation_addresses() -> None:
    import ipaddress

    docs = [ipaddress.ip_network(n) for n in
            ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    cfg = load(ROOT / "config.toml.example")
    addrs = list(cfg.fleet.addresses()) + [v.control for v in cfg.vantages if v.control]
    addrs += [v.ssh_host for v in cfg.vantages if v.ssh_host]
    for a in addrs:
        ip = ipaddress.ip_address(a)
        assert any(ip in n for n in docs), a


def test_minimal_validates() -> None:
    cfg = parse(MINIMAL)
    assert cfg.fleet.owner("203.0.113.1").vip.hosts == ("a", "b")
    assert cfg.duty.interval == 1.0 and cfg.duty.timezone == "Asia/Shanghai"
    assert cfg.vantages[0].id == "local"


def sub(old: str, new: str, text: str = MINIMAL, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


# (name, config text, the exact one-line error)
MALFORMED = [
    ("bad mode", sub('mode = "single"', 'mode = "singel"'),
     "config.toml: hosts[0].mode: 'singel' is not one of single, ha, ssl"),
    ("bad ipv4", sub('"192.0.2.1"', '"192.0.2.300"'),
     "config.toml: hosts[0].internal: '192.0.2.300' is not an IPv4 or IPv6 address"),
    ("bad ipv6", sub('"198.51.100.1"', '"2001:db8::zz"'),
     "config.toml: hosts[0].external: '2001:db8::zz' is not an IPv4 or IPv6 address"),
    ("unknown idc", sub('idc = "cernet"', 'idc = "cernett"'),
     "config.toml: hosts[0].idc: 'cernett' is not a known IDC (cernet)"),
    ("duplicate address host/host", sub('"192.0.2.2"', '"192.0.2.1"'),
     "config.toml: hosts[1].internal: '192.0.2.1' is already used by hosts[0].internal"),
    ("duplicate address vip/host", sub('address = "203.0.113.1"', 'address = "198.51.100.2"'),
     "config.toml: vips[0].address: '198.51.100.2' is already used by hosts[1].external"),
    ("vip announced by no host", sub('hosts = ["a", "b"]', 'hosts = []'),
     "config.toml: vips[0].hosts: names no host: a VIP must be announced by at least one host"),
    ("vip names unknown host", sub('hosts = ["a", "b"]', 'hosts = ["a", "c"]'),
     "config.toml: vips[0].hosts: 'c' is not a known host"),
    ("unknown contact role", sub('role = "admin"', 'role = "boss"'),
     "config.toml: contacts[1].role: 'boss' is not one of duty_room, im_duty, network_duty, "
     "escalation, inform, admin, notify_group, cost_center"),
    ("unknown admin id", sub('admins = ["adm"]', 'admins = ["nobody"]'),
     "config.toml: vips[0].admins: 'nobody' is not a known contact id"),
    ("ha group of one", sub('mode = "single"\ngroup = "g"', 'mode = "ha"\ngroup = "solo"'),
     "config.toml: hosts[0].group: 'solo' has one member but mode ha needs at least two"),
    ("zabbix without token source", MINIMAL + '[zabbix]\nurl = "http://127.0.0.1/api_jsonrpc.php"\n',
     "config.toml: zabbix.url: 'http://127.0.0.1/api_jsonrpc.php' has no token source: set "
     "token_env, token_file, or user with password_env/password_file"),
    ("zabbix token in the text", MINIMAL + '[zabbix]\ntoken = "abc"\n',
     "config.toml: zabbix.token: secrets are never written in the config: use token_env or "
     "token_file"),
    ("zabbix user without password", MINIMAL + '[zabbix]\nurl = "http://127.0.0.1/z"\n'
     'user = "duty"\n',
     "config.toml: zabbix.user: 'duty' has no password source: set password_env or "
     "password_file"),
    ("zabbix token file missing", MINIMAL + '[zabbix]\nurl = "http://127.0.0.1/z"\n'
     'token_file = "/nonexistent/token"\n',
     "config.toml: zabbix.token_file: '/nonexistent/token' does not exist"),
    ("interval not a number", MINIMAL + '[duty]\ninterval = "fast"\n',
     "config.toml: duty.interval: 'fast' is not a number"),
    ("interval out of range", MINIMAL + '[duty]\ninterval = 0\n',
     "config.toml: duty.interval: 0 is out of range (from 0.05 to 3600)"),
    ("hysteresis float", MINIMAL + '[duty]\nhysteresis = 2.5\n',
     "config.toml: duty.hysteresis: 2.5 is not an integer"),
    ("bad timezone", MINIMAL + '[duty]\ntimezone = "Mars/Olympus"\n',
     "config.toml: duty.timezone: 'Mars/Olympus' is not a known time zone"),
    ("bad office start", MINIMAL + '[duty]\noffice_start = "9am"\n',
     "config.toml: duty.office_start: '9am' is not a time like 09:00"),
    ("bad holiday", MINIMAL + '[duty]\nholidays = ["2026-13-01"]\n',
     "config.toml: duty.holidays: '2026-13-01' is not a date like 2026-10-01"),
    ("prepared without a date", MINIMAL + '[notice]\nprepared = ["已申请备机"]\n',
     "config.toml: notice.prepared: a measure needs its date: write [[notice.prepared]] with "
     "text, date and valid_until (it stops being said after valid_until)"),
    ("prepared ends before it starts", MINIMAL + '[[notice.prepared]]\ntext = "x"\n'
     'date = "2026-11-24"\nvalid_until = "2026-11-01"\n',
     "config.toml: notice.prepared[0].valid_until: '2026-11-01' is before date '2026-11-24'"),
    ("prepared bad date", MINIMAL + '[[notice.prepared]]\ntext = "x"\n'
     'date = "yesterday"\nvalid_until = "2026-12-01"\n',
     "config.toml: notice.prepared[0].date: 'yesterday' is not a date like 2026-11-24"),
    ("prepared for an unknown IDC", MINIMAL + '[[notice.prepared]]\ntext = "x"\n'
     'date = "2026-11-24"\nvalid_until = "2026-12-01"\nidcs = ["mars"]\n',
     "config.toml: notice.prepared[0].idcs: 'mars' is not a known IDC"),
    ("recurrence days negative", MINIMAL + '[notice]\nrecurrence_days = -1\n',
     "config.toml: notice.recurrence_days: -1 is out of range (from 0 to 3650)"),
    ("vantage source not an address", MINIMAL + '[[vantages]]\nid = "u"\nkind = "zabbix_proxy"'
     '\nname = "联通"\nprobe_host = "p"\nsource = "probe-unicom"\n',
     "config.toml: vantages[0].source: 'probe-unicom' is not an IPv4 or IPv6 address"),
    ("jira project not a string", MINIMAL + '[jira]\nproject = 7\n',
     "config.toml: jira.project: 7 is not a string"),
    ("bad alert page url", MINIMAL + '[duty]\nalert_page = "ftp://x"\n',
     "config.toml: duty.alert_page: 'ftp://x' is not an http(s) URL"),
    ("jump host option injection", MINIMAL + '[duty]\njump_host = "-oProxyCommand=x"\n',
     "config.toml: duty.jump_host: '-oProxyCommand=x' is not a host name or address"),
    ("unknown key (typo)", sub('internal = "192.0.2.1"', 'internl = "192.0.2.1"'),
     "config.toml: hosts[0].internal: is required"),
    ("bad service", sub('group = "g"\ninternal = "192.0.2.1"',
                        'group = "g"\nservices = ["LVS", "NGINX"]\ninternal = "192.0.2.1"'),
     "config.toml: hosts[0].services: 'NGINX' is not one of LVS, HL, SNAT"),
    ("vips not an array of tables", "vips = 3\n" + sub('[[vips]]', '[[vipz]]'),
     "config.toml: vips: must be an array of tables ([[vips]])"),
    ("no duty room", sub('role = "duty_room"', 'role = "im_duty"'),
     "config.toml: contacts: no contact has role 'duty_room' (the 5666 duty room)"),
    ("duplicate host name", sub('name = "b"', 'name = "a"'),
     "config.toml: hosts[1].name: 'a' is a duplicate"),
    ("unknown vantage kind", MINIMAL + '[[vantages]]\nid = "x"\nkind = "carrier-pigeon"\n'
     'name = "x"\n',
     "config.toml: vantages[0].kind: 'carrier-pigeon' is not one of local, zabbix_proxy, "
     "ssh_fping"),
    ("zabbix proxy vantage without probe host", MINIMAL + '[[vantages]]\nid = "u"\n'
     'kind = "zabbix_proxy"\nname = "联通"\n',
     "config.toml: vantages[0].probe_host: is required for a zabbix_proxy vantage"),
    ("mention of unknown contact", MINIMAL + '[notice]\nmentions = ["ghost"]\n',
     "config.toml: notice.mentions: 'ghost' is not a known contact id"),
    ("invalid toml", MINIMAL + "[duty\n",
     "config.toml:38: invalid TOML: Expected ']' at the end of a table declaration"),
    ("bad bool", MINIMAL + '[duty]\nbell = "yes"\n',
     "config.toml: duty.bell: 'yes' is not true or false"),
    ("bad zabbix key list", MINIMAL + '[zabbix.keys]\ncpu = 3\n',
     "config.toml: zabbix.keys.cpu: 3 is not a key or a list of candidate keys"),
    ("sending secret in the text", MINIMAL + '[sending]\nwebhook_url = "https://x/?key=1"\n',
     "config.toml: sending.webhook_url: secrets are never written in the config: use "
     "webhook_url_env or webhook_url_file"),
    ("sending on without a channel", MINIMAL + '[sending]\nenabled = true\n',
     "config.toml: sending.enabled: true but neither a webhook (webhook_url_env/_file) nor "
     "smtp_host is set"),
    ("bad smtp security", MINIMAL + '[sending]\nsmtp_security = "tls"\n',
     "config.toml: sending.smtp_security: 'tls' is not one of starttls, ssl, none"),
    ("ssh config missing", MINIMAL + '[duty]\nssh_config = "/nonexistent/ssh_config"\n',
     "config.toml: duty.ssh_config: '/nonexistent/ssh_config' does not exist"),
    ("bad port", sub('hosts = ["a", "b"]', 'hosts = ["a", "b"]\nport = 70000'),
     "config.toml: vips[0].port: 70000 is out of range (from 1 to 65535)"),
]


@pytest.mark.parametrize(("name", "text", "line"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_gives_its_one_line(name: str, text: str, line: str) -> None:
    lines = errors_of(text)
    assert line in lines, lines
    assert all("\n" not in x for x in lines)


def test_unknown_key_is_named() -> None:
    lines = errors_of(sub('internal = "192.0.2.1"', 'internal = "192.0.2.1"\ninternl = "x"'))
    assert lines == ["config.toml: hosts[0].internl: unknown key"]


def test_every_malformed_case_exits_2_with_one_line_each(tmp_path: Path, capsys) -> None:
    assert len(MALFORMED) >= 25
    for name, text, line in MALFORMED:
        p = tmp_path / "config.toml"
        p.write_text(text, encoding="utf-8")
        assert main(["validate", "--config", str(p)]) == 2, name
        err = capsys.readouterr().err
        assert line.replace("config.toml", str(p), 1) in err.splitlines(), (name, err)
        assert "Traceback" not in err


def test_wrong_mode_in_example_is_one_line(tmp_path: Path, capsys) -> None:
    p = tmp_path / "config.toml"
    p.write_text(EXAMPLE.replace('mode = "ssl"', 'mode = "sssl"', 1), encoding="utf-8")
    assert main(["validate", "--config", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{p}: hosts[5].mode: 'sssl' is not one of single, ha, ssl"]


def test_missing_file_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r".*nope\.toml: no such file \(create one with 'lvs-tui init'\)\n", err)


def test_init_validate_round_trip(tmp_path: Path, capsys) -> None:
    p = tmp_path / "sub" / "config.toml"
    assert main(["init", str(p)]) == 0
    assert main(["validate", "--config", str(p)]) == 0
    assert "ok: 2 IDCs, 4 hosts, 2 VIPs" in capsys.readouterr().out
    assert main(["init", str(p)]) == 2  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(["init", str(p), "--force"]) == 0


def test_default_path_follows_xdg(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["init"]) == 0
    assert (tmp_path / "lvs-tui" / "config.toml").is_file()
    assert main(["validate"]) == 0


def test_office_hours_holidays_and_extra_workdays() -> None:
    from datetime import date, datetime

    oh = OfficeHours(holidays=frozenset({date(2026, 10, 1)}),
                     extra_workdays=frozenset({date(2026, 9, 27)}))
    assert oh.is_office(datetime(2026, 11, 25, 10, 0))  # Wednesday
    assert not oh.is_office(datetime(2026, 11, 25, 18, 0))
    assert not oh.is_office(datetime(2026, 11, 28, 10, 0))  # Saturday
    assert not oh.is_office(datetime(2026, 10, 1, 10, 0))  # holiday (Thursday)
    assert oh.is_office(datetime(2026, 9, 27, 10, 0))  # 调休 Sunday


def test_validate_checks_the_teams_runbook_too(tmp_path: Path, capsys) -> None:
    (tmp_path / "rb.toml").write_text('[runbook]\nextends = "default"\n[[steps]]\nid = "x"\n'
                                      'title = "t"\nrole = "boss"\n', encoding="utf-8")
    p = tmp_path / "config.toml"
    p.write_text(MINIMAL + '[runbook]\npath = "rb.toml"\n', encoding="utf-8")
    assert main(["validate", "--config", str(p)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{tmp_path / 'rb.toml'}: steps[0].role: 'boss' is not one of duty_room, im_duty, " \
           "network_duty, escalation, inform, admin, notify_group, cost_center" in err


def test_new_notice_keys_and_vantage_source_are_read() -> None:
    from datetime import date

    cfg = load(ROOT / "config.toml.example")
    assert cfg.notice.recurrence_days == 30
    (m,) = cfg.notice.prepared
    assert (m.on, m.valid_until, m.idcs) == (date(2026, 11, 24), date(2026, 12, 31),
                                              ("cernet",))
    assert m.applies(cfg.fleet.host("lvs-cernet-01"))
    assert not m.applies(cfg.fleet.host("lvs-bgp-01"))
    assert cfg.vantage("zbx-unicom").source == "203.0.113.202"
    assert (cfg.jira.project, cfg.jira.issue_type) == ("DEVICE", "借用")
    minimal = parse(MINIMAL)
    assert (minimal.jira.project, minimal.notice.prepared) == ("DEVICE", ())


def test_holidays_that_stop_before_this_year_warn_without_failing(tmp_path: Path,
                                                                   capsys) -> None:
    from datetime import date

    from lvs_tui.config import warnings

    cfg = parse(MINIMAL + '[duty]\nholidays = ["2025-10-01"]\n')
    (line,) = warnings(cfg, date(2026, 3, 1))
    assert line == ("config.toml: duty.holidays: ends in 2025, not into 2026: holidays of "
                    "2026 would count as office hours (add this year's)")
    assert warnings(cfg, date(2025, 12, 1)) == []
    assert "is empty" in warnings(parse(MINIMAL), date(2026, 3, 1))[0]
    p = tmp_path / "config.toml"
    p.write_text(MINIMAL, encoding="utf-8")
    assert main(["validate", "--config", str(p)]) == 0  # a warning, not a failure
    out = capsys.readouterr()
    assert "ok:" in out.out and "warning:" in out.err and "duty.holidays" in out.err
