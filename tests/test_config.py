"""Config: the example validates, init round-trips, and every mistake is one exact line."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.config import ConfigError, OfficeHours, key_name, load, parse

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


# -- issue 19: validate is the dashboard's gate --------------------------------------------


def duty(extra: str) -> str:
    return MINIMAL + "\n[duty]\n" + extra + "\n"


@pytest.mark.parametrize(("text", "line"), [
    (duty("stale_after = inf"), "config.toml: duty.stale_after: inf is not a finite number"),
    (duty("interval = nan"), "config.toml: duty.interval: nan is not a finite number"),
    (duty("alert_interval = 1e300"),
     "config.toml: duty.alert_interval: 1e+300 is out of range (from 1 to 86400)"),
    (duty("window = 2\nhysteresis = 3"), "config.toml: duty.window: 2 is smaller than "
     "hysteresis (3): a state could never change"),
    (duty('office_start = "09:00+08:00"'), "config.toml: duty.office_start: '09:00+08:00' "
     "has a UTC offset: write the local time (duty.timezone applies)"),
    (duty('theme = "solarized"'), "config.toml: duty.theme: 'solarized' is not a shipped "
     "theme (colorblind, dark, high-contrast, light) nor an existing .tcss theme file"),
    (duty('jump_host = "jump\\n-oProxyCommand=x"'), "config.toml: duty.jump_host: "
     "'jump\\n-oProxyCommand=x' holds a control character (it would reach a terminal, a "
     "command line or a text)"),
    (duty('ssh_user = "root\\n"'), "config.toml: duty.ssh_user: 'root\\n' holds a control "
     "character (it would reach a terminal, a command line or a text)"),
    (sub('name = "管理员"', 'name = "管理员\\u001b[2J"'), "config.toml: contacts[1].name: "
     "'管理员\\x1b[2J' holds a control character (it would reach a terminal, a command line "
     "or a text)"),
    (sub('name = "赛尔"', 'name = "赛\\u202e尔"'), "config.toml: idcs[0].name: '赛\\u202e尔' "
     "holds a control character (it would reach a terminal, a command line or a text)"),
    (sub('admins = ["adm"]', 'admins = ["adm\\u0007"]'),
     "config.toml: vips[0].admins: ['adm\\x07'] holds a control character"),
    (sub('internal = "192.0.2.1"', 'internal = ""'),
     "config.toml: hosts[0].internal: '' is empty: an IPv4 or IPv6 address is required"),
    (sub('internal = "192.0.2.1"', 'internal = "::1%lo"'),
     "config.toml: hosts[0].internal: '::1%lo' has a scope (%…): write the plain address"),
    (sub('internal = "192.0.2.1"', 'internal = "ff02::1"'), "config.toml: hosts[0].internal: "
     "'ff02::1' is not the address of one machine (wildcard, multicast or broadcast)"),
    (sub('address = "203.0.113.1"', 'address = "255.255.255.255"'), "config.toml: "
     "vips[0].address: '255.255.255.255' is not the address of one machine (wildcard, "
     "multicast or broadcast)"),
    (sub('address = "203.0.113.1"', 'address = "::"'), "config.toml: vips[0].address: '::' "
     "is not the address of one machine (wildcard, multicast or broadcast)"),
    (MINIMAL + '\n[keys]\nfilter = "q"\n', "config.toml: [keys].filter: 'q' is reserved for "
     "quit"),
    (MINIMAL + '\n[keys]\npause = "escape"\n', "config.toml: [keys].pause: 'escape' is "
     "reserved for back"),
    (MINIMAL + '\n[keys]\npause = "ctrl+c"\n', "config.toml: [keys].pause: 'ctrl+c' is "
     "reserved by the console"),
    (MINIMAL + '\n[keys]\npause = "\\u0007"\n', "config.toml: [keys].pause: '\\x07' is not "
     "a key name such as 'c', 'f5', 'ctrl+x' or 'question_mark'"),
    (MINIMAL + '\n[keys]\npause = "banana"\n', "config.toml: [keys].pause: 'banana' is not "
     "a key name such as 'c', 'f5', 'ctrl+x' or 'question_mark'"),
    (MINIMAL + '\n[keys]\npause = "hyper+ctrl+"\n', "config.toml: [keys].pause: "
     "'hyper+ctrl+' is not a key name such as 'c', 'f5', 'ctrl+x' or 'question_mark'"),
])
def test_what_the_dashboard_would_misuse_is_refused(text: str, line: str) -> None:
    assert line in errors_of(text)


def test_notes_and_prepared_measures_may_span_lines_names_may_not() -> None:
    cfg = parse(sub('mode = "single"', 'mode = "single"\nnotes = "机柜 A3\\n电源双路"'))
    assert cfg.fleet.host("a").notes == "机柜 A3\n电源双路"
    assert "config.toml: hosts[0].name: 'a\\tb' holds a control character (it would reach " \
        "a terminal, a command line or a text)" in errors_of(sub('name = "a"', 'name = "a\\tb"'))


def test_a_file_name_with_a_newline_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "a\nb\x1b]0;x.toml"
    path.write_text(MINIMAL + "\n[duty]\nwindow = 1\nhysteresis = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load(path)
    [line] = exc.value.lines
    assert line == (f"{tmp_path}/a\\u000ab\\u001b]0;x.toml: duty.window: 1 is smaller than "
                    "hysteresis (2): a state could never change")


@pytest.mark.parametrize(("make", "said"), [
    (lambda p: (os.mkfifo(p / "fifo"), p / "fifo")[1], "not a regular file"),
    (lambda p: Path("/dev/zero"), "not a regular file"),
    (lambda p: p, "not a regular file"),
    (lambda p: (p / "big").write_bytes(b"#" * (4 * 2**20 + 1)) and p / "big",
     "larger than 4 MiB: not a config"),
    (lambda p: (p / "bin").write_bytes(b"a = '\xff'") and p / "bin", "not UTF-8 text (byte 5)"),
    (lambda p: (p / "deep").write_text("x = " + "[" * 50_000 + "]" * 50_000) and p / "deep",
     "invalid TOML: arrays or tables nested deeper than 8 levels"),
    (lambda p: (p / "tables").write_text("x = " + "{a = " * 9 + "1" + "}" * 9) and
     p / "tables", "invalid TOML: arrays or tables nested deeper than 8 levels"),
])
def test_only_a_small_regular_shallow_file_is_read(tmp_path: Path, make, said: str) -> None:
    path = make(tmp_path)
    started = time.monotonic()
    with pytest.raises(ConfigError) as exc:
        load(path)
    assert time.monotonic() - started < 2  # a FIFO without a writer must not block
    [line] = exc.value.lines
    assert line == f"{path}: {said}"


def test_nesting_within_the_limit_is_read() -> None:
    cfg = parse(MINIMAL + "\n[hosts.hardware]\nmodel = \"R730\"\n")
    assert cfg.fleet.hosts[-1].hardware.model == "R730"


def test_key_names_are_textuals() -> None:
    """Every printable ASCII character and the named keys are bound under the name
    Textual's own normalisation gives them, so collisions are judged as Textual sees keys."""
    from textual.keys import _normalize_key_list

    for ch in (chr(c) for c in range(33, 127) if chr(c) != ","):  # ',' separates keys
        assert key_name(ch) == _normalize_key_list(ch), ch
    for name in ("f5", "ctrl+x", "question_mark", "slash", "enter", "shift+tab", "é"):
        assert key_name(name) == _normalize_key_list(name), name
    for bad in ("", " ", "\x1b", "banana", "ctrl+", "cmd+x", "f25", "a b"):
        assert key_name(bad) is None, bad


def test_keymap_collisions_with_the_apps_table() -> None:
    from lvs_tui.app import check_keys

    assert check_keys({}) == []
    assert check_keys({"filter": "slash", "pause": "/"}) == [
        "[keys].filter: 'slash' is already the key of pause",
        "[keys].pause: '/' is already the key of filter"]
    assert check_keys({"filter": "x", "pause": "slash"}) == []  # filter moved away first
    assert check_keys({"pause": "c"}) == ["[keys].pause: 'c' is already the key of "
                                          "copy_notice"]
    assert check_keys({"quit": "q,x"}) == []
    assert check_keys({"confirm_1": "2"}) == ["[keys].confirm_1: '2' is already the key of "
                                              "confirm_2"]


def test_validate_refuses_what_the_dashboard_refuses(tmp_path: Path, capsys) -> None:
    from lvs_tui.commands.common import console_errors

    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + '\n[keys]\ncopy_text = "y"\nfilter = "c"\n', encoding="utf-8")
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}: [keys].copy_text: unknown action id; known: ")
    assert err[1:] == [f"{path}: [keys].filter: 'c' is already the key of copy_notice"]
    assert console_errors(load(path)) == err  # the dashboard's own refusal, the same lines
